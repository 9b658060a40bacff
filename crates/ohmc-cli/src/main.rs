//! The `ohmc-infra` binary: argument parsing, rendering, exit codes and signal
//! handling. Everything it does is an operation of the `ohmc-infra` library.

mod cli;
mod commands;
mod context;
mod env_vars;
mod progress;
mod signals;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use ohmc_infra::exit::ExitStatus;
use ohmc_terraform::InterruptHandle;

use crate::cli::{Cli, Command, Format};
use crate::signals::Stops;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == ohmc_terraform::watchdog::SUBCOMMAND)
    {
        return watchdog(&args[2..]);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    if let Err(err) = check_options(&cli) {
        eprintln!("error: {}", escape_controls(&err.to_string()));
        return ExitCode::from(ExitStatus::Error.code() as u8);
    }
    let mut cli = cli;
    if let Err(err) = context::resolve_paths(&mut cli) {
        eprintln!("error: {err:#}");
        return ExitCode::from(ExitStatus::Error.code() as u8);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let status = runtime.block_on(run(cli));
    // Work abandoned by an interrupt (a call to a dead endpoint, the signal watcher's
    // terminal prompt) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    let code = match status {
        Ok(status) => status.code(),
        Err(err) => {
            print_error(&err);
            ExitStatus::Error.code()
        }
    };
    ExitCode::from(code as u8)
}

/// This binary started as the watchdog of one Terraform run (see
/// `ohmc_terraform::watchdog`); never typed by a person.
fn watchdog(args: &[std::ffi::OsString]) -> ExitCode {
    match ohmc_terraform::watchdog::WatchdogArgs::parse(args) {
        Ok(args) => ExitCode::from(ohmc_terraform::watchdog::run(&args).clamp(0, 255) as u8),
        Err(usage) => {
            eprintln!("error: {usage}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let (handle, interrupt) = InterruptHandle::new();
    let stops = match &cli.command {
        Command::Plan(_) | Command::Apply(_) | Command::Drift(_) | Command::Output(_) => {
            Stops::Terraform
        }
        Command::DrDrill(_) => Stops::Drill,
        Command::Verify(_) => {
            Stops::AtOnce("verify stopped; its checks were not finished, so no result is reported.")
        }
        Command::Audit(_) => {
            Stops::AtOnce("audit stopped; its checks were not finished, so no report is written.")
        }
        Command::Envs => Stops::AtOnce("stopped."),
        Command::Bootstrap(_) => Stops::AtOnce(
            "bootstrap stopped; what it created so far stays, and running it again checks and finishes the rest.",
        ),
    };
    signals::install(handle.clone(), cli.global.grace_period, stops)?;
    let global = &cli.global;
    let command = async {
        match &cli.command {
            Command::Envs => commands::envs::run(global),
            Command::Bootstrap(args) => commands::bootstrap::run(global, args).await,
            Command::Plan(args) => commands::plan::run(global, args, interrupt.clone()).await,
            Command::Apply(args) => commands::apply::run(global, args, interrupt.clone()).await,
            Command::Drift(args) => commands::drift::run(global, args, interrupt.clone()).await,
            Command::Output(args) => commands::output::run(global, args, interrupt.clone()).await,
            Command::Verify(args) => commands::verify::run(global, args, interrupt.clone()).await,
            Command::DrDrill(args) => commands::drill::run(global, args, interrupt.clone()).await,
            Command::Audit(args) => commands::audit::run(global, args, interrupt.clone()).await,
        }
    };
    let status = match stops {
        // AWS and HTTP calls in flight have nothing to save: dropping them is the stop,
        // so a dead endpoint cannot hold the command past the interrupt.
        Stops::AtOnce(_) => {
            tokio::select! {
                status = command => status,
                () = interrupt.clone().requested_once() => return Ok(ExitStatus::Interrupted),
            }
        }
        Stops::Terraform | Stops::Drill => command.await,
    };
    // An interrupt turns any outcome, error included, into 130: the person
    // asked to stop, and scripts must see that rather than a generic failure.
    if handle.requested() > 0 {
        if let Err(err) = &status {
            print_error(err);
        }
        return Ok(ExitStatus::Interrupted);
    }
    status
}

/// The error and its causes, each once. A layer that wraps a cause with
/// `#[error("...: {0}")]` already shows it, so a cause whose text the line above
/// contains is not repeated under "Caused by:".
fn print_error(err: &anyhow::Error) {
    let mut shown = err.to_string();
    eprintln!("error: {}", escape_controls(&shown));
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if shown.contains(&text) {
            continue;
        }
        eprintln!("Caused by:\n    {}", escape_controls(&text));
        shown = text;
    }
}

/// Control characters in a message (a name typed with an escape sequence, a newline
/// in a value) are printed escaped, so input can neither drive the terminal nor forge
/// extra lines of output.
pub(crate) fn escape_controls(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A command-line usage error exits 1, the README's code for bad input: clap's own
/// code is 2, which this tool documents as "changes present", so a typo in CI would
/// read as a plan with changes. The message is clap's first line and a pointer to
/// `--help`, without the usage block.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            let commands: Vec<String> = Cli::command()
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name().to_string())
                .collect();
            eprintln!("error: a command is required: {}", commands.join(", "));
        }
        _ => {
            // clap's first line; when it ends in a colon, the indented lines under it
            // (the missing arguments) belong to it.
            let rendered = err.render().to_string();
            let mut lines = rendered.lines().filter(|l| !l.trim().is_empty());
            let first = lines.next().unwrap_or("invalid arguments");
            let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
            if line.ends_with(':') {
                let items: Vec<&str> = lines
                    .take_while(|l| l.starts_with(' '))
                    .map(str::trim)
                    .collect();
                line = format!("{} {}", line, items.join(", "));
            }
            eprintln!("error: {}", escape_controls(&line));
        }
    }
    eprintln!("For more information, try '--help'.");
    ExitCode::from(ExitStatus::Error.code() as u8)
}

