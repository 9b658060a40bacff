//! The real remote state path: Terraform's own S3 backend on moto, locked in
//! DynamoDB by 1.0.3 and by an S3 lock file (`use_lockfile`) by 1.15.5, and
//! the survival of a SIGKILLed ohmc-infra on the local and the S3 backend.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::harness::fixture::{Fixture, Tf};
use crate::harness::on_every_terraform;
use crate::harness::s3_backend::{aws_env, bucket_keys, held_locks, plant_lock};

on_every_terraform!(
    s3_state_is_planned_applied_read_and_drift_checked,
    s3_lock_names_its_holder_to_a_concurrent_apply,
    s3_interrupt_releases_the_lock_and_says_so,
    s3_state_serial_makes_an_old_bundle_stale,
    backend_config_with_static_keys_is_refused,
    s3_plan_and_apply_start_no_terraform_beyond_their_own,
    a_lock_left_by_a_crashed_run_is_released_by_the_command_the_tool_names,
    sigkill_mid_apply_on_the_local_backend,
    sigkill_mid_apply_on_s3,
);

const CHANGED: &str = r#"region      = "us-east-1"
db_password = "CANARY-var-7f3a9c"
things = {
  a = { name = "a", value = "2" }
  b = { name = "b", value = "1" }
  c = { name = "c", value = "1" }
}
"#;

/// A fixture whose next apply creates three slow links in sequence.
fn slow_chain(f: &Fixture, delay_ms: u64) {
    f.write(
        "environments/dev/app.tfvars",
        &format!("{CHANGED}chain_delay_ms = {delay_ms}\n"),
    );
}

/// Starts `apply dev` and returns once `marker` appeared on its stderr; the
/// rest of stderr is drained in the background (into the returned handle).
fn apply_until(
    f: &Fixture,
    extra: &[&str],
    marker: &str,
) -> (Child, std::thread::JoinHandle<String>) {
    let mut args = vec!["apply", "dev"];
    args.extend_from_slice(extra);
    let mut child = f
        .cmd(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            let rest = std::thread::spawn(move || {
                let mut rest = seen;
                for line in lines.map_while(Result::ok) {
                    rest.push_str(&line);
                    rest.push('\n');
                }
                rest
            });
            return (child, rest);
        }
    }
    panic!("`{marker}` never appeared:\n{seen}");
}

fn s3_state_is_planned_applied_read_and_drift_checked(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    assert!(
        bucket_keys(f.moto()).contains(&"dev/dev.tfstate".to_string()),
        "{:?}",
        bucket_keys(f.moto())
    );
    assert!(
        !f.path("stacks/app/dev.tfstate").exists(),
        "state must live in S3, not beside the stack"
    );
    assert_eq!(held_locks(f.moto(), tf), Vec::<String>::new());
    let out = f.run_ok(&["output", "dev"], 0);
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{}", out.stdout))
            .to_string()
    };
    assert!(
        line("region").ends_with("= \"us-east-1\""),
        "{}",
        out.stdout
    );
    assert!(
        line("db_password").ends_with("= \"(sensitive)\""),
        "{}",
        out.stdout
    );
    f.run_ok(&["plan", "dev"], 0);
    f.run_ok(&["drift", "dev"], 0);
    f.change_thing_by_hand("a-");
    let run = f.run_ok(&["drift", "dev"], 2);
    assert_eq!(
        run.stdout,
        "Stack app: 1 drifted resource(s)\n  update   ohmctest_thing.this[\"a\"]\n"
    );
}

