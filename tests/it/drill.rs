//! Integration tests: the disaster-recovery drill (`ohmc-drill`), driven
//! through its library API against a real moto server (and the fault proxy
//! where calls must be failed or recorded). The `ohmc-infra dr-drill` command
//! is a thin layer over the same API.
//!
//! moto gaps these tests work around, each stated where it matters:
//! - ElastiCache snapshots carry no `NodeSnapshots[].SnapshotCreateTime` and
//!   replication-group members are not describable cache clusters, so the
//!   Redis RPO and its engine-version / parameter-group checks are
//!   `unverified`. The drills here run with `Unverifiable::Warn`;
//!   `moto_gaps_are_never_passes` shows the default policy failing on them,
//!   and the real-AWS shapes are tested with aws-smithy-mocks in ohmc-drill.
//! - A deleted replication group stays listed as `deleting` forever (AWS
//!   removes it after some minutes), so inventories leave `deleting` out.
//! - Snapshot times are "now": an old snapshot is simulated with a tiny RPO.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_elasticache::types::Tag as EcTag;
use aws_sdk_rds::types::Tag as RdsTag;
use ohmc_drill::report::{CleanupOutcome, ValidationOutcome};
use ohmc_drill::{DrillClients, DrillConfig, DrillEvent, DrillReport, DrillStatus, Ledger, ResourceKind, Unverifiable};

use crate::harness::moto::MotoServer;
use crate::harness::proxy::{Fault, FaultProxy, FaultRule};

const REGION: &str = "us-east-1";
const PG: &str = "ohmc-staging-postgres";
const REDIS: &str = "ohmc-staging-redis";
/// Not drill resources, with names a careless cleanup might match.
const DECOY_PG: &str = "drill-staging-postgres-decoy";
const DECOY_REDIS: &str = "drill-staging-redis";

async fn sdk(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

struct Account {
    rds: aws_sdk_rds::Client,
    ec: aws_sdk_elasticache::Client,
}

impl Account {
    async fn new(endpoint: &str) -> Self {
        let c = sdk(endpoint, REGION).await;
        Account { rds: aws_sdk_rds::Client::new(&c), ec: aws_sdk_elasticache::Client::new(&c) }
    }

    /// The staging data stores with one snapshot each, plus decoys.
    async fn seed(&self) {
        for (id, tags) in [(PG, vec![]), (DECOY_PG, vec![rds_tag("Name", "drill-staging-postgres")])] {
            self.rds
                .create_db_instance()
                .db_instance_identifier(id)
                .db_instance_class("db.t3.micro")
                .engine("postgres")
                .engine_version("16.3")
                .allocated_storage(20)
                .master_username("ohmc")
                .master_user_password("not-a-secret-1")
                .storage_encrypted(true)
                .deletion_protection(true)
                .db_parameter_group_name("default.postgres16")
                .backup_retention_period(7)
                .set_tags(Some(tags))
                .send()
                .await
                .unwrap();
        }
        self.rds.create_db_snapshot().db_instance_identifier(PG).db_snapshot_identifier("pg-manual-1").send().await.unwrap();
        for id in [REDIS, DECOY_REDIS] {
            self.ec
                .create_replication_group()
                .replication_group_id(id)
                .replication_group_description("staging redis")
                .engine("redis")
                .engine_version("7.1")
                .cache_node_type("cache.t3.micro")
                .num_cache_clusters(2)
                .at_rest_encryption_enabled(true)
                .transit_encryption_enabled(true)
                .cache_parameter_group_name("default.redis7")
                .send()
                .await
                .unwrap();
        }
        self.ec.create_snapshot().replication_group_id(REDIS).snapshot_name("redis-manual-1").send().await.unwrap();
    }

    /// Everything that exists, by kind: ids (and tag sets) sorted. Resources
    /// being deleted are left out (see the module comment).
    async fn inventory(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in self.rds.describe_db_instances().send().await.unwrap().db_instances() {
            if i.db_instance_status() != Some("deleting") {
                out.push(format!("rds-instance {}", i.db_instance_identifier().unwrap()));
            }
        }
        for s in self.rds.describe_db_snapshots().send().await.unwrap().db_snapshots() {
            out.push(format!("rds-snapshot {}", s.db_snapshot_identifier().unwrap()));
        }
        for g in self.ec.describe_replication_groups().send().await.unwrap().replication_groups() {
            if g.status() != Some("deleting") {
                out.push(format!("redis-group {}", g.replication_group_id().unwrap()));
            }
        }
        for s in self.ec.describe_snapshots().send().await.unwrap().snapshots() {
            out.push(format!("redis-snapshot {}", s.snapshot_name().unwrap()));
        }
        out.sort();
        out
    }

    /// Resources (in any state but deleting) whose name or tags mention `drill_id`.
    async fn drill_resources(&self, drill_id: &str) -> Vec<String> {
        self.inventory().await.into_iter().filter(|r| r.contains(drill_id) || r.contains(&compact(drill_id))).collect()
    }
}

/// The compact name form used when `<drill_id>-<source>` is too long.
fn compact(drill_id: &str) -> String {
    let p: Vec<&str> = drill_id.rsplitn(3, '-').collect();
    format!("dr{}{}", &p[1][2..], p[0])
}

fn rds_tag(k: &str, v: &str) -> RdsTag {
    RdsTag::builder().key(k).value(v).build()
}

fn config(state: &Path) -> DrillConfig {
    let mut c = DrillConfig::new("staging", REGION, state);
    c.rds_instances = vec![PG.to_owned()];
    c.redis_replication_group = Some(REDIS.to_owned());
    c.rpo_target = Duration::from_secs(24 * 3600);
    c.rto_target = Duration::from_secs(3600);
    c.timeout = Duration::from_secs(120);
    c.poll_interval = Duration::from_millis(50);
    c.unverifiable = Unverifiable::Warn;
    c
}

#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<DrillEvent>>>);

impl Events {
    fn sink(&self) -> impl Fn(&DrillEvent) + Send + Sync + 'static {
        let v = self.0.clone();
        move |e: &DrillEvent| v.lock().unwrap().push(e.clone())
    }
    fn created(&self) -> Vec<(ResourceKind, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                DrillEvent::ResourceCreated { kind, identifier, .. } => Some((*kind, identifier.clone())),
                _ => None,
            })
            .collect()
    }
}

async fn drill(endpoint: &str, config: &DrillConfig, events: &Events) -> DrillReport {
    let clients = DrillClients::new(&sdk(endpoint, REGION).await, config.target_region.as_deref());
    let sink = events.sink();
    ohmc_drill::run_drill(&clients, config, &sink, std::future::pending()).await.expect("drill report")
}

