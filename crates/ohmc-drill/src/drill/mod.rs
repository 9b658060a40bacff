//! Running one drill: discover recovery points, copy, restore, wait,
//! validate, measure, clean up. Every create goes through the ledger first.
//! The dry-run plan is in `plan.rs`, the verdict (status, RTO, RPO) in
//! `measure.rs`.

mod measure;
mod plan;

pub(crate) use measure::fmt_ms;

use std::future::Future;

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
use aws_sdk_rds::types::DbInstance;
use chrono::{DateTime, Utc};

use crate::aws::DrillClients;
use crate::cleanup::cleanup_ledger;
use crate::config::{DrillConfig, Unverifiable};
use crate::error::{AwsFailure, DrillError};
use crate::events::{DrillEvent, EventSink};
use crate::id::{new_drill_id, resource_name, RDS_ID_MAX, RDS_SNAPSHOT_ID_MAX, REDIS_ID_MAX};
use crate::ledger::{EntryState, Ledger, ResourceKind};
use crate::redis::RedisSnapshot;
use crate::report::*;
use crate::validate::{self, CommandTarget};
use crate::{rds, redis};

/// Statuses after which a restoring resource will never become available.
const FAILED_STATUSES: &[&str] = &[
    "failed",
    "create-failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "restore-error",
    "deleting",
    "deleted",
];

/// Run a drill (or, with `config.dry_run`, plan one).
///
/// Returns a report for every drill that got as far as having a ledger, even
/// when it failed: the status says how it ended and `cleanup` what was
/// removed. `Err` means nothing was created (bad config, ledger not writable).
/// When `cancel` completes the drill stops, cleans up and reports
/// `Cancelled`; cleanup itself is not interrupted by `cancel` (drop the
/// future to abandon it; the ledger lets `cleanup` finish later).
pub async fn run_drill<C>(
    clients: &DrillClients,
    config: &DrillConfig,
    events: EventSink<'_>,
    cancel: C,
) -> Result<DrillReport, DrillError>
where
    C: Future<Output = ()>,
{
    config.check()?;
    let started = Utc::now();
    let drill_id = new_drill_id(&config.environment, started);
    let ledger = if config.dry_run {
        None
    } else {
        Some(Ledger::create(
            &config.state_dir,
            &drill_id,
            &config.environment,
            &config.region,
            config.target_region.as_deref(),
            started,
        )?)
    };
    events(&DrillEvent::Started {
        drill_id: drill_id.clone(),
        ledger_path: ledger.as_ref().map(|l| l.path().display().to_string()),
    });
    let mut run = Run {
        clients,
        config,
        events,
        drill_id,
        started,
        ledger,
        steps: Vec::new(),
        current: None,
        validations: Vec::new(),
        recovery_points: Vec::new(),
        plan: Vec::new(),
        validated_at: None,
    };

    let ended = {
        let body = run.execute();
        tokio::pin!(cancel);
        tokio::select! {
            r = body => match r { Ok(()) => Ended::Done, Err(e) => Ended::Failed(e) },
            _ = &mut cancel => Ended::Cancelled,
            _ = tokio::time::sleep(config.timeout) => Ended::TimedOut,
        }
    };
    run.interrupt_step(&ended);
    let (status, mut reasons) = run.judge(&ended);

    let mut cleanup = Vec::new();
    let mut keep_until = None;
    let mut ledger_failed = false;
    if let Some(ledger) = run.ledger.as_mut() {
        match config.keep_for {
            Some(keep) if status != DrillStatus::Cancelled => {
                let until = chrono::Duration::from_std(keep)
                    .ok()
                    .and_then(|k| Utc::now().checked_add_signed(k))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                if let Err(e) = ledger.set_keep_until(Some(until)) {
                    ledger_failed = true;
                    reasons.push(format!("recording keep_until in the ledger failed: {e}"));
                }
                keep_until = Some(until);
                cleanup = ledger
                    .entries()
                    .iter()
                    .filter(|e| e.state != EntryState::Deleted)
                    .map(|e| CleanupResult {
                        kind: e.kind,
                        identifier: e.identifier.clone(),
                        region: e.region.clone(),
                        outcome: CleanupOutcome::Kept,
                        detail: Some(format!(
                            "kept until {until}; then run cleanup {}",
                            run.drill_id
                        )),
                    })
                    .collect();
            }
            _ => match cleanup_ledger(clients, ledger, events).await {
                Ok(results) => cleanup = results,
                Err(e) => {
                    // The ledger could not be updated mid-cleanup: what was
                    // deleted stays deleted, and `cleanup` can redo the rest.
                    ledger_failed = true;
                    reasons.push(format!(
                        "cleanup stopped: {e}; run cleanup {} again",
                        run.drill_id
                    ));
                }
            },
        }
    }
    for c in cleanup
        .iter()
        .filter(|c| !(c.outcome.is_clean() || c.outcome == CleanupOutcome::Kept))
    {
        reasons.push(format!(
            "cleanup {} for {} {}: {}",
            crate::render::cleanup_word(c.outcome),
            c.kind,
            c.identifier,
            c.detail.as_deref().unwrap_or("")
        ));
    }
    // Something left behind is an operational error whatever the targets said.
    let left_behind = ledger_failed || cleanup.iter().any(|c| c.outcome == CleanupOutcome::Failed);
    let status = if status != DrillStatus::Cancelled && left_behind {
        DrillStatus::Error
    } else {
        status
    };
    events(&DrillEvent::Finished { status });
    let (rto, rpo) = (run.rto(), run.rpo());
    Ok(DrillReport {
        schema_version: REPORT_SCHEMA_VERSION,
        drill_id: run.drill_id,
        environment: config.environment.clone(),
        region: config.region.clone(),
        target_region: config.target_region.clone(),
        dry_run: config.dry_run,
        status,
        reasons,
        started_at: started,
        ended_at: Utc::now(),
        recovery_points: run.recovery_points,
        steps: run.steps,
        validations: run.validations,
        rto,
        rpo,
        plan: run.plan,
        cleanup,
        keep_until,
        ledger_path: run.ledger.as_ref().map(|l| l.path().display().to_string()),
    })
}

