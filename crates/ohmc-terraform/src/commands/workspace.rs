//! `terraform workspace list|show|new|select|delete`.

use std::path::Path;

use crate::runner::RunContext;
use crate::{Result, Terraform};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceCommand {
    List,
    Show,
    New(String),
    Select(String),
    Delete(String),
}

impl WorkspaceCommand {
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["workspace".to_string()];
        match self {
            WorkspaceCommand::List => args.push("list".into()),
            WorkspaceCommand::Show => args.push("show".into()),
            WorkspaceCommand::New(n) => args.extend(["new".into(), n.clone()]),
            WorkspaceCommand::Select(n) => args.extend(["select".into(), n.clone()]),
            WorkspaceCommand::Delete(n) => args.extend(["delete".into(), n.clone()]),
        }
        args
    }
}

/// `workspace list` marks the current one with `* `.
pub fn parse_list(stdout: &str) -> (Vec<String>, Option<String>) {
    let mut all = Vec::new();
    let mut current = None;
    for line in stdout.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("* ") {
            current = Some(name.to_string());
            all.push(name.to_string());
        } else {
            all.push(trimmed.to_string());
        }
    }
    (all, current)
}

impl Terraform {
    /// Runs a workspace command and returns its trimmed stdout.
    pub async fn workspace(
        &self,
        dir: &Path,
        cmd: &WorkspaceCommand,
        ctx: &RunContext,
    ) -> Result<String> {
        let out = self.run(dir, &cmd.args(), ctx).await?;
        if !out.success() {
            return Err(super::failure("workspace", &out));
        }
        Ok(out.stdout.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        assert_eq!(WorkspaceCommand::List.args(), ["workspace", "list"]);
        assert_eq!(
            WorkspaceCommand::Select("blue".into()).args(),
            ["workspace", "select", "blue"]
        );
        assert_eq!(
            WorkspaceCommand::New("blue".into()).args(),
            ["workspace", "new", "blue"]
        );
        assert_eq!(
            WorkspaceCommand::Delete("blue".into()).args(),
            ["workspace", "delete", "blue"]
        );
        assert_eq!(WorkspaceCommand::Show.args(), ["workspace", "show"]);
    }

    #[test]
    fn parses_list() {
        let (all, current) = parse_list("  default\n* blue\n\n");
        assert_eq!(all, ["default", "blue"]);
        assert_eq!(current.as_deref(), Some("blue"));
    }
}
