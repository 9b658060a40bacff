//! `ohmc-infra audit [ENV ...] [--account ID ...] [--discover-accounts] [--region R ...]`
//!
//! Turns the arguments into audit targets (environment or account, region), with the
//! expectations of each (stack outputs from Terraform or `--outputs`, the `verify {}`
//! block) and the waivers of each environment; runs `ohmc_audit::run_audit`; renders.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use ohmc_audit::model::Verdict;
use ohmc_audit::render::{self, PrometheusOptions};
use ohmc_audit::{
    AuditDefaults, AuditOptions, AuditReport, AuditTarget, CheckSelection, EnvironmentWaivers,
};
use ohmc_checks::{ContextOptions, Expectations};
use ohmc_infra::environment::{self, Environment};
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::ops::{output, verify, OpsContext};
use ohmc_terraform::Interrupt;
use serde_json::{Map, Value};

use crate::cli::{AuditAction, AuditArgs, AuditMergeArgs, Format, GlobalArgs};
use crate::context;

pub async fn run(
    global: &GlobalArgs,
    args: &AuditArgs,
    interrupt: Interrupt,
) -> Result<ExitStatus> {
    if let Some(AuditAction::Merge(m)) = &args.action {
        return merge(global, m).await;
    }
    let checks = CheckSelection::patterns(&args.checks).map_err(anyhow::Error::msg)?;
    let root = context::root(global)?;
    let defaults_file = args
        .audit_config
        .clone()
        .unwrap_or_else(|| root.join(ohmc_audit::defaults::AUDIT_FILE));
    if args.audit_config.is_some() && !defaults_file.is_file() {
        bail!("--audit-config {}: no such file", defaults_file.display());
    }
    let defaults = AuditDefaults::load(&defaults_file)?;
    let base = ContextOptions {
        endpoint_url: args.endpoint_url.clone(),
        ..ContextOptions::default()
    };

    // Which environments: the named ones, or all when no account was asked for.
    let env_names = if args.envs.is_empty() && args.accounts.is_empty() && !args.discover_accounts {
        environment::discover(&context::environments_dir(&root))?
    } else {
        args.envs.clone()
    };
    let envs: Vec<Environment> = env_names
        .iter()
        .map(|n| context::load_environment(&root, n))
        .collect::<Result<_>>()?;

    let mut accounts: Vec<String> = args.accounts.clone();
    if args.discover_accounts {
        let found = ohmc_audit::discover_accounts(ContextOptions {
            region: args.regions.first().cloned(),
            ..base.clone()
        })
        .await
        .map_err(anyhow::Error::msg)
        .context("discovering accounts (--discover-accounts)")?;
        accounts.extend(found.into_iter().map(|a| a.id));
    }
    accounts.sort();
    accounts.dedup();
    for a in &accounts {
        if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
            bail!("--account {a}: not a 12-digit AWS account id");
        }
    }
    if !accounts.is_empty() && args.regions.is_empty() {
        bail!("auditing accounts needs at least one --region");
    }
    if envs.is_empty() && accounts.is_empty() {
        bail!(
            "nothing to audit: no environments under {}",
            context::environments_dir(&root).display()
        );
    }

    let extra_waivers = match &args.waivers {
        Some(p) => ohmc_audit::waivers::load(p, &p.display().to_string())?,
        None => Vec::new(),
    };

    // Without --outputs the stacks' outputs come from Terraform, set up once for the run
    // and asked once per environment; a failure is that environment's error.
    let terraform = match &args.outputs {
        None if !envs.is_empty() => Some(
            context::ops_context(global, interrupt, None)
                .await
                .map_err(|e| format!("{e:#} (or pass --outputs FILE)")),
        ),
        _ => None,
    };

    let mut targets = Vec::new();
    let mut waivers = Vec::new();
    for env in &envs {
        let regions = if args.regions.is_empty() {
            vec![env.aws.region.clone()]
        } else {
            args.regions.clone()
        };
        let tf_outputs = match &terraform {
            Some(ops) => terraform_outputs(ops, env).await,
            None => Ok(Map::new()), // --outputs: read per target below
        };
        for (i, region) in regions.into_iter().enumerate() {
            let expectations = match &args.outputs {
                Some(template) => outputs_file(template, &env.name, &env.aws.account_id, &region),
                None => tf_outputs.clone(),
            }
            .map(|o| verify::expectations(env, o));
            // Monitoring checks belong to the environment: judged once, with its home
            // region (or the first region asked for).
            let home =
                region == env.aws.region || (i == 0 && !args.regions.contains(&env.aws.region));
            targets.push(AuditTarget {
                environment: env.name.clone(),
                expected_account: Some(env.aws.account_id.clone()),
                discover: args.discover,
                include_global: i == 0,
                monitoring: if home {
                    verify::monitoring_settings(env)
                } else {
                    None
                },
                region,
                // run_audit sets the region from the target.
                options: verify::context_options(env, args.endpoint_url.clone()),
                expectations,
            });
        }
        let file = env.dir.join(ohmc_audit::waivers::WAIVERS_FILE);
        let display = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let mut list = ohmc_audit::waivers::load(&file, &display)?;
        list.extend(extra_waivers.iter().cloned());
        waivers.push(EnvironmentWaivers {
            environment: env.name.clone(),
            account_id: env.aws.account_id.clone(),
            waivers: list,
        });
    }
    for account in &accounts {
        let name = format!("account-{account}");
        for (i, region) in args.regions.iter().enumerate() {
            // No environment describes the account: the `audit {}` defaults do.
            let expectations = match &args.outputs {
                Some(template) => outputs_file(template, &name, account, region),
                None => Ok(Map::new()),
            }
            .map(|o| {
                Expectations::new(
                    o,
                    defaults.settings.clone(),
                    defaults.is_production(account),
                )
            });
            targets.push(AuditTarget {
                environment: name.clone(),
                expected_account: Some(account.clone()),
                discover: args.discover,
                include_global: i == 0,
                region: region.clone(),
                options: ContextOptions {
                    role_arn: args
                        .role_name
                        .as_ref()
                        .map(|r| format!("arn:aws:iam::{account}:role/{r}")),
                    session_name: "ohmc-audit".into(),
                    ..base.clone()
                },
                expectations,
                monitoring: None,
            });
        }
        if !extra_waivers.is_empty() {
            waivers.push(EnvironmentWaivers {
                environment: name,
                account_id: account.clone(),
                waivers: extra_waivers.clone(),
            });
        }
    }

    if let Some(shard) = args.shard {
        targets.retain(|t| {
            shard.includes(t.expected_account.as_deref().unwrap_or_default(), &t.region)
        });
        // A shard holding none of an environment's targets must not report its waivers
        // as matching nothing.
        waivers.retain(|w| targets.iter().any(|t| t.environment == w.environment));
    }

    let options = AuditOptions {
        checks,
        concurrency_per_service: args.concurrency_per_service.max(1),
        max_concurrent_targets: args.max_targets.max(1),
        today: args
            .today
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let report = ohmc_audit::run_audit(targets, &waivers, &options).await;
    finish(
        global,
        report,
        args.baseline.as_deref(),
        args.output_dir.as_deref(),
        args.pushgateway.as_deref(),
    )
    .await
}

