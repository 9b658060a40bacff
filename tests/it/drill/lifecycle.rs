//! The drill end to end: restore, validate, measure, clean up; RPO breach,
//! validation command, timeout, keep-for.

use super::*;

#[tokio::test]
async fn full_drill_restores_validates_measures_and_leaves_the_account_as_it_was() {
    let (moto, account, before) = seeded().await;
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

    assert_status(&r, DrillStatus::Met);
    assert_eq!(r.exit_code(), 0);
    assert!(
        r.rto.measured_ms.is_some() && r.rto.met == Some(true),
        "{:?}",
        r.rto
    );
    assert!(
        r.rpo.measured_ms.is_some() && r.rpo.met == Some(true),
        "{:?}",
        r.rpo
    );
    assert!(r.rpo.detail.contains("pg-manual-1"), "{:?}", r.rpo);
    assert!(r.rto.measured_ms.unwrap() <= t0.elapsed().as_millis() as u64);
    let points: Vec<_> = r
        .recovery_points
        .iter()
        .map(|p| (p.source.as_str(), p.identifier.as_str()))
        .collect();
    assert_eq!(points, [(PG, "pg-manual-1"), (REDIS, "redis-manual-1")]);

    // Both data stores were restored, into tagged resources named after the drill.
    let created = events.created();
    assert_eq!(created.len(), 2, "{created:?}");
    assert_eq!(
        created[0],
        (ResourceKind::RdsInstance, format!("{}-{PG}", r.drill_id))
    );
    assert_eq!(created[1].0, ResourceKind::RedisReplicationGroup);
    assert!(
        created[1].1.len() <= 40 && created[1].1.ends_with(REDIS),
        "{created:?}"
    );

    // Validations: everything moto can answer passed; only its gaps are unverified.
    for v in &r.validations {
        let moto_gap = v.resource == created[1].1
            && (v.check == "engine_version" || v.check == "parameter_group");
        let want = if moto_gap {
            ValidationOutcome::Unverified
        } else {
            ValidationOutcome::Passed
        };
        assert_eq!(v.outcome, want, "{v:?}");
    }
    let checks: Vec<_> = r.validations.iter().map(|v| v.check.as_str()).collect();
    for c in [
        "available",
        "encrypted",
        "engine_version",
        "parameter_group",
        "encrypted_at_rest",
        "validation_command",
    ] {
        assert!(checks.contains(&c), "missing check {c}: {checks:?}");
    }
    // moto inherits DeletionProtection=true from the snapshot: the drill turned it off explicitly.
    assert!(
        r.steps
            .iter()
            .any(|s| s.name == "disable_deletion_protection"),
        "{:?}",
        r.steps
    );

    // The validation command saw the restored endpoints.
    let env = std::fs::read_to_string(&out).unwrap();
    assert!(env.contains(&format!("DRILL_ID={}", r.drill_id)), "{env}");
    assert!(
        env.contains(&format!("DRILL_RDS_INSTANCE={}-{PG}", r.drill_id)),
        "{env}"
    );
    assert!(
        env.contains("DRILL_RDS_PORT=5432") && env.contains("DRILL_REDIS_TLS=true"),
        "{env}"
    );

    // Cleanup: everything gone, the account as before, decoys untouched.
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
    assert!(account.drill_resources(&r.drill_id).await.is_empty());
    let ledger = Ledger::open(state.path(), &r.drill_id).unwrap();
    assert!(!ledger.has_pending(), "{:?}", ledger.entries());

    // Renderers carry the essentials.
    let json: serde_json::Value =
        serde_json::from_str(&ohmc_drill::render::report_json(&r)).unwrap();
    assert_eq!(json["status"], "met");
    assert_eq!(json["schema_version"], 1);
    assert!(json["rto"]["measured_ms"].is_u64() && json["rpo"]["target_ms"] == 86_400_000u64);
    let md = ohmc_drill::render::report_markdown(&r);
    assert!(
        md.contains("| RTO |") && md.contains("| RPO |") && md.contains("pg-manual-1"),
        "{md}"
    );
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
    let (moto, account, before) = seeded().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.unverifiable = Unverifiable::Fail; // the default
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_status(&r, DrillStatus::ValidationFailed);
    assert_eq!(r.exit_code(), 3);
    let why = r.reasons.join("\n");
    assert!(
        why.contains("engine_version") && why.contains("could not be verified"),
        "{why}"
    );
    assert!(
        why.contains("RPO could not be measured") && why.contains("redis-manual-1"),
        "{why}"
    );
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_snapshot_older_than_the_rpo_target_breaches_and_says_so() {
    let (moto, account, before) = seeded().await;
    // moto's snapshot is from "now": make it older than a 1 ms RPO target.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.rpo_target = Duration::from_millis(1);
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_status(&r, DrillStatus::Breached);
    assert_eq!(r.exit_code(), 3);
    assert_eq!(r.rpo.met, Some(false));
    assert_eq!(r.rto.met, Some(true));
    assert!(r.rpo.measured_ms.unwrap() >= 20, "{:?}", r.rpo);
    let why = r.reasons.join("\n");
    assert!(
        why.contains("RPO target breached")
            && why.contains("pg-manual-1")
            && why.contains("target 1ms"),
        "{why}"
    );
    assert!(ohmc_drill::render::report_markdown(&r).contains("**breached**"));
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_failing_validation_command_fails_the_drill_with_its_output() {
    let (moto, account, before) = seeded().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.validation_command =
        Some("echo \"psql: connection to $DRILL_RDS_HOST refused\" >&2; exit 2".into());
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_status(&r, DrillStatus::ValidationFailed);
    assert_eq!(r.exit_code(), 3);
    let v = r
        .validations
        .iter()
        .find(|v| v.check == "validation_command")
        .unwrap();
    assert_eq!(v.actual.as_deref(), Some("exit 2"));
    assert!(
        v.detail
            .as_deref()
            .unwrap()
            .contains(&format!("connection to {}-{PG}.", r.drill_id)),
        "{v:?}"
    );
    assert!(
        r.reasons
            .iter()
            .any(|w| w.contains("validation validation_command")),
        "{:?}",
        r.reasons
    );
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn the_drill_timeout_breaches_the_rto_kills_the_probe_and_cleans_up() {
    let (moto, account, before) = seeded().await;
    let state = tempfile::tempdir().unwrap();
    let pid_file = state.path().join("probe.pid");
    let mut c = config(state.path());
    c.timeout = Duration::from_secs(3);
    c.validation_command = Some(format!("echo $$ > {}; exec sleep 60", pid_file.display()));
    let t0 = Instant::now();
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "the timeout did not stop the drill"
    );
    assert_status(&r, DrillStatus::Breached);
    assert_eq!(r.exit_code(), 3);
    assert!(
        r.reasons[0].contains("timed out after 3s")
            && r.reasons[0].contains("RTO target 1h breached"),
        "{:?}",
        r.reasons
    );
    let last = r.steps.last().unwrap();
    assert_eq!(
        (last.name.as_str(), last.outcome),
        (
            "validation_command",
            ohmc_drill::report::StepOutcome::Failed
        )
    );
    // The probe was killed with the drill, not left running.
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let alive = unsafe { libc::kill(pid, 0) } == 0
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "the validation command outlived the drill");
    assert_cleanup_clean(&r);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn keep_for_keeps_the_restore_until_cleanup() {
    let (moto, account, before) = seeded().await;
    let state = tempfile::tempdir().unwrap();
    let mut c = config(state.path());
    c.keep_for = Some(Duration::from_secs(3600));
    let r = drill(&moto.endpoint(), &c, &Events::default()).await;
    assert_eq!(r.status, DrillStatus::Met);
    assert!(r.keep_until.is_some() && r.cleanup.iter().all(|c| c.outcome == CleanupOutcome::Kept));
    let kept = account.drill_resources(&r.drill_id).await;
    assert!(
        kept.contains(&format!("rds-instance {}-{PG}", r.drill_id)),
        "{kept:?}"
    );
    assert!(
        kept.iter().any(|k| k.starts_with("redis-group ")),
        "{kept:?}"
    );
    let pending = ohmc_drill::pending_drills(state.path()).unwrap();
    assert_eq!(
        pending.iter().map(|l| l.drill_id()).collect::<Vec<_>>(),
        [r.drill_id.as_str()]
    );

    let done = run_cleanup(&moto.endpoint(), state.path(), &r.drill_id).await;
    assert_cleanup_report_clean(&done);
    assert_eq!(account.inventory().await, before);
    assert!(ohmc_drill::pending_drills(state.path()).unwrap().is_empty());
}
