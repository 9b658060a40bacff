//! GitHub workflows and scripts: `actionlint`, `shellcheck` over every `run:`
//! script and `scripts/`, local reusable-workflow inputs.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use crate::harness::{files_under, rel, repo_root, tool};

use super::support::{read, run, run_ok, s, seq, text, yaml};

const WORKFLOWS: &[&str] = &[
    "build-backend",
    "build-frontend",
    "deploy-to-eks",
    "infra-plan",
    "infra-apply",
    "compliance-audit",
    "dr-drill",
];

fn workflow_files() -> Vec<PathBuf> {
    files_under(&repo_root().join(".github/workflows"), &[".yml", ".yaml"])
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

/// A tag can be moved to other code; a commit cannot. Every remote action is
/// pinned by its full commit SHA, with the tag it was taken from in a comment
/// so that updates stay readable.
#[test]
fn remote_actions_are_pinned_by_commit_sha_with_their_tag() {
    let pinned = regex::Regex::new(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # \S+$").unwrap();
    let mut problems = Vec::new();
    let mut count = 0;
    for file in workflow_files() {
        for (n, line) in read(&file).lines().enumerate() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            count += 1;
            if !pinned.is_match(uses.trim()) {
                problems.push(format!("{}:{}: {uses}", rel(&file), n + 1));
            }
        }
    }
    assert!(count >= 20, "only {count} remote actions found");
    assert!(
        problems.is_empty(),
        "not pinned by SHA (owner/repo@<sha> # <tag>):\n{}",
        problems.join("\n")
    );
}
