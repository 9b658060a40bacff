//! RDS calls: find snapshots, copy, restore, describe, tag checks, delete.

use aws_sdk_rds::types::{DbInstance, DbSnapshot, Tag};
use aws_sdk_rds::Client;

use crate::aws::to_chrono;
use crate::error::{found, AwsFailure};
use crate::report::{RecoveryPoint, RecoveryPointKind};

const SVC: &str = "rds";

fn fail<E, R>(op: &str, res: &str, e: &aws_sdk_rds::error::SdkError<E, R>) -> AwsFailure
where
    E: std::error::Error + aws_sdk_rds::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    AwsFailure::from_sdk(SVC, op, res, e)
}

/// The instance, or `None` when RDS says it does not exist.
pub(crate) async fn describe_instance(
    c: &Client,
    id: &str,
) -> Result<Option<DbInstance>, AwsFailure> {
    let out = found(
        c.describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await,
        |e| fail("DescribeDBInstances", id, e),
        |s| s.is_db_instance_not_found_fault(),
    )?;
    Ok(out.and_then(|out| {
        out.db_instances()
            .iter()
            .find(|i| i.db_instance_identifier() == Some(id))
            .cloned()
    }))
}

/// The newest available snapshot of `instance`: manual and automated
/// (the default listing) plus AWS Backup recovery points, which RDS lists as
/// snapshot type `awsbackup` and restores through the same API.
pub(crate) async fn newest_snapshot(
    c: &Client,
    region: &str,
    instance: &str,
) -> Result<Option<RecoveryPoint>, AwsFailure> {
    let mut all: Vec<DbSnapshot> = Vec::new();
    for snapshot_type in [None, Some("awsbackup")] {
        let mut pages = c
            .describe_db_snapshots()
            .db_instance_identifier(instance)
            .set_snapshot_type(snapshot_type.map(str::to_owned))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| fail("DescribeDBSnapshots", instance, &e))?;
            all.extend(page.db_snapshots().iter().cloned());
        }
    }
    let best = all
        .into_iter()
        .filter(|s| s.status() == Some("available"))
        .filter(|s| s.db_instance_identifier() == Some(instance))
        .filter_map(|s| {
            let created = s
                .original_snapshot_create_time()
                .or(s.snapshot_create_time())
                .and_then(to_chrono)?;
            Some((created, s))
        })
        .max_by(|a, b| a.0.cmp(&b.0));
    Ok(best.map(|(created, s)| RecoveryPoint {
        source: instance.to_owned(),
        kind: RecoveryPointKind::RdsSnapshot,
        snapshot_type: s.snapshot_type().unwrap_or("unknown").to_owned(),
        identifier: s.db_snapshot_identifier().unwrap_or_default().to_owned(),
        arn: s.db_snapshot_arn().map(str::to_owned),
        region: region.to_owned(),
        created_at: Some(created),
        copied_to: None,
    }))
}

pub(crate) fn tags(drill_id: &str, source: &str) -> Vec<Tag> {
    crate::id::drill_tags(drill_id, source)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Copy a snapshot (by ARN) into the client's region. Returns the copy's ARN.
pub(crate) async fn copy_snapshot(
    c: &Client,
    source_arn: &str,
    target_id: &str,
    kms_key_id: Option<&str>,
    tags: Vec<Tag>,
) -> Result<Option<String>, AwsFailure> {
    let out = c
        .copy_db_snapshot()
        .source_db_snapshot_identifier(source_arn)
        .target_db_snapshot_identifier(target_id)
        .set_kms_key_id(kms_key_id.map(str::to_owned))
        .copy_tags(false)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| fail("CopyDBSnapshot", target_id, &e))?;
    Ok(out
        .db_snapshot()
        .and_then(|s| s.db_snapshot_arn())
        .map(str::to_owned))
}

pub(crate) struct RestoreRequest<'a> {
    pub identifier: &'a str,
    pub snapshot: &'a str,
    pub source: &'a DbInstance,
    pub same_region: bool,
    pub tags: Vec<Tag>,
}

/// Restore a new instance from a snapshot, shaped like the source, with
/// deletion protection explicitly off. Returns the new instance's ARN.
pub(crate) async fn restore(
    c: &Client,
    r: RestoreRequest<'_>,
) -> Result<Option<String>, AwsFailure> {
    let mut req = c
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier(r.identifier)
        .db_snapshot_identifier(r.snapshot)
        .set_db_instance_class(r.source.db_instance_class().map(str::to_owned))
        .set_db_parameter_group_name(
            r.source
                .db_parameter_groups()
                .first()
                .and_then(|p| p.db_parameter_group_name())
                .map(str::to_owned),
        )
        .deletion_protection(false)
        .multi_az(false)
        .publicly_accessible(false)
        .copy_tags_to_snapshot(false)
        .set_tags(Some(r.tags));
    if r.same_region {
        // Subnet group and security groups are regional: reuse them only in
        // the source region, so the restore sits on the same network.
        req = req
            .set_db_subnet_group_name(
                r.source
                    .db_subnet_group()
                    .and_then(|g| g.db_subnet_group_name())
                    .map(str::to_owned),
            )
            .set_vpc_security_group_ids(non_empty(
                r.source
                    .vpc_security_groups()
                    .iter()
                    .filter_map(|g| g.vpc_security_group_id())
                    .map(str::to_owned)
                    .collect(),
            ));
    }
    let out = req
        .send()
        .await
        .map_err(|e| fail("RestoreDBInstanceFromDBSnapshot", r.identifier, &e))?;
    Ok(out
        .db_instance()
        .and_then(|i| i.db_instance_arn())
        .map(str::to_owned))
}

