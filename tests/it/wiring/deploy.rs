//! The Kubernetes side of the wiring model: manifests rendered for one
//! environment the way `scripts/deploy.sh` renders them (envsubst of the
//! environment's variables), and the helmfiles' releases rendered with the
//! environment's values, each with its values merged in helmfile's order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::harness::files_under;

/// One Kubernetes object from a manifest file.
pub struct Manifest {
    pub file: PathBuf,
    pub doc: Value,
}

impl Manifest {
    pub fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or("")
    }
    pub fn namespace(&self) -> &str {
        self.doc["metadata"]["namespace"].as_str().unwrap_or("")
    }
}

/// A helmfile release, rendered for one environment.
pub struct Release {
    pub helmfile: PathBuf,
    pub name: String,
    pub namespace: String,
    /// `repo/chart` as written.
    pub chart: String,
    pub repo_url: String,
    pub version: String,
    pub values: Value,
    /// `needs:` entries as written (`namespace/name` or `name`).
    pub needs: Vec<String>,
}

impl Release {
    pub fn chart_name(&self) -> &str {
        self.chart
            .split_once('/')
            .map(|(_, c)| c)
            .unwrap_or(&self.chart)
    }
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The variables `scripts/deploy.sh` substitutes that come from
/// `environment.hcl`; the others (stack outputs) stay as `${NAME}`.
pub struct EnvVars {
    pub environment: String,
    pub account_id: String,
    pub region: String,
}

fn envsubst(text: &str, vars: &EnvVars) -> String {
    let registry = format!("{}.dkr.ecr.{}.amazonaws.com", vars.account_id, vars.region);
    text.replace("${ENVIRONMENT}", &vars.environment)
        .replace("${AWS_ACCOUNT_ID}", &vars.account_id)
        .replace("${AWS_REGION}", &vars.region)
        .replace("${ECR_REGISTRY}", &registry)
        .replace("${IMAGE_TAG}", "wiring-test")
        .replace("${AUDIT_IMAGE_TAG}", "wiring-test")
}

/// The directories of plain manifests under `deploy/`.
pub const MANIFEST_DIRS: &[&str] = &[
    "deploy/k8s",
    "deploy/monitoring/manifests",
    "deploy/audit/kubernetes",
];

pub fn manifests(root: &Path, vars: &EnvVars) -> Vec<Manifest> {
    let mut out = Vec::new();
    for dir in MANIFEST_DIRS {
        for file in files_under(&root.join(dir), &[".yaml", ".yml"]) {
            let text = envsubst(&std::fs::read_to_string(&file).expect("manifest"), vars);
            for doc in serde_yaml::Deserializer::from_str(&text) {
                let doc =
                    Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                if doc["kind"].is_string() {
                    out.push(Manifest {
                        file: file.clone(),
                        doc,
                    });
                }
            }
        }
    }
    out
}

pub fn helmfiles(root: &Path) -> Vec<PathBuf> {
    files_under(&root.join("deploy"), &["helmfile.yaml.gotmpl"])
}

/// Deep merge, later wins, as Helm merges values files.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn lookup<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    let mut v = values;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        v = v.get(part)?;
    }
    Some(v)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("template: {other:?} is not a scalar"),
    }
}

enum Tok {
    Text(String),
    Action(String),
}

/// The subset of Go templates the helmfiles use: `.Values.x.y`, `.`,
/// `.Environment.Name`, `range`/`end`, `requiredEnv "X"` (rendered as the
/// placeholder `${X}`, as deploy.sh exports it), with `{{-`/`-}}` trimming.
/// Anything else fails loudly rather than rendering wrong.
pub fn render_template(src: &str, env: &str, values: &Value) -> String {
    let mut toks = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_owned();
        let end = rest[start..].find("}}").expect("unclosed {{") + start;
        let mut action = &rest[start + 2..end];
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end().to_owned();
            action = a;
        }
        let mut after = &rest[end + 2..];
        if let Some(a) = action.strip_suffix('-') {
            action = a;
            after = after.trim_start();
        }
        toks.push(Tok::Text(text));
        toks.push(Tok::Action(action.trim().to_owned()));
        rest = after;
    }
    toks.push(Tok::Text(rest.to_owned()));
    let mut out = String::new();
    let mut i = 0;
    exec(&toks, &mut i, env, values, None, &mut out);
    out
}

