//! ElastiCache: the data stack's Redis replication group (the optional
//! `redis_replication_group_id` output, or every group discovery finds) is encrypted at
//! rest (ElastiCache.4) and in transit (ElastiCache.5), fails over automatically
//! (ElastiCache.3) and keeps automatic backups (ElastiCache.1: a snapshot retention of at
//! least one day, the control's default).

use super::{call_error, error_code, finding, judge, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};

pub(crate) const AT_REST: &str = "elasticache.encrypted_at_rest";
pub(crate) const IN_TRANSIT: &str = "elasticache.encrypted_in_transit";
pub(crate) const FAILOVER: &str = "elasticache.automatic_failover";
pub(crate) const BACKUPS: &str = "elasticache.automatic_backups";
const ALL: [&str; 4] = [AT_REST, IN_TRANSIT, FAILOVER, BACKUPS];

/// A replication group, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupFacts {
    pub arn: String,
    pub at_rest: bool,
    pub in_transit: bool,
    /// `enabled`, `enabling`, `disabled`, `disabling`, or a value this SDK does not know.
    pub failover: Option<String>,
    pub snapshot_retention_days: i32,
}

impl From<&aws_sdk_elasticache::types::ReplicationGroup> for GroupFacts {
    fn from(g: &aws_sdk_elasticache::types::ReplicationGroup) -> Self {
        GroupFacts {
            arn: g.arn().unwrap_or("").to_string(),
            at_rest: g.at_rest_encryption_enabled().unwrap_or(false),
            in_transit: g.transit_encryption_enabled().unwrap_or(false),
            failover: g.automatic_failover().map(|s| s.as_str().to_string()),
            snapshot_retention_days: g.snapshot_retention_limit().unwrap_or(0),
        }
    }
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let id = match r
        .exp
        .optional_output_str(outputs::REDIS_REPLICATION_GROUP_ID)
    {
        Ok(Some(id)) => id,
        // An environment without a cache has nothing to judge here.
        Ok(None) => return Vec::new(),
        Err(e) => return unreadable_output(&ALL, &e),
    };
    group(r, id).await
}

async fn group(r: &Run<'_>, id: &str) -> Vec<Finding> {
    let fallback = format!(
        "arn:aws:elasticache:{}:{}:replicationgroup:{id}",
        r.region,
        r.account()
    );
    let got = {
        let _p = r.permit("elasticache").await;
        r.ctx
            .elasticache(None)
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
    };
    let g = match got {
        Ok(o) => o
            .replication_groups()
            .iter()
            .find(|g| g.replication_group_id() == Some(id))
            .map(GroupFacts::from),
        Err(e) if error_code(&e) == Some("ReplicationGroupNotFoundFault") => None,
        Err(e) => {
            let m = call_error("elasticache:DescribeReplicationGroups", &e);
            return ALL
                .iter()
                .map(|c| super::error(c, &fallback, "", &m))
                .collect();
        }
    };
    let Some(g) = g else {
        return ALL
            .iter()
            .map(|c| {
                finding(
                    c,
                    &fallback,
                    Outcome::Fail,
                    "the replication group exists",
                    format!("no replication group {id}"),
                )
            })
            .collect();
    };
    let arn = if g.arn.is_empty() {
        fallback
    } else {
        g.arn.clone()
    };
    judge_group(&arn, &g)
}

/// Every check of one group, from its facts.
pub(crate) fn judge_group(arn: &str, g: &GroupFacts) -> Vec<Finding> {
    let failover = match g.failover.as_deref() {
        Some("enabled") => Outcome::Pass,
        Some("disabled" | "disabling" | "enabling") | None => Outcome::Fail,
        Some(other) => Outcome::Error {
            message: format!(
                "unknown AutomaticFailover value \"{}\"",
                other.escape_default()
            ),
        },
    };
    vec![
        finding(
            AT_REST,
            arn,
            judge(g.at_rest),
            "AtRestEncryptionEnabled",
            format!("AtRestEncryptionEnabled: {}", g.at_rest),
        ),
        finding(
            IN_TRANSIT,
            arn,
            judge(g.in_transit),
            "TransitEncryptionEnabled",
            format!("TransitEncryptionEnabled: {}", g.in_transit),
        ),
        finding(
            FAILOVER,
            arn,
            failover,
            "AutomaticFailover: enabled",
            format!(
                "AutomaticFailover: {}",
                g.failover.as_deref().unwrap_or("not reported")
            ),
        ),
        finding(
            BACKUPS,
            arn,
            judge(g.snapshot_retention_days >= 1),
            "SnapshotRetentionLimit >= 1 day",
            format!("SnapshotRetentionLimit: {} days", g.snapshot_retention_days),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(failover: Option<&str>) -> GroupFacts {
        GroupFacts {
            arn: "arn:aws:elasticache:us-east-1:1:replicationgroup:g".into(),
            at_rest: true,
            in_transit: false,
            failover: failover.map(str::to_string),
            snapshot_retention_days: 0,
        }
    }

    #[test]
    fn judges_each_setting_and_refuses_an_unknown_failover_state() {
        let got = judge_group("g", &facts(Some("enabled")));
        let outcome = |id: &str| {
            got.iter()
                .find(|f| f.check_id == id)
                .unwrap()
                .outcome
                .clone()
        };
        assert_eq!(outcome(AT_REST), Outcome::Pass);
        assert_eq!(outcome(IN_TRANSIT), Outcome::Fail);
        assert_eq!(outcome(FAILOVER), Outcome::Pass);
        assert_eq!(outcome(BACKUPS), Outcome::Fail);
        let got = judge_group("g", &facts(Some("paused")));
        let f = got.iter().find(|f| f.check_id == FAILOVER).unwrap();
        assert!(matches!(f.outcome, Outcome::Error { .. }), "{f:?}");
        let got = judge_group("g", &facts(None));
        let f = got.iter().find(|f| f.check_id == FAILOVER).unwrap();
        assert_eq!(f.outcome, Outcome::Fail);
    }
}
