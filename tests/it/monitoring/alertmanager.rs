//! Alertmanager: `amtool check-config`, `amtool config routes test`, and the
//! config Secret generated from `alertmanager.yaml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::tool;

use super::support::{
    check_generated, generated_header, indent, monitoring, read, run, run_ok, s, seq, text, yaml,
};

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
        route(&[
            "alertname=RDSUnavailable",
            "severity=critical",
            "environment=production"
        ]),
        "critical"
    );
    // Staging never pages the on-call list.
    assert_eq!(
        route(&[
            "alertname=RDSUnavailable",
            "severity=critical",
            "environment=staging"
        ]),
        "slack-staging"
    );
    assert_eq!(
        route(&[
            "alertname=NodeHighCPU",
            "severity=warning",
            "environment=staging"
        ]),
        "slack-staging"
    );
    assert_eq!(
        route(&["alertname=NodeHighCPU", "severity=warning"]),
        "slack-warnings"
    );
    // The Watchdog reaches an external dead-man's switch, never a null receiver.
    assert_eq!(
        route(&[
            "alertname=Watchdog",
            "severity=none",
            "environment=production"
        ]),
        "deadmans-switch"
    );
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
    // Staging and production share receivers' channels only by name: every
    // title and subject says which environment it is about.
    for line in raw
        .lines()
        .filter(|l| l.trim_start().starts_with("title:") || l.trim_start().starts_with("Subject:"))
    {
        assert!(
            line.contains(".CommonLabels.environment"),
            "no environment in {line}"
        );
    }
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
    let dms = &receivers["deadmans-switch"]["webhook_configs"][0];
    assert!(
        s(&dms["url"], "dead-man's switch url").contains("${ENVIRONMENT}"),
        "one heartbeat per environment"
    );
    let key = s(
        &dms["http_config"]["authorization"]["credentials_file"],
        "credentials_file",
    );
    assert!(
        mounted
            .iter()
            .any(|m| key.starts_with(&format!("/etc/alertmanager/secrets/{m}/"))),
        "{key} is not under a mounted secret ({mounted:?})"
    );
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
