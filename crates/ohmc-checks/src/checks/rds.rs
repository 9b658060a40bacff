//! RDS: each of the stack's DB instances is encrypted (RDS.3), has deletion protection in
//! production (RDS.8) and keeps automated backups at least the minimum retention (RDS.11);
//! each DB cluster (the optional `rds_cluster_ids` output, or every cluster discovery
//! finds) likewise: encrypted (RDS.27), deletion protection in production (RDS.7) and
//! backup retention. An Aurora cluster's member instances carry the cluster's storage and
//! backup settings, so discovery judges them through their cluster.

use super::{call_error, error_code, finding, judge, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub(crate) const ENCRYPTED: &str = "rds.storage_encrypted";
pub(crate) const DELETION: &str = "rds.deletion_protection";
pub(crate) const RETENTION: &str = "rds.backup_retention";
pub(crate) const CLUSTER_ENCRYPTED: &str = "rds.cluster_storage_encrypted";
pub(crate) const CLUSTER_DELETION: &str = "rds.cluster_deletion_protection";
pub(crate) const CLUSTER_RETENTION: &str = "rds.cluster_backup_retention";
/// The instance checks, and the cluster checks: a discovery job judges one kind.
pub(crate) const INSTANCE_CHECKS: [&str; 3] = [ENCRYPTED, DELETION, RETENTION];
pub(crate) const CLUSTER_CHECKS: [&str; 3] =
    [CLUSTER_ENCRYPTED, CLUSTER_DELETION, CLUSTER_RETENTION];

/// A DB instance or cluster, reduced to what its storage checks judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StorageFacts {
    pub arn: String,
    pub encrypted: bool,
    pub deletion_protection: bool,
    pub backup_retention_days: i32,
}

impl From<&aws_sdk_rds::types::DbInstance> for StorageFacts {
    fn from(d: &aws_sdk_rds::types::DbInstance) -> Self {
        StorageFacts {
            arn: d.db_instance_arn().unwrap_or("").to_string(),
            encrypted: d.storage_encrypted().unwrap_or(false),
            deletion_protection: d.deletion_protection().unwrap_or(false),
            backup_retention_days: d.backup_retention_period().unwrap_or(0),
        }
    }
}

impl From<&aws_sdk_rds::types::DbCluster> for StorageFacts {
    fn from(c: &aws_sdk_rds::types::DbCluster) -> Self {
        StorageFacts {
            arn: c.db_cluster_arn().unwrap_or("").to_string(),
            encrypted: c.storage_encrypted().unwrap_or(false),
            deletion_protection: c.deletion_protection().unwrap_or(false),
            backup_retention_days: c.backup_retention_period().unwrap_or(0),
        }
    }
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let instances = async {
        if !r.wants(&INSTANCE_CHECKS) {
            return Vec::new();
        }
        let ids = match r.exp.output_list(outputs::RDS_INSTANCE_IDS) {
            Ok(ids) => ids,
            Err(e) => return unreadable_output(&INSTANCE_CHECKS, &e),
        };
        let per_db = ids.iter().map(|id| instance(r, id));
        futures::future::join_all(per_db)
            .await
            .into_iter()
            .flatten()
            .collect()
    };
    let clusters = async {
        if !r.wants(&CLUSTER_CHECKS) {
            return Vec::new();
        }
        let ids = match r.exp.optional_output_list(outputs::RDS_CLUSTER_IDS) {
            Ok(Some(ids)) => ids,
            // The platform's stacks declare no cluster: nothing to judge.
            Ok(None) => return Vec::new(),
            Err(e) => return unreadable_output(&CLUSTER_CHECKS, &e),
        };
        let per_cluster = ids.iter().map(|id| cluster(r, id));
        futures::future::join_all(per_cluster)
            .await
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    };
    let (mut out, more) = tokio::join!(instances, clusters);
    out.extend(more);
    out
}

async fn cluster(r: &Run<'_>, id: &str) -> Vec<Finding> {
    let pages = r
        .ctx
        .rds(None)
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .into_paginator()
        .send();
    let found = describe_one(
        r,
        "rds:DescribeDBClusters",
        "DBClusterNotFoundFault",
        pages,
        |p| {
            p.db_clusters()
                .iter()
                .find(|c| c.db_cluster_identifier() == Some(id))
                .map(StorageFacts::from)
        },
    )
    .await;
    let fallback = format!("arn:aws:rds:{}:{}:cluster:{id}", r.region, r.account());
    judge_described(r, id, "cluster", CLUSTER_CHECKS, &fallback, found)
}

