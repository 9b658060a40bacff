//! `ohmc-infra verify ENV`: what the stack's outputs and the environment's
//! `verify {}` block say should exist, checked against the live account; and what the
//! `monitoring {}` block says, checked against Prometheus and Alertmanager.

use std::collections::BTreeMap;
use std::path::Path;

use ohmc_checks::monitoring::{self, MonitoringSettings};
use ohmc_checks::{
    Area, AwsContext, ContextOptions, Evidence, Expectations, Finding, Outcome, Report, RunOptions,
    VerifySettings,
};
use serde_json::{Map, Value};

use crate::environment::Environment;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}: {reason}", .path.display())]
    Outputs {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(transparent)]
    Aws(#[from] ohmc_checks::ChecksError),
}

/// Maps the environment's `verify {}` block into the checks' settings.
pub fn settings(env: &Environment) -> VerifySettings {
    let mut s = VerifySettings::default();
    if let Some(v) = &env.verify {
        s.domain_names = v.domain_names.clone();
        if let Some(days) = v.certificate_expiry_window_days {
            s.certificate_expiry_window_days = days as u32;
        }
        if let Some(days) = v.min_backup_retention_days {
            s.min_backup_retention_days = days as u32;
        }
        s.required_waf_rule_groups = v.required_waf_rule_groups.clone();
        s.required_config_rules = v.required_config_rules.clone();
        s.guardduty_finding_frequency = v.guardduty_finding_frequency.clone();
        if let Some(rpo) = v.rpo_target {
            s.rpo_target = rpo;
        }
    }
    s
}

/// Which stack declares each output (`output "NAME"` blocks in the stack's `*.tf`
/// files), so a check that cannot read an output names the stack that should hold it.
/// A stack whose files cannot be read or parsed declares nothing here: the plan and apply
/// paths report those files properly, and this map only improves a message.
pub fn output_stacks(env: &Environment) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for stack in &env.stacks {
        let Ok(entries) = std::fs::read_dir(&stack.dir) else {
            continue;
        };
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        files.sort();
        for file in files {
            let Ok(body) = std::fs::read_to_string(&file)
                .map_err(|_| ())
                .and_then(|t| hcl::parse(&t).map_err(|_| ()))
            else {
                continue;
            };
            for block in body.blocks().filter(|b| b.identifier() == "output") {
                if let Some(label) = block.labels().first() {
                    map.entry(label.as_str().to_string())
                        .or_insert_with(|| stack.name.clone());
                }
            }
        }
    }
    map
}

/// The expectations of an environment's checks: its outputs, `verify {}` block,
/// production flag, and which stack declares each output.
pub fn expectations(env: &Environment, outputs: Map<String, Value>) -> Expectations {
    Expectations::new(outputs, settings(env), is_production(env))
        .with_output_stacks(output_stacks(env))
}

/// Production-only expectations (vault lock, cross-region copy, deletion
/// protection) apply to environments that require approval.
pub fn is_production(env: &Environment) -> bool {
    env.protection.require_approval
}

/// The SDK context for an environment: its region, profile and role, and an
/// optional endpoint for emulators.
pub fn context_options(env: &Environment, endpoint_url: Option<String>) -> ContextOptions {
    ContextOptions {
        profile: env.aws.profile.clone(),
        region: Some(env.aws.region.clone()),
        endpoint_url,
        role_arn: env.aws.role_arn.clone(),
        ..ContextOptions::default()
    }
}

