//! `terraform plan -json -out=FILE`, including refresh-only (drift) and destroy plans.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::events::UiEvent;
use crate::runner::RunContext;
use crate::{Result, Terraform};

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    pub out: Option<PathBuf>,
    pub var_files: Vec<PathBuf>,
    pub refresh_only: bool,
    pub destroy: bool,
    pub lock_timeout: Option<Duration>,
    pub parallelism: Option<u32>,
}

impl PlanOptions {
    pub fn args(&self) -> Vec<String> {
        // -detailed-exitcode makes "changes present" exit 2 instead of 0, which
        // is how this tool tells a no-op plan from a real one without parsing.
        let mut args = vec![
            "plan".to_string(),
            "-input=false".into(),
            "-no-color".into(),
            "-json".into(),
            "-detailed-exitcode".into(),
        ];
        if let Some(out) = &self.out {
            args.push(format!("-out={}", out.display()));
        }
        args.extend(
            self.var_files
                .iter()
                .map(|f| format!("-var-file={}", f.display())),
        );
        if self.refresh_only {
            args.push("-refresh-only".into());
        }
        if self.destroy {
            args.push("-destroy".into());
        }
        args.extend(super::lock_timeout_arg(self.lock_timeout));
        if let Some(n) = self.parallelism {
            args.push(format!("-parallelism={n}"));
        }
        args
    }
}

#[derive(Debug, Clone)]
pub struct PlanRun {
    /// Whether Terraform reported changes (exit 2 under -detailed-exitcode).
    pub changes_present: bool,
    pub events: Vec<UiEvent>,
}

impl Terraform {
    pub async fn plan(&self, dir: &Path, opts: &PlanOptions, ctx: &RunContext) -> Result<PlanRun> {
        let out = self.run(dir, &opts.args(), ctx).await?;
        match out.code {
            Some(0) if out.interrupts_sent == 0 => Ok(PlanRun {
                changes_present: false,
                events: out.events,
            }),
            Some(2) if out.interrupts_sent == 0 => Ok(PlanRun {
                changes_present: true,
                events: out.events,
            }),
            _ => Err(super::failure("plan", &out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        let opts = PlanOptions {
            out: Some("/b/net.tfplan".into()),
            var_files: vec!["/env/a.tfvars".into(), "/env/b.tfvars".into()],
            refresh_only: true,
            destroy: false,
            lock_timeout: Some(Duration::from_secs(5)),
            parallelism: Some(4),
        };
        assert_eq!(
            opts.args(),
            [
                "plan",
                "-input=false",
                "-no-color",
                "-json",
                "-detailed-exitcode",
                "-out=/b/net.tfplan",
                "-var-file=/env/a.tfvars",
                "-var-file=/env/b.tfvars",
                "-refresh-only",
                "-lock-timeout=5s",
                "-parallelism=4"
            ]
        );
        let destroy = PlanOptions {
            destroy: true,
            ..Default::default()
        };
        assert!(destroy.args().contains(&"-destroy".to_string()));
    }
}
