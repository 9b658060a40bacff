//! `ohmc-infra verify ENV`: what the stack's outputs and the environment's
//! `verify {}` block say should exist, checked against the live account.

use std::path::Path;

use ohmc_checks::{AwsContext, ContextOptions, Expectations, Report, RunOptions, VerifySettings};
use serde_json::{Map, Value};

use crate::environment::Environment;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}: {reason}", .path.display())]
    Outputs { path: std::path::PathBuf, reason: String },
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
    let err = |reason: String| VerifyError::Outputs { path: path.to_path_buf(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    let Value::Object(map) = doc else { return Err(err("expected a JSON object of outputs".into())) };
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

/// Runs every check for one environment.
pub async fn verify(env: &Environment, outputs: Map<String, Value>, options: ContextOptions, run: &RunOptions) -> Result<Report, VerifyError> {
    let ctx = AwsContext::load(options).await?;
    let expectations = Expectations::new(outputs, settings(env), is_production(env));
    Ok(ohmc_checks::run_checks(&ctx, &expectations, run).await)
}