fn s3_lock_names_its_holder_to_a_concurrent_apply(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    slow_chain(&f, 4000);
    let first = Fixture::bundle_of(&f.run_ok(&["plan", "dev"], 2));
    let second = Fixture::bundle_of(&f.run_ok(&["plan", "dev"], 2));
    let (mut slow, rest) = apply_until(&f, &["--plan", &first], "link1[0]: create started");
    let locked = f.run_ok(
        &["apply", "dev", "--plan", &second, "--lock-timeout", "1s"],
        1,
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let who = format!(
        "{}@{}",
        std::env::var("USER").unwrap_or_else(|_| "root".into()),
        host.trim()
    );
    assert!(
        locked
            .both()
            .contains(&format!("the state is locked by {who} (lock ID ")),
        "{}",
        locked.both()
    );
    assert!(
        locked.both().contains("operation OperationTypeApply"),
        "{}",
        locked.both()
    );
    let status = slow.wait().unwrap();
    let rest = rest.join().unwrap();
    assert!(status.success(), "{rest}");
    assert_eq!(held_locks(f.moto(), tf), Vec::<String>::new());
}

fn s3_interrupt_releases_the_lock_and_says_so(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    slow_chain(&f, 2500);
    f.run_ok(&["plan", "dev"], 2);
    let mut child = f
        .cmd(&["apply", "dev"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(out).unwrap());
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("link2[0]: create started") {
            // SIGINT to ohmc-infra alone, as a CI runner's cancel sends it.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            break;
        }
    }
    for _ in lines {}
    let status = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("Stack app: INTERRUPTED"), "{stdout}");
    assert!(stdout.contains("state lock released"), "{stdout}");
    assert!(!stdout.contains("lock status unknown"), "{stdout}");
    assert_eq!(held_locks(f.moto(), tf), Vec::<String>::new());
}

fn s3_state_serial_makes_an_old_bundle_stale(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    let first = Fixture::bundle_of(&f.run_ok(&["plan", "dev"], 2));
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    let run = f.run_ok(&["apply", "dev", "--plan", &first], 1);
    assert!(
        run.stderr.contains(
            "error: the plan bundle is stale: stack app: the state moved from serial 0 to "
        ),
        "{}",
        run.stderr
    );
}

/// The overhead budget (5 % or 50 ms) leaves no room for a second Terraform
/// process per command: on S3 the state's lineage and serial are read from
/// the state object, not through `terraform state pull`.
fn s3_plan_and_apply_start_no_terraform_beyond_their_own(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    let (run, calls) = f.run_counting_terraform(&["plan", "dev"]);
    assert_eq!(run.code, 2, "{}", run.both());
    assert_eq!(calls, ["version", "init", "plan"], "plan dev");
    let (run, calls) = f.run_counting_terraform(&["apply", "dev"]);
    assert_eq!(run.code, 0, "{}", run.both());
    assert_eq!(calls, ["apply"], "apply dev");
    // The identity read from S3 is the one Terraform holds: a second plan of
    // the applied state, then an apply of the first, is refused as stale.
    let (run, calls) = f.run_counting_terraform(&["plan", "dev"]);
    assert_eq!(run.code, 0, "{}", run.both());
    assert_eq!(calls, ["plan"], "plan dev again");
}

/// A runner that died holding the lock leaves it in the backend. The error
/// names the holder and a force-unlock command that works pasted as written,
/// from anywhere: it carries the tool's data dir, where the backend is
/// initialised (a plain `terraform force-unlock` in the stack finds none).
fn a_lock_left_by_a_crashed_run_is_released_by_the_command_the_tool_names(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    let id = "6f1c2d3e-0000-4000-8000-00000000dead";
    plant_lock(f.moto(), tf, "dev/dev.tfstate", id);
    let locked = f.run_ok(&["plan", "dev", "--lock-timeout", "1s"], 1);
    let expected_head = format!(
        "stack app: the state is locked by runner@crashed-ci-host (lock ID {id}, operation OperationTypeApply, created "
    );
    assert!(locked.both().contains(&expected_head), "{}", locked.both());
    let command = locked
        .both()
        .lines()
        .skip_while(|l| !l.contains("release it with:"))
        .nth(1)
        .unwrap_or_else(|| panic!("no command after \"release it with:\":\n{}", locked.both()))
        .trim()
        .to_string();
    assert!(
        command.contains("TF_DATA_DIR=") && command.ends_with(&format!("force-unlock -force {id}")),
        "{command}"
    );
    let unlock = std::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir(std::env::temp_dir())
        .envs(aws_env())
        .env_remove("TF_DATA_DIR")
        .env_remove("TF_CLI_CONFIG_FILE")
        .output()
        .unwrap();
    assert!(
        unlock.status.success(),
        "{command}\n{}{}",
        String::from_utf8_lossy(&unlock.stdout),
        String::from_utf8_lossy(&unlock.stderr)
    );
    assert_eq!(held_locks(f.moto(), tf), Vec::<String>::new());
    f.run_ok(&["plan", "dev"], 0);
}

