//! `terraform init` with backend config files and key=value overrides.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::runner::RunContext;
use crate::{Result, Terraform};

#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    pub backend_config_files: Vec<PathBuf>,
    pub backend_values: Vec<(String, String)>,
    pub reconfigure: bool,
    pub lock_timeout: Option<Duration>,
}

impl InitOptions {
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "init".to_string(),
            "-input=false".into(),
            "-no-color".into(),
        ];
        args.extend(
            self.backend_config_files
                .iter()
                .map(|f| format!("-backend-config={}", f.display())),
        );
        args.extend(
            self.backend_values
                .iter()
                .map(|(k, v)| format!("-backend-config={k}={v}")),
        );
        if self.reconfigure {
            args.push("-reconfigure".into());
        }
        args.extend(super::lock_timeout_arg(self.lock_timeout));
        args
    }
}

impl Terraform {
    pub async fn init(&self, dir: &Path, opts: &InitOptions, ctx: &RunContext) -> Result<()> {
        let out = self.run(dir, &opts.args(), ctx).await?;
        if out.success() {
            Ok(())
        } else {
            Err(super::failure("init", &out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        let opts = InitOptions {
            backend_config_files: vec!["/env/backend.hcl".into()],
            backend_values: vec![("key".into(), "staging/network.tfstate".into())],
            reconfigure: true,
            lock_timeout: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            opts.args(),
            [
                "init",
                "-input=false",
                "-no-color",
                "-backend-config=/env/backend.hcl",
                "-backend-config=key=staging/network.tfstate",
                "-reconfigure",
                "-lock-timeout=30s"
            ]
        );
    }
}
