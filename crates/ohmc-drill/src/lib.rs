//! # ohmc-drill: disaster-recovery drills for the Oh My Coins data stores
//!
//! A drill restores the environment's RDS PostgreSQL instances and its
//! ElastiCache Redis replication group from their newest recovery points into
//! new, tagged resources, validates them, measures RTO and RPO against the
//! environment's targets, and removes everything it created.
//!
//! ## Map
//! - [`config`]: [`DrillConfig`], the mirror of the `drill {}` block of
//!   `environment.hcl` plus command-line options. This crate reads no HCL.
//! - [`aws`]: [`DrillClients`], one client per service and region, built
//!   from the CLI's SDK config.
//! - `drill` (private): [`run_drill`] / [`plan_drill`]. Discovery, copy,
//!   restore, wait, validate, measure, then cleanup on success, failure,
//!   timeout and cancellation.
//! - [`ledger`]: the cleanup ledger. Every create is recorded durably
//!   *before* the call, so a killed drill can be finished by [`cleanup()`].
//! - [`cleanup`](mod@cleanup): deletes only what is in the ledger AND carries
//!   `ohmc:drill-id=<id>` when read back; refuses anything else.
//! - [`report`]: the report (serde), statuses and exit codes;
//!   [`render`]: text, JSON and Markdown.
//! - [`events`]: typed progress events through a callback; the library never
//!   prints.
//!
//! ## Recovery points
//! RDS: the newest *available* snapshot of the instance among manual,
//! automated and AWS Backup (`awsbackup`, which RDS lists and restores like any
//! snapshot). ElastiCache: the newest available snapshot of the replication
//! group. With a target region RDS snapshots are copied there first;
//! ElastiCache cannot copy snapshots across regions, so its snapshot is
//! exported to an S3 bucket, the `.rdb` objects copied to a bucket in the
//! target region, and the new group seeded from them (`redis_export_bucket`,
//! `redis_import_bucket`).
//!
//! ## Checks the API cannot answer
//! Some values are not always reported (ElastiCache snapshot creation time,
//! member cache clusters). Such checks are `unverified`, never passed; under
//! [`Unverifiable::Fail`] (the default) they fail the drill.

pub mod aws;
pub mod cleanup;
pub mod config;
mod drill;
pub mod error;
pub mod events;
pub mod id;
pub mod ledger;
mod rds;
mod redis;
pub mod render;
pub mod report;
mod s3;
pub mod validate;

pub use aws::DrillClients;
pub use cleanup::{cleanup, pending_drills};
pub use config::{parse_duration, DrillConfig, Unverifiable};
pub use drill::{plan_drill, run_drill};
pub use error::{AwsFailure, DrillError};
pub use events::{no_events, DrillEvent, EventSink};
pub use id::{DRILL_SOURCE_TAG_KEY, DRILL_TAG_KEY};
pub use ledger::{Ledger, ResourceKind};
pub use report::{CleanupOutcome, CleanupReport, DrillReport, DrillStatus};
