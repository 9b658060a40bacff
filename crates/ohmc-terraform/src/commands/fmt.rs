//! `terraform fmt -check`: exit 0 clean, 3 needs formatting, 2 parse error.

use std::path::{Path, PathBuf};

use crate::runner::RunContext;
use crate::{Result, Terraform};

#[derive(Debug, Clone, Default)]
pub struct FmtOptions {
    pub check: bool,
    pub recursive: bool,
    pub diff: bool,
    pub paths: Vec<PathBuf>,
}

impl FmtOptions {
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["fmt".to_string(), "-no-color".into()];
        if self.check {
            args.push("-check".into());
        }
        if self.recursive {
            args.push("-recursive".into());
        }
        if self.diff {
            args.push("-diff".into());
        }
        args.extend(self.paths.iter().map(|p| p.display().to_string()));
        args
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FmtResult {
    Clean,
    /// Files that need formatting (and the diff when asked for).
    NeedsFormatting {
        files: Vec<String>,
        diff: String,
    },
}

impl Terraform {
    pub async fn fmt(&self, dir: &Path, opts: &FmtOptions, ctx: &RunContext) -> Result<FmtResult> {
        let out = self.run(dir, &opts.args(), ctx).await?;
        match out.code {
            Some(0) if !opts.check || out.stdout.trim().is_empty() => Ok(FmtResult::Clean),
            Some(0) | Some(3) => {
                let files = out
                    .stdout
                    .lines()
                    .filter(|l| {
                        !l.is_empty()
                            && !l.starts_with([' ', '+', '-', '@'])
                            && !l.starts_with("diff ")
                    })
                    .map(str::to_string)
                    .collect();
                Ok(FmtResult::NeedsFormatting {
                    files,
                    diff: out.stdout,
                })
            }
            _ => Err(super::failure("fmt", &out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        let opts = FmtOptions {
            check: true,
            recursive: true,
            diff: true,
            paths: vec!["terraform".into()],
        };
        assert_eq!(
            opts.args(),
            [
                "fmt",
                "-no-color",
                "-check",
                "-recursive",
                "-diff",
                "terraform"
            ]
        );
    }
}
