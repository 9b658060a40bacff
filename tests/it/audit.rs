//! Integration tests: `ohmc-infra audit`, driving the real binary against moto.
//!
//! - Two accounts (moto isolates accounts reached through STS AssumeRole) over two
//!   regions, through `--account ... --role-name ... --region ...`.
//! - Waivers honoured, expired and matching nothing; the baseline diff; every format
//!   written by `--output-dir` parsed back and validated (JUnit with an XML parser, SARIF
//!   against the 2.1.0 schema with `jsonschema`, Prometheus with `promtool check
//!   metrics`); the Pushgateway push; exit codes 0, 3 and 1 (errors win, listed apart).
//! - The CronJob manifests pass `kubernetes-validate`; the workflow passes `actionlint`
//!   and calls the audit the way this CLI takes it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod concurrency;
mod discovery;

/// The read actions only audit discovery calls (the listings of each checked kind);
/// `deploy/iam/audit-readonly-policy.json` grants them and the discovery test sees each.
pub const DISCOVERY_ACTIONS: [&str; 9] = [
    "guardduty:ListDetectors",
    "rds:DescribeDBClusters",
    "elasticache:DescribeReplicationGroups",
    "elasticloadbalancing:DescribeLoadBalancers",
    "backup:ListBackupPlans",
    "backup:ListBackupVaults",
    "acm:ListCertificates",
    "wafv2:ListWebACLs",
    "route53:ListHostedZones",
];

use crate::harness::moto::{MotoServer, MOTO_ACCOUNT};
use crate::harness::seed::{self, Flaws, SeedTarget};
use crate::harness::{ohmc_bin, repo_root, tool};

const OTHER_ACCOUNT: &str = "111111111111";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Every check the moto seed can judge. Left out: the four whose APIs moto lacks
/// (they are Errors against moto; `exit_code_1_*` uses one on purpose) and the checks
/// needing an ALB or hosted zone (the seed has none: Errors without those outputs).
const JUDGEABLE: [&str; 12] = [
    "cloudtrail.*",
    "guardduty.detector_enabled",
    "guardduty.protection_features",
    "config.recorder_all_resources",
    "config.delivery_channel",
    "waf.web_acl_has_rules",
    "waf.managed_rule_groups",
    "waf.rate_based_rule",
    "waf.cloudwatch_metrics",
    "waf.logging_enabled",
    "rds.*",
    "backup.vault_encrypted",
];