/// Plan a drill without creating anything: `run_drill` with `dry_run` forced.
pub async fn plan_drill(
    clients: &DrillClients,
    config: &DrillConfig,
    events: EventSink<'_>,
) -> Result<DrillReport, DrillError> {
    let mut config = config.clone();
    config.dry_run = true;
    run_drill(clients, &config, events, std::future::pending()).await
}

enum Ended {
    Done,
    Failed(String),
    Cancelled,
    TimedOut,
}

struct RdsSource {
    id: String,
    instance: DbInstance,
    point: RecoveryPoint,
}

struct RedisSource {
    id: String,
    group: ReplicationGroup,
    member: Option<CacheCluster>,
    snapshot: RedisSnapshot,
}

struct Run<'a> {
    clients: &'a DrillClients,
    config: &'a DrillConfig,
    events: EventSink<'a>,
    drill_id: String,
    started: DateTime<Utc>,
    ledger: Option<Ledger>,
    steps: Vec<Step>,
    current: Option<(String, String, DateTime<Utc>)>,
    validations: Vec<Validation>,
    recovery_points: Vec<RecoveryPoint>,
    plan: Vec<PlannedAction>,
    validated_at: Option<DateTime<Utc>>,
}

impl<'a> Run<'a> {
    fn begin(&mut self, name: &str, resource: &str) {
        (self.events)(&DrillEvent::StepStarted {
            name: name.to_owned(),
            resource: resource.to_owned(),
        });
        self.current = Some((name.to_owned(), resource.to_owned(), Utc::now()));
    }

    fn end(&mut self, outcome: StepOutcome, detail: Option<String>) {
        if let Some((name, resource, started_at)) = self.current.take() {
            (self.events)(&DrillEvent::StepFinished {
                name: name.clone(),
                resource: resource.clone(),
                outcome,
                detail: detail.clone(),
            });
            self.steps.push(Step {
                name,
                resource,
                started_at,
                ended_at: Utc::now(),
                outcome,
                detail,
            });
        }
    }

