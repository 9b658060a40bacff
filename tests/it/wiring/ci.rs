//! The CI side of the wiring model: which GitHub environment each workflow
//! job runs in (expanded over its inputs and matrix), which role variable it
//! assumes, and which images it pushes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::harness::files_under;

pub struct Job {
    pub file: PathBuf,
    pub name: String,
    /// Every GitHub environment the job can run in; empty: none.
    pub environments: Vec<String>,
    /// `vars.X` names given to `role-to-assume`.
    pub role_vars: Vec<String>,
    /// Repository names (after the registry host) the job pushes to.
    pub pushes: Vec<String>,
    pub raw: Value,
}

pub fn workflows(root: &Path) -> Vec<(PathBuf, Value)> {
    files_under(&root.join(".github/workflows"), &[".yml", ".yaml"])
        .into_iter()
        .map(|f| {
            let v: Value = serde_yaml::from_str(&std::fs::read_to_string(&f).expect("workflow"))
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            (f, v)
        })
        .collect()
}

/// Values an `inputs.X` can take: a choice's options, and every literal a
/// local caller passes.
fn input_values(root: &Path, file: &Path, wf: &Value, input: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for o in wf["on"]["workflow_dispatch"]["inputs"][input]["options"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        if let Some(s) = o.as_str() {
            out.insert(s.to_owned());
        }
    }
    let rel = format!(
        "./.github/workflows/{}",
        file.file_name().unwrap().to_string_lossy()
    );
    for (_, caller) in workflows(root) {
        for (_, job) in caller["jobs"].as_mapping().into_iter().flatten() {
            if job["uses"].as_str() == Some(rel.as_str()) {
                if let Some(v) = job["with"][input].as_str() {
                    out.insert(v.to_owned());
                }
            }
        }
    }
    out
}

/// Expands `${{ a || 'b' }}` terms (inputs, matrix values, quoted literals)
/// into every string the expression can produce.
fn expand(root: &Path, file: &Path, wf: &Value, job: &Value, text: &str) -> Vec<String> {
    let Some(start) = text.find("${{") else {
        return vec![text.to_owned()];
    };
    let end = text[start..].find("}}").expect("}}") + start;
    let expr = text[start + 3..end].trim();
    let mut values = BTreeSet::new();
    for term in expr.split("||").map(str::trim) {
        if let Some(lit) = term.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            values.insert(lit.to_owned());
        } else if let Some(input) = term.strip_prefix("inputs.") {
            values.extend(input_values(root, file, wf, input));
        } else if let Some(key) = term.strip_prefix("matrix.") {
            for v in job["strategy"]["matrix"][key]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                if let Some(s) = v.as_str() {
                    values.insert(s.to_owned());
                }
            }
        } else {
            values.insert(format!("<{term}>"));
        }
    }
    let rest = expand(root, file, wf, job, &text[end + 2..]);
    let mut out = Vec::new();
    for v in &values {
        for r in &rest {
            out.push(format!("{}{v}{r}", &text[..start]));
        }
    }
    out
}

pub fn jobs(root: &Path) -> Vec<Job> {
    let mut out = Vec::new();
    for (file, wf) in workflows(root) {
        for (name, job) in wf["jobs"].as_mapping().into_iter().flatten() {
            let environment = match &job["environment"] {
                Value::String(s) => Some(s.clone()),
                Value::Mapping(m) => m.get("name").and_then(Value::as_str).map(String::from),
                _ => None,
            };
            let environments = environment
                .map(|e| expand(root, &file, &wf, job, &e))
                .unwrap_or_default();
            let mut role_vars = Vec::new();
            let mut pushes = Vec::new();
            for step in job["steps"].as_sequence().into_iter().flatten() {
                if let Some(role) = step["with"]["role-to-assume"].as_str() {
                    let var = role
                        .trim_start_matches("${{")
                        .trim_end_matches("}}")
                        .trim()
                        .strip_prefix("vars.")
                        .unwrap_or(role)
                        .to_owned();
                    role_vars.push(var);
                }
                let mut images = Vec::new();
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("docker/build-push-action"))
                {
                    if let Some(tags) = step["with"]["tags"].as_str() {
                        images.extend(tags.lines().map(str::to_owned));
                    }
                }
                if let Some(run) = step["run"].as_str() {
                    if run.contains("docker push") {
                        if let Some(image) = step["env"]["IMAGE"].as_str() {
                            images.push(image.to_owned());
                        }
                    }
                }
                for image in images {
                    // `<registry>/<repository>:<tag>`: the repository part.
                    let Some((_, repo)) = image.split_once("}}/") else {
                        continue;
                    };
                    let repo = repo.split(':').next().unwrap_or(repo);
                    for r in expand(root, &file, &wf, job, repo) {
                        if !pushes.contains(&r) {
                            pushes.push(r);
                        }
                    }
                }
            }
            out.push(Job {
                file: file.clone(),
                name: name.as_str().unwrap_or("?").to_owned(),
                environments,
                role_vars,
                pushes,
                raw: job.clone(),
            });
        }
    }
    out
}
