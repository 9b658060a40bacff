//! `ohmc-infra dr-drill ENV` and `ohmc-infra dr-drill cleanup [DRILL_ID]`

use anyhow::{bail, Context, Result};
use ohmc_drill::{DrillClients, DrillEvent, DrillStatus};
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::ops::drill::{drill_config, DrillOptions};
use ohmc_infra::ops::verify::context_options;
use ohmc_terraform::Interrupt;

use crate::cli::{DrillAction, DrillArgs, Format, GlobalArgs};
use crate::context;

pub async fn run(
    global: &GlobalArgs,
    args: &DrillArgs,
    interrupt: Interrupt,
) -> Result<ExitStatus> {
    match &args.action {
        Some(DrillAction::Cleanup {
            drill_id,
            include_kept,
        }) => cleanup(global, args, drill_id.as_deref(), *include_kept).await,
        None => {
            let Some(env_name) = &args.env else {
                bail!(
                    "name an environment: ohmc-infra dr-drill ENV (or dr-drill cleanup [DRILL_ID])"
                )
            };
            drill(global, args, env_name, interrupt).await
        }
    }
}

/// Progress lines on stderr, unless `-q`.
fn progress_sink(quiet: bool) -> impl Fn(&DrillEvent) + Send + Sync {
    move |e: &DrillEvent| {
        if let Some(line) = ohmc_drill::render::event_line(e).filter(|_| !quiet) {
            eprintln!("{line}");
        }
    }
}

async fn clients(
    env: &ohmc_infra::environment::Environment,
    endpoint: Option<String>,
    target_region: Option<&str>,
) -> Result<DrillClients> {
    let ctx = ohmc_checks::AwsContext::load(context_options(env, endpoint))
        .await
        .with_context(|| format!("setting up AWS access for {}", env.name))?;
    Ok(DrillClients::new(ctx.sdk_config(), target_region))
}

async fn drill(
    global: &GlobalArgs,
    args: &DrillArgs,
    env_name: &str,
    interrupt: Interrupt,
) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, env_name)?;
    let state_dir = context::state_dir(global, &root)?;
    let opts = DrillOptions {
        target_region: args.target_region.clone(),
        dry_run: args.dry_run,
        keep_for: args.keep_for,
    };
    let config = drill_config(&env, &state_dir, &opts)?;
    let clients = clients(
        &env,
        args.endpoint_url.clone(),
        config.target_region.as_deref(),
    )
    .await?;
    let sink = progress_sink(global.quiet);
    // Ctrl-C cancels the drill, which then cleans up what it created.
    let cancel = interrupt.requested_once();
    let report = ohmc_drill::run_drill(&clients, &config, &sink, cancel).await?;
    let rendered = match global.format {
        Format::Json => ohmc_drill::render::report_json(&report),
        Format::Markdown => ohmc_drill::render::report_markdown(&report),
        _ => ohmc_drill::render::report_text(&report),
    };
    println!("{}", rendered.trim_end());
    Ok(match report.status {
        DrillStatus::Met | DrillStatus::Planned => {
            if report.cleanup_complete() {
                ExitStatus::Success
            } else {
                ExitStatus::Error
            }
        }
        DrillStatus::Breached | DrillStatus::ValidationFailed => ExitStatus::ChecksFailed,
        DrillStatus::Error => ExitStatus::Error,
        DrillStatus::Cancelled => ExitStatus::Interrupted,
    })
}

async fn cleanup(
    global: &GlobalArgs,
    args: &DrillArgs,
    drill_id: Option<&str>,
    include_kept: bool,
) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let state_dir = context::state_dir(global, &root)?;
    let mut kept = 0;
    let ledgers = match drill_id {
        Some(id) => vec![ohmc_drill::Ledger::open(&state_dir, id)?],
        None => {
            // A drill kept with --keep-for is kept until its time is up: cleaning up
            // "everything pending" must not delete what someone is still looking at.
            let now = chrono::Utc::now();
            let (kept_ledgers, due): (Vec<_>, Vec<_>) = ohmc_drill::pending_drills(&state_dir)?
                .into_iter()
                .partition(|l| !include_kept && l.data().kept_at(now));
            for ledger in &kept_ledgers {
                let until = ledger
                    .data()
                    .keep_until
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                eprintln!(
                    "skipped drill {}: kept until {until}; clean it up now with `dr-drill cleanup {}` or --include-kept",
                    ledger.drill_id(),
                    ledger.drill_id()
                );
            }
            kept = kept_ledgers.len();
            due
        }
    };
    if ledgers.is_empty() {
        if kept == 0 {
            println!(
                "no drill has resources left to clean up in {}",
                state_dir.display()
            );
        } else {
            println!(
                "no drill is due for cleanup in {} ({kept} kept)",
                state_dir.display()
            );
        }
        return Ok(ExitStatus::Success);
    }
    let mut status = ExitStatus::Success;
    for ledger in ledgers {
        let data = ledger.data().clone();
        let env = context::load_environment(&root, &data.environment)?;
        let clients = clients(
            &env,
            args.endpoint_url.clone(),
            data.target_region.as_deref(),
        )
        .await?;
        let sink = progress_sink(global.quiet);
        let report = ohmc_drill::cleanup(&clients, &state_dir, &data.drill_id, &sink).await?;
        match global.format {
            Format::Json => println!("{}", ohmc_drill::render::cleanup_json(&report).trim_end()),
            _ => println!("{}", ohmc_drill::render::cleanup_text(&report).trim_end()),
        }
        if report.exit_code() != 0 {
            status = ExitStatus::Error;
        }
    }
    Ok(status)
}
