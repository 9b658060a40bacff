//! One module per Terraform command. Each exposes an options struct whose
//! `args()` builds the exact argument list (unit-tested without Terraform), and
//! a method on [`crate::Terraform`] that runs it and interprets the exit code.

pub mod apply;
pub mod fmt;
pub mod init;
pub mod output;
pub mod plan;
pub mod show;
pub mod state;
pub mod validate;
pub mod version;
pub mod workspace;

use std::time::Duration;

use crate::diagnostics::{self, Diagnostic};
use crate::error::TerraformError;
use crate::events::UiEvent;
use crate::runner::RunOutput;

const INIT_PREAMBLE: &str = "Terraform encountered problems during initiali";

/// `-lock-timeout=30s`: Terraform takes a Go duration.
pub(crate) fn lock_timeout_arg(timeout: Option<Duration>) -> Option<String> {
    timeout.map(|t| format!("-lock-timeout={}s", t.as_secs()))
}

/// The error for a failed run: diagnostics from the JSON stream first, then
/// from the text on stderr.
pub(crate) fn failure(command: &str, out: &RunOutput) -> TerraformError {
    if out.interrupts_sent > 0 {
        return TerraformError::Interrupted {
            command: command.to_string(),
        };
    }
    let mut diags: Vec<Diagnostic> = out
        .events
        .iter()
        .filter_map(|e| match e {
            UiEvent::Diagnostic(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    diags.extend(diagnostics::parse_text(&out.stderr));
    // Terraform 1.9+ opens init's configuration errors with one that only
    // says "described below"; the ones below name the file and line.
    if diags.len() > 1 {
        diags.retain(|d| !d.summary.starts_with(INIT_PREAMBLE));
    }
    diagnostics::classify(command, out.code.unwrap_or(-1), diags, &out.stderr)
}
