//! Grafana dashboards: JSON, uids, data sources, PromQL targets, and the
//! ConfigMaps generated from them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{files_under, rel, tool};

use super::support::{
    check_generated, generated_header, indent, monitoring, read, remove_under_bless, run, s, seq,
    text, yaml,
};

const REQUIRED_DASHBOARDS: &[&str] = &[
    "cluster",
    "nodes",
    "pods",
    "application",
    "database",
    "compliance",
];

fn dashboards() -> Vec<(PathBuf, serde_json::Value)> {
    files_under(&monitoring().join("dashboards"), &[".json"])
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
    let label_values =
        regex::Regex::new(r"^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$").unwrap();
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
                if ds["type"] == "loki" {
                    // LogQL is not PromQL; its stream selector may only name
                    // labels Promtail attaches, or the panel is always empty.
                    let expr = target["expr"].as_str().unwrap_or("");
                    for label in logql_selector_labels(expr) {
                        if !PROMTAIL_LABELS.contains(&label.as_str()) {
                            problems.push(format!(
                                "{file}: panel {title:?} selects Loki streams by {label}, a label Promtail does not produce ({PROMTAIL_LABELS:?})"
                            ));
                        }
                    }
                    continue;
                }
                if ds["type"] != "prometheus" {
                    continue;
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
    for stale in files_under(&dir, &[".yaml"]) {
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

/// The labels the pinned Promtail chart (grafana/promtail 6.16.6, values.yaml
/// `config.snippets`, kubernetes-pods job) puts on every stream: the pod's
/// `app.kubernetes.io/name` becomes `app`, not `app_kubernetes_io_name`.
const PROMTAIL_LABELS: &[&str] = &[
    "namespace",
    "pod",
    "container",
    "node_name",
    "job",
    "app",
    "instance",
    "component",
    "filename",
    "stream",
];

/// Label names in the `{...}` stream selector of a LogQL query.
fn logql_selector_labels(expr: &str) -> Vec<String> {
    let Some(selector) = expr
        .split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
    else {
        return Vec::new();
    };
    let re = regex::Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)").unwrap();
    re.captures_iter(selector.0)
        .map(|c| c[1].to_owned())
        .collect()
}

#[test]
fn logql_selector_labels_are_read_from_the_stream_selector() {
    assert_eq!(
        logql_selector_labels(r#"{namespace="ohmc", app!~"x"} |= "ERROR""#),
        ["namespace", "app"]
    );
    assert!(logql_selector_labels("sum(rate(x[5m]))").is_empty());
}
