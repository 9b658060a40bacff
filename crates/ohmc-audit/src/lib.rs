//! The scheduled compliance audit: the `ohmc-checks` catalog run across environments,
//! accounts and regions, with waivers, a baseline diff, and reports every CI system and
//! Prometheus can read. A library: it returns data and text, it never prints or exits.
//!
//! - [`run`]: [`run_audit`] audits [`AuditTarget`]s (an environment or account in one
//!   region) concurrently, at most `max_concurrent_targets` at once, each with its own
//!   SDK context (clients per service and region), all under one
//!   `ohmc_checks::CallBudget`: `concurrency_per_service` calls in flight per account,
//!   region and service, whichever targets send them. A target that cannot be reached, or reaches the wrong account,
//!   is a [`TargetError`], never silently absent. [`discover_accounts`] lists an
//!   organisation's accounts.
//!   With no stack outputs for a target, or `discover`, the target is judged by
//!   discovery (`ohmc_checks::discover_and_check`): every kind enumerated, the same
//!   checks, the account-level controls; resources no output names are `unmanaged`.
//! - [`defaults`]: the `audit {}` block discovery judges accounts against.
//! - [`shard`]: `--shard K/N`, a fixed hash of account and region; [`merge`] combines
//!   the shards' JSON reports into the report an unsharded run writes.
//! - [`model`]: [`AuditReport`] and [`AuditFinding`] (environment, account, region, check,
//!   resource, [`Status`], controls with benchmark versions, evidence, waiver), sorted.
//! - [`waivers`]: `waivers.hcl`; honoured, expired (a failure of its own), or matching
//!   nothing (a warning).
//! - [`baseline`]: new, resolved and unchanged failures against a previous JSON report.
//! - [`render`]: human, JSON, Markdown, JUnit (quick-junit), SARIF 2.1.0 (serde-sarif),
//!   Prometheus exposition (prometheus-client); [`push`] sends it to a Pushgateway.
//!
//! The verdict ([`Verdict`]): any error wins (exit 1), then any failure (exit 3), else
//! pass (exit 0). An error means part of the account was not looked at, so a failure
//! elsewhere does not make the run's result more certain than "incomplete".

pub mod baseline;
pub mod defaults;
pub mod merge;
pub mod model;
pub mod push;
pub mod render;
pub mod run;
pub mod shard;
pub mod waivers;

pub use defaults::AuditDefaults;
pub use merge::{merge, MergeError};
pub use model::{
    AuditFinding, AuditReport, FindingKey, Status, Summary, TargetError, Verdict, Warning,
    SCHEMA_VERSION,
};
pub use run::{
    discover_accounts, run_audit, AuditOptions, AuditTarget, CheckSelection, EnvironmentWaivers,
    OrgAccount,
};
pub use shard::Shard;