fn backend_config_with_static_keys_is_refused(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    let backend = f.path("environments/dev/backend.hcl");
    let text = std::fs::read_to_string(&backend).unwrap();
    std::fs::write(
        &backend,
        format!("{text}access_key = \"AKIAEXAMPLE\"\nsecret_key = \"CANARY-secret-key-1\"\n"),
    )
    .unwrap();
    let run = f.run_ok(&["plan", "dev"], 1);
    assert!(
        run.stderr.contains("backend.hcl:")
            && run
                .stderr
                .contains("`access_key` is a static AWS credential"),
        "{}",
        run.stderr
    );
    assert_eq!(bucket_keys(f.moto()), Vec::<String>::new(), "nothing ran");
}

/// SIGKILL of ohmc-infra while link2 is being created: Terraform gets one
/// interrupt, finishes what it started, saves it and releases the lock; the
/// next command first refuses while it still runs, then reports it once.
fn sigkill_mid_apply(f: &Fixture, lock_released: impl Fn() -> bool) {
    slow_chain(f, 2500);
    f.run_ok(&["plan", "dev"], 2);
    let (mut child, rest) = apply_until(f, &[], "link2[0]: create started");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = rest.join();
    let running = f.run_ok(&["plan", "dev"], 1);
    assert!(
        running
            .stderr
            .contains("a previous `apply` of dev stack app is still running"),
        "{}",
        running.stderr
    );
    let left = f.wait_for_no_processes(Duration::from_secs(60));
    assert_eq!(left, Vec::<String>::new(), "processes left behind");
    assert!(lock_released(), "the state lock is still held");
    let state = f.state_list("dev", "stacks/app");
    let links = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter_map(|n| {
                let n = n.strip_prefix("ohmctest_thing.").unwrap_or(&n).to_string();
                n.starts_with("link").then(|| n[..5].to_string())
            })
            .collect()
    };
    // link2 was starting: it either completed and was saved, or Terraform
    // stopped before calling the provider; link3 never started. State and
    // the real store agree on exactly what was done.
    let in_state = links(state.clone());
    assert_eq!(
        in_state,
        links(f.store_names()),
        "{state:?}\n{}",
        run_logs(f)
    );
    assert_eq!(
        in_state.first().map(String::as_str),
        Some("link1"),
        "{state:?}"
    );
    assert!(!in_state.contains(&"link3".to_string()), "{state:?}");
    let next = f.run_ok(&["plan", "dev"], 2);
    assert!(
        next.stderr.contains("note: the previous `apply` of stack app")
            && next.stderr.contains("lost its ohmc-infra process; Terraform was interrupted once and it ended with exit code 1"),
        "{}",
        next.stderr
    );
    let after = f.run_ok(&["plan", "dev"], 2);
    assert!(
        !after.stderr.contains("note:"),
        "reported once: {}",
        after.stderr
    );
}

/// Every supervised run's record and scrubbed output, for a failure message.
fn run_logs(f: &Fixture) -> String {
    let mut text = String::new();
    for file in crate::harness::files_under(&f.state_dir.join("runs"), &[".json", ".log"]) {
        text.push_str(&format!(
            "==> {}\n{}\n",
            file.display(),
            std::fs::read_to_string(&file).unwrap_or_default()
        ));
    }
    text
}

fn sigkill_mid_apply_on_the_local_backend(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let lock_info = f.path("stacks/app/.dev.tfstate.lock.info");
    sigkill_mid_apply(&f, || !lock_info.exists());
}

fn sigkill_mid_apply_on_s3(tf: Tf) {
    let f = Fixture::on_s3("basic", tf);
    sigkill_mid_apply(&f, || held_locks(f.moto(), tf).is_empty());
}
