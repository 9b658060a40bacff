//! `ohmc-infra drift ENV`

use anyhow::Result;
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::graph::StackOutcome;
use ohmc_infra::ops::drift;
use ohmc_terraform::Interrupt;
use serde_json::json;

use crate::cli::{EnvArg, Format, GlobalArgs};
use crate::context;
use crate::progress::ProgressPrinter;

pub async fn run(global: &GlobalArgs, args: &EnvArg, interrupt: Interrupt) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, &args.env)?;
    let printer = ProgressPrinter::start(global.quiet);
    let ctx = context::ops_context(global, interrupt, printer.sender.clone()).await?;
    context::report_previous_runs(&ctx, &env.name)?;
    let report = drift::drift(&ctx, &env).await;
    // The context holds a progress sender; the printer finishes once every sender is gone.
    drop(ctx);
    printer.finish().await;
    let stacks: Vec<_> = report
        .stacks
        .iter()
        .map(|(name, o)| match o {
            StackOutcome::Done(d) => json!({"name": name, "status": "checked", "drift": d}),
            StackOutcome::Failed(e) => {
                json!({"name": name, "status": "failed", "error": e.to_string()})
            }
            StackOutcome::Skipped { blocked_by } => {
                json!({"name": name, "status": "skipped", "blocked_by": blocked_by})
            }
        })
        .collect();
    match global.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "schema_version": super::JSON_SCHEMA_VERSION, "command": "drift",
                "environment": report.environment, "drifted": report.drifted(), "stacks": stacks,
            }))?
        ),
        _ => {
            for (name, o) in &report.stacks {
                match o {
                    StackOutcome::Done(d) if d.is_empty() => println!("Stack {name}: no drift"),
                    StackOutcome::Done(d) => {
                        println!("Stack {name}: {} drifted resource(s)", d.len());
                        for c in d {
                            println!("  {:8} {}", c.action, c.address);
                        }
                    }
                    StackOutcome::Failed(e) => println!("Stack {name}: FAILED\n  {e}"),
                    StackOutcome::Skipped { blocked_by }
                        if blocked_by == ohmc_infra::graph::INTERRUPTED =>
                    {
                        println!("Stack {name}: skipped, not started before the interrupt")
                    }
                    StackOutcome::Skipped { blocked_by } => {
                        println!("Stack {name}: skipped, because {blocked_by} failed")
                    }
                }
            }
        }
    }
    Ok(if report.interrupted() {
        ExitStatus::Interrupted
    } else if report.failed() {
        ExitStatus::Error
    } else if report.drifted() {
        ExitStatus::ChangesPresent
    } else {
        ExitStatus::Success
    })
}
