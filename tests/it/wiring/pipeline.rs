//! The production apply pipeline as a job graph: a plan job outside the
//! `production` environment uploads the bundle; the apply job behind the
//! environment's reviewers downloads that artifact, checks its sha256 and
//! staleness, and applies it with `--approve` of the planned sha prefix.

use std::path::Path;
use std::process::Command;

use serde_yaml::Value;

use crate::harness::repo_root;

fn steps(job: &Value) -> Vec<&Value> {
    job["steps"]
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default()
}

fn uses(step: &Value, action: &str) -> bool {
    step["uses"].as_str().is_some_and(|u| u.starts_with(action))
}

fn runs(job: &Value) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Problems with the plan -> approval -> apply graph of one workflow.
pub fn check_apply_graph(wf: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let jobs = wf["jobs"].as_mapping().cloned().unwrap_or_default();
    let env_of = |j: &Value| j["environment"].as_str().map(String::from);
    // No job released by the production approval may make the plan itself.
    for (name, job) in &jobs {
        let name = name.as_str().unwrap_or("?");
        if env_of(job).as_deref() == Some("production") && runs(job).contains("ohmc-infra plan") {
            problems.push(format!("job {name} plans production after the approval: reviewers would approve before a plan exists"));
        }
    }
    let plan = jobs.iter().find(|(_, j)| {
        env_of(j).as_deref() != Some("production") && runs(j).contains("ohmc-infra plan production")
    });
    let Some((plan_name, plan)) = plan else {
        problems.push("no job plans production outside the production environment".into());
        return problems;
    };
    let plan_name = plan_name.as_str().unwrap_or("?").to_owned();
    let upload = steps(plan)
        .into_iter()
        .find(|s| uses(s, "actions/upload-artifact"));
    let Some(upload) = upload else {
        problems.push(format!("job {plan_name} uploads no artifact: the apply job cannot get the bundle reviewers saw"));
        return problems;
    };
    let plan_runs = runs(plan);
    if !(plan_runs.contains("sha256") && plan_runs.contains("GITHUB_STEP_SUMMARY")) {
        problems.push(format!(
            "job {plan_name} does not put the bundle's summary and sha256 in the run summary"
        ));
    }
    // The artifact name travels through job outputs, so the apply job names
    // exactly the artifact this run's plan job uploaded.
    let artifact_output = plan["outputs"]
        .as_mapping()
        .into_iter()
        .flatten()
        .find(|(_, v)| v.as_str() == upload["with"]["name"].as_str())
        .and_then(|(k, _)| k.as_str().map(String::from));
    let Some(artifact_output) = artifact_output else {
        problems.push(format!(
            "job {plan_name}: the uploaded artifact's name is not a job output"
        ));
        return problems;
    };
    let apply = jobs
        .iter()
        .find(|(_, j)| runs(j).contains("ohmc-infra apply production"));
    let Some((apply_name, apply)) = apply else {
        problems.push("no job applies production".into());
        return problems;
    };
    let apply_name = apply_name.as_str().unwrap_or("?");
    if env_of(apply).as_deref() != Some("production") {
        problems.push(format!("job {apply_name} applies production outside the `production` environment (no approval)"));
    }
    let needs: Vec<&str> = match &apply["needs"] {
        Value::String(s) => vec![s.as_str()],
        Value::Sequence(s) => s.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !needs.contains(&plan_name.as_str()) {
        problems.push(format!("job {apply_name} does not need {plan_name}"));
    }
    let want = format!("${{{{ needs.{plan_name}.outputs.{artifact_output} }}}}");
    let download = steps(apply)
        .into_iter()
        .find(|s| uses(s, "actions/download-artifact"));
    match download {
        None => problems.push(format!(
            "job {apply_name} downloads no artifact: it would apply a plan nobody approved"
        )),
        Some(d) if d["with"]["name"].as_str() != Some(want.as_str()) => problems.push(format!(
            "job {apply_name} downloads {:?}, not {want}",
            d["with"]["name"].as_str().unwrap_or("")
        )),
        Some(d) => {
            let dir = d["with"]["path"].as_str().unwrap_or(".");
            let apply_step = steps(apply).into_iter().find(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("ohmc-infra apply production"))
            });
            let run = apply_step.and_then(|s| s["run"].as_str()).unwrap_or("");
            if !run.contains(&format!("--plan {dir}/"))
                && !run.contains(&format!("--plan \"{dir}/"))
            {
                problems.push(format!(
                    "job {apply_name} does not apply the downloaded bundle in {dir}/"
                ));
            }
            let approve = apply_step
                .map(|s| &s["env"]["APPROVE"])
                .and_then(Value::as_str)
                .unwrap_or("");
            if !run.contains("--approve \"$APPROVE\"")
                || !approve.starts_with(&format!("${{{{ needs.{plan_name}.outputs."))
            {
                problems.push(format!(
                    "job {apply_name} does not pass the planned sha prefix as --approve"
                ));
            }
        }
    }
    let apply_runs = runs(apply);
    if !apply_runs.contains(&format!("needs.{plan_name}.outputs.sha256"))
        && !steps(apply).iter().any(|s| {
            s["env"].as_mapping().into_iter().flatten().any(|(_, v)| {
                v.as_str() == Some(&format!("${{{{ needs.{plan_name}.outputs.sha256 }}}}"))
            })
        })
    {
        problems.push(format!(
            "job {apply_name} does not check the bundle's sha256 against the plan job's"
        ));
    }
    if !apply_runs.contains("re-plan") {
        problems.push(format!(
            "job {apply_name} never tells the operator to re-plan a stale bundle"
        ));
    }
    problems
}

