//! `ohmc-infra verify ENV`

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use ohmc_checks::{Area, Outcome, Report, RunOptions};
use ohmc_infra::environment::Environment;
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::ops::{output, verify, OpsContext};
use ohmc_terraform::Interrupt;
use serde_json::{json, Map, Value};

use crate::cli::{Format, GlobalArgs, VerifyArgs};
use crate::context;

pub async fn run(
    global: &GlobalArgs,
    args: &VerifyArgs,
    interrupt: Interrupt,
) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, &args.env)?;
    let areas = parse_areas(&args.areas)?;
    let outputs = match &args.outputs {
        Some(path) => verify::outputs_from_file(path)?,
        None => {
            let ctx = context::ops_context(global, interrupt, None).await?;
            terraform_outputs(&ctx, &env).await?
        }
    };
    verify_environment(global, &env, outputs, args.endpoint_url.clone(), areas).await
}

/// The stacks' public outputs, read through Terraform. Shared with `apply`, which reads
/// them with the context it applied with.
pub async fn terraform_outputs(ctx: &OpsContext, env: &Environment) -> Result<Map<String, Value>> {
    let stacks = output::read_outputs(ctx, env)
        .await
        .context("reading the stacks' outputs")?;
    Ok(output::merged_public_outputs(&stacks))
}

/// `--area cloudtrail` etc., matched case-insensitively against the catalog.
fn parse_areas(names: &[String]) -> Result<Option<BTreeSet<Area>>> {
    if names.is_empty() {
        return Ok(None);
    }
    let known: BTreeSet<Area> = ohmc_checks::catalog().iter().map(|c| c.area).collect();
    let mut chosen = BTreeSet::new();
    for name in names {
        let area = known
            .iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .with_context(|| {
                format!(
                    "unknown area \"{name}\"; areas: {}",
                    known
                        .iter()
                        .map(|a| a.name().to_ascii_lowercase())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        chosen.insert(*area);
    }
    Ok(Some(chosen))
}

/// Shared with `apply`, which verifies after a successful apply.
pub async fn verify_environment(
    global: &GlobalArgs,
    env: &Environment,
    outputs: Map<String, Value>,
    endpoint_url: Option<String>,
    areas: Option<BTreeSet<Area>>,
) -> Result<ExitStatus> {
    let options = verify::context_options(env, endpoint_url);
    let report = verify::verify(
        env,
        outputs,
        options,
        &RunOptions {
            areas,
            ..RunOptions::default()
        },
    )
    .await
    .with_context(|| format!("setting up AWS access for environment {}", env.name))?;
    match global.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&to_json(env, &report))?),
        _ => print_human(env, &report, global.verbose > 0),
    }
    if report.judged() == 0 {
        eprintln!(
            "error: verify {} judged no check ({} skipped, {} error): nothing was shown to pass",
            env.name, report.summary.skipped, report.summary.error
        );
    }
    Ok(if report.has_errors() || report.judged() == 0 {
        ExitStatus::Error
    } else if report.has_failures() {
        ExitStatus::ChecksFailed
    } else {
        ExitStatus::Success
    })
}

fn to_json(env: &Environment, report: &Report) -> serde_json::Value {
    let findings: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            let check = ohmc_checks::check(&f.check_id);
            json!({
                "check_id": f.check_id,
                "title": check.as_ref().map(|c| c.title),
                "area": f.area,
                "severity": f.severity,
                "resource": f.resource,
                "outcome": f.outcome,
                "controls": check.as_ref().map(|c| c.controls.iter().map(|c| c.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
                "evidence": f.evidence,
                "remediation": f.remediation,
            })
        })
        .collect();
    json!({
        "schema_version": super::JSON_SCHEMA_VERSION,
        "command": "verify",
        "environment": env.name,
        "account_id": report.account_id,
        "region": report.region,
        "benchmarks": {"fsbp": ohmc_checks::FSBP_VERSION, "cis": ohmc_checks::CIS_VERSIONS},
        "summary": report.summary,
        "findings": findings,
        "api_calls": report.api_calls,
    })
}

fn print_human(env: &Environment, report: &Report, verbose: bool) {
    let s = &report.summary;
    println!(
        "Verify {} (account {}, {}): {} pass, {} fail, {} error, {} skipped",
        env.name,
        report.account_id.as_deref().unwrap_or("unknown"),
        report.region,
        s.pass,
        s.fail,
        s.error,
        s.skipped
    );
    let id_width = report
        .findings
        .iter()
        .map(|f| f.check_id.len())
        .max()
        .unwrap_or(10);
    let mut area = None;
    for f in &report.findings {
        if area != Some(f.area) {
            area = Some(f.area);
            println!("\n{}", f.area);
        }
        let label = match &f.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Error { .. } => "ERROR",
            Outcome::Skipped { .. } => "SKIP",
        };
        println!("  {label:5}  {:id_width$}  {}", f.check_id, f.resource);
        match &f.outcome {
            Outcome::Pass if !verbose => {}
            Outcome::Skipped { reason } => println!("         reason:   {reason}"),
            outcome => {
                if let Outcome::Error { message } = outcome {
                    println!("         error:    {message}");
                }
                println!("         expected: {}", f.evidence.expected);
                println!("         observed: {}", f.evidence.observed);
                if !matches!(outcome, Outcome::Pass) && !f.remediation.is_empty() {
                    println!("         fix:      {}", f.remediation);
                }
            }
        }
    }
}