fn assert_cleanup_clean(r: &DrillReport) {
    assert!(!r.cleanup.is_empty(), "no cleanup results");
    for c in &r.cleanup {
        assert!(c.outcome.is_clean(), "cleanup of {} {}: {:?} {:?}", c.kind, c.identifier, c.outcome, c.detail);
    }
}

#[tokio::test]
async fn full_drill_restores_validates_measures_and_leaves_the_account_as_it_was() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let out = state.path().join("drill-env.txt");
    let mut c = config(state.path());
    c.validation_command = Some(format!(
        "test -n \"$DRILL_RDS_HOST\" && test -n \"$DRILL_REDIS_HOST\" && env | grep '^DRILL_' | sort > {}",
        out.display()
    ));
    let events = Events::default();
    let t0 = Instant::now();
    let r = drill(&moto.endpoint(), &c, &events).await;

    assert_eq!(r.status, DrillStatus::Met, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 0);
    assert!(r.rto.measured_ms.is_some() && r.rto.met == Some(true), "{:?}", r.rto);
    assert!(r.rpo.measured_ms.is_some() && r.rpo.met == Some(true), "{:?}", r.rpo);
    assert!(r.rpo.detail.contains("pg-manual-1"), "{:?}", r.rpo);
    assert!(r.rto.measured_ms.unwrap() <= t0.elapsed().as_millis() as u64);
    let points: Vec<_> = r.recovery_points.iter().map(|p| (p.source.as_str(), p.identifier.as_str())).collect();
    assert_eq!(points, [(PG, "pg-manual-1"), (REDIS, "redis-manual-1")]);

    // Both data stores were restored, into tagged resources named after the drill.
    let created = events.created();
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(created[0], (ResourceKind::RdsInstance, format!("{}-{PG}", r.drill_id)));
    assert_eq!(created[1].0, ResourceKind::RedisReplicationGroup);
    assert!(created[1].1.len() <= 40 && created[1].1.ends_with(REDIS), "{created:?}");

    // Validations: everything moto can answer passed; only its gaps are unverified.
    for v in &r.validations {
        let moto_gap = v.resource == created[1].1 && (v.check == "engine_version" || v.check == "parameter_group");
        let want = if moto_gap { ValidationOutcome::Unverified } else { ValidationOutcome::Passed };
        assert_eq!(v.outcome, want, "{v:?}");
    }
    let checks: Vec<_> = r.validations.iter().map(|v| v.check.as_str()).collect();
    for c in ["available", "encrypted", "engine_version", "parameter_group", "encrypted_at_rest", "validation_command"] {
        assert!(checks.contains(&c), "missing check {c}: {checks:?}");
    }
    // moto inherits DeletionProtection=true from the snapshot: the drill turned it off explicitly.
    assert!(r.steps.iter().any(|s| s.name == "disable_deletion_protection"), "{:?}", r.steps);

    // The validation command saw the restored endpoints.
    let env = std::fs::read_to_string(&out).unwrap();
    assert!(env.contains(&format!("DRILL_ID={}", r.drill_id)), "{env}");
    assert!(env.contains(&format!("DRILL_RDS_INSTANCE={}-{PG}", r.drill_id)), "{env}");
    assert!(env.contains("DRILL_RDS_PORT=5432") && env.contains("DRILL_REDIS_TLS=true"), "{env}");

    // Cleanup: everything gone, the account as before, decoys untouched.
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
    assert!(account.drill_resources(&r.drill_id).await.is_empty());
    let ledger = Ledger::open(state.path(), &r.drill_id).unwrap();
    assert!(!ledger.has_pending(), "{:?}", ledger.entries());

    // Renderers carry the essentials.
    let json: serde_json::Value = serde_json::from_str(&ohmc_drill::render::report_json(&r)).unwrap();
    assert_eq!(json["status"], "met");
    assert_eq!(json["schema_version"], 1);
    assert!(json["rto"]["measured_ms"].is_u64() && json["rpo"]["target_ms"] == 86_400_000u64);
    let md = ohmc_drill::render::report_markdown(&r);
    assert!(md.contains("| RTO |") && md.contains("| RPO |") && md.contains("pg-manual-1"), "{md}");
    let text = ohmc_drill::render::report_text(&r);
    assert!(text.contains("MET") && text.contains("cleanup"), "{text}");
    // `OHMC_DRILL_SAMPLE_DIR=DIR` keeps the rendered reports (the runbook's sample comes from here).
    if let Some(dir) = std::env::var_os("OHMC_DRILL_SAMPLE_DIR") {
        let dir = PathBuf::from(dir);
        std::fs::write(dir.join("drill.txt"), &text).unwrap();
        std::fs::write(dir.join("drill.md"), &md).unwrap();
        std::fs::write(dir.join("drill.json"), ohmc_drill::render::report_json(&r)).unwrap();
    }
}

