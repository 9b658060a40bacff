//! ElastiCache calls: find snapshots, seed a replication group, describe,
//! tag checks, delete.

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup, Tag};
use aws_sdk_elasticache::Client;

use crate::aws::to_chrono;
use crate::error::{found, AwsFailure};
use crate::report::{RecoveryPoint, RecoveryPointKind};

const SVC: &str = "elasticache";

fn fail<E, R>(op: &str, res: &str, e: &aws_sdk_elasticache::error::SdkError<E, R>) -> AwsFailure
where
    E: std::error::Error + aws_sdk_elasticache::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    AwsFailure::from_sdk(SVC, op, res, e)
}

pub(crate) async fn describe_group(
    c: &Client,
    id: &str,
) -> Result<Option<ReplicationGroup>, AwsFailure> {
    let out = found(
        c.describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await,
        |e| fail("DescribeReplicationGroups", id, e),
        |s| s.is_replication_group_not_found_fault(),
    )?;
    Ok(out.and_then(|out| {
        out.replication_groups()
            .iter()
            .find(|g| g.replication_group_id() == Some(id))
            .cloned()
    }))
}

/// The first member cache cluster of a group: where engine version and
/// parameter group live (the replication group does not return them).
/// `Ok(None)` when the member cannot be described.
pub(crate) async fn first_member(
    c: &Client,
    group: &ReplicationGroup,
) -> Result<Option<CacheCluster>, AwsFailure> {
    let Some(member) = group.member_clusters().first() else {
        return Ok(None);
    };
    let out = found(
        c.describe_cache_clusters()
            .cache_cluster_id(member)
            .send()
            .await,
        |e| fail("DescribeCacheClusters", member, e),
        |s| s.is_cache_cluster_not_found_fault(),
    )?;
    Ok(out.and_then(|out| out.cache_clusters().first().cloned()))
}

/// A snapshot with what a restore needs from it.
#[derive(Debug, Clone)]
pub(crate) struct RedisSnapshot {
    pub point: RecoveryPoint,
    pub engine_version: Option<String>,
    pub parameter_group: Option<String>,
    pub num_node_groups: Option<i32>,
    pub subnet_group: Option<String>,
}

/// The newest available snapshot of the group. Creation time is the earliest
/// `NodeSnapshots[].SnapshotCreateTime`; a snapshot without one is still
/// usable but its RPO cannot be measured. Among such snapshots, automatic
/// ones are ordered by the time in their name and come before manual ones.
pub(crate) async fn newest_snapshot(
    c: &Client,
    region: &str,
    group: &str,
) -> Result<Option<RedisSnapshot>, AwsFailure> {
    let mut all = Vec::new();
    let mut pages = c
        .describe_snapshots()
        .replication_group_id(group)
        .show_node_group_config(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fail("DescribeSnapshots", group, &e))?;
        all.extend(page.snapshots().iter().cloned());
    }
    let best = all
        .into_iter()
        .filter(|s| s.snapshot_status() == Some("available"))
        .filter(|s| s.replication_group_id() == Some(group))
        .map(|s| {
            let created = s
                .node_snapshots()
                .iter()
                .filter_map(|n| n.snapshot_create_time())
                .filter_map(to_chrono)
                .min();
            (created, s)
        })
        // Known times win; among unknown, the last listed (the API lists oldest first).
        .enumerate()
        .max_by(|(ia, (ca, _)), (ib, (cb, _))| (ca.is_some(), ca, ia).cmp(&(cb.is_some(), cb, ib)))
        .map(|(_, x)| x);
    Ok(best.map(|(created, s)| RedisSnapshot {
        point: RecoveryPoint {
            source: group.to_owned(),
            kind: RecoveryPointKind::ElasticacheSnapshot,
            snapshot_type: s.snapshot_source().unwrap_or("unknown").to_owned(),
            identifier: s.snapshot_name().unwrap_or_default().to_owned(),
            arn: s.arn().map(str::to_owned),
            region: region.to_owned(),
            created_at: created,
            copied_to: None,
        },
        engine_version: s.engine_version().map(str::to_owned),
        parameter_group: s.cache_parameter_group_name().map(str::to_owned),
        num_node_groups: s.num_node_groups(),
        subnet_group: s.cache_subnet_group_name().map(str::to_owned),
    }))
}