    /// Close the step that was running when the drill was cancelled or timed out.
    fn interrupt_step(&mut self, ended: &Ended) {
        match ended {
            Ended::Cancelled => self.end(StepOutcome::Cancelled, Some("cancelled".into())),
            Ended::TimedOut => self.end(
                StepOutcome::Failed,
                Some(format!(
                    "drill timeout of {} reached",
                    fmt_ms(self.config.timeout.as_millis() as u64)
                )),
            ),
            // A step left open by an early return failed with the drill's error.
            Ended::Failed(e) => self.end(StepOutcome::Failed, Some(e.clone())),
            Ended::Done => self.end(StepOutcome::Failed, None),
        }
    }

    async fn discover(&mut self) -> Result<(Vec<RdsSource>, Option<RedisSource>), String> {
        let clients = self.clients;
        let region = self.config.region.clone();
        let mut rds_sources = Vec::new();
        for id in &self.config.rds_instances {
            self.begin("find_recovery_point", id);
            let instance = rds::describe_instance(clients.rds_in(&region), id)
                .await
                .map_err(|f| f.to_string())?
                .ok_or_else(|| format!("source RDS instance {id} not found in {region}"))?;
            let point = rds::newest_snapshot(clients.rds_in(&region), &region, id)
                .await
                .map_err(|f| f.to_string())?
                .ok_or_else(|| format!("no available snapshot of RDS instance {id} in {region}"))?;
            self.selected(&point);
            self.end(
                StepOutcome::Ok,
                Some(format!("{} ({})", point.identifier, point.snapshot_type)),
            );
            rds_sources.push(RdsSource {
                id: id.clone(),
                instance,
                point,
            });
        }
        let mut redis_source = None;
        if let Some(id) = &self.config.redis_replication_group {
            self.begin("find_recovery_point", id);
            let c = clients.elasticache_in(&region);
            let group = redis::describe_group(c, id)
                .await
                .map_err(|f| f.to_string())?
                .ok_or_else(|| format!("source replication group {id} not found in {region}"))?;
            let member = redis::first_member(c, &group)
                .await
                .map_err(|f| f.to_string())?;
            let snapshot = redis::newest_snapshot(c, &region, id)
                .await
                .map_err(|f| f.to_string())?
                .ok_or_else(|| {
                    format!("no available snapshot of replication group {id} in {region}")
                })?;
            self.selected(&snapshot.point);
            self.end(
                StepOutcome::Ok,
                Some(format!(
                    "{} ({})",
                    snapshot.point.identifier, snapshot.point.snapshot_type
                )),
            );
            redis_source = Some(RedisSource {
                id: id.clone(),
                group,
                member,
                snapshot,
            });
        }
        Ok((rds_sources, redis_source))
    }

    /// Note where the recovery point of `source` was copied to.
    fn copied(&mut self, source: &str, to: CopiedRecoveryPoint) {
        if let Some(p) = self.recovery_points.iter_mut().find(|p| p.source == source) {
            p.copied_to = Some(to);
        }
    }

    fn selected(&mut self, point: &RecoveryPoint) {
        (self.events)(&DrillEvent::RecoveryPointSelected {
            source: point.source.clone(),
            identifier: point.identifier.clone(),
            created_at: point.created_at,
        });
        self.recovery_points.push(point.clone());
    }

    /// Record in the ledger, make the create call, mark it created.
    async fn create<F>(
        &mut self,
        step: &str,
        kind: ResourceKind,
        id: &str,
        region: &str,
        call: F,
    ) -> Result<(), String>
    where
        F: Future<Output = Result<Option<String>, AwsFailure>>,
    {
        let ledger = self.ledger.as_mut().expect("a ledger outside dry runs");
        let index = ledger.intend(kind, id, region).map_err(|e| e.to_string())?;
        (self.events)(&DrillEvent::LedgerRecorded {
            kind,
            identifier: id.to_owned(),
            region: region.to_owned(),
        });
        self.begin(step, id);
        match call.await {
            Ok(arn) => {
                let ledger = self.ledger.as_mut().expect("a ledger outside dry runs");
                ledger
                    .set_state(index, EntryState::Created, arn.as_deref())
                    .map_err(|e| e.to_string())?;
                self.end(StepOutcome::Ok, None);
                (self.events)(&DrillEvent::ResourceCreated {
                    kind,
                    identifier: id.to_owned(),
                    region: region.to_owned(),
                });
                Ok(())
            }
            Err(f) => {
                let msg = f.to_string();
                self.end(StepOutcome::Failed, Some(msg.clone()));
                Err(msg)
            }
        }
    }