#[tokio::test]
async fn moto_gaps_are_never_passes() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.unverifiable = Unverifiable::Fail; // the default
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_eq!(r.status, DrillStatus::ValidationFailed, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 3);
    let why = r.reasons.join("\n");
    assert!(why.contains("engine_version") && why.contains("could not be verified"), "{why}");
    assert!(why.contains("RPO could not be measured") && why.contains("redis-manual-1"), "{why}");
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_snapshot_older_than_the_rpo_target_breaches_and_says_so() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    // moto's snapshot is from "now": make it older than a 1 ms RPO target.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.rpo_target = Duration::from_millis(1);
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_eq!(r.status, DrillStatus::Breached, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 3);
    assert_eq!(r.rpo.met, Some(false));
    assert_eq!(r.rto.met, Some(true));
    assert!(r.rpo.measured_ms.unwrap() >= 20, "{:?}", r.rpo);
    let why = r.reasons.join("\n");
    assert!(why.contains("RPO target breached") && why.contains("pg-manual-1") && why.contains("target 1ms"), "{why}");
    assert!(ohmc_drill::render::report_markdown(&r).contains("**breached**"));
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_failing_validation_command_fails_the_drill_with_its_output() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.validation_command = Some("echo \"psql: connection to $DRILL_RDS_HOST refused\" >&2; exit 2".into());
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_eq!(r.status, DrillStatus::ValidationFailed, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 3);
    let v = r.validations.iter().find(|v| v.check == "validation_command").unwrap();
    assert_eq!(v.actual.as_deref(), Some("exit 2"));
    assert!(v.detail.as_deref().unwrap().contains(&format!("connection to {}-{PG}.", r.drill_id)), "{v:?}");
    assert!(r.reasons.iter().any(|w| w.contains("validation validation_command")), "{:?}", r.reasons);
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn the_drill_timeout_breaches_the_rto_kills_the_probe_and_cleans_up() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let pid_file = state.path().join("probe.pid");
    let mut c = config(state.path());
    c.timeout = Duration::from_secs(3);
    c.validation_command = Some(format!("echo $$ > {}; exec sleep 60", pid_file.display()));
    let t0 = Instant::now();
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert!(t0.elapsed() < Duration::from_secs(30), "the timeout did not stop the drill");
    assert_eq!(r.status, DrillStatus::Breached, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 3);
    assert!(r.reasons[0].contains("timed out after 3s") && r.reasons[0].contains("RTO target 1h breached"), "{:?}", r.reasons);
    let last = r.steps.last().unwrap();
    assert_eq!((last.name.as_str(), last.outcome), ("validation_command", ohmc_drill::report::StepOutcome::Failed));
    // The probe was killed with the drill, not left running.
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let alive = unsafe { libc::kill(pid, 0) } == 0
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ");
    assert!(!alive, "the validation command outlived the drill");
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_failed_restore_still_cleans_up_what_was_created_before_it() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    proxy.add_rule(FaultRule::action("CreateReplicationGroup", Fault::ServerError));
    let state = tempfile::tempdir().unwrap();
    let events = Events::default();
    let r = drill(&proxy.endpoint(), &config(state.path()), &events).await;

    assert_eq!(r.status, DrillStatus::Error, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 1);
    assert!(r.reasons[0].contains("CreateReplicationGroup"), "{:?}", r.reasons);
    assert!(proxy.injected() >= 1);
    // The RDS restore happened before the failure and was cleaned up; the
    // Redis entry was in the ledger (written before the call) and is found absent.
    assert_eq!(events.created(), [(ResourceKind::RdsInstance, format!("{}-{PG}", r.drill_id))]);
    let outcomes: Vec<_> = r.cleanup.iter().map(|c| (c.kind, c.outcome)).collect();
    assert_eq!(
        outcomes,
        [(ResourceKind::RedisReplicationGroup, CleanupOutcome::NotFound), (ResourceKind::RdsInstance, CleanupOutcome::Deleted)]
    );
    let deletes: Vec<_> = proxy.calls().into_iter().filter(|c| c.action.starts_with("Delete")).map(|c| c.action).collect();
    assert_eq!(deletes, ["DeleteDBInstance"]);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_failed_delete_is_reported_and_a_later_cleanup_finishes_the_job() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    proxy.add_rule(FaultRule::action("DeleteDBInstance", Fault::ServerError));
    let state = tempfile::tempdir().unwrap();
    let r = drill(&proxy.endpoint(), &config(state.path()), &Events::default()).await;
    // The targets were met, but a resource is left behind: that is an error.
    assert_eq!(r.status, DrillStatus::Error, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 1);
    let failed: Vec<_> = r.cleanup.iter().filter(|c| c.outcome == CleanupOutcome::Failed).map(|c| c.kind).collect();
    assert_eq!(failed, [ResourceKind::RdsInstance]);
    assert!(r.reasons.iter().any(|w| w.contains("DeleteDBInstance")), "{:?}", r.reasons);
    assert_eq!(ohmc_drill::pending_drills(state.path()).unwrap().len(), 1);

    proxy.clear_rules();
    let clients = DrillClients::new(&sdk(&proxy.endpoint(), REGION).await, None);
    let done = ohmc_drill::cleanup(&clients, state.path(), &r.drill_id, &ohmc_drill::no_events).await.unwrap();
    assert!(done.is_clean(), "{}", ohmc_drill::render::cleanup_text(&done));
    assert_eq!(account.inventory().await, before);
    assert!(ohmc_drill::pending_drills(state.path()).unwrap().is_empty());
}

#[tokio::test]
async fn dry_run_makes_only_read_calls() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    proxy.clear_calls();
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.dry_run = true;
    c.validation_command = Some("touch should-not-run".into());
    let r = drill(&proxy.endpoint(), &c, &Events::default()).await;

    assert_eq!(r.status, DrillStatus::Planned, "{}", ohmc_drill::render::report_text(&r));
    assert_eq!(r.exit_code(), 0);
    let calls = proxy.calls();
    assert!(!calls.is_empty());
    for call in &calls {
        assert!(
            call.action.starts_with("Describe") || call.action.starts_with("List"),
            "dry run made a non-read call: {}:{}",
            call.service,
            call.action
        );
    }
    let actions: Vec<_> = r.plan.iter().map(|a| a.action.as_str()).collect();
    for a in ["rds:RestoreDBInstanceFromDBSnapshot", "elasticache:CreateReplicationGroup", "rds:DeleteDBInstance", "exec"] {
        assert!(actions.contains(&a), "plan lacks {a}: {actions:?}");
    }
    assert!(r.rpo.measured_ms.is_some(), "a dry run still reports the RPO the recovery points would give");
    assert!(r.cleanup.is_empty() && r.ledger_path.is_none());
    assert!(!Ledger::dir(state.path()).exists(), "a dry run writes no ledger");
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn cancellation_mid_drill_cleans_up() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let c = config(state.path());
    let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, None);
    // Cancel (as Ctrl-C would) as soon as the RDS restore exists.
    let notify = Arc::new(tokio::sync::Notify::new());
    let n = notify.clone();
    let sink = move |e: &DrillEvent| {
        if matches!(e, DrillEvent::ResourceCreated { kind: ResourceKind::RdsInstance, .. }) {
            n.notify_one();
        }
    };
    let r = ohmc_drill::run_drill(&clients, &c, &sink, notify.notified()).await.unwrap();
    assert_eq!(r.status, DrillStatus::Cancelled, "{}", ohmc_drill::render::report_text(&r));
    assert!(r.steps.iter().any(|s| s.outcome == ohmc_drill::report::StepOutcome::Cancelled), "{:?}", r.steps);
    assert_cleanup_clean(&r);
    assert!(r.cleanup.iter().any(|c| c.kind == ResourceKind::RdsInstance && c.outcome == CleanupOutcome::Deleted));
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn cross_region_drill_of_two_instances_copies_both_snapshots_and_removes_the_copies() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    // A second database: moto takes an automated snapshot at creation, then a newer manual one.
    const PG2: &str = "ohmc-staging-analytics";
    account
        .rds
        .create_db_instance()
        .db_instance_identifier(PG2)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .engine_version("16.3")
        .allocated_storage(20)
        .master_username("ohmc")
        .master_user_password("not-a-secret-1")
        .storage_encrypted(true)
        .send()
        .await
        .unwrap();
    account.rds.create_db_snapshot().db_instance_identifier(PG2).db_snapshot_identifier("analytics-manual").send().await.unwrap();
    let west = Account { rds: aws_sdk_rds::Client::new(&sdk(&moto.endpoint(), "us-west-2").await), ec: account.ec.clone() };
    let (before, before_west) = (account.inventory().await, west.inventory().await);
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.rds_instances.push(PG2.to_owned());
    c.redis_replication_group = None; // Redis across regions goes through S3: see redis_cross_region
    c.target_region = Some("us-west-2".into());
    c.validation_command = Some("test \"$(echo $DRILL_RDS_INSTANCES | wc -w)\" = 2 && test \"$DRILL_REGION\" = us-west-2".into());
    let events = Events::default();
    let r = drill(&moto.endpoint(), &c, &events).await;
    assert_eq!(r.status, DrillStatus::Met, "{}", ohmc_drill::render::report_text(&r));
    // Each source restored from its own newest point (the manual one, not the automated one).
    let points: Vec<_> = r.recovery_points.iter().map(|p| (p.source.as_str(), p.identifier.as_str())).collect();
    assert_eq!(points, [(PG, "pg-manual-1"), (PG2, "analytics-manual")]);
    assert!(r.recovery_points.iter().all(|p| p.copied_to.as_ref().is_some_and(|c| c.region == "us-west-2")));
    let kinds: Vec<_> = events.created().into_iter().map(|(k, _)| k).collect();
    use ResourceKind::{RdsInstance, RdsSnapshot};
    assert_eq!(kinds, [RdsSnapshot, RdsInstance, RdsSnapshot, RdsInstance]);
    assert_eq!(r.cleanup.len(), 4);
    assert!(r.cleanup.iter().all(|c| c.region == "us-west-2" && c.outcome == CleanupOutcome::Deleted), "{:?}", r.cleanup);
    assert_eq!(account.inventory().await, before);
    assert_eq!(west.inventory().await, before_west);
}

