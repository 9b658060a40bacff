//! `ohmc-infra plan ENV`

use anyhow::Result;
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::graph::INTERRUPTED;
use ohmc_infra::ops::plan::{self, PlanOptions, PlanReport, StackPlanStatus};
use ohmc_infra::summary::PlanSummary;
use ohmc_terraform::Interrupt;
use serde_json::json;

use crate::cli::{Format, GlobalArgs, PlanArgs};
use crate::context;
use crate::progress::ProgressPrinter;

pub async fn run(global: &GlobalArgs, args: &PlanArgs, interrupt: Interrupt) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, &args.env)?;
    let printer = ProgressPrinter::start(global.quiet);
    let ctx = context::ops_context(global, interrupt, printer.sender.clone()).await?;
    context::report_previous_runs(&ctx, &env.name)?;
    let report = plan::plan(
        &ctx,
        &env,
        &PlanOptions {
            destroy: args.destroy,
            keep_bundles: args.keep_bundles,
        },
    )
    .await;
    // The context holds a progress sender; the printer finishes once every sender is gone.
    drop(ctx);
    printer.finish().await;
    let report = report?;
    if let Some(err) = &report.prune_error {
        eprintln!("warning: the plan was saved, but older bundles could not be pruned: {err}");
    }
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&to_json(&report))?),
        _ => print_human(&report),
    }
    Ok(if report.interrupted() {
        ExitStatus::Interrupted
    } else if report.failed() {
        ExitStatus::Error
    } else if report.changes_present() {
        ExitStatus::ChangesPresent
    } else {
        ExitStatus::Success
    })
}

fn to_json(report: &PlanReport) -> serde_json::Value {
    let stacks: Vec<_> = report
        .stacks
        .iter()
        .map(|(name, status)| match status {
            StackPlanStatus::Planned(meta) => json!({
                "name": name, "status": "planned", "changes_present": meta.changes_present,
                "plan_sha256": meta.plan_sha256, "state": meta.state, "summary": meta.summary,
            }),
            StackPlanStatus::Failed { error, lock } => json!({
                "name": name, "status": if error.is_interrupted() { "interrupted" } else { "failed" },
                "error": error.to_string(), "lock": lock.as_ref().map(super::lock_json),
            }),
            StackPlanStatus::Skipped { blocked_by } => json!({"name": name, "status": "skipped", "blocked_by": blocked_by}),
            StackPlanStatus::Waiting { on } => json!({"name": name, "status": "waiting", "on": on}),
        })
        .collect();
    json!({
        "schema_version": super::JSON_SCHEMA_VERSION,
        "command": "plan",
        "environment": report.environment,
        "bundle": report.bundle.as_ref().map(|b| json!({
            "dir": b.dir, "sha256": b.meta.bundle_sha256, "git": b.meta.git,
            "terraform_version": b.meta.terraform_version, "destroy": b.meta.destroy,
        })),
        "changes_present": report.changes_present(),
        "pruned_bundles": report.pruned,
        "stacks": stacks,
    })
}

pub fn counts(s: &PlanSummary) -> String {
    format!(
        "{} to create, {} to update, {} to replace, {} to delete",
        s.create, s.update, s.replace, s.delete
    )
}

fn print_human(report: &PlanReport) {
    let mut total = PlanSummary::default();
    let mut destructive = Vec::new();
    for (name, status) in &report.stacks {
        match status {
            StackPlanStatus::Planned(meta) => {
                let s = &meta.summary;
                total.create += s.create;
                total.update += s.update;
                total.replace += s.replace;
                total.delete += s.delete;
                println!(
                    "Stack {name}: {}",
                    if meta.changes_present {
                        counts(s)
                    } else {
                        "no changes".into()
                    }
                );
                for c in &s.changes {
                    let reason = c
                        .reason
                        .as_deref()
                        .map(|r| format!("  ({r})"))
                        .unwrap_or_default();
                    let moved = c
                        .moved_from
                        .as_deref()
                        .map(|from| format!("  (moved from {from})"))
                        .unwrap_or_default();
                    let imported = c
                        .import_id
                        .as_deref()
                        .map(|id| format!("  (import id {id})"))
                        .unwrap_or_default();
                    println!("  {:8} {}{reason}{moved}{imported}", c.action, c.address);
                }
                for d in &s.deferred {
                    let reason = d.reason.as_deref().unwrap_or("unknown");
                    println!(
                        "  deferred {} ({} put off to a later plan: {reason})",
                        d.address, d.action
                    );
                }
                for u in &s.unrecognised {
                    println!("  UNREADABLE change reported by Terraform ({u}): review `terraform show` of the plan file");
                }
                for d in &s.drift {
                    println!("  drifted  {} ({} outside Terraform)", d.address, d.action);
                }
                for o in &s.outputs {
                    println!("  output   {} = {} ({})", o.name, o.value, o.action);
                }
                destructive.extend(s.destructive.iter().map(|a| format!("{name}: {a}")));
            }
            StackPlanStatus::Failed { error, lock } => {
                println!(
                    "Stack {name}: {}",
                    if error.is_interrupted() {
                        "INTERRUPTED"
                    } else {
                        "FAILED"
                    }
                );
                println!("  {}", error.to_string().replace('\n', "\n  "));
                if let Some(lock) = lock {
                    println!("  {}", super::describe_lock(lock));
                }
            }
            StackPlanStatus::Skipped { blocked_by } if blocked_by == INTERRUPTED => {
                println!("Stack {name}: skipped, not started before the interrupt")
            }
            StackPlanStatus::Skipped { blocked_by } => {
                println!("Stack {name}: skipped, because {blocked_by} did not plan")
            }
            StackPlanStatus::Waiting { on } => println!(
                "Stack {name}: not planned yet, it reads outputs of {} that this bundle creates: plan again after this bundle is applied",
                on.join(", ")
            ),
        }
    }
    if !destructive.is_empty() {
        println!("\nDestructive changes (apply needs --allow-destroy):");
        for d in &destructive {
            println!("  {d}");
        }
    }
    match &report.bundle {
        Some(bundle) => {
            println!("\nPlan: {}.", counts(&total));
            println!(
                "Bundle: {} (sha256 {})",
                bundle.dir.display(),
                bundle.meta.bundle_sha256
            );
            if report.changes_present() {
                println!(
                    "Apply it with: ohmc-infra apply {} --plan {}",
                    report.environment,
                    bundle.dir.display()
                );
            }
        }
        None => println!("\nNo plan bundle was saved: not every stack planned."),
    }
}
