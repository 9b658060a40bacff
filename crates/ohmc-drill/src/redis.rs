//! ElastiCache calls: find snapshots, seed a replication group, describe,
//! tag checks, delete.

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup, Tag};
use aws_sdk_elasticache::Client;

use crate::aws::to_chrono;
use crate::error::AwsFailure;
use crate::report::{RecoveryPoint, RecoveryPointKind};

const SVC: &str = "elasticache";

fn fail<E, R>(op: &str, res: &str, e: &aws_sdk_elasticache::error::SdkError<E, R>) -> AwsFailure
where
    E: std::error::Error + aws_sdk_elasticache::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    AwsFailure::from_sdk(SVC, op, res, e)
}

pub(crate) async fn describe_group(c: &Client, id: &str) -> Result<Option<ReplicationGroup>, AwsFailure> {
    match c.describe_replication_groups().replication_group_id(id).send().await {
        Ok(out) => Ok(out.replication_groups().iter().find(|g| g.replication_group_id() == Some(id)).cloned()),
        Err(e) => {
            let f = fail("DescribeReplicationGroups", id, &e);
            if f.is_not_found() {
                Ok(None)
            } else {
                Err(f)
            }
        }
    }
}

/// The first member cache cluster of a group: where engine version and
/// parameter group live (the replication group does not return them).
/// `Ok(None)` when the member cannot be described.
pub(crate) async fn first_member(c: &Client, group: &ReplicationGroup) -> Result<Option<CacheCluster>, AwsFailure> {
    let Some(member) = group.member_clusters().first() else { return Ok(None) };
    match c.describe_cache_clusters().cache_cluster_id(member).send().await {
        Ok(out) => Ok(out.cache_clusters().first().cloned()),
        Err(e) => {
            let f = fail("DescribeCacheClusters", member, &e);
            if f.is_not_found() {
                Ok(None)
            } else {
                Err(f)
            }
        }
    }
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
pub(crate) async fn newest_snapshot(c: &Client, region: &str, group: &str) -> Result<Option<RedisSnapshot>, AwsFailure> {
    let mut all = Vec::new();
    let mut pages = c.describe_snapshots().replication_group_id(group).show_node_group_config(true).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| fail("DescribeSnapshots", group, &e))?;
        all.extend(page.snapshots().iter().cloned());
    }
    let best = all
        .into_iter()
        .filter(|s| s.snapshot_status() == Some("available"))
        .filter(|s| s.replication_group_id() == Some(group))
        .map(|s| {
            let created = s.node_snapshots().iter().filter_map(|n| n.snapshot_create_time()).filter_map(to_chrono).min();
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
    vec![
        Tag::builder().key(crate::id::DRILL_TAG_KEY).value(drill_id).build(),
        Tag::builder().key(crate::id::DRILL_SOURCE_TAG_KEY).value(source).build(),
    ]
}

pub(crate) struct RestoreRequest<'a> {
    pub identifier: &'a str,
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
pub(crate) async fn restore(c: &Client, r: RestoreRequest<'_>) -> Result<Option<String>, AwsFailure> {
    let cluster_mode = r.source.cluster_enabled() == Some(true);
    let member = r.source_member;
    let mut req = c
        .create_replication_group()
        .replication_group_id(r.identifier)
        .replication_group_description(format!("ohmc DR drill {} of {}", r.drill_id, r.snapshot.point.source))
        .snapshot_name(&r.snapshot.point.identifier)
        .engine(r.source.engine().unwrap_or("redis"))
        .set_engine_version(r.expected_engine_version.map(str::to_owned))
        .set_cache_parameter_group_name(r.expected_parameter_group.map(str::to_owned))
        .set_cache_node_type(r.source.cache_node_type().map(str::to_owned))
        .set_at_rest_encryption_enabled(r.source.at_rest_encryption_enabled())
        .set_transit_encryption_enabled(r.source.transit_encryption_enabled())
        .set_kms_key_id(r.source.kms_key_id().map(str::to_owned))
        .set_cache_subnet_group_name(
            member.and_then(|m| m.cache_subnet_group_name()).map(str::to_owned).or(r.snapshot.subnet_group.clone()),
        )
        .set_security_group_ids(member.map(|m| {
            m.security_groups().iter().filter_map(|g| g.security_group_id()).map(str::to_owned).collect()
        }))
        .set_tags(Some(r.tags));
    req = if cluster_mode {
        req.set_num_node_groups(r.snapshot.num_node_groups).replicas_per_node_group(0)
    } else {
        // One node holds the whole data set: enough to prove the restore.
        req.num_cache_clusters(1)
    };
    let out = req.send().await.map_err(|e| fail("CreateReplicationGroup", r.identifier, &e))?;
    Ok(out.replication_group().and_then(|g| g.arn()).map(str::to_owned))
}

pub(crate) async fn list_tags(c: &Client, arn: &str) -> Result<Vec<(String, String)>, AwsFailure> {
    let out = c.list_tags_for_resource().resource_name(arn).send().await.map_err(|e| fail("ListTagsForResource", arn, &e))?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
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