/// The `--format` values a command renders. Any other is refused rather than silently
/// printed as human text.
fn formats(command: &Command) -> (&'static str, &'static [Format]) {
    use Format::*;
    match command {
        Command::Envs => ("envs", &[Human, Json]),
        Command::Bootstrap(_) => ("bootstrap", &[Human, Json]),
        Command::Plan(_) => ("plan", &[Human, Json]),
        Command::Apply(_) => ("apply", &[Human, Json]),
        Command::Drift(_) => ("drift", &[Human, Json]),
        Command::Output(_) => ("output", &[Human, Json]),
        Command::Verify(_) => ("verify", &[Human, Json]),
        Command::DrDrill(a) if a.action.is_some() => ("dr-drill cleanup", &[Human, Json]),
        Command::DrDrill(_) => ("dr-drill", &[Human, Json, Markdown]),
        Command::Audit(_) => ("audit", &[Human, Json, Markdown, Junit, Sarif, Prometheus]),
    }
}

/// Options clap accepts but that would be silently ignored or fail late: each refused
/// in one line naming the option.
fn check_options(cli: &Cli) -> anyhow::Result<()> {
    use clap::ValueEnum;
    let name = |f: &Format| {
        f.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    };
    let (command, supported) = formats(&cli.command);
    if !supported.contains(&cli.global.format) {
        anyhow::bail!(
            "--format {} is not supported by {command}; it takes {}",
            name(&cli.global.format),
            supported.iter().map(name).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(file) = &cli.global.tf_cli_config {
        context::require_file("--tf-cli-config", file)?;
    }
    if let Command::Audit(args) = &cli.command {
        if let Some(file) = &args.waivers {
            context::require_file("--waivers", file)?;
        }
        if let Some(file) = &args.baseline {
            context::require_file("--baseline", file)?;
        }
    }
    Ok(())
}
