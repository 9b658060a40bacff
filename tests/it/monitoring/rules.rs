//! Alert rules: `promtool check rules`, `promtool test rules`, and the
//! PrometheusRule manifests generated from them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{files_under, rel, tool};

use super::support::{
    check_generated, generated_header, indent, monitoring, read, remove_under_bless, run_ok, s,
    seq, yaml,
};

/// Every alert the platform promises (issue: monitoring stack, item 2).
const REQUIRED_ALERTS: &[&str] = &[
    "NodeHighCPU",
    "NodeHighMemory",
    "NodeDiskSpaceLow",
    "PodRestartingFrequently",
    "ContainerOOMKilled",
    "BackendUnavailable",
    "BackendHigh5xxRatio",
    "BackendHighLatencyP95",
    "CollectorCronJobMissedSchedule",
    "AgentHighErrorRate",
    "RDSUnavailable",
    "RedisUnavailable",
    "CertificateExpiringSoon",
    "BackupJobFailed",
    "ComplianceCheckFailing",
];

pub(super) fn rule_files() -> Vec<PathBuf> {
    // Only the top level: rules/tests/ holds the promtool tests.
    let files: Vec<_> = files_under(&monitoring().join("rules"), &[".yml"])
        .into_iter()
        .filter(|p| p.parent() == Some(monitoring().join("rules").as_path()))
        .collect();
    assert!(
        !files.is_empty(),
        "no rule files in deploy/monitoring/rules"
    );
    files
}

pub(super) fn rule_test_files() -> Vec<PathBuf> {
    let files = files_under(&monitoring().join("rules/tests"), &[".yml"]);
    assert!(
        !files.is_empty(),
        "no promtool tests in deploy/monitoring/rules/tests"
    );
    files
}

/// alert name -> its expression, over every rule file.
fn alerts() -> BTreeMap<String, String> {
    let mut alerts = BTreeMap::new();
    for file in rule_files() {
        for group in seq(&yaml(&file)["groups"]) {
            for rule in seq(&group["rules"]) {
                if let Some(name) = rule["alert"].as_str() {
                    let expr = s(&rule["expr"], name).to_string();
                    let dup = alerts.insert(name.to_string(), expr);
                    assert!(dup.is_none(), "alert {name} is defined twice");
                }
            }
        }
    }
    alerts
}

#[test]
fn alert_rule_files_pass_promtool_check() {
    let out = run_ok(
        Command::new(tool("promtool"))
            .args(["check", "rules"])
            .args(rule_files()),
    );
    assert!(!out.contains("FAILED"), "{out}");
}

#[test]
fn alert_rule_unit_tests_pass_promtool_test() {
    let out = run_ok(
        Command::new(tool("promtool"))
            .args(["test", "rules"])
            .args(rule_test_files())
            .current_dir(monitoring().join("rules/tests")),
    );
    assert!(!out.contains("FAILED"), "{out}");
}

/// Each alert needs a test where it fires (non-empty `exp_alerts`) and one
/// where it stays quiet (empty `exp_alerts`), and every promised alert exists.
#[test]
fn every_alert_has_a_firing_and_a_quiet_unit_test() {
    let alerts = alerts();
    for required in REQUIRED_ALERTS {
        assert!(
            alerts.contains_key(*required),
            "required alert {required} is not defined"
        );
    }
    let compliance = &alerts["ComplianceCheckFailing"];
    assert!(
        compliance.contains("ohmc_compliance_check_status"),
        "ComplianceCheckFailing: {compliance}"
    );
    assert!(
        compliance.contains("== 1"),
        "ComplianceCheckFailing must fire on status 1: {compliance}"
    );

    let mut fires = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    let mut tested_files = BTreeSet::new();
    for file in rule_test_files() {
        let doc = yaml(&file);
        for rf in seq(&doc["rule_files"]) {
            tested_files.insert(
                file.parent()
                    .unwrap()
                    .join(s(rf, "rule_files"))
                    .canonicalize()
                    .unwrap(),
            );
        }
        for test in seq(&doc["tests"]) {
            for case in seq(&test["alert_rule_test"]) {
                let name = s(&case["alertname"], "alertname").to_string();
                assert!(
                    alerts.contains_key(&name),
                    "{}: tests unknown alert {name}",
                    rel(&file)
                );
                if seq(&case["exp_alerts"]).is_empty() {
                    quiet.insert(name);
                } else {
                    fires.insert(name);
                }
            }
        }
    }
    let mut missing = Vec::new();
    for name in alerts.keys() {
        if !fires.contains(name) {
            missing.push(format!("{name}: no test where it fires"));
        }
        if !quiet.contains(name) {
            missing.push(format!("{name}: no test where it stays quiet"));
        }
    }
    for file in rule_files() {
        if !tested_files.contains(&file.canonicalize().unwrap()) {
            missing.push(format!("{}: no promtool test file loads it", rel(&file)));
        }
    }
    assert!(
        missing.is_empty(),
        "alert coverage gaps:\n{}",
        missing.join("\n")
    );
}

fn render_prometheus_rule(source: &Path) -> String {
    let stem = source.file_stem().unwrap().to_string_lossy();
    format!(
        "{}apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: ohmc-{stem}\n  \
         namespace: monitoring\n  labels:\n    app.kubernetes.io/part-of: ohmc\nspec:\n{}",
        generated_header(source),
        indent(&read(source), 2)
    )
}

#[test]
fn prometheus_rule_manifests_match_the_rule_files() {
    let dir = monitoring().join("manifests/prometheusrules");
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    for source in rule_files() {
        let target = dir.join(format!(
            "{}.yaml",
            source.file_stem().unwrap().to_string_lossy()
        ));
        problems.extend(check_generated(&target, &render_prometheus_rule(&source)));
        // The manifest's spec is the rule file, value for value.
        if target.exists() {
            assert_eq!(yaml(&target)["spec"], yaml(&source), "{}", rel(&target));
        }
        expected.insert(target);
    }
    for stale in files_under(&dir, &[".yaml"]) {
        if !expected.contains(&stale) && !remove_under_bless(&stale) {
            problems.push(format!("{} has no rule file", rel(&stale)));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(rerun with OHMC_BLESS=1)",
        problems.join("\n")
    );
}
