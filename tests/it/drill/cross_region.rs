//! RDS drills across regions against moto.

use super::*;

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
    account
        .rds
        .create_db_snapshot()
        .db_instance_identifier(PG2)
        .db_snapshot_identifier("analytics-manual")
        .send()
        .await
        .unwrap();
    let west = Account {
        rds: aws_sdk_rds::Client::new(&sdk(&moto.endpoint(), "us-west-2").await),
        ec: account.ec.clone(),
    };
    let (before, before_west) = (account.inventory().await, west.inventory().await);
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.rds_instances.push(PG2.to_owned());
    c.redis_replication_group = None; // Redis across regions goes through S3: see mocks.rs
    c.target_region = Some("us-west-2".into());
    c.validation_command = Some(
        "test \"$(echo $DRILL_RDS_INSTANCES | wc -w)\" = 2 && test \"$DRILL_REGION\" = us-west-2"
            .into(),
    );
    let events = Events::default();
    let r = drill(&moto.endpoint(), &c, &events).await;
    assert_status(&r, DrillStatus::Met);
    // Each source restored from its own newest point (the manual one, not the automated one).
    let points: Vec<_> = r
        .recovery_points
        .iter()
        .map(|p| (p.source.as_str(), p.identifier.as_str()))
        .collect();
    assert_eq!(points, [(PG, "pg-manual-1"), (PG2, "analytics-manual")]);
    assert!(r.recovery_points.iter().all(|p| p
        .copied_to
        .as_ref()
        .is_some_and(|c| c.region == "us-west-2")));
    let kinds: Vec<_> = events.created().into_iter().map(|(k, _)| k).collect();
    use ResourceKind::{RdsInstance, RdsSnapshot};
    assert_eq!(kinds, [RdsSnapshot, RdsInstance, RdsSnapshot, RdsInstance]);
    assert_eq!(r.cleanup.len(), 4);
    assert!(
        r.cleanup
            .iter()
            .all(|c| c.region == "us-west-2" && c.outcome == CleanupOutcome::Deleted),
        "{:?}",
        r.cleanup
    );
    assert_eq!(account.inventory().await, before);
    assert_eq!(west.inventory().await, before_west);
}
