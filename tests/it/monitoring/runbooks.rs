//! Runbooks and README: every documented `ohmc-infra ...` command parsed by
//! the CLI, a runbook section per alert, the compliance table.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::harness::{files_under, ohmc_bin, rel, repo_root};

use super::rules::{rule_files, rule_test_files};
use super::support::{monitoring, read, run, seq, text, yaml};

/// Every `ohmc-infra ...` command in the code of the runbooks and README
/// (fenced blocks and inline code spans), as argument lists.
fn documented_commands() -> Vec<(String, Vec<String>)> {
    let mut docs = files_under(&repo_root().join("runbooks"), &[".md"]);
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
                        // Region names are checked, so a placeholder for one
                        // must look like one.
                        "R" | "REGION" | "<region>" => "us-west-2".to_string(),
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
    // A notification is read in Slack or a mail client, not in a checkout:
    // the link is absolute, into the repository the pipelines run in (the
    // deploy role's trusted repository, named once in the tfvars).
    let tfvars = read(&repo_root().join("environments/production/terraform.tfvars"));
    let repository = regex::Regex::new(r#"github_repositories\s*=\s*\["([^"]+)""#)
        .unwrap()
        .captures(&tfvars)
        .map(|c| c[1].to_owned())
        .expect("github_repositories in the production tfvars");
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
                let want = format!(
                    "https://github.com/{repository}/blob/main/runbooks/MONITORING.md#{}",
                    name.to_lowercase()
                );
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

/// The `amtool ... silence add MATCHERS` examples of a runbook, each as its
/// matchers (name, operator, value), with `\`-continued lines joined.
fn silence_examples(markdown: &str) -> Vec<Vec<(String, String, String)>> {
    let joined = markdown.replace("\\\n", " ");
    let matcher = regex::Regex::new(r#"^([A-Za-z_][A-Za-z0-9_]*)(=~|!~|!=|=)"?(.*?)"?$"#).unwrap();
    joined
        .lines()
        .filter_map(|l| l.split_once(" silence add "))
        .map(|(_, args)| {
            args.split_whitespace()
                .map(|w| w.trim_matches('\''))
                .take_while(|w| !w.starts_with("--"))
                .filter_map(|w| matcher.captures(w))
                .map(|c| (c[1].to_owned(), c[2].to_owned(), c[3].to_owned()))
                .collect()
        })
        .collect()
}

/// Alertmanager's matching: regular expressions are anchored at both ends;
/// a missing label is the empty string.
fn matches(labels: &BTreeMap<String, String>, m: &(String, String, String)) -> bool {
    let value = labels.get(&m.0).map(String::as_str).unwrap_or("");
    let re = || regex::Regex::new(&format!("^(?:{})$", m.2)).expect("matcher regex");
    match m.1.as_str() {
        "=" => value == m.2,
        "!=" => value != m.2,
        "=~" => re().is_match(value),
        _ => !re().is_match(value),
    }
}

/// The label sets the alerts really carry when they reach Alertmanager: each
/// firing case of the promtool unit tests (whose `promtool test rules` run
/// proves the rule produces exactly those labels from those series), plus
/// `alertname` and the external labels Prometheus adds in each environment
/// (deploy/monitoring/helmfile.yaml.gotmpl: environment, cluster).
fn alert_label_sets() -> Vec<BTreeMap<String, String>> {
    let envs: Vec<String> = files_under(&monitoring().join("env"), &[".yaml"])
        .iter()
        .filter_map(|f| yaml(f)["environment"].as_str().map(String::from))
        .collect();
    assert!(envs.len() >= 2, "environments: {envs:?}");
    let mut out = Vec::new();
    for file in rule_test_files() {
        for t in seq(&yaml(&file)["tests"]) {
            for case in seq(&t["alert_rule_test"]) {
                let alert = case["alertname"].as_str().unwrap_or("");
                for exp in seq(&case["exp_alerts"]) {
                    for env in &envs {
                        let mut labels: BTreeMap<String, String> = exp["exp_labels"]
                            .as_mapping()
                            .into_iter()
                            .flatten()
                            .filter_map(|(k, v)| {
                                Some((k.as_str()?.to_owned(), v.as_str()?.to_owned()))
                            })
                            .collect();
                        labels.insert("alertname".into(), alert.into());
                        labels.insert("environment".into(), env.clone());
                        labels.insert("cluster".into(), format!("ohmc-{env}"));
                        out.push(labels);
                    }
                }
            }
        }
    }
    out
}

fn silence_problems(markdown: &str) -> Vec<String> {
    let sets = alert_label_sets();
    let examples = silence_examples(markdown);
    let mut problems = Vec::new();
    if examples.is_empty() {
        problems.push("no `amtool silence add` example".to_owned());
    }
    for ex in examples {
        if !ex.iter().any(|m| m.0 == "alertname" && m.1 == "=") {
            problems.push(format!("silence {ex:?} names no alertname"));
        }
        if !sets.iter().any(|l| ex.iter().all(|m| matches(l, m))) {
            problems.push(format!(
                "silence {ex:?} matches no alert the rules fire (their promtool cases' labels plus alertname, environment, cluster)"
            ));
        }
    }
    problems
}

#[test]
fn the_runbook_silence_example_matches_a_real_alert() {
    let problems = silence_problems(&read(&repo_root().join("runbooks/MONITORING.md")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_silence_example_that_matches_nothing_fails() {
    // The example the runbook used to give: node-exporter's instance label
    // is an address:port, never a node name.
    let old = "amtool --alertmanager.url=http://127.0.0.1:9093 silence add alertname=NodeHighCPU instance=ip-10-0-1-23 \\\n  --duration=2h --comment=\"x\"\n";
    let problems = silence_problems(old);
    assert!(
        problems.iter().any(|p| p.contains("matches no alert")),
        "{problems:?}"
    );
    // A typo in a label value is caught, and so is an unanchored regex.
    let typo = "amtool silence add alertname=CollectorJobFailed environment=prod\n";
    assert!(!silence_problems(typo).is_empty());
    let unanchored =
        "amtool silence add alertname=CollectorJobFailed 'job_name=~\"sec-collector\"'\n";
    assert!(!silence_problems(unanchored).is_empty());
}
