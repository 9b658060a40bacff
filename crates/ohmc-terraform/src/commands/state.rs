//! `terraform state list` and `terraform state pull` (for lineage and serial).

use std::path::Path;

use serde::Deserialize;

use crate::runner::RunContext;
use crate::{Result, Terraform, TerraformError};

pub fn list_args() -> Vec<String> {
    vec!["state".into(), "list".into()]
}

pub fn pull_args() -> Vec<String> {
    vec!["state".into(), "pull".into()]
}

/// The identity of a state snapshot: a plan made against one lineage and
/// serial must not be applied against another.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct StateIdentity {
    #[serde(default)]
    pub lineage: String,
    #[serde(default)]
    pub serial: u64,
}

impl Terraform {
    pub async fn state_list(&self, dir: &Path, ctx: &RunContext) -> Result<Vec<String>> {
        let out = self.run(dir, &list_args(), ctx).await?;
        if !out.success() {
            return Err(super::failure("state list", &out));
        }
        Ok(out
            .stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    }

    /// Lineage and serial of the current state; an empty state (no state yet)
    /// has an empty lineage and serial 0.
    pub async fn state_identity(&self, dir: &Path, ctx: &RunContext) -> Result<StateIdentity> {
        let out = self.run(dir, &pull_args(), ctx).await?;
        if !out.success() {
            return Err(super::failure("state pull", &out));
        }
        if out.stdout.trim().is_empty() {
            return Ok(StateIdentity {
                lineage: String::new(),
                serial: 0,
            });
        }
        // Only lineage and serial are read: the pulled state holds resource
        // attributes, secrets included, and is never kept.
        serde_json::from_str(&out.stdout)
            .map_err(|e| TerraformError::Parse(format!("state pull: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_args() {
        assert_eq!(super::list_args(), ["state", "list"]);
        assert_eq!(super::pull_args(), ["state", "pull"]);
    }
}
