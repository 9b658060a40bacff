//! Helpers shared by the monitoring, manifest, workflow and runbook tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_yaml::Value;

use crate::harness::{rel, repo_root};

pub(super) fn monitoring() -> PathBuf {
    repo_root().join("deploy/monitoring")
}

pub(super) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Runs a tool; returns its output whatever the exit status.
pub(super) fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

pub(super) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a tool and fails the test, with its output, unless it exits 0.
pub(super) fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        text(&out)
    );
    text(&out)
}

/// Every YAML document in a file (empty documents skipped).
pub(super) fn yaml_docs(path: &Path) -> Vec<Value> {
    use serde::Deserialize;
    let src = read(path);
    serde_yaml::Deserializer::from_str(&src)
        .map(|doc| {
            Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", rel(path)))
        })
        .filter(|v| !v.is_null())
        .collect()
}

pub(super) fn yaml(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{}: expected one YAML document", rel(path));
    docs.remove(0)
}

pub(super) fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, got {v:?}"))
}

pub(super) fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(|s| s.as_slice()).unwrap_or(&[])
}

/// Compares a generated file with what is on disk, or rewrites it under
/// `OHMC_BLESS=1`. Returns a problem description, if any.
pub(super) fn check_generated(path: &Path, want: &str) -> Option<String> {
    if std::env::var_os("OHMC_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, want).unwrap();
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(have) if have == want => None,
        Ok(_) => Some(format!("{} is out of date", rel(path))),
        Err(_) => Some(format!("{} is missing", rel(path))),
    }
}

/// Under `OHMC_BLESS=1`, deletes a generated file whose source is gone.
pub(super) fn remove_under_bless(path: &Path) -> bool {
    std::env::var_os("OHMC_BLESS").is_some() && std::fs::remove_file(path).is_ok()
}

pub(super) fn indent(src: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    src.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

pub(super) fn generated_header(source: &Path) -> String {
    // This header is part of the committed generated manifests: changing it
    // means rerunning with OHMC_BLESS=1.
    format!(
        "# Generated from {} by tests/it/monitoring/; do not edit. After changing the\n\
         # source, run: OHMC_BLESS=1 cargo test -p ohmc-cli --test it monitoring\n",
        rel(source)
    )
}