#[tokio::test]
async fn keep_for_keeps_the_restore_until_cleanup() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.keep_for = Some(Duration::from_secs(3600));
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_eq!(r.status, DrillStatus::Met);
    assert!(r.keep_until.is_some() && r.cleanup.iter().all(|c| c.outcome == CleanupOutcome::Kept));
    let kept = account.drill_resources(&r.drill_id).await;
    assert!(kept.contains(&format!("rds-instance {}-{PG}", r.drill_id)), "{kept:?}");
    assert!(kept.iter().any(|k| k.starts_with("redis-group ")), "{kept:?}");
    let pending = ohmc_drill::pending_drills(state.path()).unwrap();
    assert_eq!(pending.iter().map(|l| l.drill_id()).collect::<Vec<_>>(), [r.drill_id.as_str()]);

    let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, None);
    let done = ohmc_drill::cleanup(&clients, state.path(), &r.drill_id, &ohmc_drill::no_events).await.unwrap();
    assert!(done.is_clean(), "{}", ohmc_drill::render::cleanup_text(&done));
    assert_eq!(account.inventory().await, before);
    assert!(ohmc_drill::pending_drills(state.path()).unwrap().is_empty());
}

/// Cleanup deletes only what is in the ledger AND tagged with the drill id.
/// The ledger here is written by hand, as a corrupted or hostile one would be.
#[tokio::test]
async fn cleanup_never_touches_untagged_foreign_or_unlisted_resources() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let drill_id = "drill-staging-20261127000000-abcd";
    let make = |id: &'static str, tag: Option<&'static str>| {
        let rds = account.rds.clone();
        async move {
            rds.restore_db_instance_from_db_snapshot()
                .db_instance_identifier(id)
                .db_snapshot_identifier("pg-manual-1")
                .deletion_protection(false)
                .set_tags(tag.map(|t| vec![rds_tag("ohmc:drill-id", t)]))
                .send()
                .await
                .unwrap();
        }
    };
    let untagged = "drill-staging-20261127000000-abcd-ohmc-staging-postgres";
    let foreign = "drill-staging-20261127000000-abcd-pg-foreign";
    let unlisted = "drill-staging-20261127000000-abcd-pg-unlisted";
    let ours = "drill-staging-20261127000000-abcd-pg-ours";
    make(untagged, None).await;
    make(foreign, Some("drill-staging-20261127000000-abce")).await;
    make(unlisted, Some(drill_id)).await;
    make(ours, Some(drill_id)).await;
    let untagged_redis = "dr261127000000abcd-ohmc-staging-redis";
    account
        .ec
        .create_replication_group()
        .replication_group_id(untagged_redis)
        .replication_group_description("someone else's")
        .tags(EcTag::builder().key("ohmc:drill-id-not").value(drill_id).build())
        .send()
        .await
        .unwrap();

    let state = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(state.path(), drill_id, "staging", REGION, None, chrono::Utc::now()).unwrap();
    for (kind, id) in [
        (ResourceKind::RdsInstance, untagged),
        (ResourceKind::RdsInstance, foreign),
        (ResourceKind::RdsInstance, ours),
        (ResourceKind::RedisReplicationGroup, untagged_redis),
    ] {
        let i = ledger.intend(kind, id, REGION).unwrap();
        ledger.set_state(i, ohmc_drill::ledger::EntryState::Created, None).unwrap();
    }
    let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, None);
    let r = ohmc_drill::cleanup(&clients, state.path(), drill_id, &ohmc_drill::no_events).await.unwrap();
    let outcomes: Vec<_> = r.results.iter().map(|c| (c.identifier.as_str(), c.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (untagged_redis, CleanupOutcome::Refused),
            (ours, CleanupOutcome::Deleted),
            (foreign, CleanupOutcome::Refused),
            (untagged, CleanupOutcome::Refused),
        ]
    );
    assert!(!r.is_clean() && r.exit_code() == 1);
    let inv = account.inventory().await;
    for id in [untagged, foreign, unlisted] {
        assert!(inv.contains(&format!("rds-instance {id}")), "{id} was touched: {inv:?}");
    }
    assert!(inv.contains(&format!("redis-group {untagged_redis}")));
    assert!(!inv.contains(&format!("rds-instance {ours}")));
    for id in [PG, DECOY_PG] {
        assert!(inv.contains(&format!("rds-instance {id}")));
    }
    // A second run re-reads the tags, refuses the same three again and touches nothing else.
    let again = ohmc_drill::cleanup(&clients, state.path(), drill_id, &ohmc_drill::no_events).await.unwrap();
    assert_eq!(again.results.iter().filter(|c| c.outcome == CleanupOutcome::Refused).count(), 3);
    assert_eq!(account.inventory().await, inv);
}

