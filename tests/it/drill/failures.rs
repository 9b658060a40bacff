//! Injected restore/delete failures, cancellation, SIGKILL mid-drill and
//! the cleanup that follows.

use super::*;

#[tokio::test]
async fn a_failed_restore_still_cleans_up_what_was_created_before_it() {
    let (moto, account, before) = seeded().await;
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    proxy.add_rule(FaultRule::action(
        "CreateReplicationGroup",
        Fault::ServerError,
    ));
    let state = tempfile::tempdir().unwrap();
    let events = Events::default();
    let r = drill(&proxy.endpoint(), &config(state.path()), &events).await;

    assert_status(&r, DrillStatus::Error);
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.reasons[0].contains("CreateReplicationGroup"),
        "{:?}",
        r.reasons
    );
    assert!(proxy.injected() >= 1);
    // The RDS restore happened before the failure and was cleaned up; the
    // Redis entry was in the ledger (written before the call) and is found absent.
    assert_eq!(
        events.created(),
        [(ResourceKind::RdsInstance, format!("{}-{PG}", r.drill_id))]
    );
    let outcomes: Vec<_> = r.cleanup.iter().map(|c| (c.kind, c.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (
                ResourceKind::RedisReplicationGroup,
                CleanupOutcome::NotFound
            ),
            (ResourceKind::RdsInstance, CleanupOutcome::Deleted)
        ]
    );
    let deletes: Vec<_> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.action.starts_with("Delete"))
        .map(|c| c.action)
        .collect();
    assert_eq!(deletes, ["DeleteDBInstance"]);
    assert_eq!(account.inventory().await, before);
}

#[tokio::test]
async fn a_failed_delete_is_reported_and_a_later_cleanup_finishes_the_job() {
    let (moto, account, before) = seeded().await;
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    proxy.add_rule(FaultRule::action("DeleteDBInstance", Fault::ServerError));
    let state = tempfile::tempdir().unwrap();
    let r = drill(&proxy.endpoint(), &config(state.path()), &Events::default()).await;
    // The targets were met, but a resource is left behind: that is an error.
    assert_status(&r, DrillStatus::Error);
    assert_eq!(r.exit_code(), 1);
    let failed: Vec<_> = r
        .cleanup
        .iter()
        .filter(|c| c.outcome == CleanupOutcome::Failed)
        .map(|c| c.kind)
        .collect();
    assert_eq!(failed, [ResourceKind::RdsInstance]);
    assert!(
        r.reasons.iter().any(|w| w.contains("DeleteDBInstance")),
        "{:?}",
        r.reasons
    );
    assert_eq!(ohmc_drill::pending_drills(state.path()).unwrap().len(), 1);

    proxy.clear_rules();
    let done = run_cleanup(&proxy.endpoint(), state.path(), &r.drill_id).await;
    assert_cleanup_report_clean(&done);
    assert_eq!(account.inventory().await, before);
    assert!(ohmc_drill::pending_drills(state.path()).unwrap().is_empty());
}

#[tokio::test]
async fn cancellation_mid_drill_cleans_up() {
    let (moto, account, before) = seeded().await;
    let state = tempfile::tempdir().unwrap();
    let c = config(state.path());
    let clients = DrillClients::new(&sdk(&moto.endpoint(), REGION).await, None);
    // Cancel (as Ctrl-C would) as soon as the RDS restore exists.
    let notify = Arc::new(tokio::sync::Notify::new());
    let n = notify.clone();
    let sink = move |e: &DrillEvent| {
        if matches!(
            e,
            DrillEvent::ResourceCreated {
                kind: ResourceKind::RdsInstance,
                ..
            }
        ) {
            n.notify_one();
        }
    };
    let r = ohmc_drill::run_drill(&clients, &c, &sink, notify.notified())
        .await
        .unwrap();
    assert_status(&r, DrillStatus::Cancelled);
    assert!(
        r.steps
            .iter()
            .any(|s| s.outcome == ohmc_drill::report::StepOutcome::Cancelled),
        "{:?}",
        r.steps
    );
    assert_cleanup_clean(&r);
    assert!(r
        .cleanup
        .iter()
        .any(|c| c.kind == ResourceKind::RdsInstance && c.outcome == CleanupOutcome::Deleted));
    assert_eq!(account.inventory().await, before);
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
    let (Some(endpoint), Some(state)) = (
        std::env::var_os(CHILD_ENDPOINT),
        std::env::var_os(CHILD_STATE),
    ) else {
        return;
    };
    let state = PathBuf::from(state);
    let endpoint = endpoint.to_string_lossy().into_owned();
    let c = config(&state);
    let marker = state.join("child-paused");
    let sink = move |e: &DrillEvent| {
        if let DrillEvent::Started { drill_id, .. } = e {
            std::fs::write(state.join("child-drill-id"), drill_id).unwrap();
        }
        if matches!(
            e,
            DrillEvent::ResourceCreated {
                kind: ResourceKind::RedisReplicationGroup,
                ..
            }
        ) {
            std::fs::write(&marker, "paused").unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    };
    let clients = DrillClients::new(&sdk(&endpoint, REGION).await, None);
    let _ = ohmc_drill::run_drill(&clients, &c, &sink, std::future::pending()).await;
    panic!("the child drill was meant to be killed while paused");
}

#[tokio::test]
async fn sigkill_mid_drill_then_cleanup_leaves_no_drill_resources() {
    let (moto, account, before) = seeded().await;
    let state = tempfile::tempdir().unwrap();
    let log_path = state.path().join("child.log");
    let log = std::fs::File::create(&log_path).unwrap();
    // /proc/self/exe, not current_exe(): it still runs this binary when a
    // concurrent `cargo test` has replaced the file on disk.
    let exe = if Path::new("/proc/self/exe").exists() {
        PathBuf::from("/proc/self/exe")
    } else {
        std::env::current_exe().unwrap()
    };
    let mut child = std::process::Command::new(exe)
        .args([
            "drill::failures::drill_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
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
        assert!(
            Instant::now() < deadline,
            "the child drill never reached the pause point\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );

    let drill_id = std::fs::read_to_string(state.path().join("child-drill-id")).unwrap();
    let left = account.drill_resources(&drill_id).await;
    assert!(
        left.contains(&format!("rds-instance {drill_id}-{PG}")),
        "{left:?}"
    );
    assert!(
        left.iter().any(|r| r.starts_with("redis-group ")),
        "both restores exist after the kill: {left:?}"
    );
    assert_eq!(ohmc_drill::pending_drills(state.path()).unwrap().len(), 1);

    let r = run_cleanup(&moto.endpoint(), state.path(), &drill_id).await;
    assert_cleanup_report_clean(&r);
    assert_eq!(r.results.len(), 2);
    assert!(account.drill_resources(&drill_id).await.is_empty());
    assert_eq!(account.inventory().await, before);
    assert!(ohmc_drill::pending_drills(state.path()).unwrap().is_empty());
}