fn exec(
    toks: &[Tok],
    i: &mut usize,
    env: &str,
    values: &Value,
    dot: Option<&Value>,
    out: &mut String,
) -> bool {
    while *i < toks.len() {
        match &toks[*i] {
            Tok::Text(t) => out.push_str(t),
            Tok::Action(a) if a == "end" => return true,
            Tok::Action(a) if a.starts_with("range ") => {
                let path = a["range ".len()..].trim();
                let items = path
                    .strip_prefix(".Values.")
                    .and_then(|p| lookup(values, p))
                    .and_then(Value::as_sequence)
                    .cloned()
                    .unwrap_or_else(|| panic!("template: range over {path} is not a list"));
                let body_start = *i + 1;
                let mut end = body_start;
                if items.is_empty() {
                    let mut sink = String::new();
                    exec(toks, &mut end, env, values, None, &mut sink);
                }
                for item in &items {
                    end = body_start;
                    exec(toks, &mut end, env, values, Some(item), out);
                }
                *i = end;
            }
            Tok::Action(a) if a == "." => out.push_str(&scalar(dot.expect("`.` outside range"))),
            Tok::Action(a) if a == ".Environment.Name" => out.push_str(env),
            Tok::Action(a) if a.starts_with(".Values.") => {
                let v = lookup(values, &a[".Values.".len()..])
                    .unwrap_or_else(|| panic!("template: {a} is not defined for {env}"));
                out.push_str(&scalar(v));
            }
            Tok::Action(a) if a.starts_with("requiredEnv ") => {
                let name = a["requiredEnv ".len()..].trim().trim_matches('"');
                out.push_str(&format!("${{{name}}}"));
            }
            Tok::Action(a) => {
                panic!("template action {{{{ {a} }}}} is not modelled by the wiring test")
            }
        }
        *i += 1;
    }
    false
}

fn values_from(list: &Value, dir: &Path, env: &str, env_values: &Value) -> Value {
    let mut merged = Value::Mapping(Mapping::new());
    for item in list.as_sequence().cloned().unwrap_or_default() {
        let v = match &item {
            Value::String(file) => {
                let path = dir.join(file);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let text = if file.ends_with(".gotmpl") {
                    render_template(&text, env, env_values)
                } else {
                    text
                };
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            }
            other => other.clone(),
        };
        merge(&mut merged, &v);
    }
    merged
}

/// The environment names a helmfile declares.
pub fn helmfile_environments(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).expect("helmfile");
    let (head, _) = text
        .split_once("\n---\n")
        .expect("helmfile with environments and ---");
    let doc: Value = serde_yaml::from_str(head).expect("helmfile environments");
    doc["environments"]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Every release of one helmfile, rendered for `env`.
pub fn releases(file: &Path, env: &str) -> Vec<Release> {
    let dir = file.parent().expect("dir");
    let text = std::fs::read_to_string(file).expect("helmfile");
    let (head, body) = text
        .split_once("\n---\n")
        .expect("helmfile with environments and ---");
    let head: Value = serde_yaml::from_str(head).expect("environments");
    let env_values = values_from(&head["environments"][env]["values"], dir, env, &Value::Null);
    let rendered = render_template(body, env, &env_values);
    let doc: Value = serde_yaml::from_str(&rendered)
        .unwrap_or_else(|e| panic!("{} rendered for {env}: {e}\n{rendered}", file.display()));
    let repos: BTreeMap<String, String> = doc["repositories"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|r| (scalar(&r["name"]), scalar(&r["url"])))
        .collect();
    doc["releases"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|r| {
            let chart = scalar(&r["chart"]);
            let repo = chart.split_once('/').map(|(r, _)| r).unwrap_or("");
            Release {
                helmfile: file.to_path_buf(),
                name: scalar(&r["name"]),
                namespace: r["namespace"].as_str().unwrap_or("default").to_owned(),
                repo_url: repos.get(repo).cloned().unwrap_or_default(),
                chart,
                version: r["version"].as_str().map(String::from).unwrap_or_default(),
                values: values_from(&r["values"], dir, env, &env_values),
                needs: r["needs"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(scalar)
                    .collect(),
            }
        })
        .collect()
}

/// Every (path, string) leaf of a values tree, path as `a.b[0].c`.
pub fn leaves(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                let k = k
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| format!("{k:?}"));
                let p = if path.is_empty() {
                    k
                } else {
                    format!("{path}.{k}")
                };
                leaves(v, &p, out);
            }
        }
        Value::Sequence(s) => {
            for (i, v) in s.iter().enumerate() {
                leaves(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        _ => {}
    }
}