    /// Poll until `status` is available, failing on a terminal status.
    async fn wait_for<T, F, Fut>(&mut self, resource: &str, mut poll: F) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<(String, T)>, AwsFailure>>,
    {
        self.begin("wait_available", resource);
        let t0 = std::time::Instant::now();
        loop {
            let polled = poll().await.map_err(|f| f.to_string());
            let failure = match polled {
                Ok(Some((status, item))) if status == "available" => {
                    self.end(StepOutcome::Ok, None);
                    return Ok(item);
                }
                Ok(Some((status, _))) if FAILED_STATUSES.contains(&status.as_str()) => Some(
                    format!("{resource} reached status \"{}\"", status.escape_debug()),
                ),
                Ok(Some((status, _))) => {
                    (self.events)(&DrillEvent::Waiting {
                        resource: resource.to_owned(),
                        status,
                        elapsed: t0.elapsed(),
                        timeout: self.config.timeout,
                    });
                    None
                }
                Ok(None) => Some(format!("{resource} disappeared while waiting for it")),
                Err(e) => Some(e),
            };
            if let Some(msg) = failure {
                self.end(StepOutcome::Failed, Some(msg.clone()));
                return Err(msg);
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// Poll an RDS instance until it is available.
    async fn wait_for_instance(
        &mut self,
        c: &aws_sdk_rds::Client,
        id: &str,
    ) -> Result<DbInstance, String> {
        self.wait_for(id, || async {
            let i = rds::describe_instance(c, id).await?;
            Ok(i.map(|i| (i.db_instance_status().unwrap_or("unknown").to_owned(), i)))
        })
        .await
    }

    async fn execute(&mut self) -> Result<(), String> {
        let (rds_sources, redis_source) = self.discover().await?;
        if self.config.dry_run {
            self.make_plan(&rds_sources, redis_source.as_ref());
            return Ok(());
        }
        let clients = self.clients;
        let config = self.config;
        let drill_id = self.drill_id.clone();
        let restore_region = config.restore_region().to_owned();
        let target = clients.rds_in(&restore_region);

        // Start every restore first: they proceed in parallel in AWS.
        let mut restored_rds = Vec::new();
        for s in &rds_sources {
            let mut snapshot_ref = s
                .point
                .arn
                .clone()
                .unwrap_or_else(|| s.point.identifier.clone());
            if config.target_region.is_some() {
                let copy_id = resource_name(&drill_id, &s.point.identifier, RDS_SNAPSHOT_ID_MAX);
                let tags = rds::tags(&drill_id, &s.id);
                let kms = config.target_kms_key_id.as_deref();
                let source_arn = snapshot_ref.clone();
                self.create(
                    "copy_snapshot",
                    ResourceKind::RdsSnapshot,
                    &copy_id,
                    &restore_region,
                    rds::copy_snapshot(target, &source_arn, &copy_id, kms, tags),
                )
                .await?;
                let copy = self
                    .wait_for(&copy_id, || async {
                        let snap = rds::describe_snapshot(target, &copy_id).await?;
                        Ok(snap.map(|s| (s.status().unwrap_or("unknown").to_owned(), s)))
                    })
                    .await?;
                self.copied(
                    &s.id,
                    CopiedRecoveryPoint {
                        identifier: copy_id.clone(),
                        arn: copy.db_snapshot_arn().map(str::to_owned),
                        region: restore_region.clone(),
                    },
                );
                snapshot_ref = copy_id;
            }
            let id = resource_name(&drill_id, &s.id, RDS_ID_MAX);
            let request = rds::RestoreRequest {
                identifier: &id,
                snapshot: &snapshot_ref,
                source: &s.instance,
                same_region: config.target_region.is_none(),
                tags: rds::tags(&drill_id, &s.id),
            };
            self.create(
                "restore",
                ResourceKind::RdsInstance,
                &id,
                &restore_region,
                rds::restore(target, request),
            )
            .await?;
            restored_rds.push((s, id));
        }
        let mut restored_redis = None;
        if let Some(s) = &redis_source {
            let id = resource_name(&drill_id, &s.id, REDIS_ID_MAX);
            let arns = match (
                &config.target_region,
                &config.redis_export_bucket,
                &config.redis_import_bucket,
            ) {
                (Some(target), Some(export), Some(import)) => {
                    Some(self.export_redis(s, &id, target, export, import).await?)
                }
                _ => None,
            };
            let seed = match &arns {
                Some(arns) => redis::Seed::S3(arns),
                None => redis::Seed::Snapshot(&s.snapshot.point.identifier),
            };
            let (version, group) = redis_expectations(s);
            let request = redis::RestoreRequest {
                identifier: &id,
                seed,
                same_region: config.target_region.is_none(),
                drill_id: &drill_id,
                snapshot: &s.snapshot,
                source: &s.group,
                source_member: s.member.as_ref(),
                expected_engine_version: version.as_deref(),
                expected_parameter_group: group.as_deref(),
                tags: redis::tags(&drill_id, &s.id),
            };
            let c = clients.elasticache_in(&restore_region);
            self.create(
                "restore",
                ResourceKind::RedisReplicationGroup,
                &id,
                &restore_region,
                redis::restore(c, request),
            )
            .await?;
            restored_redis = Some((s, id));
        }

        // Wait and validate.
        let mut command_target = CommandTarget::default();
        for (s, id) in &restored_rds {
            let mut inst = self.wait_for_instance(target, id).await?;
            if inst.deletion_protection() == Some(true) {
                self.begin("disable_deletion_protection", id);
                match rds::disable_deletion_protection(target, id).await {
                    Ok(()) => self.end(
                        StepOutcome::Ok,
                        Some("the restored instance reported DeletionProtection=true although the restore asked for false".into()),
                    ),
                    Err(f) => {
                        self.end(StepOutcome::Failed, Some(f.to_string()));
                        return Err(f.to_string());
                    }
                }
                // The modification can take the instance through `modifying`: wait again.
                inst = self.wait_for_instance(target, id).await?;
            }
            self.begin("validate", id);
            let checks = validate::rds(id, &s.instance, &inst);
            self.record(checks);
            command_target.rds.push((id.clone(), inst));
        }
        if let Some((s, id)) = &restored_redis {
            let c = clients.elasticache_in(&restore_region);
            let group = self
                .wait_for(id, || async {
                    let g = redis::describe_group(c, id).await?;
                    Ok(g.map(|g| (g.status().unwrap_or("unknown").to_owned(), g)))
                })
                .await?;
            self.begin("validate", id);
            let member = redis::first_member(c, &group)
                .await
                .map_err(|f| f.to_string())?;
            let (version, pgroup) = redis_expectations(s);
            let checks = validate::redis(
                id,
                &s.group,
                &group,
                member.as_ref(),
                version.as_deref(),
                pgroup.as_deref(),
            );
            self.record(checks);
            command_target.redis = Some((id.clone(), group));
        }
        if let Some(cmd) = config.validation_command_to_run() {
            self.begin("validation_command", cmd);
            let v = validate::run_command(cmd, &drill_id, config, &restore_region, &command_target)
                .await;
            self.record(vec![v]);
        }
        self.validated_at = Some(Utc::now());
        Ok(())
    }

    /// ElastiCache cannot copy a snapshot to another region: export it to
    /// S3 in the source region, tag the exported objects, copy them to the
    /// target region's bucket. Returns the `.rdb` ARNs to seed from.
    async fn export_redis(
        &mut self,
        s: &RedisSource,
        name: &str,
        target: &str,
        export_bucket: &str,
        import_bucket: &str,
    ) -> Result<Vec<String>, String> {
        let clients = self.clients;
        let region = self.config.region.clone();
        let drill_id = self.drill_id.clone();
        let (ec, s3_src, s3_dst) = (
            clients.elasticache_in(&region),
            clients.s3_in(&region),
            clients.s3_in(target),
        );
        let snapshot = s.snapshot.point.identifier.as_str();
        let export_url = format!("s3://{export_bucket}/{name}");
        self.create(
            "export_snapshot",
            ResourceKind::RedisExport,
            &export_url,
            &region,
            redis::export_snapshot(ec, snapshot, name, export_bucket),
        )
        .await?;
        let keys = self
            .wait_for(&export_url, || async move {
                let status = redis::snapshot_status(ec, snapshot).await?;
                // No point listing the bucket while the export still runs.
                if status.as_deref() == Some("exporting") {
                    return Ok(Some(("exporting".to_owned(), Vec::new())));
                }
                let keys: Vec<String> = crate::s3::list_prefix(s3_src, export_bucket, name)
                    .await?
                    .into_iter()
                    .filter(|k| k.ends_with(".rdb"))
                    .collect();
                let done = !keys.is_empty();
                Ok(Some((
                    if done { "available" } else { "exporting" }.to_owned(),
                    keys,
                )))
            })
            .await?;
        self.begin("tag_export", &export_url);
        for key in &keys {
            if let Err(f) =
                crate::s3::tag_object(s3_src, export_bucket, key, &drill_id, &s.id).await
            {
                self.end(StepOutcome::Failed, Some(f.to_string()));
                return Err(f.to_string());
            }
        }
        self.end(StepOutcome::Ok, Some(format!("{} object(s)", keys.len())));
        let mut arns = Vec::new();
        for key in &keys {
            let url = format!("s3://{import_bucket}/{key}");
            let copy =
                crate::s3::copy_object(s3_dst, export_bucket, key, import_bucket, &drill_id, &s.id);
            self.create("copy_export", ResourceKind::S3Object, &url, target, copy)
                .await?;
            arns.push(format!("arn:aws:s3:::{import_bucket}/{key}"));
        }
        self.copied(
            &s.id,
            CopiedRecoveryPoint {
                identifier: format!("s3://{import_bucket}/{name}"),
                arn: arns.first().cloned(),
                region: target.to_owned(),
            },
        );
        Ok(arns)
    }

    fn record(&mut self, checks: Vec<Validation>) {
        let failed = checks
            .iter()
            .filter(|v| v.outcome == ValidationOutcome::Failed)
            .count();
        let unverified = checks
            .iter()
            .filter(|v| v.outcome == ValidationOutcome::Unverified)
            .count();
        for v in &checks {
            (self.events)(&DrillEvent::Validated {
                validation: v.clone(),
            });
        }
        self.validations.extend(checks);
        let strict = self.config.unverifiable == Unverifiable::Fail;
        let outcome = if failed > 0 || (strict && unverified > 0) {
            StepOutcome::Failed
        } else {
            StepOutcome::Ok
        };
        let detail = match (failed, unverified) {
            (0, 0) => None,
            (f, 0) => Some(format!("{f} check(s) failed")),
            (0, u) => Some(format!("{u} check(s) unverified")),
            (f, u) => Some(format!("{f} check(s) failed, {u} unverified")),
        };
        self.end(outcome, detail);
    }
}

/// Engine version and parameter group a restored group must have: the
/// source's member cluster when it can be described, else the snapshot's.
fn redis_expectations(s: &RedisSource) -> (Option<String>, Option<String>) {
    let m = s.member.as_ref();
    (
        m.and_then(|m| m.engine_version())
            .map(str::to_owned)
            .or(s.snapshot.engine_version.clone()),
        m.and_then(|m| m.cache_parameter_group())
            .and_then(|p| p.cache_parameter_group_name())
            .map(str::to_owned)
            .or(s.snapshot.parameter_group.clone()),
    )
}

#[cfg(test)]
mod tests {
    /// The CLI spawns the drill on a multi-threaded runtime.
    #[allow(dead_code)]
    fn drill_futures_are_send(
        c: &crate::DrillClients,
        config: &crate::DrillConfig,
        sink: crate::EventSink<'_>,
    ) {
        fn send<T: Send>(_: T) {}
        send(super::run_drill(
            c,
            config,
            sink,
            std::future::pending::<()>(),
        ));
        send(super::plan_drill(c, config, sink));
        send(crate::cleanup(c, &config.state_dir, "drill-x-1", sink));
    }
}