/// One database by its id: its facts, `Ok(None)` when it does not exist, or the message
/// of the call that failed.
async fn describe_one<O, E>(
    r: &Run<'_>,
    action: &str,
    not_found: &str,
    mut pages: PaginationStream<Result<O, SdkError<E, HttpResponse>>>,
    find: impl Fn(&O) -> Option<StorageFacts>,
) -> Result<Option<StorageFacts>, String>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut found = None;
    loop {
        let page = {
            let _p = r.permit("rds").await;
            pages.next().await
        };
        match page {
            None => return Ok(found),
            Some(Ok(p)) => found = find(&p).or(found),
            Some(Err(e)) if error_code(&e) == Some(not_found) => return Ok(found),
            Some(Err(e)) => return Err(call_error(action, &e)),
        }
    }
}

/// The storage checks of one database the expectations name: an error when it could not
/// be described, a failure when it does not exist.
fn judge_described(
    r: &Run<'_>,
    id: &str,
    kind: &str,
    checks: [&str; 3],
    fallback: &str,
    described: Result<Option<StorageFacts>, String>,
) -> Vec<Finding> {
    match described {
        Err(m) => each_storage_check(r, fallback, checks, |check| {
            super::error(check, fallback, "", &m)
        }),
        Ok(None) => each_storage_check(r, fallback, checks, |check| {
            missing(check, fallback, kind, id)
        }),
        Ok(Some(d)) => {
            let arn = match d.arn.is_empty() {
                true => fallback,
                false => d.arn.as_str(),
            };
            judge_storage(
                arn,
                checks,
                (d.encrypted, d.deletion_protection, d.backup_retention_days),
                r,
            )
        }
    }
}

/// One finding per storage check of a database, made alike (the describe call
/// failed, or the database does not exist); deletion protection only where
/// the environment requires it.
fn each_storage_check(
    r: &Run<'_>,
    arn: &str,
    [encrypted_id, deletion_id, retention_id]: [&str; 3],
    make: impl Fn(&str) -> Finding,
) -> Vec<Finding> {
    vec![
        make(encrypted_id),
        make(retention_id),
        r.production_only(deletion_id, arn, || make(deletion_id)),
    ]
}

/// A database the expectations name that the account does not have.
fn missing(check: &str, arn: &str, kind: &str, id: &str) -> Finding {
    finding(
        check,
        arn,
        Outcome::Fail,
        format!("the {kind} exists"),
        format!("no DB {kind} {id}"),
    )
}

/// The three judgements instances and clusters share, with the same evidence.
pub(crate) fn judge_storage(
    arn: &str,
    [encrypted_id, deletion_id, retention_id]: [&str; 3],
    (encrypted, deletion_protection, retention_days): (bool, bool, i32),
    r: &Run<'_>,
) -> Vec<Finding> {
    let min = r.exp.settings.min_backup_retention_days as i32;
    vec![
        finding(
            encrypted_id,
            arn,
            judge(encrypted),
            "StorageEncrypted",
            format!("StorageEncrypted: {encrypted}"),
        ),
        r.production_only(deletion_id, arn, || {
            finding(
                deletion_id,
                arn,
                judge(deletion_protection),
                "DeletionProtection",
                format!("DeletionProtection: {deletion_protection}"),
            )
        }),
        finding(
            retention_id,
            arn,
            judge(retention_days >= min),
            format!("BackupRetentionPeriod >= {min} days"),
            format!("BackupRetentionPeriod: {retention_days} days"),
        ),
    ]
}

async fn instance(r: &Run<'_>, id: &str) -> Vec<Finding> {
    let pages = r
        .ctx
        .rds(None)
        .describe_db_instances()
        .db_instance_identifier(id)
        .into_paginator()
        .send();
    let found = describe_one(
        r,
        "rds:DescribeDBInstances",
        "DBInstanceNotFound",
        pages,
        |p| {
            p.db_instances()
                .iter()
                .find(|d| d.db_instance_identifier() == Some(id))
                .map(StorageFacts::from)
        },
    )
    .await;
    let fallback = format!("arn:aws:rds:{}:{}:db:{id}", r.region, r.account());
    judge_described(r, id, "instance", INSTANCE_CHECKS, &fallback, found)
}