/// `None` for an empty list: an empty list parameter is not "unset" to every API.
pub(crate) fn non_empty(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

pub(crate) async fn disable_deletion_protection(c: &Client, id: &str) -> Result<(), AwsFailure> {
    c.modify_db_instance()
        .db_instance_identifier(id)
        .deletion_protection(false)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|e| fail("ModifyDBInstance", id, &e))?;
    Ok(())
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

pub(crate) async fn delete_instance(c: &Client, id: &str) -> Result<(), AwsFailure> {
    c.delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(true)
        .delete_automated_backups(true)
        .send()
        .await
        .map_err(|e| fail("DeleteDBInstance", id, &e))?;
    Ok(())
}

/// The snapshot, or `None` when RDS says it does not exist.
pub(crate) async fn describe_snapshot(
    c: &Client,
    id: &str,
) -> Result<Option<DbSnapshot>, AwsFailure> {
    let out = found(
        c.describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await,
        |e| fail("DescribeDBSnapshots", id, e),
        |s| s.is_db_snapshot_not_found_fault(),
    )?;
    Ok(out.and_then(|out| {
        out.db_snapshots()
            .iter()
            .find(|s| s.db_snapshot_identifier() == Some(id))
            .cloned()
    }))
}

pub(crate) async fn delete_snapshot(c: &Client, id: &str) -> Result<(), AwsFailure> {
    c.delete_db_snapshot()
        .db_snapshot_identifier(id)
        .send()
        .await
        .map_err(|e| fail("DeleteDBSnapshot", id, &e))?;
    Ok(())
}

/// AWS Backup recovery points are not implemented by moto, so snapshot
/// selection is tested here against the SDK's mocking layer
/// (`aws-smithy-mocks`), with responses shaped like the RDS API reference.
#[cfg(test)]
mod tests {
    use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
    use aws_sdk_rds::primitives::DateTime;
    use aws_sdk_rds::types::DbSnapshot;
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn snap(id: &str, kind: &str, status: &str, secs: i64) -> DbSnapshot {
        DbSnapshot::builder()
            .db_snapshot_identifier(id)
            .db_instance_identifier("pg")
            .db_snapshot_arn(format!("arn:aws:rds:us-east-1:123456789012:snapshot:{id}"))
            .snapshot_type(kind)
            .status(status)
            .snapshot_create_time(DateTime::from_secs(secs))
            .build()
    }

    #[tokio::test]
    async fn the_newest_available_point_wins_including_aws_backup() {
        let default_listing = mock!(Client::describe_db_snapshots)
            .match_requests(|r| {
                r.snapshot_type().is_none() && r.db_instance_identifier() == Some("pg")
            })
            .then_output(|| {
                DescribeDbSnapshotsOutput::builder()
                    .db_snapshots(snap("rds:pg-2026-11-25", "automated", "available", 1_000))
                    .db_snapshots(snap("manual-1", "manual", "available", 2_000))
                    .db_snapshots(snap("manual-2-still-creating", "manual", "creating", 9_000))
                    .build()
            });
        let backup_listing = mock!(Client::describe_db_snapshots)
            .match_requests(|r| r.snapshot_type() == Some("awsbackup"))
            .then_output(|| {
                DescribeDbSnapshotsOutput::builder()
                    .db_snapshots(snap("awsbackup:job-1234", "awsbackup", "available", 3_000))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_rds,
            RuleMode::MatchAny,
            [&default_listing, &backup_listing]
        );
        let p = super::newest_snapshot(&client, "us-east-1", "pg")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.identifier, "awsbackup:job-1234");
        assert_eq!(p.snapshot_type, "awsbackup");
        assert_eq!(p.created_at.unwrap().timestamp(), 3_000);
        assert_eq!(backup_listing.num_calls(), 1);
    }

    #[tokio::test]
    async fn no_available_point_is_none_not_a_pass() {
        let listing = mock!(Client::describe_db_snapshots).then_output(|| {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(snap("s", "manual", "creating", 1))
                .build()
        });
        let client = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&listing]);
        assert!(super::newest_snapshot(&client, "us-east-1", "pg")
            .await
            .unwrap()
            .is_none());
    }
}
