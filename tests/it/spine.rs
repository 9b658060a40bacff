//! The spine: environments, plan bundles and safe apply, through the real
//! Terraform 1.0.3 and the project's test provider (tests/provider).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::files_under;
use crate::harness::fixture::{assert_no_canary, Fixture, Tf, CANARY};
use crate::harness::on_every_terraform;

on_every_terraform!(
    plan_summary_counts_create_update_replace_delete,
    destructive_plan_needs_allow_destroy,
    bundle_for_another_environment_is_refused,
    var_file_change_after_plan_is_refused,
    state_serial_moved_after_plan_is_refused,
    configuration_change_after_plan_is_refused,
    production_needs_approval,
    held_lock_names_its_holder,
    sigint_during_slow_apply_stops_gracefully,
    sensitive_values_never_printed,
    plan_files_are_private,
    invalid_hcl_in_a_stack_is_reported_with_file_and_line,
    malformed_environment_file_names_file_line_and_field,
    unknown_environment_lists_known_ones,
    missing_or_old_terraform_says_how_to_install,
    ambient_tf_cli_args_are_refused,
    drift_lists_resources_changed_outside_terraform,
    stack_chain_applies_in_order_and_failure_stops_only_dependents,
    stacks_not_started_before_an_interrupt_are_skipped,
    a_stack_waiting_on_an_upstream_that_fails_is_not_applied_and_waits_again,
);

const DEV_CHANGED: &str = r#"region      = "us-east-1"
db_password = "CANARY-var-7f3a9c"
things = {
  a = { name = "a", value = "2" }
  b = { name = "b-renamed", value = "1" }
  d = { name = "d", value = "1" }
}
"#;

fn applied_basic(tf: Tf) -> Fixture {
    let f = Fixture::on("basic", tf);
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    f
}