// ---- SIGKILL mid-drill -------------------------------------------------------------
//
// The drill must survive the harshest interruption: SIGKILL, which runs no
// handler. The test re-executes this test binary, filtered to
// `drill_child_process`, with OHMC_DRILL_CHILD_* set. That child runs a real
// drill against the parent's moto and, once both restores exist, writes the
// drill id to a file and blocks (as a drill blocks while AWS restores). The
// parent SIGKILLs it, then finishes with `cleanup(drill_id)` from the ledger
// the child left. Outside this re-execution `drill_child_process` does nothing.

const CHILD_ENDPOINT: &str = "OHMC_DRILL_CHILD_ENDPOINT";
const CHILD_STATE: &str = "OHMC_DRILL_CHILD_STATE";

#[tokio::test]
async fn drill_child_process() {
    let (Some(endpoint), Some(state)) = (std::env::var_os(CHILD_ENDPOINT), std::env::var_os(CHILD_STATE)) else {
        return;
    };
    let state = PathBuf::from(state);
    let endpoint = endpoint.to_string_lossy().into_owned();
    let marker = state.join("child-paused");
    let sink = move |e: &DrillEvent| {
        if let DrillEvent::Started { drill_id, .. } = e {
            std::fs::write(state.join("child-drill-id"), drill_id).unwrap();
        }
        if matches!(e, DrillEvent::ResourceCreated { kind: ResourceKind::RedisReplicationGroup, .. }) {
            std::fs::write(&marker, "paused").unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    };
    let c = config(&PathBuf::from(std::env::var_os(CHILD_STATE).unwrap()));
    let clients = DrillClients::new(&sdk(&endpoint, REGION).await, None);
    let _ = ohmc_drill::run_drill(&clients, &c, &sink, std::future::pending()).await;
    panic!("the child drill was meant to be killed while paused");
}

#[tokio::test]
async fn sigkill_mid_drill_then_cleanup_leaves_no_drill_resources() {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    let state = tempfile::tempdir().unwrap();
    let log_path = state.path().join("child.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // /proc/self/exe, not current_exe(): it still runs this binary when a
    // concurrent `cargo test` has replaced the file on disk.
    let exe = if Path::new("/proc/self/exe").exists() { PathBuf::from("/proc/self/exe") } else { std::env::current_exe().unwrap() };
    let mut child = std::process::Command::new(exe)
        .args(["drill::drill_child_process", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENDPOINT, moto.endpoint())
        .env(CHILD_STATE, state.path())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !state.path().join("child-paused").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child drill exited early: {status}\n{}", log());
        }
        assert!(Instant::now() < deadline, "the child drill never reached the pause point\n{}", log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));

    let drill_id = std::fs::read_to_string(state.path().join("child-drill-id")).unwrap();
    let left = account.drill_resources(&drill_id).await;
    assert!(left.contains(&format!("rds-instance {drill_id}-{PG}")), "{left:?}");
    assert!(left.iter().any(|r| r.starts_with("redis-group ")), "both restores exist after the kill: {left:?}");
    assert_eq!(ohmc_drill::pending_drills(state.path()).unwrap().len(), 1);

    let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, None);
    let r = ohmc_drill::cleanup(&clients, state.path(), &drill_id, &ohmc_drill::no_events).await.unwrap();
    assert!(r.is_clean(), "{}", ohmc_drill::render::cleanup_text(&r));
    assert_eq!(r.results.len(), 2);
    assert!(account.drill_resources(&drill_id).await.is_empty());
    assert_eq!(account.inventory().await, before);
    assert!(ohmc_drill::pending_drills(state.path()).unwrap().is_empty());
}

// ---- Redis across regions -----------------------------------------------------------
//
// ElastiCache cannot copy a snapshot to another region: the drill exports it to
// S3 (CopySnapshot with TargetBucket), copies the .rdb objects to a bucket in
// the target region and seeds the new group from them. moto implements neither
// CopySnapshot nor describable member clusters, so here ElastiCache is
// aws-smithy-mocks (responses shaped like the ElastiCache API reference; the
// CopySnapshot mock writes the .rdb object into moto's S3, as ElastiCache
// would) while S3 is the real moto server.

mod redis_cross_region {
    use super::*;
    use aws_sdk_elasticache::operation::copy_snapshot::CopySnapshotOutput;
    use aws_sdk_elasticache::operation::create_replication_group::CreateReplicationGroupOutput;
    use aws_sdk_elasticache::operation::delete_replication_group::DeleteReplicationGroupOutput;
    use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersOutput;
    use aws_sdk_elasticache::operation::describe_replication_groups::{
        DescribeReplicationGroupsError, DescribeReplicationGroupsOutput,
    };
    use aws_sdk_elasticache::operation::describe_snapshots::DescribeSnapshotsOutput;
    use aws_sdk_elasticache::operation::list_tags_for_resource::ListTagsForResourceOutput;
    use aws_sdk_elasticache::primitives::DateTime as EcTime;
    use aws_sdk_elasticache::types::{
        CacheCluster, CacheParameterGroupStatus, Endpoint, NodeGroup, NodeSnapshot, ReplicationGroup, Snapshot,
    };
    use aws_sdk_elasticache::types::error::ReplicationGroupNotFoundFault;
    use aws_sdk_elasticache::Client as Ec;
    use aws_smithy_mocks::{mock, mock_client, MockResponse, RuleMode};
    use std::sync::atomic::{AtomicBool, Ordering};

    const WEST: &str = "us-west-2";

    /// What CreateReplicationGroup was asked: id, SnapshotArns, SnapshotName, tags.
    type Created = (String, Vec<String>, Option<String>, Vec<(String, String)>);
    const EXPORT: &str = "ohmc-staging-redis-export";
    const IMPORT: &str = "ohmc-staging-redis-import-west";