fn infra_apply() -> Value {
    let path = repo_root().join(".github/workflows/infra-apply.yml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn production_applies_exactly_the_artifact_of_the_approved_plan() {
    let problems = check_apply_graph(&infra_apply());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn apply_graph_check_fails_on_a_plan_made_after_approval_or_another_artifact() {
    // Today's shape before the split: one job in `production` plans and applies.
    let mut wf = infra_apply();
    let jobs = wf["jobs"].as_mapping_mut().unwrap();
    let plan = jobs.get("plan-production").unwrap().clone();
    let mut merged = jobs.get("apply-production").unwrap().clone();
    let mut all: Vec<Value> = plan["steps"].as_sequence().unwrap().clone();
    all.extend(merged["steps"].as_sequence().unwrap().iter().cloned());
    merged["steps"] = Value::Sequence(all);
    jobs.remove("plan-production");
    jobs.insert("apply-production".into(), merged);
    let problems = check_apply_graph(&wf);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("plans production after the approval")),
        "{problems:?}"
    );

    let mut wf = infra_apply();
    let apply = &mut wf["jobs"]["apply-production"];
    for step in apply["steps"].as_sequence_mut().unwrap() {
        if step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/download-artifact"))
        {
            step["with"]["name"] = Value::String("production-plan-latest".into());
        }
    }
    let problems = check_apply_graph(&wf);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("downloads \"production-plan-latest\"")),
        "{problems:?}"
    );
}

/// The staleness guard of the apply job, run for real against a git history:
/// a later merge touching terraform/ refuses the bundle with "re-plan"; one
/// touching only docs does not.
#[test]
fn a_bundle_made_stale_by_a_later_merge_is_refused_with_re_plan() {
    let wf = infra_apply();
    let guard = wf["jobs"]["apply-production"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["run"].as_str().is_some_and(|r| r.contains("git fetch")))
        .expect("the staleness guard step")
        .clone();
    let script = guard["run"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin");
    let work = dir.path().join("work");
    let git = |cwd: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    std::fs::create_dir_all(origin.join("terraform")).unwrap();
    git(&origin, &["init", "-q"]);
    std::fs::write(origin.join("terraform/main.tf"), "# v1\n").unwrap();
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "v1"]);
    let planned = git(&origin, &["rev-parse", "HEAD"]);
    git(
        dir.path(),
        &["clone", "-q", origin.to_str().unwrap(), "work"],
    );
    let sha = "a".repeat(64);
    std::fs::create_dir_all(work.join("approved")).unwrap();
    std::fs::write(
        work.join("approved/plan.json"),
        format!("{{\"bundle\":{{\"sha256\":\"{sha}\"}}}}"),
    )
    .unwrap();
    std::fs::write(work.join("approved/bundle.sha256"), format!("{sha}\n")).unwrap();
    let run = |sha256: &str| {
        Command::new("bash")
            .args(["-e", "-c", script])
            .env("SHA256", sha256)
            .env("COMMIT", &planned)
            .current_dir(&work)
            .output()
            .unwrap()
    };
    // main has not moved: the bundle applies.
    let out = run(&sha);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A different bundle than the one planned is refused.
    let out = run(&"b".repeat(64));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not the planned one"));
    // A docs-only merge does not make the bundle stale.
    std::fs::write(origin.join("README.md"), "docs\n").unwrap();
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "docs"]);
    let out = run(&sha);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A merge changing terraform/ does.
    std::fs::write(origin.join("terraform/main.tf"), "# v2\n").unwrap();
    git(&origin, &["add", "."]);
    git(&origin, &["commit", "-qm", "v2"]);
    let out = run(&sha);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("stale bundle") && stdout.contains("re-plan"),
        "{stdout}"
    );
}