fn plan_summary_counts_create_update_replace_delete(tf: Tf) {
    let f = applied_basic(tf);
    assert_eq!(f.store_names(), ["a", "b", "c", "secret-holder"]);
    f.write("environments/dev/app.tfvars", DEV_CHANGED);
    let run = f.run_ok(&["plan", "dev"], 2);
    // 1.0 plans a partly unknown output as wholly unknown and gives no
    // reason for a delete; 1.15 keeps each known key (a reviewer sees which
    // ids stay) and says why c goes.
    let (delete_reason, thing_ids) = match tf {
        Tf::Oldest => ("", r#""(known after apply)""#),
        Tf::Current => (
            "  (delete_because_each_key)",
            r#"{"a":"a-[ID]","b":"(known after apply)","d":"(known after apply)"}"#,
        ),
    };
    assert_eq!(
        f.normalise(&run.stdout),
        format!(
            r#"Stack app: 1 to create, 1 to update, 1 to replace, 1 to delete
  update   ohmctest_thing.this["a"]
  replace  ohmctest_thing.this["b"]  (replace_because_cannot_update)
  delete   ohmctest_thing.this["c"]{delete_reason}
  create   ohmctest_thing.this["d"]
  output   thing_ids = {thing_ids} (update)

Destructive changes (apply needs --allow-destroy):
  app: ohmctest_thing.this["b"]
  app: ohmctest_thing.this["c"]

Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.
Bundle: [STATE]/plans/dev/[STAMP] (sha256 [SHA256])
Apply it with: ohmc-infra apply dev --plan [STATE]/plans/dev/[STAMP]
"#
        )
    );
    let json = f.run_ok(&["--format", "json", "-q", "plan", "dev"], 2);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let summary = &doc["stacks"][0]["summary"];
    assert_eq!(
        (
            summary["create"].as_u64(),
            summary["update"].as_u64(),
            summary["replace"].as_u64(),
            summary["delete"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );
    assert_eq!(doc["schema_version"], 1);
}

fn destructive_plan_needs_allow_destroy(tf: Tf) {
    let f = applied_basic(tf);
    f.write("environments/dev/app.tfvars", DEV_CHANGED);
    let planned = f.run_ok(&["plan", "dev"], 2);
    let refused = f.run_ok(&["apply", "dev"], 1);
    assert!(
        refused.stderr.contains(r#"error: the plan deletes or replaces 2 resource(s): app:ohmctest_thing.this["b"], app:ohmctest_thing.this["c"]; re-run with --allow-destroy if that is intended"#),
        "{}",
        refused.stderr
    );
    assert_eq!(
        f.store_names(),
        ["a", "b", "c", "secret-holder"],
        "nothing may change when apply refuses"
    );
    // Hiding the destruction by editing bundle.json breaks the bundle hash.
    let meta_path = std::path::Path::new(&Fixture::bundle_of(&planned)).join("bundle.json");
    let original = std::fs::read_to_string(&meta_path).unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(&original).unwrap();
    meta["stacks"][0]["summary"]["destructive"] = serde_json::json!([]);
    std::fs::write(&meta_path, serde_json::to_string(&meta).unwrap()).unwrap();
    let tampered = f.run_ok(&["apply", "dev"], 1);
    assert!(
        tampered
            .stderr
            .contains("bundle.json's hashes do not add up"),
        "{}",
        tampered.stderr
    );
    std::fs::write(&meta_path, original).unwrap();
    f.run_ok(&["apply", "dev", "--allow-destroy"], 0);
    assert_eq!(f.store_names(), ["a", "b-renamed", "d", "secret-holder"]);
}

fn bundle_for_another_environment_is_refused(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let planned = f.run_ok(&["plan", "dev"], 2);
    let bundle = Fixture::bundle_of(&planned);
    let run = f.run_ok(
        &["apply", "prod", "--plan", &bundle, "--approve", "00000000"],
        1,
    );
    assert!(
        f.normalise(&run.stderr).contains("error: the plan bundle [STATE]/plans/dev/[STAMP] was made for environment \"dev\", not \"prod\"; plan prod instead"),
        "{}",
        run.stderr
    );
    assert!(f.store_names().is_empty());
}

fn var_file_change_after_plan_is_refused(tf: Tf) {
    let f = Fixture::on("basic", tf);
    f.run_ok(&["plan", "dev"], 2);
    f.write("environments/dev/app.tfvars", DEV_CHANGED);
    let run = f.run_ok(&["apply", "dev"], 1);
    assert!(
        f.normalise(&run.stderr).contains("error: the plan bundle is stale: stack app: var file changed since the plan: [ROOT]/environments/dev/app.tfvars; run `ohmc-infra plan dev` again"),
        "{}",
        run.stderr
    );
    assert!(f.store_names().is_empty());
}

fn state_serial_moved_after_plan_is_refused(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let first = f.run_ok(&["plan", "dev"], 2);
    let first_bundle = Fixture::bundle_of(&first);
    // Someone else plans and applies in between.
    f.run_ok(&["plan", "dev"], 2);
    f.run_ok(&["apply", "dev"], 0);
    let run = f.run_ok(&["apply", "dev", "--plan", &first_bundle], 1);
    assert!(
        run.stderr.contains(
            "error: the plan bundle is stale: stack app: the state moved from serial 0 to "
        ) && run
            .stderr
            .contains("since the plan (and its lineage changed)"),
        "{}",
        run.stderr
    );
}

fn configuration_change_after_plan_is_refused(tf: Tf) {
    let f = Fixture::on("basic", tf);
    f.run_ok(&["plan", "dev"], 2);
    let main_tf = f.path("stacks/app/main.tf");
    let text = std::fs::read_to_string(&main_tf).unwrap();
    std::fs::write(
        &main_tf,
        text.replace(
            "name     = each.value.name",
            "name     = \"x-${each.value.name}\"",
        ),
    )
    .unwrap();
    let run = f.run_ok(&["apply", "dev"], 1);
    assert!(
        run.stderr.contains("stack app: its configuration in"),
        "{}",
        run.stderr
    );
}

fn production_needs_approval(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let planned = f.run_ok(&["plan", "prod"], 2);
    let sha = Fixture::bundle_sha_of(&planned);
    let refused = f.run_ok(&["apply", "prod"], 1);
    assert_eq!(
        refused.stderr.trim(),
        format!(
            "error: environment \"prod\" requires approval: confirm on a terminal, or pass --approve {} (a prefix of the plan bundle's sha256, at least 8 characters)",
            &sha[..12]
        )
    );
    let wrong = f.run_ok(&["apply", "prod", "--approve", "deadbeefdeadbeef"], 1);
    assert!(
        wrong
            .stderr
            .contains("--approve deadbeefdeadbeef does not match this plan bundle"),
        "{}",
        wrong.stderr
    );
    let short = f.run_ok(&["apply", "prod", "--approve", &sha[..6]], 1);
    assert!(
        short.stderr.contains("does not match this plan bundle"),
        "a 6-character prefix is too short: {}",
        short.stderr
    );
    assert!(f.store_names().is_empty());
    f.run_ok(&["apply", "prod", "--approve", &sha[..12]], 0);
    assert_eq!(f.store_names(), ["prod-a", "secret-holder"]);
}

fn held_lock_names_its_holder(tf: Tf) {
    let f = Fixture::on("basic", tf);
    f.write(
        "environments/dev/app.tfvars",
        &format!("{}chain_delay_ms = 4000\n", DEV_CHANGED),
    );
    f.run_ok(&["plan", "dev"], 2);
    // Only stderr is read; a piped stdout nobody drains could fill and stall
    // the apply.
    let mut slow = f
        .cmd(&["apply", "dev"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = slow.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("link1[0]: create started") {
            break;
        }
    }
    let locked = f.run_ok(&["plan", "dev", "--lock-timeout", "1s"], 1);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let who = format!(
        "{}@{}",
        std::env::var("USER").unwrap_or_else(|_| "root".into()),
        host.trim()
    );
    assert!(
        locked.stdout.contains(&format!(
            "stack app: the state is locked by {who} (lock ID "
        )),
        "{}",
        locked.stdout
    );
    assert!(
        locked.stdout.contains("operation OperationTypeApply"),
        "{}",
        locked.stdout
    );
    assert!(
        locked.stdout.contains("release it with:")
            && locked.stdout.contains(" force-unlock -force "),
        "{}",
        locked.stdout
    );
    for _ in lines {}
    let status = slow.wait().unwrap();
    assert!(status.success());
}

fn sigint_during_slow_apply_stops_gracefully(tf: Tf) {
    let f = Fixture::on("basic", tf);
    f.write(
        "environments/dev/app.tfvars",
        &format!("{}chain_delay_ms = 2500\n", DEV_CHANGED),
    );
    f.run_ok(&["plan", "dev"], 2);
    let (status, stdout, stderr_text, exit_took) =
        ctrl_c_when(&f, &["apply", "dev"], "link2[0]: create started");
    assert_no_canary("interrupted apply", &format!("{stdout}{stderr_text}"));
    assert!(exit_took < Duration::from_secs(60));
    assert_eq!(
        status.code(),
        Some(130),
        "stdout:\n{stdout}\nstderr:\n{stderr_text}"
    );
    assert!(
        stderr_text.contains("Interrupt received: Terraform is stopping gracefully"),
        "{stderr_text}"
    );
    assert!(stdout.contains("Stack app: INTERRUPTED"), "{stdout}");
    assert!(stdout.contains("state lock released"), "{stdout}");
    assert!(!f.path("stacks/app/.dev.tfstate.lock.info").exists());
    // link1 completed before the interrupt; link2 was starting (it either
    // finishes and is saved, or Terraform stops before calling the provider);
    // link3 never starts. State and the real store agree on exactly what was
    // completed.
    let state = f.state_list("dev", "stacks/app");
    let in_state: Vec<String> = state
        .iter()
        .filter_map(|a| {
            a.strip_prefix("ohmctest_thing.")
                .filter(|r| r.starts_with("link"))
                .map(|r| r[..5].to_string())
        })
        .collect();
    let stored: Vec<String> = f
        .store_names()
        .into_iter()
        .filter(|n| n.starts_with("link"))
        .map(|n| n[..5].to_string())
        .collect();
    assert_eq!(
        in_state, stored,
        "state {state:?} and the provider's store disagree"
    );
    assert_eq!(
        in_state.first().map(String::as_str),
        Some("link1"),
        "{state:?}"
    );
    assert!(!in_state.contains(&"link3".to_string()), "{state:?}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(f.processes(), Vec::<String>::new(), "orphaned processes");
}

fn sensitive_values_never_printed(tf: Tf) {
    let f = applied_basic(tf);
    // Every run through the harness already asserts the canary is absent; these
    // are the paths most likely to carry a secret.
    let out = f.run_ok(&["output", "dev"], 0);
    assert!(
        out.stdout.contains("db_password = \"(sensitive)\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("session_key = \"(sensitive)\""),
        "{}",
        out.stdout
    );
    let json = f.run_ok(&["--format", "json", "output", "dev"], 0);
    assert!(json.stdout.contains("\"(sensitive)\""));
    f.write(
        "environments/dev/app.tfvars",
        &DEV_CHANGED.replace("CANARY-var-7f3a9c", "CANARY-var-rotated-11"),
    );
    let plan = f.run_ok(&["-v", "plan", "dev"], 2);
    assert!(plan.stdout.contains("session_key") || !plan.stdout.contains(CANARY));
    f.run_ok(&["--format", "json", "plan", "dev"], 2);
    // Bundle metadata holds no values either.
    for bundle in files_under(&f.state_dir.join("plans"), &["bundle.json"]) {
        assert_no_canary("bundle.json", &std::fs::read_to_string(&bundle).unwrap());
    }
}

fn plan_files_are_private(tf: Tf) {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::on("basic", tf);
    let run = f.run_ok(&["plan", "dev"], 2);
    let bundle = std::path::PathBuf::from(Fixture::bundle_of(&run));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&bundle), 0o700);
    assert_eq!(mode(bundle.parent().unwrap()), 0o700);
    assert_eq!(mode(&bundle.join("app.tfplan")), 0o600);
    assert_eq!(mode(&bundle.join("bundle.json")), 0o600);
}

fn invalid_hcl_in_a_stack_is_reported_with_file_and_line(tf: Tf) {
    let f = Fixture::on("broken_hcl", tf);
    let run = f.run_ok(&["plan", "dev"], 1);
    assert!(
        f.normalise(&run.stdout)
            .contains("stack app: main.tf:7: Invalid expression"),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
}

fn malformed_environment_file_names_file_line_and_field(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let path = f.path("environments/dev/environment.hcl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "var_files      = [\"app.tfvars\"]",
            "var_files      = \"app.tfvars\"",
        ),
    )
    .unwrap();
    let run = f.run_ok(&["plan", "dev"], 1);
    assert_eq!(
        f.normalise(&run.stderr).trim(),
        "error: [ROOT]/environments/dev/environment.hcl:11: stack.app.var_files: expected a list of strings, found a string"
    );
    std::fs::write(
        &path,
        text.replace("region     = \"us-east-1\"", "region     = "),
    )
    .unwrap();
    let run = f.run_ok(&["envs"], 1);
    assert!(
        f.normalise(&run.stdout)
            .contains("dev   INVALID: [ROOT]/environments/dev/environment.hcl:5: syntax:"),
        "{}",
        run.stdout
    );
}

fn unknown_environment_lists_known_ones(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let run = f.run_ok(&["plan", "staging"], 1);
    assert_eq!(
        run.stderr.trim(),
        "error: unknown environment \"staging\"; known environments: dev, prod"
    );
    let envs = f.run_ok(&["envs"], 0);
    assert_eq!(
        envs.stdout,
        "NAME  ACCOUNT       REGION      APPROVAL   STACKS\ndev   123456789012  us-east-1   -          app\nprod  210987654321  eu-west-1   required   app\n"
    );
}

fn missing_or_old_terraform_says_how_to_install(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let run = f.finish(
        &[],
        f.cmd(&["plan", "dev"])
            .env("OHMC_TERRAFORM", "/nonexistent/terraform")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("terraform binary not found (/nonexistent/terraform); install the pinned Terraform with scripts/install-tools"),
        "{}",
        run.stderr
    );
    // A stand-in for an old release: prints what Terraform 0.11 prints.
    let old = f.root.join("terraform-0.11");
    std::fs::write(&old, "#!/bin/sh\necho 'Terraform v0.11.14'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = f.finish(
        &[],
        f.cmd(&["plan", "dev"])
            .env("OHMC_TERRAFORM", &old)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("is version 0.11.14, but ohmc-infra needs >= 1.0.0 and < 2.0.0; install the pinned Terraform with scripts/install-tools"),
        "{}",
        run.stderr
    );
}

fn ambient_tf_cli_args_are_refused(tf: Tf) {
    let f = Fixture::on("basic", tf);
    let run = f.finish(
        &[],
        f.cmd(&["plan", "dev"])
            .env("TF_CLI_ARGS_apply", "-auto-approve")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("TF_CLI_ARGS_apply is set in the environment"),
        "{}",
        run.stderr
    );
}

fn drift_lists_resources_changed_outside_terraform(tf: Tf) {
    let f = applied_basic(tf);
    f.run_ok(&["drift", "dev"], 0);
    f.change_thing_by_hand("a-");
    let run = f.run_ok(&["drift", "dev"], 2);
    assert_eq!(
        run.stdout,
        "Stack app: 1 drifted resource(s)\n  update   ohmctest_thing.this[\"a\"]\n"
    );
}

fn stack_chain_applies_in_order_and_failure_stops_only_dependents(tf: Tf) {
    let f = Fixture::on("chain", tf);
    f.run_ok(&["plan", "dev", "--parallelism", "2"], 2);
    let run = f.run_ok(&["apply", "dev", "--parallelism", "2"], 0);
    assert_in_order(
        &run.stderr,
        &[
            ("[network] apply finished", "[data] apply started"),
            ("[data] apply finished", "[app] apply started"),
            ("[network] apply finished", "[edge] apply started"),
        ],
    );
    assert_eq!(f.store_names(), ["app", "data", "edge", "network"]);

    // Destroy runs in reverse: dependents go before what they depend on.
    f.run_ok(&["plan", "dev", "--destroy"], 2);
    f.run_ok(&["apply", "dev"], 1);
    let run = f.run_ok(&["apply", "dev", "--allow-destroy"], 0);
    assert_in_order(
        &run.stderr,
        &[
            ("[app] apply finished", "[data] apply started"),
            ("[data] apply finished", "[network] apply started"),
            ("[edge] apply finished", "[network] apply started"),
        ],
    );
    assert!(f.store_names().is_empty());

    let f = Fixture::on("chain", tf);
    f.write(
        "environments/dev/data.tfvars",
        "name = \"data\"\nfail = true\n",
    );
    f.run_ok(&["plan", "dev"], 2);
    let run = f.run_ok(&["apply", "dev"], 1);
    assert_eq!(
        f.normalise(&run.stdout),
        "Stack network: applied in [T]s (1 created, 0 updated, 0 replaced, 0 deleted)\nStack data: FAILED\n  stack data: main.tf:21: ohmctest: injected failure for data\n        21 | resource \"ohmctest_thing\" \"this\" {\nStack app: not applied, because data did not succeed\nStack edge: applied in [T]s (1 created, 0 updated, 0 replaced, 0 deleted)\n"
    );
    assert_eq!(f.store_names(), ["edge", "network"]);
}

/// Fails unless, for each pair, the first line appears in `text` before the
/// second.
fn assert_in_order(text: &str, pairs: &[(&str, &str)]) {
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s} missing in:\n{text}"))
    };
    for (earlier, later) in pairs {
        assert!(
            pos(earlier) < pos(later),
            "{earlier} is not before {later} in:\n{text}"
        );
    }
}

/// Ctrl-C while the first stack of a chain applies: that stack is
/// interrupted, and every stack that had not started is reported as skipped
/// (never as a failure of a process that never ran), in text and JSON.
fn stacks_not_started_before_an_interrupt_are_skipped(tf: Tf) {
    let f = Fixture::on("chain", tf);
    f.write(
        "environments/dev/network.tfvars",
        "name = \"network\"\ndelay_ms = 4000\n",
    );
    f.run_ok(&["plan", "dev"], 2);
    let (status, stdout, _, _) = ctrl_c_when(
        &f,
        &["apply", "dev", "--format", "json"],
        "this: create started",
    );
    assert_eq!(status.code(), Some(130), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let statuses: Vec<String> = doc["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["name"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
                s["blocked_by"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            "network interrupted -",
            "data skipped (interrupted)",
            "app skipped (interrupted)",
            "edge skipped (interrupted)",
        ],
        "{stdout}"
    );
}

/// Runs ohmc-infra with `args` and presses Ctrl-C when `marker` appears on
/// its stderr: SIGINT to the foreground process group, as a terminal does,
/// which holds ohmc-infra but not Terraform's own group. Returns the exit
/// status, stdout, stderr, and how long the exit took after the interrupt.
fn ctrl_c_when(
    f: &Fixture,
    args: &[&str],
    marker: &str,
) -> (std::process::ExitStatus, String, String, Duration) {
    let mut child = f
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap());
    let mut stderr = String::new();
    let mut interrupted_at = None;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        stderr.push_str(&line);
        stderr.push('\n');
        if interrupted_at.is_none() && line.contains(marker) {
            unsafe { libc::kill(-pid, libc::SIGINT) };
            interrupted_at = Some(Instant::now());
        }
    }
    let status = child.wait().unwrap();
    let took = interrupted_at
        .unwrap_or_else(|| panic!("`{marker}` never appeared:\n{stderr}"))
        .elapsed();
    (status, stdout_reader.join().unwrap(), stderr, took)
}

/// A stack that reads its upstream's outputs waits while the upstream has never been
/// applied. When that first apply fails, the waiting stack is reported as not applied
/// because of the upstream (never as applied, never as a failure of its own), the run
/// exits 1, and the next plan has it waiting again: the upstream still has its changes.
fn a_stack_waiting_on_an_upstream_that_fails_is_not_applied_and_waits_again(tf: Tf) {
    let f = Fixture::on("chain", tf);
    let upstream_state = f.path("state/network.tfstate");
    std::fs::create_dir_all(f.path("state")).unwrap();
    std::fs::create_dir_all(f.path("stacks/reader")).unwrap();
    f.write(
        "environments/dev/environment.hcl",
        &format!(
            r#"aws {{
  account_id = "123456789012"
  region     = "us-east-1"
}}

stack "network" {{
  dir            = "../../stacks/thing"
  backend_values = {{ path = "{network}" }}
  var_files      = ["network.tfvars"]
}}

stack "reader" {{
  dir            = "../../stacks/reader"
  backend_values = {{ path = "reader.tfstate" }}
  depends_on     = ["network"]
}}
"#,
            network = upstream_state.display()
        ),
    );
    f.write(
        "stacks/reader/main.tf",
        &format!(
            r#"terraform {{
  required_providers {{
    ohmctest = {{
      source  = "ohmc/ohmctest"
      version = "0.1.0"
    }}
  }}
  backend "local" {{}}
}}

data "terraform_remote_state" "network" {{
  backend = "local"
  config = {{
    path = "{network}"
  }}
}}

resource "ohmctest_thing" "this" {{
  name = "reads-${{data.terraform_remote_state.network.outputs.id}}"
}}
"#,
            network = upstream_state.display()
        ),
    );
    f.write(
        "environments/dev/network.tfvars",
        "name = \"network\"\nfail = true\n",
    );

    let waiting = "Stack network: 1 to create, 0 to update, 0 to replace, 0 to delete\n  create   ohmctest_thing.this\n  output   id = \"(known after apply)\" (create)\nStack reader: not planned yet, it reads outputs of network that this bundle creates: plan again after this bundle is applied\n\nPlan: 1 to create, 0 to update, 0 to replace, 0 to delete.\nBundle: [STATE]/plans/dev/[STAMP] (sha256 [SHA256])\nApply it with: ohmc-infra apply dev --plan [STATE]/plans/dev/[STAMP]\n";
    let plan = f.run_ok(&["plan", "dev"], 2);
    assert_eq!(f.normalise(&plan.stdout), waiting);
    let run = f.run_ok(&["apply", "dev"], 1);
    assert_eq!(
        f.normalise(&run.stdout),
        "Stack network: FAILED\n  stack network: main.tf:21: ohmctest: injected failure for network\n        21 | resource \"ohmctest_thing\" \"this\" {\nStack reader: not applied, because network did not succeed\n"
    );
    assert!(f.store_names().is_empty(), "{:?}", f.store_names());
    let again = f.run_ok(&["plan", "dev"], 2);
    assert_eq!(f.normalise(&again.stdout), waiting);
}