/// `audit merge REPORT.json...`: the shards' reports as one, rendered like a run.
async fn merge(global: &GlobalArgs, args: &AuditMergeArgs) -> Result<ExitStatus> {
    let mut reports = Vec::new();
    for p in &args.reports {
        reports.push((p.display().to_string(), ohmc_audit::merge::load(p)?));
    }
    let report = ohmc_audit::merge(reports)?;
    finish(
        global,
        report,
        args.baseline.as_deref(),
        args.output_dir.as_deref(),
        args.pushgateway.as_deref(),
    )
    .await
}

/// The baseline diff, the files, stdout, the push and the exit status of a report.
async fn finish(
    global: &GlobalArgs,
    mut report: AuditReport,
    baseline: Option<&Path>,
    output_dir: Option<&Path>,
    pushgateway: Option<&str>,
) -> Result<ExitStatus> {
    if let Some(path) = baseline {
        let previous = ohmc_audit::baseline::load(path)?;
        report.baseline = Some(ohmc_audit::baseline::diff(&previous, &report));
    }

    if report.judged() == 0 {
        eprintln!(
            "error: the audit judged no check ({} skipped, {} error): nothing was shown to pass",
            report.summary.skipped, report.summary.error
        );
    }
    let mut status = match report.verdict() {
        Verdict::Pass => ExitStatus::Success,
        Verdict::Fail => ExitStatus::ChecksFailed,
        Verdict::Error => ExitStatus::Error,
    };
    if let Some(dir) = output_dir {
        write_all(dir, &report, global.verbose > 0)
            .with_context(|| format!("writing reports to {}", dir.display()))?;
    }
    print!(
        "{}",
        render_one(
            global.format,
            &report,
            global.verbose > 0,
            PrometheusOptions::default()
        )?
    );
    if let Some(url) = pushgateway {
        let text = render::prometheus(&report, PrometheusOptions::default())?;
        if let Err(e) = ohmc_audit::push::push(url, &text).await {
            eprintln!("error: {e}");
            status = ExitStatus::Error;
        }
    }
    Ok(status)
}

fn render_one(
    format: Format,
    report: &AuditReport,
    verbose: bool,
    prom: PrometheusOptions,
) -> Result<String> {
    Ok(match format {
        Format::Human => render::human(report, verbose),
        Format::Json => render::json(report)?,
        Format::Markdown => render::markdown(report),
        Format::Junit => render::junit(report)?,
        Format::Sarif => render::sarif(report)?,
        Format::Prometheus => render::prometheus(report, prom)?,
    })
}

/// Writes every format. Each file is written to a temporary name and renamed, so a
/// textfile collector never reads half a file.
fn write_all(dir: &Path, report: &AuditReport, verbose: bool) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, file) in render::FILE_NAMES {
        let path = dir.join(file);
        let format = Format::from_str(name, false).map_err(anyhow::Error::msg)?;
        // The textfile this run replaces carries the last-success time forward.
        let prom = match format {
            Format::Prometheus => PrometheusOptions::from_previous_textfile(
                &std::fs::read_to_string(&path).unwrap_or_default(),
            ),
            _ => PrometheusOptions::default(),
        };
        let text = render_one(format, report, verbose, prom)?;
        let tmp = dir.join(format!(".{file}.tmp"));
        std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    }
    Ok(())
}

/// The stacks' public outputs from Terraform, or why they could not be read.
async fn terraform_outputs(
    ops: &Result<OpsContext, String>,
    env: &Environment,
) -> Result<Map<String, Value>, String> {
    let ops = ops.as_ref().map_err(Clone::clone)?;
    let stacks = output::read_outputs(ops, env)
        .await
        .context("reading the stacks' outputs from Terraform")
        .map_err(|e| format!("{e:#} (or pass --outputs FILE)"))?;
    Ok(output::merged_public_outputs(&stacks))
}

/// Reads an outputs file, its path expanded for the target.
fn outputs_file(
    template: &str,
    environment: &str,
    account: &str,
    region: &str,
) -> Result<Map<String, Value>, String> {
    let path = PathBuf::from(
        template
            .replace("{environment}", environment)
            .replace("{account}", account)
            .replace("{region}", region),
    );
    verify::outputs_from_file(&path).map_err(|e| format!("stack outputs: {e}"))
}
