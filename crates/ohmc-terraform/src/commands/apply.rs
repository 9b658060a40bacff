//! `terraform apply -json PLANFILE`: only ever a saved plan, so what runs is
//! exactly what was reviewed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::events::UiEvent;
use crate::runner::RunContext;
use crate::{Result, Terraform};

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub plan_file: PathBuf,
    pub lock_timeout: Option<Duration>,
    pub parallelism: Option<u32>,
}

impl ApplyOptions {
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "apply".to_string(),
            "-input=false".into(),
            "-no-color".into(),
            "-json".into(),
        ];
        args.extend(super::lock_timeout_arg(self.lock_timeout));
        if let Some(n) = self.parallelism {
            args.push(format!("-parallelism={n}"));
        }
        args.push(self.plan_file.display().to_string());
        args
    }
}

impl Terraform {
    pub async fn apply(
        &self,
        dir: &Path,
        opts: &ApplyOptions,
        ctx: &RunContext,
    ) -> Result<Vec<UiEvent>> {
        let out = self.run(dir, &opts.args(), ctx).await?;
        if out.success() && out.interrupts_sent == 0 {
            Ok(out.events)
        } else {
            Err(super::failure("apply", &out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args_with_plan_file_last() {
        let opts = ApplyOptions {
            plan_file: "/b/net.tfplan".into(),
            lock_timeout: Some(Duration::from_secs(0)),
            parallelism: None,
        };
        assert_eq!(
            opts.args(),
            [
                "apply",
                "-input=false",
                "-no-color",
                "-json",
                "-lock-timeout=0s",
                "/b/net.tfplan"
            ]
        );
    }
}
