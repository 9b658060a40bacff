//! RDS: each of the stack's DB instances is encrypted (RDS.3), has deletion protection in
//! production (RDS.8) and keeps automated backups at least the minimum retention (RDS.11).

use super::{call_error, error_code, finding, judge, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};

pub(crate) const ENCRYPTED: &str = "rds.storage_encrypted";
pub(crate) const DELETION: &str = "rds.deletion_protection";
pub(crate) const RETENTION: &str = "rds.backup_retention";

/// A DB instance, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbFacts {
    pub arn: String,
    pub encrypted: bool,
    pub deletion_protection: bool,
    pub backup_retention_days: i32,
}

impl From<&aws_sdk_rds::types::DbInstance> for DbFacts {
    fn from(d: &aws_sdk_rds::types::DbInstance) -> Self {
        DbFacts {
            arn: d.db_instance_arn().unwrap_or("").to_string(),
            encrypted: d.storage_encrypted().unwrap_or(false),
            deletion_protection: d.deletion_protection().unwrap_or(false),
            backup_retention_days: d.backup_retention_period().unwrap_or(0),
        }
    }
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let ids = match r.exp.output_list(outputs::RDS_INSTANCE_IDS) {
        Ok(ids) => ids,
        Err(e) => return unreadable_output(&[ENCRYPTED, DELETION, RETENTION], &e),
    };
    let per_db = ids.iter().map(|id| instance(r, id));
    futures::future::join_all(per_db)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn instance(r: &Run<'_>, id: &str) -> Vec<Finding> {
    let fallback = format!("arn:aws:rds:{}:{}:db:{id}", r.region, r.account());
    let client = r.ctx.rds(None);
    let mut found = None;
    let mut pages = client
        .describe_db_instances()
        .db_instance_identifier(id)
        .into_paginator()
        .send();
    loop {
        let page = {
            let _p = r.permit("rds").await;
            pages.next().await
        };
        match page {
            None => break,
            Some(Ok(p)) => {
                if let Some(d) = p
                    .db_instances()
                    .iter()
                    .find(|d| d.db_instance_identifier() == Some(id))
                {
                    found = Some(DbFacts::from(d));
                }
            }
            Some(Err(e)) if error_code(&e) == Some("DBInstanceNotFound") => break,
            Some(Err(e)) => {
                let m = call_error("rds:DescribeDBInstances", &e);
                let failed = |id| super::error(id, &fallback, "", &m);
                return vec![
                    failed(ENCRYPTED),
                    failed(RETENTION),
                    r.production_only(DELETION, &fallback, || failed(DELETION)),
                ];
            }
        }
    }
    let Some(d) = found else {
        let missing = |check| {
            finding(
                check,
                &fallback,
                Outcome::Fail,
                "the instance exists",
                format!("no DB instance {id}"),
            )
        };
        return vec![
            missing(ENCRYPTED),
            missing(RETENTION),
            r.production_only(DELETION, &fallback, || missing(DELETION)),
        ];
    };
    let arn = if d.arn.is_empty() {
        fallback
    } else {
        d.arn.clone()
    };
    let min = r.exp.settings.min_backup_retention_days as i32;
    vec![
        finding(
            ENCRYPTED,
            &arn,
            judge(d.encrypted),
            "StorageEncrypted",
            format!("StorageEncrypted: {}", d.encrypted),
        ),
        r.production_only(DELETION, &arn, || {
            finding(
                DELETION,
                &arn,
                judge(d.deletion_protection),
                "DeletionProtection",
                format!("DeletionProtection: {}", d.deletion_protection),
            )
        }),
        finding(
            RETENTION,
            &arn,
            judge(d.backup_retention_days >= min),
            format!("BackupRetentionPeriod >= {min} days"),
            format!("BackupRetentionPeriod: {} days", d.backup_retention_days),
        ),
    ]
}
