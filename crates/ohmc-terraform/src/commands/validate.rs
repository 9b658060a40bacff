//! `terraform validate -json` (works even before init).

use std::path::Path;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;
use crate::error::TerraformError;
use crate::runner::RunContext;
use crate::{Result, Terraform};

pub fn args() -> Vec<String> {
    vec!["validate".into(), "-json".into(), "-no-color".into()]
}

#[derive(Debug, Clone, Deserialize)]
pub struct ValidateResult {
    pub valid: bool,
    #[serde(default)]
    pub error_count: u64,
    #[serde(default)]
    pub warning_count: u64,
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
}

impl Terraform {
    /// Returns the validation result; invalid configuration is data, not an error.
    pub async fn validate(&self, dir: &Path, ctx: &RunContext) -> Result<ValidateResult> {
        let out = self.run(dir, &args(), ctx).await?;
        serde_json::from_str(&out.stdout).map_err(|_| {
            if out.success() {
                TerraformError::Parse(format!("validate printed no JSON: {}", out.stdout.trim()))
            } else {
                super::failure("validate", &out)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_args() {
        assert_eq!(super::args(), ["validate", "-json", "-no-color"]);
    }
}
