//! Typed Terraform failures. Each variant carries the facts a person needs to act
//! (who holds a lock, which file and line), so the binary never has to re-parse
//! Terraform's text.

use std::fmt;
use std::path::PathBuf;

use crate::diagnostics::Diagnostic;
use crate::lock::LockInfo;

/// A place in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: u64,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Everything that can go wrong running Terraform.
#[derive(Debug, thiserror::Error)]
pub enum TerraformError {
    #[error("terraform binary not found ({searched}); install the pinned Terraform with scripts/install-tools or point --terraform / OHMC_TERRAFORM at one")]
    NotFound { searched: String },

    #[error("terraform at {path} is version {found}, but ohmc-infra needs >= {minimum} and < {maximum}; install the pinned Terraform with scripts/install-tools or point --terraform / OHMC_TERRAFORM at a supported one")]
    VersionUnsupported {
        path: PathBuf,
        found: String,
        minimum: String,
        maximum: String,
    },

    #[error("{name} is set in the environment ({value:?}); it would change Terraform's arguments behind ohmc-infra's back, so unset it")]
    AmbientCliArgs { name: String, value: String },

    #[error("the state is locked by {} (lock ID {}, operation {}, created {}); wait for it to finish, or if that process is gone, force-unlock that lock ID", .lock.who, .lock.id, .lock.operation, .lock.created)]
    StateLocked { lock: Box<LockInfo> },

    #[error("the working directory is not initialised: {detail}")]
    NotInitialized { detail: String },

    #[error("no value for required variable \"{name}\"{}: set it in a var file or TF_VAR_{name}", location_suffix(.location))]
    MissingVariable {
        name: String,
        location: Option<SourceLocation>,
    },

    #[error("invalid value for variable \"{name}\"{}: {message}", location_suffix(.location))]
    InvalidVariable {
        name: String,
        location: Option<SourceLocation>,
        message: String,
    },

    #[error("the saved plan is stale: the state changed after the plan was made; plan again")]
    StalePlan,

    #[error("a provider is unavailable: {detail}")]
    ProviderUnavailable { detail: String },

    #[error("a provider package differs from the checksums in the stack's .terraform.lock.hcl (same version, other binary: rebuilt, re-downloaded or tampered with): {detail}\nIf the change is intended, update the lock file (`terraform providers lock`, or delete .terraform.lock.hcl and plan again so init records the new checksums), review the diff and commit it; otherwise find out why the package changed")]
    ProviderChecksumMismatch { detail: String },

    #[error("unsupported plan format version {found}: this tool reads format 0.x and 1.x")]
    PlanFormatUnsupported { found: String },

    #[error("the saved plan was written by Terraform {terraform_version} (tfplan format {format}), whose plan file layout this tool does not read directly")]
    SavedPlanLayoutUnsupported {
        terraform_version: String,
        format: u64,
    },

    #[error("{}", render_diagnostics(.0))]
    Diagnostics(Vec<Diagnostic>),

    #[error("terraform {command} exited with status {code}: {stderr}")]
    Failed {
        command: String,
        code: i32,
        stderr: String,
    },

    #[error("terraform {command} was interrupted")]
    Interrupted { command: String },

    #[error("could not read terraform's output: {0}")]
    Parse(String),

    #[error("running terraform: {0}")]
    Io(#[from] std::io::Error),
}

fn location_suffix(location: &Option<SourceLocation>) -> String {
    location
        .as_ref()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default()
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