/// A repository root with environments (no Terraform: outputs come from --outputs).
struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Repo {
    fn new(envs: &[(&str, &str, Option<&str>)]) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("stacks/app")).unwrap();
        for (name, account, role) in envs {
            let role = role
                .map(|r| format!("  role_arn   = \"{r}\"\n"))
                .unwrap_or_default();
            let text = format!(
                "description = \"audit test\"\naws {{\n  account_id = \"{account}\"\n  region     = \"us-east-1\"\n{role}}}\n\
                 stack \"app\" {{\n  dir = \"../../stacks/app\"\n}}\n\
                 verify {{\n  guardduty_finding_frequency = \"FIFTEEN_MINUTES\"\n  min_backup_retention_days = 7\n}}\n"
            );
            std::fs::create_dir_all(root.join("environments").join(name)).unwrap();
            std::fs::write(
                root.join("environments").join(name).join("environment.hcl"),
                text,
            )
            .unwrap();
        }
        Repo { _dir: dir, root }
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn audit(&self, endpoint: &str, args: &[&str]) -> Audit {
        let mut cmd = Command::new(ohmc_bin());
        cmd.arg("audit")
            .args(args)
            .args([
                "--root",
                self.root.to_str().unwrap(),
                "--endpoint-url",
                endpoint,
                "--today",
                "2026-11-27",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_REGION")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("OHMC_ROOT");
        Audit::from(cmd.output().expect("run ohmc-infra audit"))
    }
}

struct Audit {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Audit {
    fn from(o: Output) -> Self {
        Audit {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn check_args() -> Vec<String> {
    JUDGEABLE
        .iter()
        .flat_map(|c| ["--check".to_string(), c.to_string()])
        .collect()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn findings(doc: &Value) -> &Vec<Value> {
    doc["findings"].as_array().unwrap()
}

fn statuses(doc: &Value) -> BTreeSet<(String, String)> {
    findings(doc)
        .iter()
        .map(|f| {
            (
                f["check_id"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn write_outputs(dir: &Path, name: &str, outputs: &serde_json::Map<String, Value>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(outputs).unwrap()).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_two_accounts_over_two_regions() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    let outdir = repo.root.join("outputs");
    std::fs::create_dir_all(&outdir).unwrap();
    // The other account's RDS instance is unencrypted: a failure only there proves the
    // accounts are audited separately.
    for account in [MOTO_ACCOUNT, OTHER_ACCOUNT] {
        for region in REGIONS {
            let t = SeedTarget::assume(&endpoint, region, account, "ohmc-audit").await;
            let flaws = Flaws {
                unencrypted_db: account == OTHER_ACCOUNT && region == "eu-west-1",
                ..Flaws::default()
            };
            let outputs = seed::baseline(&t, flaws).await;
            write_outputs(&outdir, &format!("{account}-{region}.json"), &outputs);
        }
    }
    let template = format!("{}/{{account}}-{{region}}.json", outdir.display());
    let reports = repo.root.join("reports");
    let mut args = vec![
        "--account",
        MOTO_ACCOUNT,
        "--account",
        OTHER_ACCOUNT,
        "--role-name",
        "ohmc-audit",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--outputs",
        &template,
        "--format",
        "json",
        "--output-dir",
        reports.to_str().unwrap(),
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    args.extend(check_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = repo.audit(&endpoint, &args);
    assert_eq!(run.code, 3, "{run}");
    let doc = json(&run.stdout);
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["benchmarks"]["aws_fsbp"], ohmc_checks::FSBP_VERSION);
    assert_eq!(
        doc["benchmarks"]["cis_aws_foundations"],
        serde_json::json!(ohmc_checks::CIS_VERSIONS)
    );

    let targets: Vec<(String, String, String)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["environment"].as_str().unwrap().into(),
                t["account_id"].as_str().unwrap().into(),
                t["region"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [OTHER_ACCOUNT, MOTO_ACCOUNT]
        .iter()
        .flat_map(|a| {
            ["eu-west-1", "us-east-1"]
                .map(|r| (format!("account-{a}"), a.to_string(), r.to_string()))
        })
        .collect();
    assert_eq!(targets, expected, "sorted targets");
    for t in doc["targets"].as_array().unwrap() {
        assert_eq!(
            t["role_arn"],
            format!(
                "arn:aws:iam::{}:role/ohmc-audit",
                t["account_id"].as_str().unwrap()
            )
        );
        assert!(
            t["api_calls"]["sts:GetCallerIdentity"].as_u64().unwrap() >= 1,
            "{t}"
        );
    }
    assert!(doc["errors"].as_array().unwrap().is_empty(), "{run}");

    // Every finding sits in its own account and region, and carries its controls.
    for f in findings(&doc) {
        let (acct, region) = (
            f["account_id"].as_str().unwrap(),
            f["region"].as_str().unwrap(),
        );
        let res = f["resource"].as_str().unwrap();
        if res.starts_with("arn:aws:") && !res.starts_with("arn:aws:s3:::") {
            assert!(res.contains(acct), "{res} outside account {acct}");
            assert!(
                res.contains(region) || res.contains(":iam::"),
                "{res} outside region {region}"
            );
        }
        let check = ohmc_checks::check(f["check_id"].as_str().unwrap()).unwrap();
        assert_eq!(
            f["controls"].as_array().unwrap().len(),
            check.controls.len(),
            "{f}"
        );
    }
    let trail = findings(&doc)
        .iter()
        .find(|f| f["check_id"] == "cloudtrail.multi_region_logging")
        .unwrap();
    let controls: BTreeSet<String> = trail["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["framework"].as_str().unwrap(),
                c["version"].as_str().unwrap(),
                c["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        controls,
        [
            "aws_fsbp 1.0.0 CloudTrail.1",
            "cis_aws_foundations 1.4.0 3.1",
            "cis_aws_foundations 3.0.0 3.1"
        ]
        .map(String::from)
        .into(),
    );

    // Exactly one failure: the other account's eu-west-1 database.
    let failing: Vec<String> = findings(&doc)
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["account_id"].as_str().unwrap(),
                f["region"].as_str().unwrap(),
                f["check_id"].as_str().unwrap(),
                f["resource"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        failing,
        vec![format!("{OTHER_ACCOUNT} eu-west-1 rds.storage_encrypted arn:aws:rds:eu-west-1:{OTHER_ACCOUNT}:db:ohmc-postgres")],
        "{run}"
    );
    let per_target = findings(&doc)
        .iter()
        .filter(|f| f["account_id"] == MOTO_ACCOUNT && f["region"] == "us-east-1")
        .count();
    assert!(
        per_target >= 12,
        "every selected check ran in each target: {per_target}"
    );
    assert_eq!(
        findings(&doc).len(),
        4 * per_target,
        "the same checks in all four targets"
    );
    assert_eq!(
        std::fs::read_to_string(reports.join("audit.json")).unwrap(),
        run.stdout,
        "--output-dir JSON = --format json"
    );
    validate_all_formats(&reports, &doc);
}

fn waivers_text(expired_rds: bool) -> String {
    let mut s = String::from(
        r#"
waiver {
  check    = "cloudtrail.log_file_validation"
  resource = "arn:aws:cloudtrail:*:123456789012:trail/ohmc-*"
  reason   = "Digest validation runs in the log archive account"
  owner    = "security@ohmycoins.io"
  expires  = "2027-06-30"
}
waiver {
  check    = "waf.logging_enabled"
  resource = "arn:aws:wafv2:*:*:regional/webacl/retired-acl/*"
  reason   = "Retired ACL"
  owner    = "web@ohmycoins.io"
  expires  = "2027-06-30"
}
"#,
    );
    if expired_rds {
        s.push_str(
            r#"
waiver {
  check    = "rds.storage_encrypted"
  resource = "arn:aws:rds:us-east-1:123456789012:db:ohmc-postgres"
  reason   = "Migration to an encrypted copy scheduled"
  owner    = "dba@ohmycoins.io"
  expires  = "2026-10-31"
}
"#,
        );
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn waivers_baseline_formats_and_exit_codes() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    // `wrongacct` says account 111111111111 but has no role: the credentials reach the
    // default account, which must be a target error, not a pass.
    let repo = Repo::new(&[
        ("staging", MOTO_ACCOUNT, None),
        ("wrongacct", OTHER_ACCOUNT, None),
    ]);
    let t = SeedTarget::default_account(&endpoint, "us-east-1").await;
    let outputs = seed::baseline(
        &t,
        Flaws {
            trail_without_validation: true,
            unencrypted_db: true,
        },
    )
    .await;
    let outputs_file = write_outputs(&repo.root, "staging.json", &outputs);
    let outputs_arg = outputs_file.to_str().unwrap().to_string();
    let base: Vec<String> = ["staging", "--outputs", &outputs_arg]
        .iter()
        .map(|s| s.to_string())
        .chain(check_args())
        .collect();
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let run_with = |args: Vec<String>| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        repo.audit(&endpoint, &a)
    };

    // 1. No waivers: two failures, exit 3. Kept as the baseline.
    let first_dir = repo.root.join("first");
    let first = run_with(with(&["--output-dir", first_dir.to_str().unwrap()]));
    assert_eq!(first.code, 3, "{first}");
    assert!(
        first
            .stdout
            .contains("FAIL    cloudtrail.log_file_validation"),
        "{first}"
    );
    let first_doc = json(&std::fs::read_to_string(first_dir.join("audit.json")).unwrap());
    let fails: BTreeSet<_> = statuses(&first_doc)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .collect();
    assert_eq!(
        fails,
        [
            ("cloudtrail.log_file_validation", "fail"),
            ("rds.storage_encrypted", "fail")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .into()
    );

    // 2. Waivers: honoured (trail), expired (database), matching nothing (WAF).
    repo.write("environments/staging/waivers.hcl", &waivers_text(true));
    let second_dir = repo.root.join("second");
    let (push_url, pushed) = fake_pushgateway();
    let second = run_with(with(&[
        "--output-dir",
        second_dir.to_str().unwrap(),
        "--baseline",
        first_dir.join("audit.json").to_str().unwrap(),
        "--pushgateway",
        &push_url,
    ]));
    assert_eq!(second.code, 3, "an expired waiver is a failure: {second}");
    let doc = json(&std::fs::read_to_string(second_dir.join("audit.json")).unwrap());
    let by_check = |id: &str| {
        findings(&doc)
            .iter()
            .filter(|f| f["check_id"] == id)
            .cloned()
            .collect::<Vec<_>>()
    };
    let trail = &by_check("cloudtrail.log_file_validation")[0];
    assert_eq!(trail["status"], "waived", "{trail}");
    assert_eq!(trail["waiver"]["owner"], "security@ohmycoins.io");
    assert_eq!(
        trail["waiver"]["source"],
        "environments/staging/waivers.hcl:2"
    );
    assert_eq!(
        by_check("rds.storage_encrypted")[0]["status"],
        "fail",
        "an expired waiver waives nothing"
    );
    let expired = &by_check("audit.waiver_expired")[0];
    assert_eq!(expired["status"], "fail");
    assert_eq!(
        expired["resource"],
        "waiver:environments/staging/waivers.hcl:17"
    );
    let warnings = doc["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("retired-acl")
            && warnings[0]["message"]
                .as_str()
                .unwrap()
                .contains("matches no resource")
    );
    assert_eq!(doc["summary"]["waived"], 1);
    assert_eq!(doc["summary"]["fail"], 2);
    // Baseline: the expired waiver is new, the waived trail resolved, the database unchanged.
    let keys = |k: &str| {
        doc["baseline"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys("new"), vec!["audit.waiver_expired"]);
    assert_eq!(keys("resolved"), vec!["cloudtrail.log_file_validation"]);
    assert_eq!(keys("unchanged"), vec!["rds.storage_encrypted"]);
    let human = std::fs::read_to_string(second_dir.join("audit.txt")).unwrap();
    assert!(
        human.contains("Against the baseline: 1 new, 1 resolved, 1 unchanged failures"),
        "{human}"
    );
    assert!(
        human.contains("WAIVED  cloudtrail.log_file_validation"),
        "{human}"
    );
    validate_all_formats(&second_dir, &doc);
    let request = pushed.join().unwrap();
    assert!(
        request.starts_with("POST /metrics/job/ohmc-compliance-audit HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains("ohmc_compliance_check_status{check_id=\"rds.storage_encrypted\""),
        "{request}"
    );

    // 3. Only the waived failure left (no expired waiver, cloudtrail checks only): exit 0,
    //    the unmatched waiver only a warning.
    repo.write("environments/staging/waivers.hcl", &waivers_text(false));
    let only_trail: Vec<String> = [
        "staging",
        "--outputs",
        &outputs_arg,
        "--check",
        "cloudtrail.*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let third = run_with(only_trail);
    assert_eq!(
        third.code, 0,
        "waived failures do not fail the run: {third}"
    );
    assert!(
        third
            .stdout
            .contains("WAIVED  cloudtrail.log_file_validation"),
        "{third}"
    );
    assert!(
        third.stdout.contains("Warnings:") && third.stdout.contains("matches no resource"),
        "{third}"
    );

    // 4. Errors win and are listed apart: a check whose API moto lacks (Config rule
    //    compliance: HTTP 500), a failure, and an environment reached in the wrong account.
    let errs: Vec<String> = [
        "staging",
        "wrongacct",
        "--outputs",
        &outputs_arg,
        "--check",
        "config.rule_compliance_reported",
        "--check",
        "rds.storage_encrypted",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Config rule compliance needs a rule to report on.
    let config = aws_sdk_config::Client::new(&t.cfg);
    use aws_sdk_config::types as cfgt;
    config
        .put_config_rule()
        .config_rule(
            cfgt::ConfigRule::builder()
                .config_rule_name("cloudtrail-enabled")
                .source(
                    cfgt::Source::builder()
                        .owner(cfgt::Owner::Aws)
                        .source_identifier("CLOUD_TRAIL_ENABLED")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    repo.write(
        "environments/staging/environment.hcl",
        &std::fs::read_to_string(repo.root.join("environments/staging/environment.hcl"))
            .unwrap()
            .replace(
                "verify {\n",
                "verify {\n  required_config_rules = [\"cloudtrail-enabled\"]\n",
            ),
    );
    let fourth = run_with(errs);
    assert_eq!(fourth.code, 1, "{fourth}");
    let errors_at = fourth
        .stdout
        .find("Errors (could not be judged; never a pass):")
        .unwrap_or_else(|| panic!("{fourth}"));
    let errors = &fourth.stdout[errors_at..];
    assert!(errors.contains("wrongacct (account 111111111111, us-east-1): the credentials reach account 123456789012, but the target is account 111111111111"), "{fourth}");
    assert!(
        errors.contains("config.rule_compliance_reported"),
        "{fourth}"
    );
    assert!(
        fourth.stdout.contains("FAIL    rds.storage_encrypted"),
        "the failure is still reported: {fourth}"
    );

    // A typo in --check is refused rather than auditing nothing.
    let typo = run_with(vec![
        "staging".into(),
        "--check".into(),
        "cloudtrial.*".into(),
    ]);
    assert_eq!(typo.code, 1, "{typo}");
    assert!(
        typo.stderr
            .contains("--check cloudtrial.* matches no check in the catalog"),
        "{typo}"
    );
}

/// A one-shot HTTP server that answers 200 and returns the request it saw.
fn fake_pushgateway() -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            let n = s.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8_lossy(&buf).to_string()
    });
    (url, handle)
}

/// Every file `--output-dir` writes, parsed back and checked against the JSON report.
fn validate_all_formats(dir: &Path, doc: &Value) {
    let all = findings(doc);
    let target_errors = doc["errors"].as_array().unwrap().len();

    // JUnit: well-formed XML, one testcase per finding (+ one per failed target).
    let xml = std::fs::read_to_string(dir.join("audit.junit.xml")).unwrap();
    let parsed =
        roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("JUnit is not XML: {e}\n{xml}"));
    let root = parsed.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = parsed
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        cases.len(),
        all.len() + target_errors,
        "one testcase per check and resource"
    );
    let count = |status: &str| all.iter().filter(|f| f["status"] == status).count();
    let with_child = |tag: &str| {
        cases
            .iter()
            .filter(|c| c.children().any(|k| k.has_tag_name(tag)))
            .count()
    };
    assert_eq!(with_child("failure"), count("fail"));
    assert_eq!(with_child("error"), count("error") + target_errors);
    assert_eq!(with_child("skipped"), count("skipped") + count("waived"));
    assert_eq!(
        root.attribute("failures")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        count("fail")
    );
    for c in &cases {
        assert!(c.attribute("name").is_some() && c.attribute("classname").is_some());
    }

    // SARIF: valid against the 2.1.0 schema; a result per failing, waived or errored
    // finding; waived ones suppressed.
    let sarif_path = dir.join("audit.sarif");
    // The schema sits beside the pinned tools (OHMC_TOOLS_DIR, as every tool the suite runs).
    let schema = crate::harness::tools_bin()
        .parent()
        .unwrap()
        .join("share/sarif-schema-2.1.0.json");
    assert!(
        schema.exists(),
        "{} is missing: run scripts/install-tools",
        schema.display()
    );
    let python = crate::harness::tools_bin()
        .parent()
        .unwrap()
        .join("venv/bin/python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import json,sys,jsonschema\n\
             schema=json.load(open(sys.argv[1])); doc=json.load(open(sys.argv[2]))\n\
             jsonschema.Draft7Validator.check_schema(schema)\n\
             errors=sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)\n\
             [print(e.message, list(e.absolute_path)) for e in errors]\n\
             sys.exit(1 if errors else 0)",
            schema.to_str().unwrap(),
            sarif_path.to_str().unwrap(),
        ])
        .output()
        .expect("python jsonschema");
    assert!(
        out.status.success(),
        "SARIF does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sarif = json(&std::fs::read_to_string(&sarif_path).unwrap());
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        count("fail") + count("waived") + count("error")
    );
    for r in results {
        assert!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("environments/")
        );
        assert!(r["partialFingerprints"]["ohmcFinding/v1"].is_string());
    }
    assert_eq!(
        results
            .iter()
            .filter(|r| r["suppressions"].is_array())
            .count(),
        count("waived")
    );
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules
        .iter()
        .any(|r| r["id"] == "cloudtrail.multi_region_logging"
            && r["properties"]["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "CloudTrail.1")));

    // Prometheus: promtool's linter accepts it; one status series per judged finding.
    let prom_path = dir.join("ohmc_compliance.prom");
    let prom = std::fs::read_to_string(&prom_path).unwrap();
    let out = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&prom_path).unwrap())
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}\n{prom}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let series: Vec<&str> = prom
        .lines()
        .filter(|l| l.starts_with("ohmc_compliance_check_status{"))
        .collect();
    assert_eq!(
        series.len(),
        all.iter().filter(|f| f["status"] != "skipped").count() + target_errors
    );
    assert!(prom.contains("# TYPE ohmc_compliance_check_status gauge"));
    assert!(prom.contains("ohmc_compliance_audit_duration_seconds "));
    for f in all.iter().filter(|f| f["status"] == "fail") {
        let needle = format!(
            "check_id=\"{}\",resource=\"{}\",environment=\"{}\"",
            f["check_id"].as_str().unwrap(),
            f["resource"].as_str().unwrap(),
            f["environment"].as_str().unwrap()
        );
        let line = series
            .iter()
            .find(|l| l.contains(&needle))
            .unwrap_or_else(|| panic!("no series for {needle}\n{prom}"));
        assert!(line.ends_with(" 1"), "{line}");
    }
    if doc["summary"]["error"] == 0 {
        assert!(prom.contains("ohmc_compliance_audit_last_success_timestamp_seconds "));
    }

    // Markdown and the human text exist and name every failure.
    let md = std::fs::read_to_string(dir.join("audit.md")).unwrap();
    let txt = std::fs::read_to_string(dir.join("audit.txt")).unwrap();
    assert!(md.starts_with("## Compliance audit: "));
    for f in all.iter().filter(|f| f["status"] == "fail") {
        assert!(
            md.contains(f["check_id"].as_str().unwrap())
                && txt.contains(f["check_id"].as_str().unwrap())
        );
    }
}

#[test]
fn audit_manifests_pass_kubernetes_validate() {
    let dir = repo_root().join("deploy/audit/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let out = Command::new(tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.31.0"])
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("ERROR") && !text.contains("WARN"),
        "{text}"
    );
    let kinds: BTreeSet<String> = text
        .lines()
        .filter(|l| l.starts_with("INFO") && l.contains(" passed for resource "))
        .filter_map(|l| {
            l.split(" passed for resource ")
                .nth(1)?
                .split('/')
                .next()
                .map(String::from)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "cronjob",
            "job",
            "namespace",
            "networkpolicy",
            "persistentvolumeclaim",
            "serviceaccount"
        ]
        .map(String::from)
        .into(),
        "{text}"
    );
    org_audit_job_is_indexed_by_shard(&dir);

    // What the issue asks of the CronJob, beyond the schema.
    let cron: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("cronjob.yaml")).unwrap()).unwrap();
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(
        c["resources"]["limits"]["cpu"].is_string()
            && c["resources"]["limits"]["memory"].is_string()
    );
    assert_eq!(pod["serviceAccountName"], "compliance-audit");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "audit");
    assert!(args.contains(&"--pushgateway") && args.contains(&"--output-dir"));
    let sa: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("serviceaccount.yaml")).unwrap())
            .unwrap();
    assert!(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap()
        .contains(":role/"));
    let dockerfile = std::fs::read_to_string(repo_root().join("deploy/audit/Dockerfile")).unwrap();
    assert!(dockerfile.matches("\nFROM ").count() >= 2, "multi-stage");
    assert!(dockerfile.contains("\nUSER 65532"), "non-root");
}

/// The organisation audit: an Indexed Job whose pod K runs `--shard K/N` with N its
/// completions, each shard's reports in a folder the merge Job lists, all N of them; and
/// the egress policy lets every audit pod out.
fn org_audit_job_is_indexed_by_shard(dir: &Path) {
    let docs = yaml_documents(&dir.join("org-audit-job.yaml"));
    let job = docs.iter().find(|d| d["kind"] == "Job").unwrap();
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let n = job["spec"]["completions"].as_u64().unwrap();
    assert_eq!(job["spec"]["parallelism"].as_u64(), Some(n));
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let at = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(at("--shard"), format!("$(JOB_COMPLETION_INDEX)/{n}"));
    let out_dir = at("--output-dir");
    assert!(out_dir.contains("$(JOB_COMPLETION_INDEX)"), "{out_dir}");
    assert!(args.contains(&"--discover-accounts"));
    assert!(!args.contains(&"--pushgateway"), "shards must not push");

    let merge: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.join("org-audit-merge.yaml")).unwrap())
            .unwrap();
    let margs: Vec<&str> = merge["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&margs[..2], ["audit", "merge"]);
    let listed: Vec<&str> = margs
        .iter()
        .copied()
        .filter(|a| a.ends_with("/audit.json"))
        .collect();
    let expected: Vec<String> = (0..n)
        .map(|k| {
            format!(
                "{}/audit.json",
                out_dir.replace("$(JOB_COMPLETION_INDEX)", &k.to_string())
            )
        })
        .collect();
    assert_eq!(listed, expected, "the merge lists every shard's report");
    assert!(margs.contains(&"--pushgateway"));

    let policies = yaml_documents(&dir.join("networkpolicy.yaml"));
    let egress = policies
        .iter()
        .find(|p| p["metadata"]["name"] == "compliance-audit-egress")
        .unwrap();
    for workload in [&job["spec"]["template"], &merge["spec"]["template"]] {
        let labels = &workload["metadata"]["labels"];
        for (k, v) in egress["spec"]["podSelector"]["matchLabels"]
            .as_object()
            .unwrap()
        {
            assert_eq!(&labels[k], v, "the egress policy selects {labels}");
        }
    }
}

/// Every document of a multi-document YAML file.
fn yaml_documents(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .split("\n---\n")
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect()
}

#[test]
fn compliance_workflow_passes_actionlint_and_matches_the_cli() {
    let wf = repo_root().join(".github/workflows/compliance-audit.yml");
    let out = Command::new(tool("actionlint"))
        .arg(&wf)
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&wf).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    assert!(doc["on"]["schedule"].is_array(), "scheduled");
    assert!(
        text.contains("github/codeql-action/upload-sarif"),
        "uploads SARIF"
    );
    // Every `ohmc-infra audit` flag the workflow uses exists.
    let help = Command::new(ohmc_bin())
        .args(["audit", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for line in text.lines().filter(|l| l.contains("ohmc-infra audit")) {
        for flag in line.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "{flag} is not an audit flag"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn monitoring_checks_run_once_per_environment_and_unreachable_is_an_error() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    let closed = crate::harness::moto::free_port();
    let env_file = repo.root.join("environments/staging/environment.hcl");
    let text = std::fs::read_to_string(&env_file).unwrap()
        + &format!("monitoring {{\n  prometheus_url = \"http://127.0.0.1:{closed}\"\n  required_jobs = [\"backend\"]\n}}\n");
    std::fs::write(&env_file, text).unwrap();
    let outputs = repo.write("outputs.json", "{}");
    let run = repo.audit(
        &endpoint,
        &[
            "staging",
            "--outputs",
            outputs.to_str().unwrap(),
            "--check",
            "monitoring.*",
            "--region",
            "eu-west-1",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        run.code, 1,
        "an unreachable Prometheus is an error, never a pass: {run}"
    );
    let doc = json(&run.stdout);
    let monitoring: Vec<&Value> = findings(&doc)
        .iter()
        .filter(|f| f["check_id"].as_str().unwrap().starts_with("monitoring."))
        .collect();
    assert!(!monitoring.is_empty(), "{run}");
    assert!(
        monitoring.iter().all(|f| f["region"] == "us-east-1"),
        "judged once, in the home region: {run}"
    );
    assert!(monitoring.iter().any(|f| f["status"] == "error"), "{run}");
    assert!(monitoring.iter().all(|f| f["status"] != "pass"), "{run}");
}
