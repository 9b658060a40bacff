//! The real platform, end to end: `ohmc-infra bootstrap`, `plan` and `apply`
//! of every stack of `environments/staging` and `environments/production`
//! (terraform/stacks, in dependency order) on Terraform 1.15.5, with the
//! S3 backend and its DynamoDB lock table on moto, and the schema stand-in
//! (`tests/aws-standin`, which creates nothing) as hashicorp/aws. Until
//! every stack is applied, `plan` leaves the stacks that read a state that
//! does not exist yet waiting, so a new account rolls out in rounds of plan
//! and apply; then a plan shows no changes and `drift` none.
//!
//! The copy differs from the committed code in two things only, both for
//! the emulator: `use_path_style = true` in each environment's backend.hcl
//! and in each `terraform_remote_state` (an `_override.tf` keeping the
//! committed config expressions; Terraform's S3 client addresses
//! `BUCKET.127.0.0.1` otherwise, which does not resolve), and the endpoints
//! in `AWS_ENDPOINT_URL_S3`/`_DYNAMODB`/`_STS`/`_KMS`, which Terraform's
//! backend and `terraform_remote_state` honour (checked: they reach moto;
//! path style they do not take from the environment).

use std::path::Path;
use std::time::Instant;

use regex::Regex;

use crate::harness::fixture::{Fixture, Run, Tf};
use crate::harness::moto::MotoServer;
use crate::harness::s3_backend;

