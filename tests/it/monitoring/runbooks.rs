//! Runbooks and README: every documented `ohmc-infra ...` command parsed by
//! the CLI, a runbook section per alert, the compliance table.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::harness::{files_under, ohmc_bin, rel, repo_root};

use super::rules::rule_files;
use super::support::{read, run, seq, text, yaml};

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
