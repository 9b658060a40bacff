//! SARIF 2.1.0 (serde-sarif's types, generated from the OASIS schema) for GitHub code
//! scanning. One rule per catalog check (controls as tags and properties, a
//! `security-severity` for GitHub), one result per failing, waived or errored finding.
//! Passing and skipped findings are not results. Waived results carry an external
//! suppression with the waiver's reason, which code scanning shows as dismissed.
//!
//! Code scanning needs a file location: the environment's `environment.hcl` (what the
//! finding is measured against); the resource ARN is the logical location, and the
//! partial fingerprint is the finding's identity so alerts track across runs.

use std::collections::BTreeMap;

use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, Sarif, Suppression, Tool, ToolComponent,
};

use crate::model::{AuditFinding, AuditReport, Status};

const INFORMATION_URI: &str = "https://github.com/ohmycoins/ohmc-infra";

fn security_severity(s: ohmc_checks::Severity) -> &'static str {
    match s {
        ohmc_checks::Severity::Low => "3.0",
        ohmc_checks::Severity::Medium => "5.5",
        ohmc_checks::Severity::High => "8.0",
        ohmc_checks::Severity::Critical => "9.5",
    }
}

fn artifact_uri(environment: &str) -> String {
    if environment.starts_with("account-") {
        "environments/README.md".to_string()
    } else {
        format!("environments/{environment}/environment.hcl")
    }
}

fn rules() -> Vec<ReportingDescriptor> {
    let mut out: Vec<ReportingDescriptor> = ohmc_checks::catalog()
        .into_iter()
        .map(|c| {
            let tags: Vec<String> = std::iter::once("security".to_string())
                .chain(std::iter::once("compliance".to_string()))
                .chain(c.controls.iter().map(|k| k.to_string()))
                .collect();
            let mut extra = BTreeMap::new();
            extra.insert(
                "security-severity".to_string(),
                serde_json::json!(security_severity(c.severity)),
            );
            extra.insert(
                "controls".to_string(),
                serde_json::to_value(
                    c.controls
                        .iter()
                        .map(crate::model::ControlRef::from_control)
                        .collect::<Vec<_>>(),
                )
                .unwrap_or_default(),
            );
            ReportingDescriptor::builder()
                .id(c.id)
                .name(c.id.replace('.', "/"))
                .short_description(MultiformatMessageString::builder().text(c.title).build())
                .properties(
                    PropertyBag::builder()
                        .tags(tags)
                        .additional_properties(extra)
                        .build(),
                )
                .build()
        })
        .collect();
    out.push(
        ReportingDescriptor::builder()
            .id(crate::waivers::EXPIRED_WAIVER_CHECK)
            .name("audit/waiver_expired")
            .short_description(
                MultiformatMessageString::builder()
                    .text("Every waiver is within its expiry date")
                    .build(),
            )
            .build(),
    );
    out
}

fn result(f: &AuditFinding, rule_index: Option<usize>) -> SarifResult {
    let level = match f.status {
        Status::Fail | Status::Waived => match f.severity {
            ohmc_checks::Severity::High | ohmc_checks::Severity::Critical => ResultLevel::Error,
            _ => ResultLevel::Warning,
        },
        _ => ResultLevel::Warning,
    };
    let text = match f.status {
        Status::Error => format!(
            "{} could not be judged for {} in {} ({}, {}): {}",
            f.check_id,
            f.resource_label(),
            f.environment,
            f.account_id,
            f.region,
            f.message.as_deref().unwrap_or("")
        ),
        _ => format!(
            "{} fails for {} in {} ({}, {}): expected {}; observed {}. {}",
            f.check_id,
            f.resource_label(),
            f.environment,
            f.account_id,
            f.region,
            f.evidence.expected,
            f.evidence.observed,
            f.remediation
        ),
    };
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(artifact_uri(&f.environment))
                        .build(),
                )
                .region(Region::builder().start_line(1).build())
                .build(),
        )
        .logical_locations(vec![LogicalLocation::builder()
            .fully_qualified_name(f.resource.clone())
            .kind("resource")
            .build()])
        .build();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert("ohmcFinding/v1".to_string(), f.key().to_string());
    let mut props = BTreeMap::new();
    props.insert("status".to_string(), serde_json::json!(f.status.label()));
    props.insert("environment".to_string(), serde_json::json!(f.environment));
    props.insert("account_id".to_string(), serde_json::json!(f.account_id));
    props.insert("region".to_string(), serde_json::json!(f.region));
    props.insert(
        "controls".to_string(),
        serde_json::to_value(&f.controls).unwrap_or_default(),
    );
    let base = SarifResult::builder()
        .rule_id(f.check_id.clone())
        .level(level)
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(props).build());
    let suppressions = f
        .waiver
        .as_ref()
        .filter(|_| f.status == Status::Waived)
        .map(|w| {
            vec![Suppression::builder()
                .kind(serde_json::json!("external"))
                .status(serde_json::json!("accepted"))
                .justification(format!(
                    "{} (owner {}, expires {}, {})",
                    w.reason, w.owner, w.expires, w.source
                ))
                .build()]
        });
    match (rule_index, suppressions) {
        (Some(i), Some(s)) => base.rule_index(i as i64).suppressions(s).build(),
        (Some(i), None) => base.rule_index(i as i64).build(),
        (None, Some(s)) => base.suppressions(s).build(),
        (None, None) => base.build(),
    }
}

/// The SARIF log: one run, tool `ohmc-infra`.
pub fn sarif(report: &AuditReport) -> Result<String, serde_json::Error> {
    let rules = rules();
    let index: BTreeMap<String, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .filter(|f| matches!(f.status, Status::Fail | Status::Waived | Status::Error))
        .map(|f| result(f, index.get(&f.check_id).copied()))
        .collect();
    let mut run_props = BTreeMap::new();
    run_props.insert(
        "benchmarks".to_string(),
        serde_json::to_value(&report.benchmarks)?,
    );
    run_props.insert("summary".to_string(), serde_json::to_value(report.summary)?);
    run_props.insert(
        "target_errors".to_string(),
        serde_json::to_value(&report.errors)?,
    );
    let driver = ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .information_uri(INFORMATION_URI)
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .properties(
            PropertyBag::builder()
                .additional_properties(run_props)
                .build(),
        )
        .build();
    let log = Sarif::builder()
        .schema(serde_sarif::sarif::SCHEMA_URL)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut s = serde_json::to_string_pretty(&log)?;
    s.push('\n');
    Ok(s)
}
