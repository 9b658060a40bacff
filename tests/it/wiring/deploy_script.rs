//! `scripts/deploy.sh` run for real against a fake `kubectl` (and fake
//! `helmfile`, `curl`, `ohmc-infra`, `rollback.sh`) that records every call:
//! what it applies, re-images, records for rollback, and rolls back on failure.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::repo_root;

/// The fake kubectl: logs each call; `get cronjob` answers OLD until a
/// CronJob manifest has been applied, NEW after; fails calls matching
/// $FAIL_ON.
const KUBECTL: &str = r#"#!/usr/bin/env bash
echo "kubectl $*" >>"$FAKE_LOG"
if [[ -n "${FAIL_ON:-}" && "$*" == *"$FAIL_ON"* ]]; then exit 1; fi
case "$*" in
  "config current-context") echo "arn:aws:eks:us-east-1:123456789012:cluster/ohmc-staging" ;;
  *"apply -f -"*)
    input="$(cat)"
    printf '%s\n' "$input" >>"$FAKE_APPLIED"
    if grep -q '^kind: CronJob' <<<"$input"; then touch "$FAKE_STATE/cronjobs-applied"; fi ;;
  *"get cronjob/"*)
    if [[ -e "$FAKE_STATE/cronjobs-applied" ]]; then echo "registry/ohmc-collectors:NEW"; else echo "registry/ohmc-collectors:OLD"; fi ;;
  *) ;;
esac
"#;

const ROLLBACK: &str = r#"#!/usr/bin/env bash
echo "rollback.sh $*" >>"$FAKE_LOG"
exit "${ROLLBACK_STATUS:-0}"
"#;

const OHMC_INFRA: &str = r#"#!/usr/bin/env bash
echo '{"network":{"vpc_id":"vpc-1","vpc_cidr_block":"10.0.0.0/16","public_subnet_cidr_blocks":["10.0.0.0/20","10.0.16.0/20","10.0.32.0/20"]},"edge":{"backend_target_group_arn":"arn:tg","alb_security_group_id":"sg-1","grafana_target_group_arn":"arn:tg-grafana","grafana_alb_security_group_id":"sg-2"}}'
"#;

const HELMFILE: &str =
    "#!/usr/bin/env bash\necho \"helmfile $* VPC_ID=${VPC_ID:-}\" >>\"$FAKE_LOG\"\n";