/// Reads saved outputs: `terraform output -json` (`{name: {value, sensitive}}`),
/// `ohmc-infra output --format json` (`{stacks: {stack: {name: {value}}}}`) or a
/// flat `{name: value}` map. Sensitive outputs are dropped.
pub fn outputs_from_file(path: &Path) -> Result<Map<String, Value>, VerifyError> {
    let err = |reason: String| VerifyError::Outputs {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    let Value::Object(map) = doc else {
        return Err(err("expected a JSON object of outputs".into()));
    };
    let mut flat = Map::new();
    let mut absorb = |outputs: &Map<String, Value>| {
        for (name, v) in outputs {
            match v {
                Value::Object(o) if o.contains_key("value") => {
                    if o.get("sensitive").and_then(Value::as_bool) != Some(true) {
                        flat.insert(name.clone(), o["value"].clone());
                    }
                }
                other => {
                    flat.insert(name.clone(), other.clone());
                }
            }
        }
    };
    match map.get("stacks").and_then(Value::as_object) {
        Some(stacks) => {
            for outputs in stacks.values().filter_map(Value::as_object) {
                absorb(outputs);
            }
        }
        None => absorb(&map),
    }
    Ok(flat)
}

/// Maps the environment's `monitoring {}` block into the monitoring checks' settings
/// (`None` when the environment has no such block).
pub fn monitoring_settings(env: &Environment) -> Option<MonitoringSettings> {
    env.monitoring.as_ref().map(|m| MonitoringSettings {
        prometheus_url: m.prometheus_url.clone(),
        alertmanager_url: m.alertmanager_url.clone(),
        required_jobs: m.required_jobs.clone(),
        required_rule_groups: m.required_rule_groups.clone(),
        ..MonitoringSettings::default()
    })
}

/// Runs every check for one environment: the AWS checks and, when the environment has a
/// `monitoring {}` block, the monitoring checks, concurrently, in one report.
///
/// `run.areas` selects: with only `Monitoring` selected no AWS context is loaded (and no
/// credentials are needed); with `Monitoring` selected explicitly but no block, each
/// monitoring check is Skipped with the reason rather than silently absent.
pub async fn verify(
    env: &Environment,
    outputs: Map<String, Value>,
    options: ContextOptions,
    run: &RunOptions,
) -> Result<Report, VerifyError> {
    let started = std::time::Instant::now();
    let selected = |area: Area| run.areas.as_ref().is_none_or(|s| s.contains(&area));
    let wants_aws = Area::ALL
        .into_iter()
        .any(|a| a != Area::Monitoring && selected(a));
    let monitoring_explicit = run
        .areas
        .as_ref()
        .is_some_and(|s| s.contains(&Area::Monitoring));

    let aws = async {
        if !wants_aws {
            return Ok(None);
        }
        let ctx = AwsContext::load(options).await?;
        let expectations = expectations(env, outputs);
        Ok::<_, VerifyError>(Some(
            ohmc_checks::run_checks(&ctx, &expectations, run).await,
        ))
    };
    let monitoring = async {
        match monitoring_settings(env) {
            Some(s) if selected(Area::Monitoring) => monitoring::run(&s).await,
            None if monitoring_explicit => no_monitoring_block(env),
            _ => Vec::new(),
        }
    };
    let (aws, monitoring_findings) = tokio::join!(aws, monitoring);
    let Some(aws) = aws? else {
        let mut report = Report::new(
            None,
            env.aws.region.clone(),
            monitoring_findings,
            Default::default(),
        );
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    };
    if monitoring_findings.is_empty() {
        return Ok(aws);
    }
    // Report::new sorts the merged findings and recounts the summary.
    let mut findings = aws.findings;
    findings.extend(monitoring_findings);
    let mut report = Report::new(aws.account_id, aws.region, findings, aws.api_calls);
    report.api_calls_by_area = aws.api_calls_by_area;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// `--area monitoring` on an environment without a `monitoring {}` block.
fn no_monitoring_block(env: &Environment) -> Vec<Finding> {
    let reason = format!(
        "environment {} has no monitoring {{}} block ({})",
        env.name,
        env.file.display()
    );
    ohmc_checks::catalog()
        .into_iter()
        .filter(|c| c.area == Area::Monitoring)
        .map(|c| Finding {
            check_id: c.id.to_string(),
            area: c.area,
            severity: c.severity,
            resource: "monitoring".to_string(),
            outcome: Outcome::Skipped {
                reason: reason.clone(),
            },
            evidence: Evidence {
                expected: c.title.to_string(),
                observed: String::new(),
            },
            remediation: String::new(),
        })
        .collect()
}
