//! The `ohmc-infra` binary: argument parsing, rendering, exit codes and signal
//! handling. Everything it does is an operation of the `ohmc-infra` library.

mod cli;
mod commands;
mod context;
mod env_vars;
mod progress;
mod signals;

use std::process::ExitCode;

use clap::Parser;
use ohmc_infra::exit::ExitStatus;
use ohmc_terraform::InterruptHandle;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args
        .get(1)
        .is_some_and(|a| a == ohmc_terraform::watchdog::SUBCOMMAND)
    {
        return watchdog(&args[2..]);
    }
    let cli = Cli::parse();
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
    let code = match status {
        Ok(status) => status.code(),
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("Caused by:\n    {cause}");
            }
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
    signals::install(handle.clone(), cli.global.grace_period)?;
    let global = &cli.global;
    let status = match &cli.command {
        Command::Envs => commands::envs::run(global),
        Command::Bootstrap(args) => commands::bootstrap::run(global, args).await,
        Command::Plan(args) => commands::plan::run(global, args, interrupt).await,
        Command::Apply(args) => commands::apply::run(global, args, interrupt).await,
        Command::Drift(args) => commands::drift::run(global, args, interrupt).await,
        Command::Output(args) => commands::output::run(global, args, interrupt).await,
        Command::Verify(args) => commands::verify::run(global, args, interrupt).await,
        Command::DrDrill(args) => commands::drill::run(global, args, interrupt).await,
        Command::Audit(args) => commands::audit::run(global, args, interrupt).await,
    };
    // An interrupt turns any outcome, error included, into 130: the person
    // asked to stop, and scripts must see that rather than a generic failure.
    if handle.requested() > 0 {
        if let Err(err) = &status {
            eprintln!("error: {err}");
        }
        return Ok(ExitStatus::Interrupted);
    }
    status
}