const OK: &str = "#!/usr/bin/env bash\necho \"$(basename \"$0\") $*\" >>\"$FAKE_LOG\"\n";

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        for sub in ["environments", "deploy"] {
            copy(&repo_root().join(sub), &root.join(sub));
        }
        std::fs::create_dir_all(root.join("scripts")).unwrap();
        std::fs::copy(
            repo_root().join("scripts/deploy.sh"),
            root.join("scripts/deploy.sh"),
        )
        .unwrap();
        write_exec(&root.join("scripts/rollback.sh"), ROLLBACK);
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        write_exec(&bin.join("kubectl"), KUBECTL);
        write_exec(&bin.join("ohmc-infra"), OHMC_INFRA);
        for name in ["curl", "sleep"] {
            write_exec(&bin.join(name), OK);
        }
        write_exec(&bin.join("helmfile"), HELMFILE);
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        Fake { dir }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let p = self.dir.path();
        let path = format!(
            "{}:{}",
            p.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(p.join("repo/scripts/deploy.sh"))
            .args(args)
            .env("PATH", path)
            .env("FAKE_LOG", p.join("log"))
            .env("FAKE_APPLIED", p.join("applied"))
            .env("FAKE_STATE", p.join("state"))
            .env("AUDIT_IMAGE_TAG", "audit1")
            .env_remove("GITHUB_ACTOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn applied(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("applied")).unwrap_or_default()
    }
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn copy(from: &Path, to: &PathBuf) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn apply_manifests_re_images_only_the_component_being_deployed() {
    let fake = Fake::new();
    let out = fake.run(
        &[
            "--env",
            "staging",
            "--image-tag",
            "t2",
            "--component",
            "backend",
            "--apply-manifests",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let applied = fake.applied();
    assert!(
        applied.contains("/ohmc-backend:t2"),
        "backend manifests applied:\n{applied}"
    );
    assert!(
        !applied.contains("/ohmc-agents:t2") && !applied.contains("/ohmc-collectors:t2"),
        "--component backend must not re-image agents or collectors:\n{applied}"
    );
}

#[test]
fn the_collectors_previous_image_is_recorded_before_anything_changes_it() {
    let fake = Fake::new();
    let out = fake.run(
        &[
            "--env",
            "staging",
            "--image-tag",
            "t2",
            "--component",
            "collectors",
            "--apply-manifests",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = fake.log();
    assert!(
        log.contains("ohmc.io/previous-image=registry/ohmc-collectors:OLD"),
        "{log}"
    );
    assert!(
        !log.contains("previous-image=registry/ohmc-collectors:NEW"),
        "{log}"
    );
}

#[test]
fn a_failed_annotate_rolls_back_what_was_changed() {
    let fake = Fake::new();
    let out = fake.run(
        &[
            "--env",
            "staging",
            "--image-tag",
            "t2",
            "--component",
            "backend",
        ],
        &[("FAIL_ON", "annotate deployment/backend")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        fake.log()
            .contains("rollback.sh --env staging --component backend"),
        "{}",
        fake.log()
    );
    assert!(stderr(&out).contains("rolled back"), "{}", stderr(&out));
}

#[test]
fn a_failed_rollback_exits_3_and_says_so() {
    let fake = Fake::new();
    let out = fake.run(
        &[
            "--env",
            "staging",
            "--image-tag",
            "t2",
            "--component",
            "backend",
        ],
        &[("FAIL_ON", "rollout status"), ("ROLLBACK_STATUS", "1")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("ROLLBACK FAILED"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("rolled back;"), "{}", stderr(&out));
}

#[test]
fn bootstrap_applies_crd_owners_before_the_manifests_that_use_them() {
    let fake = Fake::new();
    let out = fake.run(
        &["--env", "staging", "--image-tag", "t2", "--bootstrap"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let log = fake.log();
    let addons = log.find("helmfile --file").expect("helmfile ran");
    let first_apply = log.find("kubectl apply").expect("manifests applied");
    assert!(
        addons < first_apply,
        "add-ons (CRDs) before manifests:\n{log}"
    );
    assert!(
        log.contains(
            "deploy/k8s/addons/helmfile.yaml.gotmpl --environment staging apply VPC_ID=vpc-1"
        ),
        "{log}"
    );
    assert!(
        log.contains("create configmap compliance-audit-outputs"),
        "{log}"
    );
}

/// The Slack step of deploy-to-eks, run with deploy.sh's exit codes: a failed
/// rollback is not reported as "rolled back".
#[test]
fn the_deploy_notification_tells_a_failed_rollback_from_a_rollback() {
    let wf: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo_root().join(".github/workflows/deploy-to-eks.yml")).unwrap(),
    )
    .unwrap();
    let step = wf["jobs"]["deploy"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Notify Slack"))
        .expect("Notify Slack step")
        .clone();
    let script = step["run"].as_str().unwrap();
    let fake = Fake::new();
    let bin = fake.dir.path().join("bin");
    write_exec(
        &bin.join("curl"),
        "#!/usr/bin/env bash\necho \"curl $*\" >>\"$FAKE_LOG\"\n",
    );
    let notify = |exit_code: &str, outcome: &str| {
        let log = fake.dir.path().join("log");
        let _ = std::fs::remove_file(&log);
        let out = Command::new("bash")
            .args(["-e", "-c", script])
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("FAKE_LOG", &log)
            .env("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook")
            .env("ENVIRONMENT", "production")
            .env("IMAGE_TAG", "t2")
            .env("COMPONENT", "backend")
            .env("OUTCOME", outcome)
            .env("EXIT_CODE", exit_code)
            .env("RUN_URL", "http://run")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::read_to_string(&log).unwrap_or_default()
    };
    let failed_rollback = notify("3", "failure");
    assert!(
        failed_rollback.contains("ROLLBACK FAILED"),
        "{failed_rollback}"
    );
    assert!(
        !failed_rollback.contains("was rolled back"),
        "{failed_rollback}"
    );
    assert!(notify("1", "failure").contains("was rolled back"));
    assert!(notify("0", "success").contains("deployed in production"));
}
