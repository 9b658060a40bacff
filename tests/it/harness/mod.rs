//! Shared test harness: repository paths, the project-installed tools and the
//! `ohmc-infra` binary under test.
#![allow(dead_code)]

pub mod fixture;
pub mod http;
pub mod moto;
pub mod prometheus;
pub mod proxy;
pub mod replay;
pub mod s3_backend;
pub mod seed;

use std::path::{Path, PathBuf};

/// Runs each `fn NAME(tf: Tf)` once per Terraform release the suite supports,
/// as the tests `NAME::terraform_1_0` and `NAME::terraform_1_15` (a function
/// and a module may share a name).
macro_rules! on_every_terraform {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn terraform_1_0() {
                super::$name(crate::harness::fixture::Tf::Oldest)
            }
            #[test]
            fn terraform_1_15() {
                super::$name(crate::harness::fixture::Tf::Current)
            }
        }
    )*};
}
pub(crate) use on_every_terraform;

/// The repository root (the workspace), whatever directory the test runs in.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Where `scripts/install-tools` puts the pinned tools.
pub fn tools_bin() -> PathBuf {
    std::env::var_os("OHMC_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".tools"))
        .join("bin")
}

/// A pinned external tool. Fails loudly (never skips) when it is missing, since
/// a test that silently skips its judge proves nothing.
pub fn tool(name: &str) -> PathBuf {
    let path = tools_bin().join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-tools",
        path.display()
    );
    path
}

/// Files under `dir`, recursively, whose names end with one of `suffixes`
/// (`".tf"`, `".yaml.gotmpl"`, `"bundle.json"`), sorted. Entries whose names
/// start with a dot (`.terraform`, editor files) are skipped; a `dir` that does
/// not exist holds none.
pub fn files_under(dir: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, suffixes: &[&str], out: &mut Vec<PathBuf>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) => panic!("reading {}: {e}", dir.display()),
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(&path, suffixes, out);
            } else if suffixes.iter().any(|s| name.ends_with(s)) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, suffixes, &mut out);
    out.sort();
    out
}

/// `path` relative to the repository root, for messages.
pub fn rel(path: &Path) -> String {
    path.strip_prefix(repo_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The `ohmc-infra` binary built for this test run.
pub fn ohmc_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ohmc-infra"))
}
