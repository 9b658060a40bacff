//! ohmc-infra's library: environments, plan bundles and the operations behind
//! each command.
//!
//! - [`environment`] reads `environments/<name>/environment.hcl`.
//! - [`backend`] reads a stack's backend configuration (`backend.hcl` plus
//!   `backend_values`) and refuses static credentials in it.
//! - [`graph`] orders stacks and runs them with bounded parallelism.
//! - [`bundle`] is the reviewed-plan bundle and the facts apply re-checks.
//! - [`ops`] has one module per operation (plan, apply, drift, output); the
//!   binary's commands are thin wrappers over these.
//! - [`summary`] and [`redact`] shape what people see, never with a secret in it;
//!   [`secrets`] knows a stack's secrets before Terraform runs, to scrub its output.
//! - [`exit`] is the one place exit statuses are defined.

pub mod backend;
pub mod bundle;
pub mod environment;
pub mod exit;
pub mod git;
pub mod graph;
pub mod ops;
pub mod private_fs;
pub mod redact;
pub mod region;
pub mod secrets;
pub mod summary;