    fn group(id: &str, region: &str) -> ReplicationGroup {
        ReplicationGroup::builder()
            .replication_group_id(id)
            .status("available")
            .member_clusters(format!("{id}-001"))
            .node_groups(
                NodeGroup::builder()
                    .node_group_id("0001")
                    .primary_endpoint(Endpoint::builder().address(format!("master.{id}.cache.amazonaws.com")).port(6379).build())
                    .build(),
            )
            .at_rest_encryption_enabled(true)
            .transit_encryption_enabled(true)
            .cluster_enabled(false)
            .cache_node_type("cache.t3.micro")
            .engine("redis")
            .arn(format!("arn:aws:elasticache:{region}:123456789012:replicationgroup:{id}"))
            .build()
    }

    fn member(id: &str) -> CacheCluster {
        CacheCluster::builder()
            .cache_cluster_id(id)
            .engine_version("7.1")
            .cache_parameter_group(CacheParameterGroupStatus::builder().cache_parameter_group_name("default.redis7").build())
            .build()
    }

    async fn s3(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
        let c = sdk(endpoint, region).await;
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&c).force_path_style(true).build())
    }

    async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
        let out = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        out.contents().iter().filter_map(|o| o.key()).map(str::to_owned).collect()
    }

    #[tokio::test]
    async fn redis_is_exported_copied_and_seeded_in_the_target_region_then_everything_is_removed() {
        let moto = Arc::new(MotoServer::start());
        let (s3_east, s3_west) = (s3(&moto.endpoint(), REGION).await, s3(&moto.endpoint(), WEST).await);
        s3_east.create_bucket().bucket(EXPORT).send().await.unwrap();
        s3_west
            .create_bucket()
            .bucket(IMPORT)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let snapshot_time = chrono::Utc::now() - chrono::Duration::hours(1);

        // Source region: the group, its member, its snapshot; the export.
        let src_group = mock!(Ec::describe_replication_groups)
            .match_requests(|r| r.replication_group_id() == Some(REDIS))
            .then_output(|| DescribeReplicationGroupsOutput::builder().replication_groups(group(REDIS, REGION)).build());
        let src_member = mock!(Ec::describe_cache_clusters)
            .then_output(|| DescribeCacheClustersOutput::builder().cache_clusters(member("ohmc-staging-redis-001")).build());
        let list_snapshots = mock!(Ec::describe_snapshots).match_requests(|r| r.replication_group_id() == Some(REDIS)).then_output(
            move || {
                DescribeSnapshotsOutput::builder()
                    .snapshots(
                        Snapshot::builder()
                            .snapshot_name("automatic.ohmc-staging-redis-2026-11-26-03-00")
                            .replication_group_id(REDIS)
                            .snapshot_status("available")
                            .snapshot_source("automated")
                            .engine_version("7.1")
                            .cache_parameter_group_name("default.redis7")
                            .node_snapshots(
                                NodeSnapshot::builder().snapshot_create_time(EcTime::from_secs(snapshot_time.timestamp())).build(),
                            )
                            .build(),
                    )
                    .build()
            },
        );
        let snapshot_status = mock!(Ec::describe_snapshots).match_requests(|r| r.snapshot_name().is_some()).then_output(|| {
            DescribeSnapshotsOutput::builder().snapshots(Snapshot::builder().snapshot_status("available").build()).build()
        });
        let m = moto.clone();
        let export = mock!(Ec::copy_snapshot).match_requests(|r| r.target_bucket() == Some(EXPORT)).then_compute_output(move |r| {
            // What ElastiCache does: write the .rdb into the bucket.
            let key = format!("{}-0001.rdb", r.target_snapshot_name().unwrap());
            let (status, body) = m.raw("PUT", &format!("/{EXPORT}/{key}"), &[], "REDIS0011 fake rdb");
            assert_eq!(status, 200, "{body}");
            CopySnapshotOutput::builder().snapshot(Snapshot::builder().snapshot_status("exporting").build()).build()
        });
        let ec_east = mock_client!(
            aws_sdk_elasticache,
            RuleMode::MatchAny,
            [&src_group, &src_member, &list_snapshots, &snapshot_status, &export]
        );

        // Target region: the seeded group.
        let created: Arc<Mutex<Option<Created>>> = Arc::default();
        let deleted = Arc::new(AtomicBool::new(false));
        let c = created.clone();
        let create = mock!(Ec::create_replication_group).then_compute_output(move |r| {
            let tags = r.tags().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned())).collect();
            let id = r.replication_group_id().unwrap().to_owned();
            *c.lock().unwrap() = Some((id.clone(), r.snapshot_arns().to_vec(), r.snapshot_name().map(str::to_owned), tags));
            CreateReplicationGroupOutput::builder().replication_group(group(&id, WEST)).build()
        });
        let (c, d) = (created.clone(), deleted.clone());
        let describe = mock!(Ec::describe_replication_groups).then_compute_response(move |r| {
            let known = c.lock().unwrap().as_ref().map(|x| x.0.clone());
            if d.load(Ordering::SeqCst) || known.as_deref() != r.replication_group_id() {
                MockResponse::Error(DescribeReplicationGroupsError::ReplicationGroupNotFoundFault(
                    ReplicationGroupNotFoundFault::builder().message("not found").build(),
                ))
            } else {
                MockResponse::Output(
                    DescribeReplicationGroupsOutput::builder().replication_groups(group(r.replication_group_id().unwrap(), WEST)).build(),
                )
            }
        });
        let dst_member = mock!(Ec::describe_cache_clusters).then_compute_output(|r| {
            DescribeCacheClustersOutput::builder().cache_clusters(member(r.cache_cluster_id().unwrap())).build()
        });
        let c = created.clone();
        let tags = mock!(Ec::list_tags_for_resource).then_compute_output(move |_| {
            let tags = c.lock().unwrap().as_ref().unwrap().3.clone();
            let mut out = ListTagsForResourceOutput::builder();
            for (k, v) in tags {
                out = out.tag_list(EcTag::builder().key(k).value(v).build());
            }
            out.build()
        });
        let d = deleted.clone();
        let delete = mock!(Ec::delete_replication_group).then_compute_output(move |r| {
            d.store(true, Ordering::SeqCst);
            DeleteReplicationGroupOutput::builder().replication_group(group(r.replication_group_id().unwrap(), WEST)).build()
        });
        let ec_west = mock_client!(aws_sdk_elasticache, RuleMode::MatchAny, [&create, &describe, &dst_member, &tags, &delete]);

        let rds = |region: &'static str| {
            let endpoint = moto.endpoint();
            async move { aws_sdk_rds::Client::new(&sdk(&endpoint, region).await) }
        };
        let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, Some(WEST))
            .with_region(REGION, rds(REGION).await, ec_east, s3_east.clone())
            .with_region(WEST, rds(WEST).await, ec_west, s3_west.clone());
        let state = tempfile::tempdir().unwrap();
        let mut c = DrillConfig::new("staging", REGION, state.path());
        c.redis_replication_group = Some(REDIS.to_owned());
        c.target_region = Some(WEST.to_owned());
        c.redis_export_bucket = Some(EXPORT.to_owned());
        c.redis_import_bucket = Some(IMPORT.to_owned());
        c.poll_interval = Duration::from_millis(50);
        // Default policy: every check must really pass (the mocks report what AWS reports).
        assert_eq!(c.unverifiable, Unverifiable::Fail);

        // The dry run plans the export and the copy, and makes none of those calls.
        let plan = ohmc_drill::plan_drill(&clients, &c, &ohmc_drill::no_events).await.unwrap();
        assert_eq!(plan.status, DrillStatus::Planned, "{}", ohmc_drill::render::report_text(&plan));
        let actions: Vec<_> = plan.plan.iter().map(|a| (a.action.as_str(), a.region.as_str())).collect();
        for want in [("elasticache:CopySnapshot", REGION), ("s3:CopyObject", WEST), ("elasticache:CreateReplicationGroup", WEST)] {
            assert!(actions.contains(&want), "{want:?} not planned: {actions:?}");
        }
        assert_eq!((export.num_calls(), create.num_calls()), (0, 0));
        assert!(keys(&s3_east, EXPORT).await.is_empty() && keys(&s3_west, IMPORT).await.is_empty());

        let events = Events::default();
        let sink = events.sink();
        let r = ohmc_drill::run_drill(&clients, &c, &sink, std::future::pending()).await.unwrap();
        assert_eq!(r.status, DrillStatus::Met, "{}", ohmc_drill::render::report_text(&r));
        assert_eq!((export.num_calls(), create.num_calls()), (1, 1));
        assert!(r.validations.iter().all(|v| v.outcome == ValidationOutcome::Passed), "{:?}", r.validations);
        let rpo = r.rpo.measured_ms.unwrap();
        assert!((3_600_000..3_700_000).contains(&rpo), "RPO from NodeSnapshots: {rpo}");

        // Seeded from the copy in the target region, not from a snapshot name.
        let (id, arns, snapshot_name, tags) = created.lock().unwrap().clone().unwrap();
        assert_eq!(arns, [format!("arn:aws:s3:::{IMPORT}/{id}-0001.rdb")]);
        assert_eq!(snapshot_name, None);
        assert!(tags.contains(&("ohmc:drill-id".to_owned(), r.drill_id.clone())));
        let copied = r.recovery_points[0].copied_to.as_ref().unwrap();
        assert_eq!(copied.region, WEST);
        let kinds: Vec<_> = events.created().into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [ResourceKind::RedisExport, ResourceKind::S3Object, ResourceKind::RedisReplicationGroup]);

        // Everything removed: the group, the copied object, the export.
        let outcomes: Vec<_> = r.cleanup.iter().map(|c| (c.kind, c.outcome, c.region.as_str())).collect();
        assert_eq!(
            outcomes,
            [
                (ResourceKind::RedisReplicationGroup, CleanupOutcome::Deleted, WEST),
                (ResourceKind::S3Object, CleanupOutcome::Deleted, WEST),
                (ResourceKind::RedisExport, CleanupOutcome::Deleted, REGION),
            ]
        );
        assert!(keys(&s3_east, EXPORT).await.is_empty());
        assert!(keys(&s3_west, IMPORT).await.is_empty());
    }

    #[tokio::test]
    async fn without_the_export_buckets_a_cross_region_redis_drill_is_refused_before_anything_is_created() {
        let state = tempfile::tempdir().unwrap();
        let mut c = config(state.path());
        c.target_region = Some(WEST.to_owned());
        let clients = DrillClients::new(&sdk("http://127.0.0.1:9", REGION).await, Some(WEST));
        let err = ohmc_drill::run_drill(&clients, &c, &ohmc_drill::no_events, std::future::pending()).await.unwrap_err();
        assert!(err.to_string().contains("redis_export_bucket"), "{err}");
        assert!(!Ledger::dir(state.path()).exists());
    }
}

