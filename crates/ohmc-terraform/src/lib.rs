//! A typed wrapper around the real `terraform` binary.
//!
//! Architecture:
//! - [`binary`] finds the executable, detects its version and gates features on it.
//! - [`commands`] has one module per Terraform command. Each builds its argument
//!   list separately from running it, so unit tests check exact arguments without
//!   Terraform.
//! - [`runner`] runs one invocation: its own process group, a controlled
//!   environment, stdout and stderr drained concurrently, streaming `-json` lines
//!   turned into [`events::UiEvent`]s, and the interrupt protocol (one SIGINT to the
//!   group, a grace period, then escalation).
//! - [`diagnostics`] turns Terraform's diagnostics (JSON or text on stderr) into
//!   the typed [`TerraformError`] variants.
//! - [`plan`] models `show -json` plan documents and redacts sensitive values.
//! - [`plan_file`] reads a saved plan file into that model without running
//!   Terraform again, for the releases whose layout it knows.
//! - [`lock`] reads a local backend's lock info, to say who still holds a lock.
//! - [`scrub`] takes secrets out of every line Terraform prints, before
//!   anything else reads it.
//! - [`watchdog`] keeps a supervised Terraform run safe when the process that
//!   started it dies, and records the run for the next command to report.
//!
//! Nothing here prints or exits: results and errors are data for the caller.

pub mod binary;
pub mod commands;
pub mod diagnostics;
pub mod error;
pub mod events;
pub mod lock;
pub mod plan;
pub mod plan_file;
pub mod runner;
pub mod scrub;
pub mod watchdog;

pub use binary::{Features, Implementation, Terraform, TerraformConfig, Version};
pub use error::TerraformError;
pub use events::UiEvent;
pub use runner::{Interrupt, InterruptHandle, RunOutput};

/// Result type of this crate.
pub type Result<T, E = TerraformError> = std::result::Result<T, E>;
