//! Integration tests: the monitoring stack, the application manifests, the
//! delivery pipelines and the runbooks, each judged by the real tool that would
//! judge it in production, run from `scripts/install-tools`:
//!
//! | what                                   | judge                                          |
//! |----------------------------------------|------------------------------------------------|
//! | `deploy/monitoring/rules/*.yml`        | `promtool check rules`, `promtool test rules`  |
//! | `deploy/monitoring/dashboards/*.json`  | JSON, uids, data sources, `promtool check rules` on every PromQL target |
//! | `deploy/monitoring/alertmanager/`      | `amtool check-config`, `amtool config routes test` |
//! | `deploy/k8s/`, `deploy/monitoring/manifests/` | `kubernetes-validate --strict` (core kinds); a structural check here for CRD kinds |
//! | `.github/workflows/`                   | `actionlint`, `shellcheck` over every `run:` script (no inline `${{ }}`), local reusable-workflow inputs |
//! | `scripts/`                             | `shellcheck`                                   |
//! | `runbooks/`, `README.md`               | every `ohmc-infra ...` line parsed by the CLI  |
//!
//! Some manifests are generated from their sources so the two cannot drift:
//! PrometheusRules from the plain rule files, dashboard ConfigMaps from the
//! JSON, the Alertmanager config Secret from `alertmanager.yaml`. After editing
//! a source, rerun with `OHMC_BLESS=1` to rewrite them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_yaml::Value;

use crate::harness::{ohmc_bin, repo_root, tool};

/// The Kubernetes version of the EKS cluster (terraform/modules/eks default).
const KUBERNETES_VERSION: &str = "1.31.0";

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

const REQUIRED_DASHBOARDS: &[&str] = &[
    "cluster",
    "nodes",
    "pods",
    "application",
    "database",
    "compliance",
];

/// CRD kinds kubernetes-validate has no schema for; `check_crd` checks them.
const CRD_KINDS: &[&str] = &[
    "ServiceMonitor",
    "PrometheusRule",
    "ExternalSecret",
    "ClusterSecretStore",
    "TargetGroupBinding",
];

const WORKFLOWS: &[&str] = &[
    "build-backend",
    "build-frontend",
    "deploy-to-eks",
    "infra-plan",
    "infra-apply",
    "compliance-audit",
    "dr-drill",
];

// ---------------------------------------------------------------------------
// helpers

fn monitoring() -> PathBuf {
    repo_root().join("deploy/monitoring")
}

fn rel(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Files under `dir` (recursively) whose names end with one of `exts`, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, exts, out);
            } else if exts.iter().any(|e| path.to_string_lossy().ends_with(e)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, exts, &mut out);
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Runs a tool; returns its output whatever the exit status.
fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a tool and fails the test, with its output, unless it exits 0.
fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        text(&out)
    );
    text(&out)
}

/// Every YAML document in a file (empty documents skipped).
fn yaml_docs(path: &Path) -> Vec<Value> {
    use serde::Deserialize;
    let src = read(path);
    serde_yaml::Deserializer::from_str(&src)
        .map(|doc| {
            Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", rel(path)))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{}: expected one YAML document", rel(path));
    docs.remove(0)
}

fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, got {v:?}"))
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(|s| s.as_slice()).unwrap_or(&[])
}

/// Compares a generated file with what is on disk, or rewrites it under
/// `OHMC_BLESS=1`. Returns a problem description, if any.
fn check_generated(path: &Path, want: &str) -> Option<String> {
    if std::env::var_os("OHMC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, want).unwrap();
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(have) if have == want => None,
        Ok(_) => Some(format!("{} is out of date", rel(path))),
        Err(_) => Some(format!("{} is missing", rel(path))),
    }
}

/// Under `OHMC_BLESS=1`, deletes a generated file whose source is gone.
fn remove_under_bless(path: &Path) -> bool {
    std::env::var_os("OHMC_BLESS").is_some() && std::fs::remove_file(path).is_ok()
}

