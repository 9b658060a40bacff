//! `ohmc-infra bootstrap ENV`

use anyhow::{Context, Result};
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::ops::bootstrap::{
    self, Action, BootstrapOptions, BootstrapProgress, BootstrapReport, LockKind,
};
use serde_json::json;
use tokio::sync::mpsc;

use crate::cli::{BootstrapArgs, Format, GlobalArgs};
use crate::context;

pub async fn run(global: &GlobalArgs, args: &BootstrapArgs) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, &args.env)?;
    let (progress, printer) = if global.quiet {
        (None, None)
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        (Some(tx), Some(tokio::spawn(print_progress(rx))))
    };
    let result = bootstrap::bootstrap(
        &env,
        BootstrapOptions {
            endpoint_url: args.endpoint_url.clone(),
            dry_run: args.dry_run,
            progress,
        },
    )
    .await;
    // The sender went with the options: the printer ends once it has printed everything.
    if let Some(printer) = printer {
        let _ = printer.await;
    }
    let report = result.with_context(|| format!("bootstrapping environment {}", env.name))?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&to_json(&report))?),
        _ => print_human(&report),
    }
    Ok(if report.refused() {
        ExitStatus::Error
    } else if report.dry_run && report.changes() {
        ExitStatus::ChangesPresent
    } else {
        ExitStatus::Success
    })
}

/// Plain progress lines on stderr: bootstrap is a handful of calls, each worth a line.
async fn print_progress(mut rx: mpsc::UnboundedReceiver<BootstrapProgress>) {
    while let Some(p) = rx.recv().await {
        match p {
            BootstrapProgress::Checking { kind, name } => {
                eprintln!("[{} {name}] checking", kind.label())
            }
            BootstrapProgress::Writing {
                kind,
                name,
                operation,
            } => eprintln!("[{} {name}] {operation}", kind.label()),
        }
    }
}

fn to_json(report: &BootstrapReport) -> serde_json::Value {
    json!({
        "schema_version": super::JSON_SCHEMA_VERSION,
        "command": "bootstrap",
        "environment": report.environment,
        "account_id": report.account_id,
        "region": report.region,
        "dry_run": report.dry_run,
        "refused": report.refused(),
        "changed": report.changes() && !report.dry_run && !report.refused(),
        "backend": report.backend,
        "resources": report.resources,
        "api_calls": report.api_calls,
    })
}

fn verdict(report: &BootstrapReport, action: Action) -> &'static str {
    match (action, report.dry_run || report.refused()) {
        (Action::Create, true) => "would create",
        (Action::Create, false) => "created",
        (Action::Update, true) => "would update",
        (Action::Update, false) => "updated",
        (Action::Exists, _) => "exists, as required",
        (Action::Refuse, _) => "REFUSED",
    }
}

fn print_human(report: &BootstrapReport) {
    println!(
        "Bootstrap {}{} (account {}, {})",
        report.environment,
        if report.dry_run { ", dry run" } else { "" },
        report.account_id,
        report.region
    );
    let kind_width = report
        .resources
        .iter()
        .map(|r| r.kind.label().len())
        .max()
        .unwrap_or(0);
    let name_width = report
        .resources
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    for r in &report.resources {
        println!(
            "  {:kind_width$}  {:name_width$}  {}",
            r.kind.label(),
            r.name,
            verdict(report, r.action)
        );
        for change in &r.changes {
            println!("      + {change}");
        }
        for gap in &r.gaps {
            println!("      ! {gap}");
        }
    }
    match &report.backend.lock {
        LockKind::Lockfile => {
            println!("  lock: use_lockfile = true (S3 lock objects in the bucket; no table needed)")
        }
        LockKind::None => println!(
            "  lock: NONE: the backend sets neither dynamodb_table nor use_lockfile, so Terraform runs without a state lock"
        ),
        LockKind::DynamodbTable { .. } => {}
    }
    if report.refused() {
        println!(
            "Refused: nothing was changed. bootstrap never alters an existing bucket's versioning, encryption or policy, \
nor a table's key or encryption; close the gaps marked ! by hand, or point backend.hcl at another name, then run again."
        );
    } else if !report.changes() {
        println!("Nothing to change: the state backend exists, as required.");
    } else if report.dry_run {
        println!("Dry run: nothing was changed; run without --dry-run to make these.");
    } else {
        println!(
            "Done. Adopt these resources into the state-bootstrap stack with its import blocks (terraform/README.md)."
        );
    }
}