pub(crate) fn tags(drill_id: &str, source: &str) -> Vec<Tag> {
    crate::id::drill_tags(drill_id, source)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Where a restored group's data comes from.
pub(crate) enum Seed<'a> {
    /// An ElastiCache snapshot in the same region.
    Snapshot(&'a str),
    /// `.rdb` objects in S3 (`arn:aws:s3:::bucket/key`), for another region.
    S3(&'a [String]),
}

pub(crate) struct RestoreRequest<'a> {
    pub identifier: &'a str,
    pub seed: Seed<'a>,
    /// Subnet group, security groups and KMS key are regional: reused only
    /// when restoring in the source region.
    pub same_region: bool,
    pub drill_id: &'a str,
    pub snapshot: &'a RedisSnapshot,
    pub source: &'a ReplicationGroup,
    pub source_member: Option<&'a CacheCluster>,
    pub expected_engine_version: Option<&'a str>,
    pub expected_parameter_group: Option<&'a str>,
    pub tags: Vec<Tag>,
}

/// Seed a new replication group from the snapshot, shaped like the source.
/// Encryption settings are not carried by a snapshot, so they are passed from
/// the source explicitly. Returns the group's ARN.
pub(crate) async fn restore(
    c: &Client,
    r: RestoreRequest<'_>,
) -> Result<Option<String>, AwsFailure> {
    let cluster_mode = r.source.cluster_enabled() == Some(true);
    let member = r.source_member;
    let mut req = c
        .create_replication_group()
        .replication_group_id(r.identifier)
        .replication_group_description(format!(
            "ohmc DR drill {} of {}",
            r.drill_id, r.snapshot.point.source
        ))
        .engine(r.source.engine().unwrap_or("redis"))
        .set_engine_version(r.expected_engine_version.map(str::to_owned))
        .set_cache_parameter_group_name(r.expected_parameter_group.map(str::to_owned))
        .set_cache_node_type(r.source.cache_node_type().map(str::to_owned))
        .set_at_rest_encryption_enabled(r.source.at_rest_encryption_enabled())
        .set_transit_encryption_enabled(r.source.transit_encryption_enabled())
        .set_tags(Some(r.tags));
    req = match r.seed {
        Seed::Snapshot(name) => req.snapshot_name(name),
        Seed::S3(arns) => req.set_snapshot_arns(Some(arns.to_vec())),
    };
    if r.same_region {
        req = req
            .set_kms_key_id(r.source.kms_key_id().map(str::to_owned))
            .set_cache_subnet_group_name(
                member
                    .and_then(|m| m.cache_subnet_group_name())
                    .map(str::to_owned)
                    .or(r.snapshot.subnet_group.clone()),
            )
            .set_security_group_ids(member.and_then(|m| {
                crate::rds::non_empty(
                    m.security_groups()
                        .iter()
                        .filter_map(|g| g.security_group_id())
                        .map(str::to_owned)
                        .collect(),
                )
            }));
    }
    req = if cluster_mode {
        req.set_num_node_groups(r.snapshot.num_node_groups)
            .replicas_per_node_group(0)
    } else {
        // One node holds the whole data set: enough to prove the restore.
        req.num_cache_clusters(1)
    };
    let out = req
        .send()
        .await
        .map_err(|e| fail("CreateReplicationGroup", r.identifier, &e))?;
    Ok(out
        .replication_group()
        .and_then(|g| g.arn())
        .map(str::to_owned))
}

/// Export a snapshot to an S3 bucket in its region (`CopySnapshot` with
/// `TargetBucket`); ElastiCache writes `<target_name>*.rdb` objects there.
pub(crate) async fn export_snapshot(
    c: &Client,
    snapshot: &str,
    target_name: &str,
    bucket: &str,
) -> Result<Option<String>, AwsFailure> {
    c.copy_snapshot()
        .source_snapshot_name(snapshot)
        .target_snapshot_name(target_name)
        .target_bucket(bucket)
        .send()
        .await
        .map_err(|e| fail("CopySnapshot", &format!("s3://{bucket}/{target_name}"), &e))?;
    Ok(None)
}

/// A snapshot's status (`exporting` while an export runs), `None` if gone.
pub(crate) async fn snapshot_status(c: &Client, name: &str) -> Result<Option<String>, AwsFailure> {
    let out = found(
        c.describe_snapshots().snapshot_name(name).send().await,
        |e| fail("DescribeSnapshots", name, e),
        |s| s.is_snapshot_not_found_fault(),
    )?;
    Ok(out.and_then(|out| {
        out.snapshots()
            .first()
            .map(|s| s.snapshot_status().unwrap_or("unknown").to_owned())
    }))
}

pub(crate) async fn list_tags(c: &Client, arn: &str) -> Result<Vec<(String, String)>, AwsFailure> {
    let out = c
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| fail("ListTagsForResource", arn, &e))?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

pub(crate) async fn delete_group(c: &Client, id: &str) -> Result<(), AwsFailure> {
    c.delete_replication_group()
        .replication_group_id(id)
        .retain_primary_cluster(false)
        .send()
        .await
        .map_err(|e| fail("DeleteReplicationGroup", id, &e))?;
    Ok(())
}

/// Real ElastiCache reports snapshot times in `NodeSnapshots` and engine
/// version / parameter group on the member cache clusters; moto reports
/// neither, so those paths are tested against `aws-smithy-mocks` with
/// responses shaped like the ElastiCache API reference.
#[cfg(test)]
mod tests {
    use aws_sdk_elasticache::operation::describe_snapshots::DescribeSnapshotsOutput;
    use aws_sdk_elasticache::primitives::DateTime;
    use aws_sdk_elasticache::types::{
        CacheCluster, CacheParameterGroupStatus, NodeSnapshot, ReplicationGroup, Snapshot,
    };
    use aws_sdk_elasticache::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use crate::report::ValidationOutcome;

    fn snapshot(name: &str, source: &str, node_times: &[i64]) -> Snapshot {
        let mut b = Snapshot::builder()
            .snapshot_name(name)
            .replication_group_id("redis")
            .snapshot_status("available")
            .snapshot_source(source)
            .engine_version("7.1")
            .cache_parameter_group_name("default.redis7");
        for t in node_times {
            b = b.node_snapshots(
                NodeSnapshot::builder()
                    .snapshot_create_time(DateTime::from_secs(*t))
                    .build(),
            );
        }
        b.build()
    }

    #[tokio::test]
    async fn snapshot_time_is_the_earliest_node_snapshot() {
        let listing = mock!(Client::describe_snapshots).then_output(|| {
            DescribeSnapshotsOutput::builder()
                .snapshots(snapshot(
                    "automatic.redis-2026-11-25",
                    "automated",
                    &[5_000, 4_000],
                ))
                .snapshots(snapshot("manual-old", "manual", &[1_000]))
                .build()
        });
        let client = mock_client!(aws_sdk_elasticache, RuleMode::MatchAny, [&listing]);
        let s = super::newest_snapshot(&client, "us-east-1", "redis")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.point.identifier, "automatic.redis-2026-11-25");
        assert_eq!(s.point.created_at.unwrap().timestamp(), 4_000);
        assert_eq!(s.engine_version.as_deref(), Some("7.1"));
    }

    fn member(version: &str, group: &str) -> CacheCluster {
        CacheCluster::builder()
            .cache_cluster_id("m-001")
            .engine_version(version)
            .cache_parameter_group(
                CacheParameterGroupStatus::builder()
                    .cache_parameter_group_name(group)
                    .build(),
            )
            .build()
    }

    #[test]
    fn member_cluster_settings_are_compared_with_the_source() {
        let g = ReplicationGroup::builder()
            .status("available")
            .at_rest_encryption_enabled(true)
            .transit_encryption_enabled(true)
            .member_clusters("m-001")
            .build();
        let ok = crate::validate::redis(
            "r",
            &g,
            &g,
            Some(&member("7.1", "default.redis7")),
            Some("7.1"),
            Some("default.redis7"),
        );
        assert!(
            ok.iter().all(|v| v.outcome == ValidationOutcome::Passed),
            "{ok:?}"
        );
        let bad = crate::validate::redis(
            "r",
            &g,
            &g,
            Some(&member("6.2", "custom")),
            Some("7.1"),
            Some("default.redis7"),
        );
        let failed: Vec<_> = bad
            .iter()
            .filter(|v| v.outcome == ValidationOutcome::Failed)
            .map(|v| v.check.as_str())
            .collect();
        assert_eq!(failed, ["engine_version", "parameter_group"]);
        let unknown =
            crate::validate::redis("r", &g, &g, None, Some("7.1"), Some("default.redis7"));
        let unverified: Vec<_> = unknown
            .iter()
            .filter(|v| v.outcome == ValidationOutcome::Unverified)
            .map(|v| v.check.as_str())
            .collect();
        assert_eq!(unverified, ["engine_version", "parameter_group"]);
    }
}
