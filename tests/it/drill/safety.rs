//! What the drill must never do: touch resources it did not create, or
//! write anything in a dry run.

use super::*;

#[tokio::test]
async fn dry_run_makes_only_read_calls() {
    let (moto, account, before) = seeded().await;
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.dry_run = true;
    c.validation_command = Some("touch should-not-run".into());
    let r = drill(&proxy.endpoint(), &c, &Events::default()).await;

    assert_status(&r, DrillStatus::Planned);
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
    for a in [
        "rds:RestoreDBInstanceFromDBSnapshot",
        "elasticache:CreateReplicationGroup",
        "rds:DeleteDBInstance",
        "exec",
    ] {
        assert!(actions.contains(&a), "plan lacks {a}: {actions:?}");
    }
    assert!(
        r.rpo.measured_ms.is_some(),
        "a dry run still reports the RPO the recovery points would give"
    );
    assert!(r.cleanup.is_empty() && r.ledger_path.is_none());
    assert!(
        !Ledger::dir(state.path()).exists(),
        "a dry run writes no ledger"
    );
    assert_eq!(account.inventory().await, before);
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
        .tags(
            EcTag::builder()
                .key("ohmc:drill-id-not")
                .value(drill_id)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let state = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(
        state.path(),
        drill_id,
        "staging",
        REGION,
        None,
        chrono::Utc::now(),
    )
    .unwrap();
    for (kind, id) in [
        (ResourceKind::RdsInstance, untagged),
        (ResourceKind::RdsInstance, foreign),
        (ResourceKind::RdsInstance, ours),
        (ResourceKind::RedisReplicationGroup, untagged_redis),
    ] {
        let i = ledger.intend(kind, id, REGION).unwrap();
        ledger
            .set_state(i, ohmc_drill::ledger::EntryState::Created, None)
            .unwrap();
    }
    let r = run_cleanup(&moto.endpoint(), state.path(), drill_id).await;
    let outcomes: Vec<_> = r
        .results
        .iter()
        .map(|c| (c.identifier.as_str(), c.outcome))
        .collect();
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
        assert!(
            inv.contains(&format!("rds-instance {id}")),
            "{id} was touched: {inv:?}"
        );
    }
    assert!(inv.contains(&format!("redis-group {untagged_redis}")));
    assert!(!inv.contains(&format!("rds-instance {ours}")));
    for id in [PG, DECOY_PG] {
        assert!(inv.contains(&format!("rds-instance {id}")));
    }
    // A second run re-reads the tags, refuses the same three again and touches nothing else.
    let again = run_cleanup(&moto.endpoint(), state.path(), drill_id).await;
    assert_eq!(
        again
            .results
            .iter()
            .filter(|c| c.outcome == CleanupOutcome::Refused)
            .count(),
        3
    );
    assert_eq!(account.inventory().await, inv);
}