// ---- Through the binary: `ohmc-infra dr-drill` ---------------------------------------
//
// The same drills driven through the real `ohmc-infra` binary, with the drill
// block written into a fixture environment. The CLI uses the library's default
// policy (unverifiable checks fail), so against moto a drill that includes
// Redis ends `validation_failed` (moto reports no member clusters or
// snapshot times); the RDS-only block shows the met path.

mod cli {
    use super::*;
    use crate::harness::fixture::{Fixture, Run};

    fn drill_block(redis: bool, rpo: &str, validation: &str) -> String {
        format!(
            "\ndrill {{\n  rds_instances = [\"{PG}\"]\n  redis_replication_group = \"{}\"\n  rto_target = \"1h\"\n  rpo_target = \"{rpo}\"\n  timeout = \"2m\"\n  validation_command = \"{validation}\"\n}}\n",
            if redis { REDIS } else { "" }
        )
    }

    fn fixture(block: &str) -> Fixture {
        let f = Fixture::new("basic");
        let file = f.path("environments/dev/environment.hcl");
        let mut hcl = std::fs::read_to_string(&file).unwrap();
        hcl.push_str(block);
        std::fs::write(&file, hcl).unwrap();
        f
    }

    fn cmd(f: &Fixture, endpoint: &str, args: &[&str]) -> std::process::Command {
        let mut all = vec!["dr-drill"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--endpoint-url", endpoint]);
        let mut c = f.cmd(&all);
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        c
    }

    async fn run(f: &Fixture, endpoint: &str, args: &[&str]) -> Run {
        let mut c = cmd(f, endpoint, args);
        let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
        f.finish(args, out)
    }

    fn show(r: &Run) -> String {
        format!("exit {}\nstdout:\n{}\nstderr:\n{}", r.code, r.stdout, r.stderr)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dr_drill_exit_codes_reports_and_an_unchanged_account() {
        let moto = MotoServer::start();
        let account = Account::new(&moto.endpoint()).await;
        account.seed().await;
        let before = account.inventory().await;
        let endpoint = moto.endpoint();

        // RDS only: every check verifiable against moto: exit 0.
        let f = fixture(&drill_block(false, "24h", "test -n \\\"$DRILL_RDS_HOST\\\""));
        let r = run(&f, &endpoint, &["dev"]).await;
        assert_eq!(r.code, 0, "{}", show(&r));
        assert!(r.stdout.starts_with("drill drill-dev-") && r.stdout.contains("  MET  (dev)"), "{}", show(&r));
        assert!(r.stderr.contains("created RdsInstance drill-dev-"), "progress on stderr: {}", r.stderr);
        assert_eq!(account.inventory().await, before);

        // JSON for machines.
        let r = run(&f, &endpoint, &["dev", "--format", "json"]).await;
        assert_eq!(r.code, 0, "{}", show(&r));
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!((doc["status"].as_str(), doc["schema_version"].as_u64()), (Some("met"), Some(1)));
        assert!(doc["cleanup"].as_array().unwrap().iter().all(|c| c["outcome"] == "deleted"), "{doc}");

        // An RPO target the snapshot is older than: exit 3 naming the breach.
        let f = fixture(&drill_block(false, "1ms", ""));
        let r = run(&f, &endpoint, &["dev", "--format", "markdown"]).await;
        assert_eq!(r.code, 3, "{}", show(&r));
        assert!(r.stdout.contains("| RPO |") && r.stdout.contains("**breached**"), "{}", show(&r));
        assert!(r.stdout.contains("RPO target breached"), "{}", show(&r));

        // With Redis: moto cannot answer two Redis checks, which are never passes: exit 3.
        let f = fixture(&drill_block(true, "24h", ""));
        let r = run(&f, &endpoint, &["dev"]).await;
        assert_eq!(r.code, 3, "{}", show(&r));
        assert!(r.stdout.contains("VALIDATION FAILED") && r.stdout.contains("could not be verified"), "{}", show(&r));
        assert_eq!(account.inventory().await, before);
        assert!(std::fs::read_dir(f.state_dir.join("drills")).unwrap().count() >= 1, "ledgers kept as a record");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dr_drill_dry_run_makes_only_read_calls() {
        let moto = MotoServer::start();
        let proxy = FaultProxy::start(&moto.endpoint()).await;
        let account = Account::new(&moto.endpoint()).await;
        account.seed().await;
        let before = account.inventory().await;
        proxy.clear_calls();
        let f = fixture(&drill_block(true, "24h", "touch should-not-exist"));
        let r = run(&f, &proxy.endpoint(), &["dev", "--dry-run"]).await;
        assert_eq!(r.code, 0, "{}", show(&r));
        assert!(r.stdout.contains("DRY RUN") && r.stdout.contains("rds:RestoreDBInstanceFromDBSnapshot"), "{}", show(&r));
        let calls = proxy.calls();
        assert!(calls.iter().any(|c| c.service == "rds") && calls.iter().any(|c| c.service == "elasticache"));
        for c in &calls {
            assert!(
                c.action.starts_with("Describe") || c.action.starts_with("List") || c.action == "GetCallerIdentity",
                "dry run made {}:{}",
                c.service,
                c.action
            );
        }
        assert!(!f.state_dir.join("drills").exists());
        assert_eq!(account.inventory().await, before);
    }

    /// A drill process paused inside its validation command (the restores
    /// exist), for the signal tests. Returns the child and the probe's pid.
    async fn paused_drill(f: &Fixture, endpoint: &str) -> (std::process::Child, i32) {
        let mut child = cmd(f, endpoint, &["dev"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        let marker = f.root.join("probe.pid");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !marker.exists() || std::fs::read_to_string(&marker).unwrap().trim().is_empty() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the drill exited before the pause: {status}");
            }
            assert!(Instant::now() < deadline, "the drill never reached its validation command");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pid = std::fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
        (child, pid)
    }

    fn pause_block(f: &Fixture) -> String {
        let script = f.root.join("pause.sh");
        std::fs::write(&script, format!("echo $$ > {}.tmp && mv {0}.tmp {0}\nexec sleep 600\n", f.root.join("probe.pid").display()))
            .unwrap();
        drill_block(true, "24h", &format!("sh {}", script.display()))
    }

    fn gone(pid: i32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.is_empty() || stat.contains(") Z ")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dr_drill_killed_with_sigkill_then_dr_drill_cleanup_leaves_nothing() {
        let moto = MotoServer::start();
        let account = Account::new(&moto.endpoint()).await;
        account.seed().await;
        let before = account.inventory().await;
        let f = Fixture::new("basic");
        let block = pause_block(&f);
        let file = f.path("environments/dev/environment.hcl");
        std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + &block).unwrap();
        let endpoint = moto.endpoint();

        let (mut child, probe) = paused_drill(&f, &endpoint).await;
        assert_ne!(account.inventory().await, before, "the restores exist while the drill is paused");
        child.kill().unwrap(); // SIGKILL: no handler runs, no cleanup
        child.wait().unwrap();
        unsafe { libc::kill(probe, libc::SIGKILL) }; // the orphaned probe; the drill could not
        let left = account.inventory().await;
        assert!(left.iter().any(|r| r.starts_with("rds-instance drill-dev-")), "{left:?}");

        let r = run(&f, &endpoint, &["cleanup"]).await;
        assert_eq!(r.code, 0, "{}", show(&r));
        assert!(r.stdout.contains("cleanup of drill-dev-") && r.stdout.contains(": clean"), "{}", show(&r));
        assert_eq!(account.inventory().await, before);
        let again = run(&f, &endpoint, &["cleanup"]).await;
        assert_eq!(again.code, 0, "{}", show(&again));
        assert!(again.stdout.contains("no drill has resources left"), "{}", show(&again));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn dr_drill_interrupted_with_sigint_cleans_up_and_exits_130() {
        let moto = MotoServer::start();
        let account = Account::new(&moto.endpoint()).await;
        account.seed().await;
        let before = account.inventory().await;
        let f = Fixture::new("basic");
        let block = pause_block(&f);
        let file = f.path("environments/dev/environment.hcl");
        std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + &block).unwrap();

        let (child, probe) = paused_drill(&f, &moto.endpoint()).await;
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
        assert_eq!(out.status.code(), Some(130));
        std::thread::sleep(Duration::from_millis(200));
        assert!(gone(probe), "the validation command outlived the cancelled drill");
        assert_eq!(account.inventory().await, before);
        let ledgers: Vec<_> = std::fs::read_dir(f.state_dir.join("drills")).unwrap().collect();
        assert_eq!(ledgers.len(), 1);
        assert!(ohmc_drill::pending_drills(&f.state_dir).unwrap().is_empty());
    }
}
