//! The real environments (staging, production) load through the same parser
//! the tool uses, and what they expect of monitoring exists in the repo.

use crate::harness::{files_under, repo_root};

/// Every file under `dir` whose name ends with one of `suffixes`, concatenated.
fn all_text_under(dir: &std::path::Path, suffixes: &[&str]) -> String {
    files_under(dir, suffixes)
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap_or_default())
        .collect()
}

#[test]
fn real_environments_load_and_production_is_protected() {
    let dir = repo_root().join("environments");
    let names = ohmc_infra::environment::discover(&dir).unwrap();
    assert_eq!(names, ["production", "staging"]);
    let production = ohmc_infra::environment::load(&dir, "production").unwrap();
    let staging = ohmc_infra::environment::load(&dir, "staging").unwrap();
    assert!(production.protection.require_approval);
    assert!(!staging.protection.require_approval);
    for env in [&production, &staging] {
        assert!(
            env.verify.is_some() && env.drill.is_some() && env.monitoring.is_some(),
            "{}",
            env.name
        );
        assert!(ohmc_infra::graph::topological_order(&env.stacks).is_ok());
    }
}

#[test]
fn monitoring_expectations_exist_in_the_repo() {
    let root = repo_root();
    let rules = all_text_under(&root.join("deploy/monitoring/rules"), &[".yml", ".yaml"]);
    let manifests = all_text_under(&root.join("deploy"), &[".yml", ".yaml", ".yaml.gotmpl"]);
    // Jobs kube-prometheus-stack creates itself.
    let chart_jobs = [
        "node-exporter",
        "kube-state-metrics",
        "kubelet",
        "apiserver",
    ];
    for name in ["staging", "production"] {
        let env = ohmc_infra::environment::load(&root.join("environments"), name).unwrap();
        let monitoring = env.monitoring.unwrap();
        for group in &monitoring.required_rule_groups {
            assert!(
                rules.contains(&format!("- name: {group}\n")),
                "{name}: rule group {group} is not defined in deploy/monitoring/rules"
            );
        }
        for job in &monitoring.required_jobs {
            let defined = chart_jobs.contains(&job.as_str())
                || manifests.contains(&format!("ohmc.io/scrape-job: {job}"))
                || manifests.contains(&format!("job_name: {job}"));
            assert!(
                defined,
                "{name}: scrape job {job} is not defined in deploy/"
            );
        }
    }
}

/// The main job (`scripts/run-local`) verifies an account that
/// `scripts/seed-moto.py` builds as the platform's Terraform would. Each new
/// check must pass on it, or the main job fails: so every AWS check is a Pass
/// here, but for the APIs moto does not implement (an Error naming the call,
/// never a pass) and production-only Skips. Monitoring is left out: the main
/// job judges it against its own Prometheus and Alertmanager.
#[test]
fn the_main_jobs_seeded_account_passes_every_check_the_emulator_can_answer() {
    use crate::harness::moto::MotoServer;
    use crate::harness::{ohmc_bin, tools_bin};
    const EMULATOR_GAPS: [(&str, &str); 4] = [
        ("backup.selection_covers_rds", "backup:ListBackupSelections"),
        (
            "backup.recovery_point_within_rpo",
            "backup:ListRecoveryPointsByBackupVault",
        ),
        ("guardduty.no_high_findings", "guardduty:ListFindings"),
        (
            "config.rule_compliance_reported",
            "config:DescribeComplianceByConfigRule",
        ),
    ];
    let moto = MotoServer::start();
    let work = tempfile::tempdir().unwrap();
    let outputs = work.path().join("outputs.json");
    let aws = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let python = tools_bin().parent().unwrap().join("venv/bin/python");
    let seeded = std::process::Command::new(&python)
        .arg(repo_root().join("scripts/seed-moto.py"))
        .arg("--endpoint")
        .arg(moto.endpoint())
        .arg("--out")
        .arg(&outputs)
        .arg("--env-file")
        .arg(repo_root().join("environments/staging/environment.hcl"))
        .envs(aws)
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "seed-moto.py: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let verify = std::process::Command::new(ohmc_bin())
        .arg("--root")
        .arg(repo_root())
        .args(["verify", "staging", "--format", "json", "--outputs"])
        .arg(&outputs)
        .arg("--endpoint-url")
        .arg(moto.endpoint())
        .envs(aws)
        .env("OHMC_STATE_DIR", work.path().join("state"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&verify.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&verify.stderr)));
    let mut unexpected = Vec::new();
    let mut passed = 0;
    for f in doc["findings"].as_array().unwrap() {
        let check = f["check_id"].as_str().unwrap();
        let outcome = &f["outcome"];
        let status = outcome["status"].as_str().unwrap_or("");
        let message = outcome["message"].as_str().unwrap_or("");
        let gap = EMULATOR_GAPS
            .iter()
            .any(|(id, call)| *id == check && message.contains(call));
        match status {
            "pass" => passed += 1,
            _ if check.starts_with("monitoring.") => {}
            "error" if gap => {}
            "skipped"
                if outcome["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains("production-only") => {}
            _ => unexpected.push(format!(
                "{status}: {check} {}: {message}{}",
                f["resource"].as_str().unwrap_or(""),
                f["evidence"]["observed"].as_str().unwrap_or("")
            )),
        }
    }
    assert!(passed > 30, "only {passed} checks passed");
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
}
