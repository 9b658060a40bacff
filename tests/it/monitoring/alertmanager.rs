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

/// The placeholder in alertmanager.yaml for the SES SMTP username, and the
/// property of the monitoring secret it is rendered from.
const SMTP_USERNAME: &str = "${SMTP_USERNAME}";
const SMTP_USERNAME_KEY: &str = "smtp_username";

/// alertmanager.yaml as an External Secrets template: Alertmanager's own
/// `{{` escaped for the template engine (a lone `}}` is plain text to it),
/// and the username placeholder made a template reference.
fn as_eso_template(config: &str) -> String {
    config
        .replace("{{", "{{ \"{{\" }}")
        .replace(SMTP_USERNAME, &format!("{{{{ .{SMTP_USERNAME_KEY} }}}}"))
}

/// What External Secrets renders from the template, given the username.
fn render_eso_template(template: &str, username: &str) -> String {
    template
        .replace(&format!("{{{{ .{SMTP_USERNAME_KEY} }}}}"), username)
        .replace("{{ \"{{\" }}", "{{")
}

fn render_alertmanager_secret(source: &Path) -> String {
    format!(
        "{}apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: alertmanager-ohmc-config\n  \
         namespace: monitoring\n  labels:\n    app.kubernetes.io/part-of: ohmc\nspec:\n  refreshInterval: 1h\n  \
         secretStoreRef:\n    kind: ClusterSecretStore\n    name: aws-secrets-manager\n  target:\n    \
         name: alertmanager-ohmc-config\n    creationPolicy: Owner\n    template:\n      engineVersion: v2\n      \
         data:\n        alertmanager.yaml: |\n{}  data:\n    - secretKey: {SMTP_USERNAME_KEY}\n      \
         remoteRef: {{key: \"ohmc/${{ENVIRONMENT}}/monitoring\", property: {SMTP_USERNAME_KEY}}}\n",
        generated_header(source),
        indent(&as_eso_template(&read(source)), 10)
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
    let template = secret["spec"]["target"]["template"]["data"]["alertmanager.yaml"]
        .as_str()
        .expect("template data alertmanager.yaml");
    // Rendered back with the placeholder, the template is the source.
    assert_eq!(render_eso_template(template, SMTP_USERNAME), read(&source));
    // Rendered with a username, it is a config amtool accepts, with that
    // username, and Alertmanager's own templates intact.
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("alertmanager.yaml");
    std::fs::write(
        &rendered,
        render_eso_template(template, "AKIAEXAMPLE0123456789"),
    )
    .unwrap();
    let out = run_ok(
        Command::new(tool("amtool"))
            .arg("check-config")
            .arg(&rendered),
    );
    assert!(out.contains("SUCCESS"), "{out}");
    let doc = yaml(&rendered);
    assert_eq!(
        doc["global"]["smtp_auth_username"].as_str(),
        Some("AKIAEXAMPLE0123456789")
    );
    assert!(read(&rendered).contains("{{ .CommonLabels.environment"));
}

/// SES generates the SMTP username with the credentials (the access key id):
/// it comes from the monitoring secret Terraform creates, like the password,
/// and no email configuration names one of its own.
#[test]
fn the_smtp_username_comes_from_the_monitoring_secret() {
    let doc = yaml(&alertmanager_config());
    assert_eq!(
        doc["global"]["smtp_auth_username"].as_str(),
        Some(SMTP_USERNAME),
        "smtp_auth_username is hard-coded; SES generates it"
    );
    for r in seq(&doc["receivers"]) {
        for e in seq(&r["email_configs"]) {
            assert!(
                e["auth_username"].is_null(),
                "receiver {} hard-codes auth_username",
                s(&r["name"], "name")
            );
        }
    }
    let es = yaml(&monitoring().join("manifests/alertmanager-config.yaml"));
    let from = seq(&es["spec"]["data"])
        .into_iter()
        .find(|d| d["secretKey"].as_str() == Some(SMTP_USERNAME_KEY))
        .expect("the config ExternalSecret maps smtp_username");
    assert_eq!(
        from["remoteRef"]["key"].as_str(),
        Some("ohmc/${ENVIRONMENT}/monitoring")
    );
    assert_eq!(
        from["remoteRef"]["property"].as_str(),
        Some(SMTP_USERNAME_KEY)
    );
}