/// A copy of terraform/ and environments/ (and the IAM policy a module
/// reads) on a moto of its own whose default account is the environment's.
fn platform(env: &str) -> Fixture {
    let mut f = Fixture::of_repo(&["terraform", "environments", "deploy/iam"], Tf::Current);
    let account = tfvar(
        &f.path(&format!("environments/{env}/terraform.tfvars")),
        "account_id",
    );
    let moto = MotoServer::start_with_env(&[
        ("MOTO_ACM_VALIDATION_WAIT", "0"),
        ("MOTO_ACCOUNT_ID", &account),
    ]);
    for backend in crate::harness::files_under(&f.path("environments"), &["backend.hcl"]) {
        let text = std::fs::read_to_string(&backend).unwrap();
        std::fs::write(&backend, format!("{text}use_path_style = true\n")).unwrap();
    }
    point_remote_state_at_path_style(&f.path("terraform/stacks"));
    let dir = f.root.parent().unwrap().to_path_buf();
    // The environments' profiles, with test credentials, so that no real
    // profile of the same name is ever read.
    let mut config = String::from("[default]\nregion = us-east-1\n");
    let mut credentials =
        String::from("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n");
    for profile in ["ohmc-staging", "ohmc-production"] {
        config.push_str(&format!("[profile {profile}]\nregion = us-east-1\n"));
        credentials.push_str(&format!(
            "[{profile}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        ));
    }
    std::fs::write(dir.join("aws-config"), config).unwrap();
    std::fs::write(dir.join("aws-credentials"), credentials).unwrap();
    f.moto = Some(moto);
    f
}

/// `name = "value"` of a tfvars file.
fn tfvar(file: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    Regex::new(&format!(r#"(?m)^{name}\s*=\s*"([^"]+)""#))
        .unwrap()
        .captures(&text)
        .unwrap_or_else(|| panic!("{} has no {name}", file.display()))[1]
        .to_owned()
}

/// Writes, per stack, a `remote_state_override.tf` that gives each
/// `terraform_remote_state` its committed `config` plus `use_path_style`.
fn point_remote_state_at_path_style(stacks: &Path) {
    let block =
        Regex::new(r#"(?ms)^data "terraform_remote_state" "([^"]+)" \{\n(.*?)^\}"#).unwrap();
    let config = Regex::new(r"(?ms)^  config = \{\n(.*?)^  \}").unwrap();
    let mut overridden = 0;
    for stack in std::fs::read_dir(stacks).unwrap() {
        let stack = stack.unwrap().path();
        let mut out = String::new();
        for file in crate::harness::files_under(&stack, &[".tf"]) {
            if file.parent() != Some(stack.as_path()) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for b in block.captures_iter(&text) {
                let c = config.captures(&b[2]).unwrap_or_else(|| {
                    panic!("{}: remote state {} has no config", file.display(), &b[1])
                });
                out.push_str(&format!(
                    "data \"terraform_remote_state\" \"{}\" {{\n  config = {{\n{}    use_path_style = true\n  }}\n}}\n\n",
                    &b[1], &c[1]
                ));
                overridden += 1;
            }
        }
        if !out.is_empty() {
            std::fs::write(stack.join("remote_state_override.tf"), out).unwrap();
        }
    }
    assert!(
        overridden >= 10,
        "only {overridden} terraform_remote_state blocks found"
    );
}

fn run(f: &Fixture, args: &[&str]) -> Run {
    let mut cmd = f.cmd(args);
    on_moto(f, &mut cmd);
    let out = cmd.output().expect("running ohmc-infra");
    f.finish(args, out)
}

/// The emulated account's endpoints and AWS files, for a command of this fixture.
fn on_moto(f: &Fixture, cmd: &mut std::process::Command) {
    let endpoint = f.moto().endpoint();
    let dir = f.root.parent().unwrap();
    for service in ["S3", "DYNAMODB", "STS", "KMS"] {
        cmd.env(format!("AWS_ENDPOINT_URL_{service}"), &endpoint);
    }
    cmd.env("AWS_CONFIG_FILE", dir.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("aws-credentials"));
}

/// A plan, planned again once when it failed on a lock that this same plan command
/// took: Terraform 1.15's S3 lock file is a conditional PutObject, and when the loaded
/// emulator answers its first attempt too late, the SDK's retry finds the object the
/// first attempt wrote and Terraform reports its own lock as held. Only a plan-operation
/// lock created after the command started qualifies; a lock left by an earlier command
/// still fails the test. The lock is released with the command ohmc-infra names.
fn plan_once_more_if_self_locked(f: &Fixture, env: &str) -> Run {
    let started = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
    let plan = run(f, &["plan", env]);
    let own = regex::Regex::new(
        r"operation OperationTypePlan, created (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[^)]*\); wait for it to finish, or if that process is gone, release it with:\n\s+(.+)\n",
    )
    .unwrap();
    let Some(c) = own.captures(&plan.stdout) else {
        return plan;
    };
    let created = chrono::NaiveDateTime::parse_from_str(&c[1], "%Y-%m-%d %H:%M:%S").unwrap();
    if plan.code != 1 || created < started {
        return plan;
    }
    eprintln!(
        "plan {env} found the lock it had just taken; releasing it and planning again:\n{}",
        plan.stdout
    );
    let mut unlock = std::process::Command::new("sh");
    unlock.args(["-c", &c[2]]);
    on_moto(f, &mut unlock);
    let out = unlock.output().expect("force-unlock");
    assert!(
        out.status.success(),
        "force-unlock: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    run(f, &["plan", env])
}

fn run_ok(f: &Fixture, args: &[&str], code: i32) -> Run {
    let r = run(f, args);
    assert_eq!(
        r.code,
        code,
        "ohmc-infra {} exited {}:\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        r.code,
        r.stdout,
        r.stderr
    );
    r
}

/// The account's state bucket, key and lock table, as for a new account.
/// The bucket policy bootstrap writes denies requests without TLS, and moto
/// here speaks plain HTTP and enforces it: it goes.
fn bootstrap(f: &Fixture, env: &str) {
    let endpoint = f.moto().endpoint();
    run_ok(f, &["bootstrap", env, "--endpoint-url", &endpoint], 0);
    let bucket = tfvar(
        &f.path(&format!("environments/{env}/terraform.tfvars")),
        "state_bucket",
    );
    s3_backend::delete_bucket_policy(f.moto(), &bucket);
}

/// The lines of a plan or apply that say what each stack does, plus the
/// total: the snapshot.
fn stack_lines(run: &Run) -> String {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("Stack ") || l.starts_with("Plan: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Plan and apply until a plan has no changes: each round's plan lines.
fn roll_out(f: &Fixture, env: &str, approve: bool) -> Vec<String> {
    let mut rounds = Vec::new();
    loop {
        let plan = plan_once_more_if_self_locked(f, env);
        if plan.code == 0 {
            rounds.push(stack_lines(&plan));
            return rounds;
        }
        assert_eq!(
            plan.code, 2,
            "plan {env}:\n{}\n{}",
            plan.stdout, plan.stderr
        );
        rounds.push(stack_lines(&plan));
        assert!(
            rounds.len() <= 5,
            "{env} does not converge:\n{}",
            rounds.join("\n\n")
        );
        let bundle = Fixture::bundle_of(&plan);
        let sha = Fixture::bundle_sha_of(&plan);
        let mut args = vec!["apply", env, "--plan", &bundle, "--no-verify"];
        if approve {
            args.extend(["--approve", &sha[..12]]);
        }
        let apply = run_ok(f, &args, 0);
        assert!(
            !apply.stdout.contains("FAILED"),
            "apply {env}:\n{}",
            apply.stdout
        );
    }
}

/// The remote state wiring resolved to what the upstream stacks wrote:
/// edge's ALB is in network's VPC and its records in dns's zone; data's
/// database in network's subnets.
fn assert_wiring(f: &Fixture, env: &str) {
    let bucket = tfvar(
        &f.path(&format!("environments/{env}/terraform.tfvars")),
        "state_bucket",
    );
    let state = |stack: &str| -> serde_json::Value {
        let text = s3_backend::object_in(f.moto(), &bucket, &format!("{env}/{stack}.tfstate"))
            .unwrap_or_else(|| panic!("no state for {env}/{stack}"));
        serde_json::from_str(&text).unwrap()
    };
    let output = |stack: &str, name: &str| -> String {
        let value = &state(stack)["outputs"][name]["value"];
        match value {
            serde_json::Value::String(s) => s.clone(),
            other => other[0].as_str().unwrap_or_default().to_owned(),
        }
    };
    let vpc = output("network", "vpc_id");
    let subnet = output("network", "database_subnet_ids");
    let zone = output("dns", "hosted_zone_id");
    assert!(
        vpc.starts_with("vpc-") && zone.starts_with('Z'),
        "{vpc} {zone}"
    );
    let edge = state("edge").to_string();
    assert!(
        edge.contains(&vpc),
        "edge's state does not name network's VPC {vpc}"
    );
    assert!(
        edge.contains(&zone),
        "edge's state does not name dns's zone {zone}"
    );
    assert!(
        state("data").to_string().contains(&subnet),
        "data's state does not name network's subnet {subnet}"
    );
}

const STAGING_ROUNDS: &str = "\
Stack state-bootstrap: 9 to create, 9 to update, 0 to replace, 0 to delete
Stack security-baseline: not planned yet, it reads outputs of state-bootstrap that this bundle creates: plan again after this bundle is applied
Stack network: 37 to create, 0 to update, 0 to replace, 0 to delete
Stack platform: not planned yet, it reads outputs of network that this bundle creates: plan again after this bundle is applied
Stack data: not planned yet, it reads outputs of network, platform that this bundle creates: plan again after this bundle is applied
Stack dns: 6 to create, 0 to update, 0 to replace, 0 to delete
Stack edge: not planned yet, it reads outputs of state-bootstrap, network, platform, dns that this bundle creates: plan again after this bundle is applied
Stack iam: not planned yet, it reads outputs of platform, data, edge that this bundle creates: plan again after this bundle is applied
Plan: 52 to create, 9 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: 90 to create, 0 to update, 0 to replace, 0 to delete
Stack network: no changes
Stack platform: 59 to create, 0 to update, 0 to replace, 0 to delete
Stack data: not planned yet, it reads outputs of platform that this bundle creates: plan again after this bundle is applied
Stack dns: no changes
Stack edge: not planned yet, it reads outputs of platform that this bundle creates: plan again after this bundle is applied
Stack iam: not planned yet, it reads outputs of platform, data, edge that this bundle creates: plan again after this bundle is applied
Plan: 149 to create, 0 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: no changes
Stack network: no changes
Stack platform: no changes
Stack data: 50 to create, 0 to update, 0 to replace, 0 to delete
Stack dns: no changes
Stack edge: 44 to create, 0 to update, 0 to replace, 0 to delete
Stack iam: not planned yet, it reads outputs of data, edge that this bundle creates: plan again after this bundle is applied
Plan: 94 to create, 0 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: no changes
Stack network: no changes
Stack platform: no changes
Stack data: no changes
Stack dns: no changes
Stack edge: no changes
Stack iam: 36 to create, 0 to update, 0 to replace, 0 to delete
Plan: 36 to create, 0 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: no changes
Stack network: no changes
Stack platform: no changes
Stack data: no changes
Stack dns: no changes
Stack edge: no changes
Stack iam: no changes
Plan: 0 to create, 0 to update, 0 to replace, 0 to delete.";

/// staging from an empty account to every stack applied, then idempotent:
/// a plan with no changes and no drift.
#[test]
fn staging_rolls_out_on_a_new_account_then_plans_no_changes_and_no_drift() {
    let started = Instant::now();
    let f = platform("staging");
    bootstrap(&f, "staging");
    let rounds = roll_out(&f, "staging", false);
    assert_eq!(rounds.join("\n\n"), STAGING_ROUNDS);

    assert_wiring(&f, "staging");
    let drift = run_ok(&f, &["drift", "staging"], 0);
    let expected: Vec<String> = [
        "state-bootstrap",
        "security-baseline",
        "network",
        "platform",
        "data",
        "dns",
        "edge",
        "iam",
    ]
    .iter()
    .map(|s| format!("Stack {s}: no drift"))
    .collect();
    assert_eq!(stack_lines(&drift), expected.join("\n"));
    eprintln!(
        "staging: {} rounds of plan and apply, then plan and drift, in {:.0}s",
        rounds.len() - 1,
        started.elapsed().as_secs_f64()
    );
}

/// production likewise, with the approval a protected environment needs.
#[test]
fn production_rolls_out_on_a_new_account_then_plans_no_changes() {
    let started = Instant::now();
    let f = platform("production");
    bootstrap(&f, "production");
    let rounds = roll_out(&f, "production", true);
    assert_eq!(rounds.join("\n\n"), PRODUCTION_ROUNDS);
    assert_wiring(&f, "production");
    eprintln!(
        "production: {} rounds of plan and apply, then plan, in {:.0}s",
        rounds.len() - 1,
        started.elapsed().as_secs_f64()
    );
}

/// Every round's apply leaves nothing for the next plan of the stacks it
/// applied: a plan after an apply shows only the stacks that waited.
const PRODUCTION_ROUNDS: &str = "\
Stack state-bootstrap: 21 to create, 9 to update, 0 to replace, 0 to delete
Stack security-baseline: not planned yet, it reads outputs of state-bootstrap that this bundle creates: plan again after this bundle is applied
Stack network: 41 to create, 0 to update, 0 to replace, 0 to delete
Stack platform: not planned yet, it reads outputs of network that this bundle creates: plan again after this bundle is applied
Stack data: not planned yet, it reads outputs of network, platform that this bundle creates: plan again after this bundle is applied
Stack dns: 7 to create, 0 to update, 0 to replace, 0 to delete
Stack edge: not planned yet, it reads outputs of state-bootstrap, network, platform, dns that this bundle creates: plan again after this bundle is applied
Stack iam: not planned yet, it reads outputs of platform, data, edge that this bundle creates: plan again after this bundle is applied
Plan: 69 to create, 9 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: 91 to create, 0 to update, 0 to replace, 0 to delete
Stack network: no changes
Stack platform: 55 to create, 0 to update, 0 to replace, 0 to delete
Stack data: not planned yet, it reads outputs of platform that this bundle creates: plan again after this bundle is applied
Stack dns: no changes
Stack edge: not planned yet, it reads outputs of platform that this bundle creates: plan again after this bundle is applied
Stack iam: not planned yet, it reads outputs of platform, data, edge that this bundle creates: plan again after this bundle is applied
Plan: 146 to create, 0 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: no changes
Stack network: no changes
Stack platform: no changes
Stack data: 56 to create, 0 to update, 0 to replace, 0 to delete
Stack dns: no changes
Stack edge: 44 to create, 0 to update, 0 to replace, 0 to delete
Stack iam: not planned yet, it reads outputs of data, edge that this bundle creates: plan again after this bundle is applied
Plan: 100 to create, 0 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: no changes
Stack network: no changes
Stack platform: no changes
Stack data: no changes
Stack dns: no changes
Stack edge: no changes
Stack iam: 36 to create, 0 to update, 0 to replace, 0 to delete
Plan: 36 to create, 0 to update, 0 to replace, 0 to delete.

Stack state-bootstrap: no changes
Stack security-baseline: no changes
Stack network: no changes
Stack platform: no changes
Stack data: no changes
Stack dns: no changes
Stack edge: no changes
Stack iam: no changes
Plan: 0 to create, 0 to update, 0 to replace, 0 to delete.";