fn indent(src: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    src.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn generated_header(source: &Path) -> String {
    format!(
        "# Generated from {} by tests/it/monitoring.rs; do not edit. After changing the\n\
         # source, run: OHMC_BLESS=1 cargo test -p ohmc-cli --test it monitoring\n",
        rel(source)
    )
}

// ---------------------------------------------------------------------------
// alert rules

fn rule_files() -> Vec<PathBuf> {
    // Only the top level: rules/tests/ holds the promtool tests.
    let files: Vec<_> = files(&monitoring().join("rules"), &[".yml"])
        .into_iter()
        .filter(|p| p.parent() == Some(monitoring().join("rules").as_path()))
        .collect();
    assert!(
        !files.is_empty(),
        "no rule files in deploy/monitoring/rules"
    );
    files
}

fn rule_test_files() -> Vec<PathBuf> {
    let files = files(&monitoring().join("rules/tests"), &[".yml"]);
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
    for stale in files(&dir, &[".yaml"]) {
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

// ---------------------------------------------------------------------------
// dashboards

fn dashboards() -> Vec<(PathBuf, serde_json::Value)> {
    files(&monitoring().join("dashboards"), &[".json"])
        .into_iter()
        .map(|p| {
            let v = serde_json::from_str(&read(&p)).unwrap_or_else(|e| panic!("{}: {e}", rel(&p)));
            (p, v)
        })
        .collect()
}

/// uid -> type of every data source Grafana is provisioned with.
fn provisioned_datasources() -> BTreeMap<String, String> {
    let values = yaml(&monitoring().join("values/kube-prometheus-stack.yaml"));
    let list = &values["grafana"]["datasources"]["datasources.yaml"]["datasources"];
    assert!(
        !seq(list).is_empty(),
        "no grafana.datasources in kube-prometheus-stack values"
    );
    seq(list)
        .iter()
        .map(|d| {
            (
                s(&d["uid"], "datasource uid").to_string(),
                s(&d["type"], "datasource type").to_string(),
            )
        })
        .collect()
}

/// Grafana's variables replaced by values PromQL accepts.
fn substitute_grafana_variables(expr: &str) -> String {
    let durations = [
        ("$__rate_interval", "5m"),
        ("${__rate_interval}", "5m"),
        ("$__interval", "1m"),
        ("${__interval}", "1m"),
        ("$__range", "1h"),
        ("${__range}", "1h"),
    ];
    let mut out = expr.to_string();
    for (var, value) in durations {
        out = out.replace(var, value);
    }
    let other =
        regex::Regex::new(r"\$\{[A-Za-z0-9_]+(:[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*").unwrap();
    other.replace_all(&out, "grafana_variable").into_owned()
}

#[test]
fn dashboards_parse_with_unique_uids_known_datasources_and_valid_promql() {
    let dashboards = dashboards();
    let names: BTreeSet<_> = dashboards
        .iter()
        .map(|(p, _)| p.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    for required in REQUIRED_DASHBOARDS {
        assert!(
            names.contains(*required),
            "dashboard {required}.json is missing"
        );
    }
    let datasources = provisioned_datasources();
    let mut uids = BTreeMap::new();
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    for (path, dash) in &dashboards {
        let file = rel(path);
        match dash["uid"].as_str() {
            Some(uid) if !uid.is_empty() => {
                if let Some(other) = uids.insert(uid.to_string(), file.clone()) {
                    problems.push(format!("{file}: uid {uid} already used by {other}"));
                }
            }
            _ => problems.push(format!("{file}: no uid")),
        }
        if dash["title"].as_str().unwrap_or("").is_empty() {
            problems.push(format!("{file}: no title"));
        }
        let panels = dash["panels"].as_array().cloned().unwrap_or_default();
        if panels.is_empty() {
            problems.push(format!("{file}: no panels"));
        }
        // Panel ids unique, and every panel inside Grafana's 24-column grid.
        let mut ids = BTreeSet::new();
        for panel in &panels {
            let title = panel["title"].as_str().unwrap_or("?");
            if !panel["id"].as_u64().is_some_and(|id| ids.insert(id)) {
                problems.push(format!(
                    "{file}: panel {title:?} has a missing or duplicate id"
                ));
            }
            let (x, w) = (
                panel["gridPos"]["x"].as_u64(),
                panel["gridPos"]["w"].as_u64(),
            );
            if !matches!((x, w), (Some(x), Some(w)) if w > 0 && x + w <= 24) {
                problems.push(format!(
                    "{file}: panel {title:?} gridPos outside the 24 columns"
                ));
            }
        }
        // Query variables: the metric selector of label_values(metric, label).
        let label_values =
            regex::Regex::new(r"^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$").unwrap();
        for var in dash["templating"]["list"].as_array().into_iter().flatten() {
            let query = var["query"]["query"]
                .as_str()
                .or(var["query"].as_str())
                .unwrap_or("");
            match label_values.captures(query) {
                Some(c) => rules.push(serde_json::json!({
                    "record": format!("dashboard:expr_{}", rules.len()),
                    "expr": substitute_grafana_variables(&c[1]),
                    "labels": {"dashboard": file, "variable": var["name"]},
                })),
                None => problems.push(format!(
                    "{file}: variable query {query:?} is not label_values(metric, label)"
                )),
            }
        }
        // Every datasource reference, wherever it is (panels, targets, variables).
        let mut refs = Vec::new();
        collect_datasource_refs(dash, &mut refs);
        for r in refs {
            let uid = r["uid"].as_str().unwrap_or("");
            let kind = r["type"].as_str().unwrap_or("");
            match datasources.get(uid) {
                Some(t) if t == kind => {}
                Some(t) => problems.push(format!(
                    "{file}: datasource {uid} is a {t}, referenced as {kind}"
                )),
                None => problems.push(format!("{file}: datasource {r} is not provisioned")),
            }
        }
        for panel in &panels {
            let title = panel["title"].as_str().unwrap_or("?");
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{file}: panel {title:?} has no targets"));
            }
            for target in targets {
                let ds = if target["datasource"].is_null() {
                    &panel["datasource"]
                } else {
                    &target["datasource"]
                };
                if ds["type"] != "prometheus" {
                    continue; // Loki's LogQL is not PromQL
                }
                let Some(expr) = target["expr"].as_str() else {
                    problems.push(format!("{file}: panel {title:?} has a target without expr"));
                    continue;
                };
                rules.push(serde_json::json!({
                    "record": format!("dashboard:expr_{}", rules.len()),
                    "expr": substitute_grafana_variables(expr),
                    "labels": {"dashboard": file, "panel": title},
                }));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        rules.len() >= 30,
        "only {} PromQL expressions found",
        rules.len()
    );

    // promtool parses every expression, wrapped as recording rules (JSON is YAML).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboards.rules.yml");
    let doc = serde_json::json!({"groups": [{"name": "dashboards", "rules": rules}]});
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = run(Command::new(tool("promtool"))
        .args(["check", "rules"])
        .arg(&file));
    assert!(
        out.status.success(),
        "a dashboard expression does not parse:\n{}\n(expressions: {})",
        text(&out),
        serde_json::to_string_pretty(&doc).unwrap()
    );
    assert!(
        text(&out).contains(&format!("SUCCESS: {} rules found", rules.len())),
        "{}",
        text(&out)
    );
}

fn collect_datasource_refs(v: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                if k == "datasource" && child.is_object() {
                    out.push(child.clone());
                } else {
                    collect_datasource_refs(child, out);
                }
            }
        }
        serde_json::Value::Array(items) => {
            items.iter().for_each(|i| collect_datasource_refs(i, out))
        }
        _ => {}
    }
}

fn render_dashboard_configmap(source: &Path) -> String {
    let stem = source.file_stem().unwrap().to_string_lossy();
    format!(
        "{}apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grafana-dashboard-{stem}\n  namespace: monitoring\n  \
         labels:\n    grafana_dashboard: \"1\"\n    app.kubernetes.io/part-of: ohmc\n  annotations:\n    \
         grafana_folder: OHMC\ndata:\n  {stem}.json: |\n{}",
        generated_header(source),
        indent(&read(source), 4)
    )
}

#[test]
fn dashboard_configmaps_match_the_dashboard_json() {
    let dir = monitoring().join("manifests/dashboards");
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    for (source, _) in dashboards() {
        let stem = source.file_stem().unwrap().to_string_lossy().to_string();
        let target = dir.join(format!("{stem}.yaml"));
        problems.extend(check_generated(
            &target,
            &render_dashboard_configmap(&source),
        ));
        if target.exists() {
            let cm = yaml(&target);
            assert_eq!(
                cm["data"][format!("{stem}.json").as_str()].as_str(),
                Some(read(&source).as_str())
            );
            assert_eq!(
                cm["metadata"]["labels"]["grafana_dashboard"].as_str(),
                Some("1")
            );
        }
        expected.insert(target);
    }
    for stale in files(&dir, &[".yaml"]) {
        if !expected.contains(&stale) && !remove_under_bless(&stale) {
            problems.push(format!("{} has no dashboard JSON", rel(&stale)));
        }
    }
    // Grafana's sidecar must be looking for exactly that label.
    let values = yaml(&monitoring().join("values/kube-prometheus-stack.yaml"));
    let sidecar = &values["grafana"]["sidecar"]["dashboards"];
    assert_eq!(sidecar["label"].as_str(), Some("grafana_dashboard"));
    assert_eq!(sidecar["labelValue"].as_str(), Some("1"));
    assert_eq!(
        values["grafana"]["persistence"]["enabled"].as_bool(),
        Some(true),
        "Grafana needs persistence"
    );
    assert!(
        problems.is_empty(),
        "{}\n(rerun with OHMC_BLESS=1)",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Alertmanager

fn alertmanager_config() -> PathBuf {
    monitoring().join("alertmanager/alertmanager.yaml")
}

#[test]
fn alertmanager_config_passes_amtool_and_routes_by_severity() {
    let config = alertmanager_config();
    let out = run_ok(
        Command::new(tool("amtool"))
            .args(["check-config"])
            .arg(&config),
    );
    assert!(out.contains("SUCCESS"), "{out}");

    let route = |labels: &[&str]| -> String {
        let out = run(Command::new(tool("amtool"))
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", config.display()))
            .args(labels));
        assert!(
            out.status.success(),
            "amtool config routes test {labels:?}:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        route(&["alertname=RDSUnavailable", "severity=critical"]),
        "critical"
    );
    assert_eq!(
        route(&["alertname=NodeHighCPU", "severity=warning"]),
        "slack-warnings"
    );
    assert_eq!(route(&["alertname=Watchdog", "severity=none"]), "null");
    assert_eq!(route(&["alertname=InfoInhibitor", "severity=info"]), "null");

    // Critical goes to Slack and email; warnings to Slack. No secret inline:
    // they are files mounted from the Secret named in the chart values.
    let doc = yaml(&config);
    let receivers: BTreeMap<_, _> = seq(&doc["receivers"])
        .iter()
        .map(|r| (s(&r["name"], "receiver").to_string(), r.clone()))
        .collect();
    assert!(
        !seq(&receivers["critical"]["slack_configs"]).is_empty(),
        "critical must go to Slack"
    );
    assert!(
        !seq(&receivers["critical"]["email_configs"]).is_empty(),
        "critical must go to email"
    );
    assert!(
        !seq(&receivers["slack-warnings"]["slack_configs"]).is_empty(),
        "warnings must go to Slack"
    );
    let raw = read(&config);
    for inline in [
        "slack_api_url:",
        "api_url:",
        "smtp_auth_password:",
        "auth_password:",
    ] {
        assert!(
            !raw.contains(&format!(" {inline} ")) && !raw.contains(&format!("\n{inline}")),
            "inline secret {inline}"
        );
    }
    let values = yaml(&monitoring().join("values/kube-prometheus-stack.yaml"));
    let spec = &values["alertmanager"]["alertmanagerSpec"];
    let mounted: Vec<_> = seq(&spec["secrets"])
        .iter()
        .map(|v| s(v, "secret").to_string())
        .collect();
    for key in ["slack_api_url_file", "smtp_auth_password_file"] {
        let path = s(&doc["global"][key], key);
        assert!(
            mounted
                .iter()
                .any(|m| path.starts_with(&format!("/etc/alertmanager/secrets/{m}/"))),
            "{key} {path} is not under a mounted secret ({mounted:?})"
        );
    }
    assert_eq!(
        spec["configSecret"].as_str(),
        Some("alertmanager-ohmc-config")
    );
}

fn render_alertmanager_secret(source: &Path) -> String {
    format!(
        "{}apiVersion: v1\nkind: Secret\nmetadata:\n  name: alertmanager-ohmc-config\n  namespace: monitoring\n  \
         labels:\n    app.kubernetes.io/part-of: ohmc\ntype: Opaque\nstringData:\n  alertmanager.yaml: |\n{}",
        generated_header(source),
        indent(&read(source), 4)
    )
}

#[test]
fn alertmanager_config_secret_matches_the_config_file() {
    let source = alertmanager_config();
    let target = monitoring().join("manifests/alertmanager-config.yaml");
    if let Some(problem) = check_generated(&target, &render_alertmanager_secret(&source)) {
        panic!("{problem}\n(rerun with OHMC_BLESS=1)");
    }
    let secret = yaml(&target);
    assert_eq!(
        secret["stringData"]["alertmanager.yaml"].as_str(),
        Some(read(&source).as_str())
    );
}

// ---------------------------------------------------------------------------
// Kubernetes manifests

fn manifest_files() -> Vec<PathBuf> {
    let mut all = files(&repo_root().join("deploy/k8s"), &[".yaml", ".yml"]);
    all.extend(files(&monitoring().join("manifests"), &[".yaml", ".yml"]));
    assert!(all.len() > 10, "too few manifests: {all:?}");
    all
}

/// Every manifest document, with the file it came from.
fn manifests() -> Vec<(PathBuf, Value)> {
    manifest_files()
        .into_iter()
        .flat_map(|p| yaml_docs(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect()
}

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("")
}

fn namespace(doc: &Value) -> &str {
    doc["metadata"]["namespace"].as_str().unwrap_or("")
}

#[test]
fn kubernetes_manifests_pass_kubernetes_validate() {
    let files = manifest_files();
    let out = run(Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&files));
    let output = text(&out);
    // Anything but a missing schema for a known CRD kind is a failure.
    let mut problems: Vec<_> = output
        .lines()
        .filter(|l| {
            l.starts_with("ERROR") || l.starts_with("WARN") || l.contains("did not validate")
        })
        .filter(|l| {
            !CRD_KINDS
                .iter()
                .any(|k| l.contains(&format!("Couldn't find schema for kind {k} ")))
        })
        .map(str::to_string)
        .collect();
    if !out.status.success() {
        problems.push(format!("kubernetes-validate exited {}", out.status));
    }
    assert!(
        problems.is_empty(),
        "{}\n\nfull output:\n{output}",
        problems.join("\n")
    );
    let validated = output
        .lines()
        .filter(|l| l.starts_with("INFO") && l.contains(" passed for resource "))
        .count();
    let crds = manifests()
        .iter()
        .filter(|(_, d)| CRD_KINDS.contains(&kind(d)))
        .count();
    assert_eq!(
        validated + crds,
        manifests().len(),
        "not every document was checked:\n{output}"
    );
}

/// kubernetes-validate ships no CRD schemas; these are the fields each CRD
/// kind needs, and the references between objects that must resolve.
#[test]
fn crd_manifests_are_well_formed_and_their_references_resolve() {
    let docs = manifests();
    let mut problems = Vec::new();
    let services: Vec<&Value> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == "Service")
        .collect();
    let stores: BTreeSet<&str> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| kind(d) == "ClusterSecretStore")
        .map(name)
        .collect();
    // Services made by Helm charts, which ServiceMonitors may select.
    let chart_services = ["prometheus-pushgateway"];
    for (path, doc) in &docs {
        let at = format!("{} {}/{}", rel(path), kind(doc), name(doc));
        let spec = &doc["spec"];
        let api = doc["apiVersion"].as_str().unwrap_or("");
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("{at}: {what}"));
            }
        };
        match kind(doc) {
            "ServiceMonitor" => {
                need(
                    api == "monitoring.coreos.com/v1",
                    "apiVersion monitoring.coreos.com/v1",
                );
                let labels = spec["selector"]["matchLabels"].as_mapping();
                need(
                    labels.is_some_and(|m| !m.is_empty()),
                    "spec.selector.matchLabels",
                );
                need(!seq(&spec["endpoints"]).is_empty(), "spec.endpoints");
                for ep in seq(&spec["endpoints"]) {
                    need(ep["port"].is_string(), "endpoint port name");
                }
                let Some(labels) = labels else { continue };
                let selected: Vec<_> = services
                    .iter()
                    .filter(|svc| {
                        labels
                            .iter()
                            .all(|(k, v)| &svc["metadata"]["labels"][k.as_str().unwrap()] == v)
                    })
                    .collect();
                let from_chart = labels
                    .values()
                    .any(|v| chart_services.contains(&v.as_str().unwrap_or("")));
                need(!selected.is_empty() || from_chart, "selects no Service");
                for svc in selected {
                    for ep in seq(&spec["endpoints"]) {
                        let port = ep["port"].as_str().unwrap_or("");
                        need(
                            seq(&svc["spec"]["ports"]).iter().any(|p| p["name"] == port),
                            "port not on the Service",
                        );
                    }
                    if let Some(job_label) = spec["jobLabel"].as_str() {
                        need(
                            svc["metadata"]["labels"][job_label].is_string(),
                            "Service lacks the jobLabel label",
                        );
                    }
                }
            }
            "PrometheusRule" => {
                need(
                    api == "monitoring.coreos.com/v1",
                    "apiVersion monitoring.coreos.com/v1",
                );
                need(!seq(&spec["groups"]).is_empty(), "spec.groups");
                for group in seq(&spec["groups"]) {
                    for rule in seq(&group["rules"]) {
                        need(rule["expr"].is_string(), "rule without expr");
                        need(
                            rule["alert"].is_string() || rule["record"].is_string(),
                            "rule without alert/record",
                        );
                    }
                }
            }
            "ExternalSecret" => {
                need(
                    api == "external-secrets.io/v1beta1",
                    "apiVersion external-secrets.io/v1beta1",
                );
                need(
                    spec["secretStoreRef"]["kind"] == "ClusterSecretStore",
                    "secretStoreRef.kind",
                );
                let store = spec["secretStoreRef"]["name"].as_str().unwrap_or("");
                need(
                    stores.contains(store),
                    "secretStoreRef names no ClusterSecretStore",
                );
                need(spec["target"]["name"].is_string(), "spec.target.name");
                let data = seq(&spec["data"]);
                let from = seq(&spec["dataFrom"]);
                need(
                    !data.is_empty() || !from.is_empty(),
                    "spec.data or spec.dataFrom",
                );
                for d in data {
                    need(
                        d["secretKey"].is_string() && d["remoteRef"]["key"].is_string(),
                        "data entry",
                    );
                }
                for d in from {
                    need(d["extract"]["key"].is_string(), "dataFrom.extract.key");
                }
            }
            "ClusterSecretStore" => {
                need(
                    api == "external-secrets.io/v1beta1",
                    "apiVersion external-secrets.io/v1beta1",
                );
                let aws = &spec["provider"]["aws"];
                need(
                    aws["service"] == "SecretsManager",
                    "provider.aws.service SecretsManager",
                );
                need(aws["region"].is_string(), "provider.aws.region");
                need(
                    aws["auth"]["jwt"]["serviceAccountRef"]["name"].is_string(),
                    "IRSA serviceAccountRef",
                );
            }
            "TargetGroupBinding" => {
                need(
                    api == "elbv2.k8s.aws/v1beta1",
                    "apiVersion elbv2.k8s.aws/v1beta1",
                );
                need(spec["targetGroupARN"].is_string(), "spec.targetGroupARN");
                need(spec["targetType"] == "ip", "spec.targetType ip");
                let svc = spec["serviceRef"]["name"].as_str().unwrap_or("");
                let port = &spec["serviceRef"]["port"];
                need(
                    services.iter().any(|s| {
                        name(s) == svc
                            && namespace(s) == namespace(doc)
                            && seq(&s["spec"]["ports"]).iter().any(|p| &p["port"] == port)
                    }),
                    "serviceRef matches no Service port",
                );
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn pod_spec(doc: &Value) -> Option<&Value> {
    match kind(doc) {
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some(&doc["spec"]["template"]["spec"])
        }
        "CronJob" => Some(&doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]),
        _ => None,
    }
}

#[test]
fn workloads_meet_the_security_and_reliability_baseline() {
    let docs = manifests();
    let mut problems = Vec::new();
    let secrets_made: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|(_, d)| kind(d) == "ExternalSecret")
        .map(|(_, d)| {
            (
                namespace(d).to_string(),
                d["spec"]["target"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let config_maps: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|(_, d)| kind(d) == "ConfigMap")
        .map(|(_, d)| (namespace(d).to_string(), name(d).to_string()))
        .collect();
    let mut workloads = BTreeSet::new();
    for (path, doc) in &docs {
        let Some(pod) = pod_spec(doc) else { continue };
        let at = format!("{} {}/{}", rel(path), kind(doc), name(doc));
        workloads.insert(name(doc).to_string());
        let mut need = |ok: bool, what: &str| {
            if !ok {
                problems.push(format!("{at}: {what}"));
            }
        };
        let psc = &pod["securityContext"];
        need(psc["runAsNonRoot"] == true, "pod runAsNonRoot: true");
        need(
            psc["seccompProfile"]["type"] == "RuntimeDefault",
            "pod seccompProfile RuntimeDefault",
        );
        need(
            pod["serviceAccountName"].is_string(),
            "a dedicated serviceAccountName",
        );
        for c in seq(&pod["containers"]) {
            let res = &c["resources"];
            for (k, r) in [
                ("requests", "cpu"),
                ("requests", "memory"),
                ("limits", "cpu"),
                ("limits", "memory"),
            ] {
                need(
                    !res[k][r].is_null(),
                    &format!("container resources.{k}.{r}"),
                );
            }
            let csc = &c["securityContext"];
            need(
                csc["allowPrivilegeEscalation"] == false,
                "allowPrivilegeEscalation: false",
            );
            need(
                csc["readOnlyRootFilesystem"] == true,
                "readOnlyRootFilesystem: true",
            );
            need(
                seq(&csc["capabilities"]["drop"]).iter().any(|d| d == "ALL"),
                "capabilities.drop [ALL]",
            );
            if kind(doc) == "Deployment" {
                need(c["readinessProbe"].is_mapping(), "readinessProbe");
                need(c["livenessProbe"].is_mapping(), "livenessProbe");
            }
            for from in seq(&c["envFrom"]) {
                let ns = namespace(doc).to_string();
                if let Some(secret) = from["secretRef"]["name"].as_str() {
                    need(
                        secrets_made.contains(&(ns.clone(), secret.to_string())),
                        "secretRef not made by an ExternalSecret",
                    );
                }
                if let Some(cm) = from["configMapRef"]["name"].as_str() {
                    need(
                        config_maps.contains(&(ns, cm.to_string())),
                        "configMapRef names no ConfigMap",
                    );
                }
            }
        }
    }
    for w in [
        "backend",
        "agents",
        "sec-collector",
        "coinspot-collector",
        "reddit-collector",
    ] {
        if !workloads.contains(w) {
            problems.push(format!("workload {w} is missing"));
        }
    }
    let has = |k: &str, n: &str| docs.iter().any(|(_, d)| kind(d) == k && name(d) == n);
    for (k, n) in [
        ("Service", "backend"),
        ("ConfigMap", "backend-config"),
        ("TargetGroupBinding", "backend"),
        ("ServiceMonitor", "backend"),
        ("Service", "agents"),
        ("HorizontalPodAutoscaler", "agents"),
        ("ConfigMap", "agents-config"),
        ("ServiceMonitor", "agents"),
        ("ServiceMonitor", "collectors-pushgateway"),
    ] {
        if !has(k, n) {
            problems.push(format!("{k} {n} is missing"));
        }
    }

    // Namespaces: Pod Security Standards enforced, and default-deny policies.
    for (_, ns) in docs.iter().filter(|(_, d)| kind(d) == "Namespace") {
        let labels = &ns["metadata"]["labels"];
        let n = name(ns);
        let enforce = labels["pod-security.kubernetes.io/enforce"].as_str();
        if enforce.is_none() || labels["pod-security.kubernetes.io/warn"].is_null() {
            problems.push(format!("namespace {n}: Pod Security Standards labels"));
        }
        if n.starts_with("ohmc") {
            if enforce != Some("restricted") {
                problems.push(format!("namespace {n}: must enforce restricted"));
            }
            let deny = docs.iter().any(|(_, d)| {
                kind(d) == "NetworkPolicy"
                    && namespace(d) == n
                    && d["spec"]["podSelector"]
                        .as_mapping()
                        .is_some_and(|m| m.is_empty())
                    && d["spec"]["ingress"].is_null()
                    && d["spec"]["egress"].is_null()
                    && seq(&d["spec"]["policyTypes"]).len() == 2
            });
            if !deny {
                problems.push(format!(
                    "namespace {n}: no default-deny (Ingress+Egress) NetworkPolicy"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn helm_values_parse_and_helmfile_references_them() {
    for file in files(&monitoring().join("values"), &[".yaml"])
        .iter()
        .chain(&files(&monitoring().join("env"), &[".yaml"]))
    {
        assert!(yaml(file).is_mapping(), "{}: not a mapping", rel(file));
    }
    let helmfile = read(&monitoring().join("helmfile.yaml.gotmpl"));
    let re = regex::Regex::new(r"(?m)^\s*-\s*((?:values|env)/[\w.-]+\.yaml)\s*$").unwrap();
    let referenced: BTreeSet<_> = re
        .captures_iter(&helmfile)
        .map(|c| c[1].to_string())
        .collect();
    for r in &referenced {
        assert!(
            monitoring().join(r).exists(),
            "helmfile references missing {r}"
        );
    }
    for f in files(&monitoring().join("values"), &[".yaml"]) {
        let r = format!("values/{}", f.file_name().unwrap().to_string_lossy());
        assert!(referenced.contains(&r), "{r} is not used by the helmfile");
    }
    for chart in [
        "kube-prometheus-stack",
        "grafana/loki",
        "grafana/promtail",
        "prometheus-pushgateway",
    ] {
        assert!(
            helmfile.contains(&format!(
                "chart: {}",
                if chart.contains('/') {
                    chart.to_string()
                } else {
                    format!("prometheus-community/{chart}")
                }
            )),
            "{chart} release missing"
        );
    }
    let re_version =
        regex::Regex::new(r"(?m)^\s*chart: .+\n\s*version: \d+\.\d+\.\d+\s*$").unwrap();
    for file in [
        monitoring().join("helmfile.yaml.gotmpl"),
        repo_root().join("deploy/k8s/addons/helmfile.yaml.gotmpl"),
    ] {
        let helmfile = read(&file);
        let charts = helmfile.matches("chart:").count();
        assert!(
            charts > 0 && re_version.find_iter(&helmfile).count() == charts,
            "{}: every chart pinned",
            rel(&file)
        );
    }
    // Every environment value the monitoring helmfile templates in is defined
    // for every environment.
    let used = regex::Regex::new(r"\.Values\.([A-Za-z0-9_]+)").unwrap();
    for env in files(&monitoring().join("env"), &[".yaml"]) {
        let values = yaml(&env);
        for c in used.captures_iter(&helmfile) {
            assert!(
                !values[&c[1]].is_null(),
                "{} does not define {}",
                rel(&env),
                &c[1]
            );
        }
    }
    let addons = read(&repo_root().join("deploy/k8s/addons/helmfile.yaml.gotmpl"));
    for chart in [
        "external-secrets/external-secrets",
        "eks/aws-load-balancer-controller",
        "metrics-server/metrics-server",
    ] {
        assert!(
            addons.contains(&format!("chart: {chart}")),
            "add-on {chart} missing"
        );
    }
}

// ---------------------------------------------------------------------------
// workflows and scripts

fn workflow_files() -> Vec<PathBuf> {
    files(&repo_root().join(".github/workflows"), &[".yml", ".yaml"])
}

#[test]
fn workflows_pass_actionlint() {
    let files = workflow_files();
    for w in WORKFLOWS {
        assert!(
            files.iter().any(|f| f.file_stem().unwrap() == *w),
            "workflow {w}.yml is missing"
        );
    }
    let out = run(Command::new(tool("actionlint")).current_dir(repo_root()));
    let output = text(&out);
    assert!(out.status.success(), "actionlint found problems:\n{output}");
    assert!(
        output.contains(&format!("Checking {} workflow file(s)", files.len())),
        "{output}"
    );

    let triggers =
        |name: &str| yaml(&repo_root().join(format!(".github/workflows/{name}.yml")))["on"].clone();
    assert!(
        !seq(&triggers("compliance-audit")["schedule"]).is_empty(),
        "compliance-audit runs on a schedule"
    );
    assert!(
        read(&repo_root().join(".github/workflows/compliance-audit.yml"))
            .contains("github/codeql-action/upload-sarif")
    );
    let drill = triggers("dr-drill");
    let cron = s(&seq(&drill["schedule"])[0]["cron"], "dr-drill cron");
    let fields: Vec<_> = cron.split_whitespace().collect();
    assert!(
        fields.len() == 5 && fields[2] != "*" && fields[3] == "*",
        "dr-drill must run monthly: {cron}"
    );
    assert!(
        !triggers("infra-plan")["pull_request"].is_null(),
        "infra-plan runs on pull requests"
    );
}

/// The wasm actionlint lints one file at a time, so it cannot see a local
/// reusable workflow's inputs; calls to them are checked here.
#[test]
fn local_reusable_workflow_calls_match_their_inputs() {
    let mut problems = Vec::new();
    let mut calls = 0;
    for file in workflow_files() {
        let wf = yaml(&file);
        for (job_name, job) in wf["jobs"].as_mapping().into_iter().flatten() {
            let Some(uses) = job["uses"].as_str().and_then(|u| u.strip_prefix("./")) else {
                continue;
            };
            calls += 1;
            let at = format!("{} job {}", rel(&file), job_name.as_str().unwrap_or("?"));
            let target = repo_root().join(uses);
            if !target.exists() {
                problems.push(format!("{at}: {uses} does not exist"));
                continue;
            }
            let inputs = yaml(&target)["on"]["workflow_call"]["inputs"].clone();
            let given: BTreeSet<String> = job["with"]
                .as_mapping()
                .into_iter()
                .flatten()
                .filter_map(|(k, _)| k.as_str().map(String::from))
                .collect();
            for k in &given {
                if inputs[k.as_str()].is_null() {
                    problems.push(format!("{at}: {uses} has no input {k}"));
                }
            }
            for (k, spec) in inputs.as_mapping().into_iter().flatten() {
                let k = k.as_str().unwrap_or("");
                if spec["required"] == true && !given.contains(k) {
                    problems.push(format!("{at}: required input {k} of {uses} not given"));
                }
            }
        }
    }
    assert!(
        calls >= 2,
        "only {calls} local reusable workflow calls found"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// actionlint's own shellcheck pass needs a native shellcheck it cannot start
/// from WebAssembly, so every `run:` script is checked here the way actionlint
/// does it: `${{ }}` replaced by underscores, the same SC codes excluded.
#[test]
fn workflow_run_scripts_pass_shellcheck() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let expr = regex::Regex::new(r"\$\{\{[^}]*\}\}").unwrap();
    for file in workflow_files() {
        let wf = yaml(&file);
        let wf_shell = wf["defaults"]["run"]["shell"].as_str();
        for (job_name, job) in wf["jobs"].as_mapping().into_iter().flatten() {
            let job_shell = job["defaults"]["run"]["shell"].as_str().or(wf_shell);
            for (i, step) in seq(&job["steps"]).iter().enumerate() {
                let Some(script) = step["run"].as_str() else {
                    continue;
                };
                // Expressions spliced into a script are a script-injection risk:
                // they go through `env:` instead.
                if script.contains("${{") {
                    problems.push(format!(
                        "{} job {}: a run: script uses ${{{{ }}}} directly; pass it through env:",
                        rel(&file),
                        job_name.as_str().unwrap_or("?")
                    ));
                }
                let shell = step["shell"].as_str().or(job_shell).unwrap_or("bash");
                if !shell.starts_with("bash") && !shell.starts_with("sh") {
                    continue;
                }
                let script = expr.replace_all(script, |c: &regex::Captures| "_".repeat(c[0].len()));
                let dialect = if shell.starts_with("bash") {
                    "bash"
                } else {
                    "sh"
                };
                let mut child = Command::new(tool("shellcheck"))
                    .args([
                        "--norc",
                        "-f",
                        "gcc",
                        "-s",
                        dialect,
                        "-e",
                        "SC1091,SC2194,SC2050,SC2154,SC2157",
                        "-",
                    ])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("shellcheck");
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(script.as_bytes())
                    .unwrap();
                let out = child.wait_with_output().unwrap();
                checked += 1;
                if !out.status.success() {
                    let step_name = step["name"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or(format!("step {i}"));
                    problems.push(format!(
                        "{} job {} {step_name:?}:\n{}",
                        rel(&file),
                        job_name.as_str().unwrap_or("?"),
                        text(&out)
                    ));
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} run: scripts found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn scripts_pass_shellcheck() {
    let mut scripts = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("scripts")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let head = std::fs::read(&path).unwrap();
        let first = String::from_utf8_lossy(&head[..head.len().min(64)])
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        if path.extension().is_some_and(|e| e == "sh")
            || (first.starts_with("#!") && (first.contains("bash") || first.ends_with("/sh")))
        {
            scripts.push(path);
        }
    }
    scripts.sort();
    for required in ["deploy.sh", "rollback.sh"] {
        assert!(
            scripts.iter().any(|p| p.file_name().unwrap() == required),
            "scripts/{required} is missing"
        );
    }
    run_ok(
        Command::new(tool("shellcheck"))
            .args(["--norc", "-x"])
            .args(&scripts)
            .current_dir(repo_root()),
    );
}

// ---------------------------------------------------------------------------
// runbooks

/// Every `ohmc-infra ...` command in the code of the runbooks and README
/// (fenced blocks and inline code spans), as argument lists.
fn documented_commands() -> Vec<(String, Vec<String>)> {
    let mut docs = files(&repo_root().join("runbooks"), &[".md"]);
    docs.push(repo_root().join("README.md"));
    let inline = regex::Regex::new(r"`([^`]+)`").unwrap();
    let synopsis_gap = regex::Regex::new(r"(\S)\s{2,}\S").unwrap();
    let command = regex::Regex::new(r"(?:^|[\s$(])ohmc-infra((?:\s+[^\s|;&<>)#]+)*)").unwrap();
    let mut out = Vec::new();
    for doc in docs.iter().filter(|d| d.exists()) {
        let mut fenced = false;
        for (n, line) in read(doc).lines().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            let code: Vec<String> = if fenced {
                vec![line.to_string()]
            } else {
                inline
                    .captures_iter(line)
                    .map(|c| c[1].to_string())
                    .collect()
            };
            for span in code {
                // A usage synopsis (`ohmc-infra plan ENV [--destroy]   what it does`):
                // the description column goes, optional groups are checked as given.
                let span = match synopsis_gap.captures(&span) {
                    Some(c) => span[..c.get(1).unwrap().end()].to_string(),
                    None => span,
                };
                for cap in command.captures_iter(&span) {
                    let args: Vec<String> = cap[1]
                        .split_whitespace()
                        .filter(|a| *a != "\\" && *a != "...")
                        .map(|a| a.trim_matches(|c| c == '"' || c == '[' || c == ']'))
                        .map(|a| a.trim_end_matches("...").to_string())
                        .filter(|a| !a.is_empty())
                        .collect();
                    // A bare mention of the tool is not a command.
                    if args.is_empty() {
                        continue;
                    }
                    out.push((format!("{}:{}", rel(doc), n + 1), args));
                }
            }
        }
    }
    out
}

#[test]
fn runbook_commands_are_accepted_by_the_cli() {
    let commands = documented_commands();
    assert!(
        commands.len() >= 10,
        "only {} ohmc-infra commands found in the runbooks",
        commands.len()
    );
    let mut problems = Vec::new();
    // Placeholders such as BUNDLE or <env> stand for a value.
    let placeholders = regex::Regex::new(r"^[A-Z][A-Z_]*$|^<.*>$").unwrap();
    for (at, args) in &commands {
        // `--help` after the arguments makes the parser check every argument
        // before it, without running anything.
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if placeholders.is_match(a) {
                    // Typed placeholders need a value of their type.
                    match a.as_str() {
                        "DURATION" => "1h".to_string(),
                        "N" => "1".to_string(),
                        _ => "placeholder".to_string(),
                    }
                } else {
                    a.clone()
                }
            })
            .collect();
        let out = run(Command::new(ohmc_bin())
            .args(&args)
            .arg("--help")
            .env("NO_COLOR", "1"));
        let output = text(&out);
        if !out.status.success() || !output.contains("Usage:") {
            problems.push(format!(
                "{at}: ohmc-infra {}\n  -> {}: {}",
                args.join(" "),
                out.status,
                output.trim()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "documented commands the CLI rejects:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_alert_has_a_monitoring_runbook_section() {
    let doc = read(&repo_root().join("runbooks/MONITORING.md"));
    let headings: BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(str::trim)
        .collect();
    let mut problems = Vec::new();
    for file in rule_files() {
        for group in seq(&yaml(&file)["groups"]) {
            for rule in seq(&group["rules"]) {
                let Some(name) = rule["alert"].as_str() else {
                    continue;
                };
                if !headings.contains(name) {
                    problems.push(format!(
                        "{name}: no '### {name}' section in runbooks/MONITORING.md"
                    ));
                }
                let want = format!("runbooks/MONITORING.md#{}", name.to_lowercase());
                if rule["annotations"]["runbook_url"].as_str() != Some(want.as_str()) {
                    problems.push(format!("{name}: runbook_url should be {want}"));
                }
                if !matches!(
                    rule["labels"]["severity"].as_str(),
                    Some("critical" | "warning")
                ) {
                    problems.push(format!(
                        "{name}: severity must be critical or warning (Alertmanager routes on it)"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The runbook's table is checked against the check catalog itself.
#[test]
fn security_compliance_runbook_lists_every_check_with_its_controls() {
    let doc = read(&repo_root().join("runbooks/SECURITY_COMPLIANCE.md"));
    let rows: BTreeMap<String, String> = doc
        .lines()
        .filter_map(|l| {
            let id = l.strip_prefix("| `")?.split('`').next()?;
            Some((id.to_string(), l.to_string()))
        })
        .collect();
    let mut problems = Vec::new();
    let catalog = ohmc_checks::catalog();
    assert!(!catalog.is_empty());
    for check in catalog {
        let Some(row) = rows.get(check.id) else {
            problems.push(format!(
                "{}: not in runbooks/SECURITY_COMPLIANCE.md",
                check.id
            ));
            continue;
        };
        for control in &check.controls {
            if !row.contains(control.id) {
                problems.push(format!(
                    "{}: control {} missing from its row",
                    check.id, control.id
                ));
            }
        }
        let cells: Vec<_> = row.split(" | ").collect();
        if cells.len() != 5 || cells[4].trim_end_matches(" |").trim().is_empty() {
            problems.push(format!(
                "{}: row needs severity, controls, description and remediation",
                check.id
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
