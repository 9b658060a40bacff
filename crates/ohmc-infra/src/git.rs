//! The git commit a plan was made from, so apply can refuse a plan made from
//! different code.

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GitState {
    /// None when the root is not inside a git work tree.
    pub commit: Option<String>,
    pub dirty: bool,
}

/// [`git_state`] off the async threads, started now and awaited when needed:
/// `git status` in a large checkout costs tens of milliseconds, which then
/// overlap Terraform instead of adding to it.
pub fn git_state_in_background(root: &Path) -> tokio::task::JoinHandle<GitState> {
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || git_state(&root))
}

/// The result of [`git_state_in_background`]; a task that could not finish
/// reads as an unknown, dirty checkout rather than a clean one.
pub async fn join(task: tokio::task::JoinHandle<GitState>) -> GitState {
    task.await.unwrap_or(GitState {
        commit: None,
        dirty: true,
    })
}

/// Reads HEAD and whether tracked or untracked files differ from it.
pub fn git_state(root: &Path) -> GitState {
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match run(&["rev-parse", "HEAD"]) {
        Some(commit) => GitState {
            commit: Some(commit),
            dirty: run(&["status", "--porcelain"])
                .map(|s| !s.is_empty())
                .unwrap_or(true),
        },
        None => GitState {
            commit: None,
            dirty: false,
        },
    }
}
