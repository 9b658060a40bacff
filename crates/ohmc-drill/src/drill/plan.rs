//! The dry run: the actions a drill would take, from read calls only.

use super::{fmt_ms, RdsSource, RedisSource, Run};
use crate::id::{resource_name, RDS_ID_MAX, RDS_SNAPSHOT_ID_MAX, REDIS_ID_MAX};
use crate::report::PlannedAction;

impl Run<'_> {
    fn plan(&mut self, action: &str, resource: &str, region: &str, detail: String) {
        self.plan.push(PlannedAction {
            action: action.to_owned(),
            resource: resource.to_owned(),
            region: region.to_owned(),
            detail,
        });
    }

    pub(super) fn make_plan(
        &mut self,
        rds_sources: &[RdsSource],
        redis_source: Option<&RedisSource>,
    ) {
        let config = self.config;
        let drill_id = self.drill_id.clone();
        let region = config.region.clone();
        let restore_region = config.restore_region().to_owned();
        let mut deletes = Vec::new();
        for s in rds_sources {
            let mut from = s.point.identifier.clone();
            if let Some(t) = &config.target_region {
                let copy_id = resource_name(&drill_id, &s.point.identifier, RDS_SNAPSHOT_ID_MAX);
                self.plan(
                    "rds:CopyDBSnapshot",
                    &copy_id,
                    t,
                    format!(
                        "copy {} from {region}, tagged {}",
                        from,
                        crate::DRILL_TAG_KEY
                    ),
                );
                deletes.push(("rds:DeleteDBSnapshot", copy_id.clone()));
                from = copy_id;
            }
            let id = resource_name(&drill_id, &s.id, RDS_ID_MAX);
            self.plan(
                "rds:RestoreDBInstanceFromDBSnapshot",
                &id,
                &restore_region,
                format!(
                    "from {from}, DeletionProtection=false, tagged {}={drill_id}",
                    crate::DRILL_TAG_KEY
                ),
            );
            self.plan(
                "rds:DescribeDBInstances",
                &id,
                &restore_region,
                "poll until available, then validate".into(),
            );
            self.plan(
                "rds:ModifyDBInstance",
                &id,
                &restore_region,
                "only if the restore reports DeletionProtection=true: set it false".into(),
            );
            deletes.insert(0, ("rds:DeleteDBInstance", id));
        }
        if let Some(s) = redis_source {
            let id = resource_name(&drill_id, &s.id, REDIS_ID_MAX);
            let mut from = format!("snapshot {}", s.snapshot.point.identifier);
            if let (Some(t), Some(export), Some(import)) = (
                &config.target_region,
                &config.redis_export_bucket,
                &config.redis_import_bucket,
            ) {
                let export_url = format!("s3://{export}/{id}");
                self.plan(
                    "elasticache:CopySnapshot",
                    &export_url,
                    &region,
                    format!(
                        "export {} to S3 (ElastiCache cannot copy across regions)",
                        s.snapshot.point.identifier
                    ),
                );
                self.plan(
                    "s3:PutObjectTagging",
                    &export_url,
                    &region,
                    format!("tag the exported .rdb objects {}", crate::DRILL_TAG_KEY),
                );
                self.plan(
                    "s3:CopyObject",
                    &format!("s3://{import}/{id}"),
                    t,
                    "copy the .rdb objects, tagged".into(),
                );
                deletes.push(("s3:DeleteObject", format!("s3://{import}/{id}*")));
                deletes.push(("s3:DeleteObject", export_url));
                from = format!("s3://{import}/{id}*.rdb");
            }
            self.plan(
                "elasticache:CreateReplicationGroup",
                &id,
                &restore_region,
                format!(
                    "seeded from {from}, tagged {}={drill_id}",
                    crate::DRILL_TAG_KEY
                ),
            );
            self.plan(
                "elasticache:DescribeReplicationGroups",
                &id,
                &restore_region,
                "poll until available, then validate".into(),
            );
            deletes.insert(0, ("elasticache:DeleteReplicationGroup", id));
        }
        if let Some(cmd) = config.validation_command_to_run() {
            self.plan(
                "exec",
                cmd,
                &restore_region,
                "validation command with DRILL_* variables".into(),
            );
        }
        for (action, id) in deletes {
            let export = config
                .redis_export_bucket
                .as_deref()
                .is_some_and(|b| id.starts_with(&format!("s3://{b}/")));
            let r = if export {
                region.clone()
            } else {
                restore_region.clone()
            };
            let detail = match config.keep_for {
                Some(k) => format!(
                    "after {} (keep_for), via cleanup",
                    fmt_ms(k.as_millis() as u64)
                ),
                None => {
                    "cleanup: only if listed in the ledger and tagged with this drill id".into()
                }
            };
            self.plan(action, &id, &r, detail);
        }
    }
}
