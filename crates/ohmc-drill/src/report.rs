//! The drill report: plain data (serde), built by the drill and rendered by
//! [`crate::render`]. Times are UTC; durations are whole milliseconds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ledger::ResourceKind;

/// Version of the JSON report format.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// How the drill ended. See [`DrillStatus::exit_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillStatus {
    /// Restored, validated, RTO and RPO within target.
    Met,
    /// Restored and validated, but RTO or RPO missed its target (or the drill
    /// timed out, which misses the RTO by definition).
    Breached,
    /// A validation failed (or could not be performed, under `Unverifiable::Fail`).
    ValidationFailed,
    /// The drill could not run to the end: an AWS call failed, no recovery point...
    Error,
    /// Cancelled by the caller (Ctrl-C).
    Cancelled,
    /// Dry run: `plan` holds the actions; nothing was created.
    Planned,
}

impl DrillStatus {
    /// 0 targets met (or dry run), 3 target breached or validation failed,
    /// 1 error, 130 cancelled.
    pub fn exit_code(self) -> i32 {
        match self {
            DrillStatus::Met | DrillStatus::Planned => 0,
            DrillStatus::Breached | DrillStatus::ValidationFailed => 3,
            DrillStatus::Error => 1,
            DrillStatus::Cancelled => 130,
        }
    }
}

/// A recovery point the drill restored from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    /// The data store it belongs to (`rds_instances` entry or the replication group).
    pub source: String,
    /// `rds_snapshot` or `elasticache_snapshot`.
    pub kind: RecoveryPointKind,
    /// `manual`, `automated`, `awsbackup` (RDS); `manual`, `automated` (ElastiCache).
    pub snapshot_type: String,
    pub identifier: String,
    pub arn: Option<String>,
    pub region: String,
    /// When the data was captured; `None` when the API did not say.
    pub created_at: Option<DateTime<Utc>>,
    /// The cross-region copy actually restored from, if any.
    pub copied_to: Option<CopiedRecoveryPoint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedRecoveryPoint {
    pub identifier: String,
    pub arn: Option<String>,
    pub region: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryPointKind {
    RdsSnapshot,
    ElasticacheSnapshot,
}

/// One step of the drill with its times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// e.g. `restore`, `wait`, `validate`, `copy_snapshot`, `validation_command`.
    pub name: String,
    /// The resource the step acted on.
    pub resource: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub outcome: StepOutcome,
    /// Error or explanation when not `ok`.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Ok,
    Failed,
    Cancelled,
}

/// One validation of one restored resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    pub resource: String,
    /// `available`, `encrypted`, `engine_version`, `parameter_group`, ...
    pub check: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    pub outcome: ValidationOutcome,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationOutcome {
    Passed,
    Failed,
    /// The API did not return what the check needs. Never a pass.
    Unverified,
}

/// A measured objective against its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// Measured value in milliseconds; `None` when it could not be measured.
    pub measured_ms: Option<u64>,
    pub target_ms: u64,
    /// `Some(true)` met, `Some(false)` breached, `None` not measured.
    pub met: Option<bool>,
    /// What was measured, or why it was not.
    pub detail: String,
}

/// What cleanup did with one ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupResult {
    pub kind: ResourceKind,
    pub identifier: String,
    pub region: String,
    pub outcome: CleanupOutcome,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupOutcome {
    /// Deleted and confirmed gone.
    Deleted,
    /// Delete accepted; the service is still removing it.
    DeletionRequested,
    /// It did not exist (the create call never happened or failed).
    NotFound,
    /// It exists but does not carry this drill's tag: left alone.
    Refused,
    /// The delete call failed: it may still exist; run cleanup again.
    Failed,
    /// Kept because the drill was asked to (`keep_for`).
    Kept,
}

impl CleanupOutcome {
    /// True when nothing of this entry is left behind by the drill.
    pub fn is_clean(self) -> bool {
        matches!(
            self,
            CleanupOutcome::Deleted | CleanupOutcome::DeletionRequested | CleanupOutcome::NotFound
        )
    }
}

/// The result of `cleanup(drill_id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupReport {
    pub drill_id: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub results: Vec<CleanupResult>,
}

impl CleanupReport {
    /// True when every entry is gone or going, and nothing was refused or failed.
    pub fn is_clean(&self) -> bool {
        self.results.iter().all(|r| r.outcome.is_clean())
    }

    /// 0 clean, 1 otherwise (something refused, failed, or kept).
    pub fn exit_code(&self) -> i32 {
        if self.is_clean() {
            0
        } else {
            1
        }
    }
}

/// An action the drill would take (dry run) or took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// `service:Action`, e.g. `rds:RestoreDBInstanceFromDBSnapshot`.
    pub action: String,
    pub resource: String,
    pub region: String,
    pub detail: String,
}

/// The full report of one drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillReport {
    pub schema_version: u32,
    pub drill_id: String,
    pub environment: String,
    pub region: String,
    pub target_region: Option<String>,
    pub dry_run: bool,
    pub status: DrillStatus,
    /// Why the status is not `met`: each breach, failed validation or error, one line each.
    pub reasons: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub recovery_points: Vec<RecoveryPoint>,
    pub steps: Vec<Step>,
    pub validations: Vec<Validation>,
    pub rto: Objective,
    pub rpo: Objective,
    /// Filled by a dry run.
    pub plan: Vec<PlannedAction>,
    pub cleanup: Vec<CleanupResult>,
    /// When `keep_for` was set: the resources stay until this time.
    pub keep_until: Option<DateTime<Utc>>,
    /// The ledger file, for `cleanup` after an interruption.
    pub ledger_path: Option<String>,
}

impl DrillReport {
    pub fn exit_code(&self) -> i32 {
        self.status.exit_code()
    }

    /// True when cleanup left nothing behind (ignoring kept resources).
    pub fn cleanup_complete(&self) -> bool {
        self.cleanup
            .iter()
            .all(|c| c.outcome.is_clean() || c.outcome == CleanupOutcome::Kept)
    }
}
