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

use aws_sdk_elasticache::types::Tag as EcTag;
use aws_sdk_rds::types::Tag as RdsTag;
use ohmc_drill::report::{CleanupOutcome, ValidationOutcome};
use ohmc_drill::{
    CleanupReport, DrillClients, DrillConfig, DrillEvent, DrillReport, DrillStatus, Ledger,
    ResourceKind, Unverifiable,
};

use crate::harness::moto::MotoServer;
use crate::harness::proxy::{Fault, FaultProxy, FaultRule};
use crate::harness::seed::sdk;

mod cli;
mod cross_region;
mod failures;
mod lifecycle;
mod mocks;
mod safety;

const REGION: &str = "us-east-1";
const PG: &str = "ohmc-staging-postgres";
const REDIS: &str = "ohmc-staging-redis";
/// Not drill resources, with names a careless cleanup might match.
const DECOY_PG: &str = "drill-staging-postgres-decoy";
const DECOY_REDIS: &str = "drill-staging-redis";

struct Account {
    rds: aws_sdk_rds::Client,
    ec: aws_sdk_elasticache::Client,
}

impl Account {
    async fn new(endpoint: &str) -> Self {
        let c = sdk(endpoint, REGION).await;
        Account {
            rds: aws_sdk_rds::Client::new(&c),
            ec: aws_sdk_elasticache::Client::new(&c),
        }
    }

    /// The staging data stores with one snapshot each, plus decoys.
    async fn seed(&self) {
        for (id, tags) in [
            (PG, vec![]),
            (DECOY_PG, vec![rds_tag("Name", "drill-staging-postgres")]),
        ] {
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
        self.rds
            .create_db_snapshot()
            .db_instance_identifier(PG)
            .db_snapshot_identifier("pg-manual-1")
            .send()
            .await
            .unwrap();
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
        self.ec
            .create_snapshot()
            .replication_group_id(REDIS)
            .snapshot_name("redis-manual-1")
            .send()
            .await
            .unwrap();
    }

    /// Everything that exists, by kind: ids (and tag sets) sorted. Resources
    /// being deleted are left out (see the module comment).
    async fn inventory(&self) -> Vec<String> {
        let mut out = Vec::new();
        for i in self
            .rds
            .describe_db_instances()
            .send()
            .await
            .unwrap()
            .db_instances()
        {
            if i.db_instance_status() != Some("deleting") {
                out.push(format!(
                    "rds-instance {}",
                    i.db_instance_identifier().unwrap()
                ));
            }
        }
        for s in self
            .rds
            .describe_db_snapshots()
            .send()
            .await
            .unwrap()
            .db_snapshots()
        {
            out.push(format!(
                "rds-snapshot {}",
                s.db_snapshot_identifier().unwrap()
            ));
        }
        for g in self
            .ec
            .describe_replication_groups()
            .send()
            .await
            .unwrap()
            .replication_groups()
        {
            if g.status() != Some("deleting") {
                out.push(format!("redis-group {}", g.replication_group_id().unwrap()));
            }
        }
        for s in self
            .ec
            .describe_snapshots()
            .send()
            .await
            .unwrap()
            .snapshots()
        {
            out.push(format!("redis-snapshot {}", s.snapshot_name().unwrap()));
        }
        out.sort();
        out
    }

    /// Resources (in any state but deleting) whose name or tags mention `drill_id`.
    async fn drill_resources(&self, drill_id: &str) -> Vec<String> {
        self.inventory()
            .await
            .into_iter()
            .filter(|r| r.contains(drill_id) || r.contains(&compact(drill_id)))
            .collect()
    }
}

/// A moto server with the staging data stores seeded ([`Account::seed`]),
/// the account, and its inventory before any drill.
async fn seeded() -> (MotoServer, Account, Vec<String>) {
    let moto = MotoServer::start();
    let account = Account::new(&moto.endpoint()).await;
    account.seed().await;
    let before = account.inventory().await;
    (moto, account, before)
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
                DrillEvent::ResourceCreated {
                    kind, identifier, ..
                } => Some((*kind, identifier.clone())),
                _ => None,
            })
            .collect()
    }
}

async fn drill(endpoint: &str, config: &DrillConfig, events: &Events) -> DrillReport {
    let clients = DrillClients::new(
        &sdk(endpoint, REGION).await,
        config.target_region.as_deref(),
    );
    let sink = events.sink();
    ohmc_drill::run_drill(&clients, config, &sink, std::future::pending())
        .await
        .expect("drill report")
}

/// `cleanup(drill_id)` from the ledger under `state`, with fresh clients.
async fn run_cleanup(endpoint: &str, state: &Path, drill_id: &str) -> CleanupReport {
    let clients = DrillClients::new(&sdk(endpoint, REGION).await, None);
    ohmc_drill::cleanup(&clients, state, drill_id, &ohmc_drill::no_events)
        .await
        .unwrap()
}

/// The drill ended with `want`; the whole report as text when not.
#[track_caller]
fn assert_status(r: &DrillReport, want: DrillStatus) {
    assert_eq!(r.status, want, "{}", ohmc_drill::render::report_text(r));
}

/// A later `cleanup` left nothing; the whole cleanup report as text when not.
#[track_caller]
fn assert_cleanup_report_clean(r: &CleanupReport) {
    assert!(r.is_clean(), "{}", ohmc_drill::render::cleanup_text(r));
}

fn assert_cleanup_clean(r: &DrillReport) {
    assert!(!r.cleanup.is_empty(), "no cleanup results");
    for c in &r.cleanup {
        assert!(
            c.outcome.is_clean(),
            "cleanup of {} {}: {:?} {:?}",
            c.kind,
            c.identifier,
            c.outcome,
            c.detail
        );
    }
}
