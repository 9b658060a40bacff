// ---- Through the binary: `ohmc-infra dr-drill` ---------------------------------------
//
// The same drills driven through the real `ohmc-infra` binary, with the drill
// block written into a fixture environment. The CLI uses the library's default
// policy (unverifiable checks fail), so against moto a drill that includes
// Redis ends `validation_failed` (moto reports no member clusters or
// snapshot times); the RDS-only block shows the met path.

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
    add_block(&f, block);
    f
}

/// Append `block` to the fixture's `dev` environment.
fn add_block(f: &Fixture, block: &str) {
    let file = f.path("environments/dev/environment.hcl");
    let mut hcl = std::fs::read_to_string(&file).unwrap();
    hcl.push_str(block);
    std::fs::write(&file, hcl).unwrap();
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
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    f.finish(args, out)
}

fn show(r: &Run) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        r.code, r.stdout, r.stderr
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn dr_drill_exit_codes_reports_and_an_unchanged_account() {
    let (moto, account, before) = seeded().await;
    let endpoint = moto.endpoint();

    // RDS only: every check verifiable against moto: exit 0.
    let f = fixture(&drill_block(
        false,
        "24h",
        "test -n \\\"$DRILL_RDS_HOST\\\"",
    ));
    let r = run(&f, &endpoint, &["dev"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    assert!(
        r.stdout.starts_with("drill drill-dev-") && r.stdout.contains("  MET  (dev)"),
        "{}",
        show(&r)
    );
    assert!(
        r.stderr.contains("created rds instance drill-dev-"),
        "progress on stderr: {}",
        r.stderr
    );
    // Progress in words, never a Rust Debug form (`CleanupResult { kind: ... }`,
    // `drill finished: Met`).
    assert!(r.stderr.contains("drill finished: met\n"), "{}", r.stderr);
    assert!(
        r.stderr.contains("cleanup: rds instance drill-dev-"),
        "{}",
        r.stderr
    );
    for debug in ["{", "Some(", "CleanupResult", "RdsInstance", "Deleted"] {
        assert!(!r.stderr.contains(debug), "{debug} in:\n{}", r.stderr);
    }
    assert_eq!(account.inventory().await, before);

    // JSON for machines.
    let r = run(&f, &endpoint, &["dev", "--format", "json"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (doc["status"].as_str(), doc["schema_version"].as_u64()),
        (Some("met"), Some(1))
    );
    assert!(
        doc["cleanup"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "deleted"),
        "{doc}"
    );

    // An RPO target the snapshot is older than: exit 3 naming the breach.
    let f = fixture(&drill_block(false, "1ms", ""));
    let r = run(&f, &endpoint, &["dev", "--format", "markdown"]).await;
    assert_eq!(r.code, 3, "{}", show(&r));
    assert!(
        r.stdout.contains("| RPO |") && r.stdout.contains("**breached**"),
        "{}",
        show(&r)
    );
    assert!(r.stdout.contains("RPO target breached"), "{}", show(&r));

    // With Redis: moto cannot answer two Redis checks, which are never passes: exit 3.
    let f = fixture(&drill_block(true, "24h", ""));
    let r = run(&f, &endpoint, &["dev"]).await;
    assert_eq!(r.code, 3, "{}", show(&r));
    assert!(
        r.stdout.contains("VALIDATION FAILED") && r.stdout.contains("could not be verified"),
        "{}",
        show(&r)
    );
    assert_eq!(account.inventory().await, before);
    assert!(
        std::fs::read_dir(f.state_dir.join("drills"))
            .unwrap()
            .count()
            >= 1,
        "ledgers kept as a record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dr_drill_dry_run_makes_only_read_calls() {
    let (moto, account, before) = seeded().await;
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let f = fixture(&drill_block(true, "24h", "touch should-not-exist"));
    let r = run(&f, &proxy.endpoint(), &["dev", "--dry-run"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    assert!(
        r.stdout.contains("DRY RUN") && r.stdout.contains("rds:RestoreDBInstanceFromDBSnapshot"),
        "{}",
        show(&r)
    );
    let calls = proxy.calls();
    assert!(
        calls.iter().any(|c| c.service == "rds")
            && calls.iter().any(|c| c.service == "elasticache")
    );
    for c in &calls {
        assert!(
            c.action.starts_with("Describe")
                || c.action.starts_with("List")
                || c.action == "GetCallerIdentity",
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
    let mut child = cmd(f, endpoint, &["dev"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marker = f.root.join("probe.pid");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() || std::fs::read_to_string(&marker).unwrap().trim().is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the drill exited before the pause: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the drill never reached its validation command"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = std::fs::read_to_string(&marker)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (child, pid)
}

/// A fixture whose drill pauses in its validation command (see `paused_drill`).
fn pause_fixture() -> Fixture {
    let f = Fixture::new("basic");
    add_block(&f, &pause_block(&f));
    f
}

fn pause_block(f: &Fixture) -> String {
    let script = f.root.join("pause.sh");
    std::fs::write(
        &script,
        format!(
            "echo $$ > {}.tmp && mv {0}.tmp {0}\nexec sleep 600\n",
            f.root.join("probe.pid").display()
        ),
    )
    .unwrap();
    drill_block(true, "24h", &format!("sh {}", script.display()))
}

fn gone(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty() || stat.contains(") Z ")
}

#[tokio::test(flavor = "multi_thread")]
async fn dr_drill_killed_with_sigkill_then_dr_drill_cleanup_leaves_nothing() {
    let (moto, account, before) = seeded().await;
    let f = pause_fixture();
    let endpoint = moto.endpoint();

    let (mut child, probe) = paused_drill(&f, &endpoint).await;
    assert_ne!(
        account.inventory().await,
        before,
        "the restores exist while the drill is paused"
    );
    child.kill().unwrap(); // SIGKILL: no handler runs, no cleanup
    child.wait().unwrap();
    unsafe { libc::kill(probe, libc::SIGKILL) }; // the orphaned probe; the drill could not
    let left = account.inventory().await;
    assert!(
        left.iter()
            .any(|r| r.starts_with("rds-instance drill-dev-")),
        "{left:?}"
    );

    let r = run(&f, &endpoint, &["cleanup"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    assert!(
        r.stdout.contains("cleanup of drill-dev-") && r.stdout.contains(": clean"),
        "{}",
        show(&r)
    );
    assert_eq!(account.inventory().await, before);
    let again = run(&f, &endpoint, &["cleanup"]).await;
    assert_eq!(again.code, 0, "{}", show(&again));
    assert!(
        again.stdout.contains("no drill has resources left"),
        "{}",
        show(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dr_drill_interrupted_with_sigint_cleans_up_and_exits_130() {
    let (moto, account, before) = seeded().await;
    let f = pause_fixture();

    let (child, probe) = paused_drill(&f, &moto.endpoint()).await;
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(130));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        gone(probe),
        "the validation command outlived the cancelled drill"
    );
    assert_eq!(account.inventory().await, before);
    let ledgers: Vec<_> = std::fs::read_dir(f.state_dir.join("drills"))
        .unwrap()
        .collect();
    assert_eq!(ledgers.len(), 1);
    assert!(ohmc_drill::pending_drills(&f.state_dir).unwrap().is_empty());
}

/// `dr-drill cleanup` without an id leaves a drill kept with `--keep-for` alone until its
/// time is up; its id or `--include-kept` cleans it up now.
#[tokio::test(flavor = "multi_thread")]
async fn dr_drill_cleanup_skips_unexpired_kept_drills() {
    let (moto, account, before) = seeded().await;
    let endpoint = moto.endpoint();
    let f = fixture(&drill_block(false, "24h", ""));
    let r = run(&f, &endpoint, &["dev", "--keep-for", "1h"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    let kept = account.inventory().await;
    assert!(
        kept.iter()
            .any(|r| r.starts_with("rds-instance drill-dev-")),
        "{kept:?}"
    );

    let r = run(&f, &endpoint, &["cleanup"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    assert!(
        r.stderr.contains("skipped drill drill-dev-") && r.stderr.contains("kept until"),
        "{}",
        show(&r)
    );
    assert!(
        r.stdout.contains("no drill is due for cleanup"),
        "{}",
        show(&r)
    );
    assert_eq!(
        account.inventory().await,
        kept,
        "a kept drill was deleted early"
    );

    let r = run(&f, &endpoint, &["cleanup", "--include-kept"]).await;
    assert_eq!(r.code, 0, "{}", show(&r));
    assert!(r.stdout.contains("cleanup of drill-dev-"), "{}", show(&r));
    assert_eq!(account.inventory().await, before);
}
