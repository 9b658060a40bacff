//! The drill's options: a mirror of the `drill {}` block of `environment.hcl`
//! plus what the command line adds. The CLI maps one into the other; this crate
//! never reads HCL.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::DrillError;

/// What to do with a check the drill cannot perform because the API does not
/// return the needed data (for example ElastiCache snapshots without
/// `NodeSnapshots[].SnapshotCreateTime`, or a member cache cluster that cannot
/// be described). Such a check is never reported as passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unverifiable {
    /// The check counts as failed: the drill's status is `validation_failed`.
    #[default]
    Fail,
    /// The check is reported as `unverified` and does not change the status.
    Warn,
}

/// Everything one drill needs. Build with [`DrillConfig::new`] and set fields.
#[derive(Debug, Clone)]
pub struct DrillConfig {
    /// Environment name (`environments/<name>`), part of the drill id.
    pub environment: String,
    /// Region the data stores and their recovery points live in.
    pub region: String,
    /// Restore into this region instead, copying RDS snapshots there first.
    pub target_region: Option<String>,
    /// KMS key in the target region for copies of encrypted RDS snapshots.
    pub target_kms_key_id: Option<String>,
    /// Cross-region Redis: a bucket in the source region ElastiCache may
    /// export snapshots to (ElastiCache cannot copy snapshots across regions).
    pub redis_export_bucket: Option<String>,
    /// Cross-region Redis: a bucket in the target region ElastiCache may read
    /// `.rdb` files from, to seed the restored group.
    pub redis_import_bucket: Option<String>,
    /// `drill.rds_instances`.
    pub rds_instances: Vec<String>,
    /// `drill.redis_replication_group`.
    pub redis_replication_group: Option<String>,
    /// `drill.rto_target`.
    pub rto_target: Duration,
    /// `drill.rpo_target`.
    pub rpo_target: Duration,
    /// `drill.timeout`: the whole restore-and-validate phase.
    pub timeout: Duration,
    /// `drill.validation_command`, run by `sh -c` with `DRILL_*` variables.
    pub validation_command: Option<String>,
    /// Keep the restored resources this long instead of cleaning up at once;
    /// `cleanup(drill_id)` removes them later.
    pub keep_for: Option<Duration>,
    /// Plan only: call read APIs, create nothing, write no ledger.
    pub dry_run: bool,
    /// The tool's state directory; ledgers go to `<state_dir>/drills/`.
    pub state_dir: PathBuf,
    /// How often to poll a restoring resource.
    pub poll_interval: Duration,
    /// Policy for checks the API cannot answer.
    pub unverifiable: Unverifiable,
}

impl DrillConfig {
    /// A config with the defaults of the environment format: RTO 1h, RPO 24h,
    /// timeout 2h, poll every 15 s, unverifiable checks fail.
    pub fn new(
        environment: impl Into<String>,
        region: impl Into<String>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        DrillConfig {
            environment: environment.into(),
            region: region.into(),
            target_region: None,
            target_kms_key_id: None,
            redis_export_bucket: None,
            redis_import_bucket: None,
            rds_instances: Vec::new(),
            redis_replication_group: None,
            rto_target: Duration::from_secs(3600),
            rpo_target: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(2 * 3600),
            validation_command: None,
            keep_for: None,
            dry_run: false,
            state_dir: state_dir.into(),
            poll_interval: Duration::from_secs(15),
            unverifiable: Unverifiable::Fail,
        }
    }

    /// The region restores happen in.
    pub fn restore_region(&self) -> &str {
        self.target_region.as_deref().unwrap_or(&self.region)
    }

    /// The validation command, unless unset or blank: what a drill runs
    /// (and a dry run plans).
    pub(crate) fn validation_command_to_run(&self) -> Option<&str> {
        self.validation_command
            .as_deref()
            .filter(|c| !c.trim().is_empty())
    }

    pub(crate) fn check(&self) -> Result<(), DrillError> {
        let fail = |message: &str| {
            Err(DrillError::Config {
                environment: self.environment.clone(),
                message: message.to_owned(),
            })
        };
        if self.rds_instances.is_empty() && self.redis_replication_group.is_none() {
            return fail("the drill block names no rds_instances and no redis_replication_group");
        }
        if self.environment.is_empty()
            || !self
                .environment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return fail("the environment name must be letters, digits and '-'");
        }
        if self.poll_interval.is_zero() {
            return fail("poll_interval must be positive");
        }
        if self.target_region.as_deref() == Some(self.region.as_str()) {
            return fail("target_region is the source region");
        }
        let buckets = self.redis_export_bucket.is_some() && self.redis_import_bucket.is_some();
        if self.target_region.is_some() && self.redis_replication_group.is_some() && !buckets {
            return fail(
                "ElastiCache cannot copy snapshots across regions: a cross-region Redis drill exports the \
                 snapshot to S3 and needs redis_export_bucket (source region) and redis_import_bucket \
                 (target region); or drill Redis without --target-region",
            );
        }
        Ok(())
    }
}

/// Parse a duration as written in `environment.hcl` (`"90s"`, `"30m"`, `"24h"`,
/// `"7d"`). `field` names the setting in the error.
pub fn parse_duration(field: &str, value: &str) -> Result<Duration, DrillError> {
    humantime::parse_duration(value.trim()).map_err(|e| DrillError::Duration {
        field: field.to_owned(),
        value: value.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_the_environment_format() {
        assert_eq!(
            parse_duration("rpo", "24h").unwrap(),
            Duration::from_secs(86400)
        );
        assert_eq!(
            parse_duration("rpo", "7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(
            parse_duration("rto", "90s").unwrap(),
            Duration::from_secs(90)
        );
        let err = parse_duration("rto_target", "soon")
            .unwrap_err()
            .to_string();
        assert!(err.contains("rto_target") && err.contains("soon"), "{err}");
    }

    #[test]
    fn cross_region_redis_needs_the_export_buckets() {
        let mut c = DrillConfig::new("staging", "us-east-1", "/tmp/x");
        c.redis_replication_group = Some("r".into());
        c.target_region = Some("us-west-2".into());
        assert!(c
            .check()
            .unwrap_err()
            .to_string()
            .contains("redis_export_bucket"));
        c.redis_export_bucket = Some("export".into());
        c.redis_import_bucket = Some("import".into());
        c.check().unwrap();
        c.target_region = None;
        c.check().unwrap();
    }
}
