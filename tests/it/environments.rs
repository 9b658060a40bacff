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
