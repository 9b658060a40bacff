//! `ohmc-infra apply ENV [--plan BUNDLE]`

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;
use ohmc_infra::environment::Environment;
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::graph::INTERRUPTED;
use ohmc_infra::ops::apply::{
    self, ApplyReport, ApplyRequest, Approval, PreparedApply, StackApplyStatus,
};
use ohmc_terraform::Interrupt;
use serde_json::json;

use crate::cli::{ApplyArgs, Format, GlobalArgs};
use crate::context;
use crate::progress::ProgressPrinter;

pub async fn run(
    global: &GlobalArgs,
    args: &ApplyArgs,
    interrupt: Interrupt,
) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, &args.env)?;
    let printer = ProgressPrinter::start(global.quiet);
    let mut ctx = context::ops_context(global, interrupt, printer.sender.clone()).await?;
    context::report_previous_runs(&ctx, &env.name)?;
    let opts = ApplyRequest {
        bundle: args.plan.clone(),
        allow_destroy: args.allow_destroy,
    };
    let prepared = apply::prepare(&ctx, &env, &opts).await?;
    let approval = approval(&env, &prepared, args)?;
    apply::check_approval(&env, &prepared, &approval)?;
    let report = apply::execute(&ctx, &env, &prepared).await;
    // The context holds a progress sender; the printer finishes once every sender is gone.
    // The context itself stays, to read the outputs for verification.
    ctx.progress = None;
    printer.finish().await;
    let report = report?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&to_json(&report))?),
        _ => print_human(&report),
    }
    if report.interrupted() {
        return Ok(ExitStatus::Interrupted);
    }
    if report.failed() {
        return Ok(ExitStatus::Error);
    }
    if args.no_verify {
        return Ok(ExitStatus::Success);
    }
    if env.verify.is_none() {
        eprintln!(
            "verify: skipped, environment {} has no verify block",
            env.name
        );
        return Ok(ExitStatus::Success);
    }
    eprintln!("verify: checking the live account (--no-verify to skip)");
    let outputs = super::verify::terraform_outputs(&ctx, &env).await?;
    super::verify::verify_environment(global, &env, outputs, args.endpoint_url.clone(), None).await
}

/// `--approve`, or a typed confirmation when a person is at a terminal.
fn approval(env: &Environment, prepared: &PreparedApply, args: &ApplyArgs) -> Result<Approval> {
    if let Some(prefix) = &args.approve {
        return Ok(Approval::ShaPrefix(prefix.clone()));
    }
    if !env.protection.require_approval || !std::io::stdin().is_terminal() {
        return Ok(Approval::None);
    }
    let meta = &prepared.bundle.meta;
    eprintln!(
        "Environment {} is protected. Plan bundle {} (sha256 {}).",
        env.name,
        prepared.bundle.dir.display(),
        meta.bundle_sha256
    );
    for s in &meta.stacks {
        eprintln!("  {}: {}", s.name, super::plan::counts(&s.summary));
    }
    if !prepared.destructive.is_empty() {
        eprintln!(
            "  destroys or replaces: {}",
            prepared.destructive.join(", ")
        );
    }
    eprint!("Type the environment name to apply: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() == env.name {
        Ok(Approval::Confirmed)
    } else {
        anyhow::bail!(
            "confirmation did not match \"{}\"; nothing was applied",
            env.name
        )
    }
}

fn to_json(report: &ApplyReport) -> serde_json::Value {
    let stacks: Vec<_> = report
        .stacks
        .iter()
        .map(|(name, status)| match status {
            StackApplyStatus::Applied {
                seconds,
                create,
                update,
                replace,
                delete,
            } => json!({
                "name": name, "status": "applied", "seconds": seconds,
                "create": create, "update": update, "replace": replace, "delete": delete,
            }),
            StackApplyStatus::NoChanges => json!({"name": name, "status": "no_changes"}),
            StackApplyStatus::Waiting { on } => {
                json!({"name": name, "status": "waiting", "on": on})
            }
            StackApplyStatus::Failed {
                error,
                interrupted,
                lock,
            } => json!({
                "name": name, "status": if *interrupted { "interrupted" } else { "failed" },
                "error": error, "lock": lock.as_ref().map(super::lock_json),
            }),
            StackApplyStatus::Skipped { blocked_by } => {
                json!({"name": name, "status": "skipped", "blocked_by": blocked_by})
            }
        })
        .collect();
    json!({
        "schema_version": super::JSON_SCHEMA_VERSION,
        "command": "apply",
        "environment": report.environment,
        "bundle_sha256": report.bundle_sha256,
        "stacks": stacks,
    })
}

fn print_human(report: &ApplyReport) {
    for (name, status) in &report.stacks {
        match status {
            StackApplyStatus::Applied { seconds, create, update, replace, delete } => println!(
                "Stack {name}: applied in {seconds:.1}s ({create} created, {update} updated, {replace} replaced, {delete} deleted)"
            ),
            StackApplyStatus::NoChanges => println!("Stack {name}: no changes"),
            StackApplyStatus::Waiting { on } => println!(
                "Stack {name}: not in this bundle, it waited for {}: run `ohmc-infra plan` again",
                on.join(", ")
            ),
            StackApplyStatus::Failed { error, interrupted, lock } => {
                println!("Stack {name}: {}", if *interrupted { "INTERRUPTED" } else { "FAILED" });
                println!("  {}", error.replace('\n', "\n  "));
                if let Some(lock) = lock {
                    println!("  {}", super::describe_lock(lock));
                }
            }
            StackApplyStatus::Skipped { blocked_by } if blocked_by == INTERRUPTED => {
                println!("Stack {name}: skipped, not started before the interrupt")
            }
            StackApplyStatus::Skipped { blocked_by } => println!("Stack {name}: not applied, because {blocked_by} did not succeed"),
        }
    }
}
