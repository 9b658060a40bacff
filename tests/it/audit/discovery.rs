//! Discovery at organisation scale, against moto: accounts without stack outputs judged by
//! enumeration (account-level controls with their control ids, exit 3), the "unmanaged"
//! tag beside stack outputs, a target whose AssumeRole is denied becoming an Error while
//! the others finish, and `--shard K/N` plus `audit merge` equal to the unsharded run in
//! every format.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::{findings, json, write_outputs, Audit, Repo, OTHER_ACCOUNT, REGIONS};
use crate::harness::moto::{MotoServer, MOTO_ACCOUNT};
use crate::harness::proxy::{Fault, FaultProxy, FaultRule};
use crate::harness::seed::{self, Flaws, SeedTarget};

const ROLE: &str = "ohmc-audit";

/// The default moto account in us-east-1, reported as JSON.
const MOTO_ACCOUNT_IN_US_EAST_1: [&str; 8] = [
    "--account",
    MOTO_ACCOUNT,
    "--role-name",
    ROLE,
    "--region",
    "us-east-1",
    "--format",
    "json",
];

/// The checks moto can answer in a discovered account (ListFindings, recovery points and
/// backup selections are not implemented by moto: they would be Errors).
const DISCOVERY_CHECKS: [&str; 16] = [
    "dns.no_dangling_records",
    "guardduty.detector_enabled",
    "guardduty.protection_features",
    "config.recorder_all_resources",
    "config.delivery_channel",
    "cloudtrail.*",
    "backup.plan_rules",
    "backup.vault_encrypted",
    "backup.vault_lock",
    "rds.*",
    "acm.certificate_issued_covers_names",
    "acm.certificate_key_strength",
    "waf.web_acl_has_rules",
    "waf.managed_rule_groups",
    "waf.web_acl_associated",
    "elasticache.*",
];

fn args(base: &[&str], checks: &[&str]) -> Vec<String> {
    base.iter()
        .map(|s| s.to_string())
        .chain(
            checks
                .iter()
                .flat_map(|c| ["--check".to_string(), c.to_string()]),
        )
        .collect()
}

fn run(repo: &Repo, endpoint: &str, args: &[String]) -> Audit {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    repo.audit(endpoint, &a)
}

/// (region, check, resource, status) of every finding.
fn rows(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    findings(doc)
        .iter()
        .map(|f| {
            (
                f["region"].as_str().unwrap().to_string(),
                f["check_id"].as_str().unwrap().to_string(),
                f["resource"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A finding's judgement, as a line: check, resource, status and evidence.
fn judgement(f: &Value) -> String {
    format!(
        "{} {} {} {} / {}",
        f["check_id"],
        f["resource"],
        f["status"],
        f["evidence"]["expected"],
        f["evidence"]["observed"]
    )
}

fn controls(f: &Value) -> BTreeSet<String> {
    f["controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every call of the run is granted by the audit role's policy, and every listing
/// discovery makes was made (so the policy's discovery grants are in use).
fn policy_grants_every_call(doc: &Value) {
    policy_grants_calls(doc, &super::DISCOVERY_ACTIONS);
}

/// Every call of the run is granted by the audit role's policy, and these were made.
fn policy_grants_calls(doc: &Value, made: &[&str]) {
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::harness::repo_root().join("deploy/iam/audit-readonly-policy.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let granted: BTreeSet<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
        })
        .collect();
    let called: BTreeSet<&str> = doc["api_calls"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for a in &called {
        assert!(
            granted.contains(a),
            "{a} is not granted by deploy/iam/audit-readonly-policy.json"
        );
    }
    for a in made {
        assert!(called.contains(a), "discovery never called {a}: {called:?}");
    }
}

fn s3(t: &SeedTarget) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&t.cfg)
            .force_path_style(true)
            .build(),
    )
}

/// A single-region trail without validation or KMS, logging.
async fn weak_trail(t: &SeedTarget, name: &str) -> String {
    let bucket = format!("{name}-{}-{}", t.account, t.region);
    seed::private_bucket(&s3(t), &bucket, &t.region).await;
    let out = aws_sdk_cloudtrail::Client::new(&t.cfg)
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(false)
        .enable_log_file_validation(false)
        .send()
        .await
        .expect("create trail");
    aws_sdk_cloudtrail::Client::new(&t.cfg)
        .start_logging()
        .name(name)
        .send()
        .await
        .unwrap();
    out.trail_arn().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_judges_an_account_without_outputs_by_its_account_level_controls() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    // The account is production: its vaults must be locked.
    repo.write(
        "audit.hcl",
        &format!("audit {{\n  production_accounts = [\"{OTHER_ACCOUNT}\"]\n}}\n"),
    );
    // us-east-1: a disabled detector, no Config recorder, one weak single-region trail,
    // an unlocked vault and a certificate. eu-west-1: nothing at all.
    let t = SeedTarget::assume(&endpoint, "us-east-1", OTHER_ACCOUNT, ROLE).await;
    let detector = aws_sdk_guardduty::Client::new(&t.cfg)
        .create_detector()
        .enable(false)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    let trail = weak_trail(&t, "weak").await;
    let kms =
        format!("arn:aws:kms:us-east-1:{OTHER_ACCOUNT}:key/0b6a4c52-6b1c-4a36-9d5e-2a0c7c0f1a11");
    aws_sdk_backup::Client::new(&t.cfg)
        .create_backup_vault()
        .backup_vault_name("unlocked")
        .encryption_key_arn(&kms)
        .send()
        .await
        .unwrap();
    let cert = aws_sdk_acm::Client::new(&t.cfg)
        .request_certificate()
        .domain_name("audit.ohmycoins.io")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();

    let base = [
        "--account",
        OTHER_ACCOUNT,
        "--role-name",
        ROLE,
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--format",
        "json",
    ];
    let out = run(&repo, &endpoint, &args(&base, &DISCOVERY_CHECKS));
    assert_eq!(out.code, 3, "{out}");
    let doc = json(&out.stdout);
    assert!(doc["errors"].as_array().unwrap().is_empty(), "{out}");
    assert_eq!(doc["summary"]["error"], 0, "{out}");
    policy_grants_every_call(&doc);
    let got = rows(&doc);
    let a = OTHER_ACCOUNT;
    let fail = |region: &str, check: &str, resource: String| {
        (
            region.to_string(),
            check.to_string(),
            resource,
            "fail".to_string(),
        )
    };
    let mut planted = vec![
        fail(
            "us-east-1",
            "guardduty.detector_enabled",
            format!("arn:aws:guardduty:us-east-1:{a}:detector/{detector}"),
        ),
        fail("us-east-1", "cloudtrail.log_file_validation", trail.clone()),
        fail("us-east-1", "cloudtrail.kms_encrypted", trail.clone()),
        fail(
            "us-east-1",
            "cloudtrail.multi_region_logging",
            trail.clone(),
        ),
        fail(
            "us-east-1",
            "backup.vault_lock",
            format!("arn:aws:backup:us-east-1:{a}:backup-vault:unlocked"),
        ),
        fail(
            "eu-west-1",
            "guardduty.detector_enabled",
            format!("arn:aws:guardduty:eu-west-1:{a}:detector"),
        ),
    ];
    for region in REGIONS {
        planted.push(fail(
            region,
            "config.recorder_all_resources",
            format!("arn:aws:config:{region}:{a}:configuration-recorder"),
        ));
        planted.push(fail(
            region,
            "cloudtrail.account_multi_region_trail",
            format!("arn:aws:cloudtrail:{region}:{a}:trail"),
        ));
    }
    for p in &planted {
        assert!(got.contains(p), "planted defect not found: {p:?}\n{out}");
    }
    // Each account-level finding carries its Security Hub control id.
    let want: BTreeMap<&str, &str> = [
        ("guardduty.detector_enabled", "GuardDuty.1"),
        ("config.recorder_all_resources", "Config.1"),
        ("cloudtrail.account_multi_region_trail", "CloudTrail.1"),
    ]
    .into();
    for f in findings(&doc) {
        if let Some(id) = want.get(f["check_id"].as_str().unwrap()) {
            assert!(controls(f).contains(*id), "{f}");
        }
    }
    // Nothing is silently skipped: a check without its expectation says which one.
    let skipped: Vec<&Value> = findings(&doc)
        .iter()
        .filter(|f| f["status"] == "skipped")
        .collect();
    for f in &skipped {
        let m = f["message"].as_str().unwrap();
        assert!(
            m.starts_with("not judged: needs expectation ") || m.starts_with("production-only"),
            "{f}"
        );
        assert!(
            !f["resource"].as_str().unwrap().starts_with("output:"),
            "{f}"
        );
    }
    let names = findings(&doc)
        .iter()
        .find(|f| {
            f["check_id"] == "acm.certificate_issued_covers_names" && f["resource"] == cert.as_str()
        })
        .unwrap_or_else(|| panic!("certificate not discovered\n{out}"));
    assert_eq!(names["status"], "skipped", "{names}");
    assert!(
        names["message"]
            .as_str()
            .unwrap()
            .contains("`audit.domain_names`"),
        "{names}"
    );
    // The weak key check needs no expectation: the discovered certificate is judged.
    assert!(
        got.contains(&(
            "us-east-1".into(),
            "acm.certificate_key_strength".into(),
            cert.clone(),
            "pass".into()
        )),
        "{out}"
    );

    // The same account with its `audit {}` names: the certificate is judged, not skipped.
    repo.write(
        "audit.hcl",
        &format!("audit {{\n  domain_names = [\"audit.ohmycoins.io\"]\n  production_accounts = [\"{OTHER_ACCOUNT}\"]\n}}\n"),
    );
    let out = run(
        &repo,
        &endpoint,
        &args(&base, &["acm.certificate_issued_covers_names"]),
    );
    let doc = json(&out.stdout);
    let names = findings(&doc)
        .iter()
        .find(|f| f["resource"] == cert.as_str())
        .unwrap_or_else(|| panic!("{out}"));
    assert_ne!(names["status"], "skipped", "{out}");

    // Fixing eu-west-1's defects clears exactly them there.
    let eu = SeedTarget::assume(&endpoint, "eu-west-1", OTHER_ACCOUNT, ROLE).await;
    seed::baseline(&eu, Flaws::default()).await;
    let out = run(
        &repo,
        &endpoint,
        &args(
            &base,
            &[
                "guardduty.detector_enabled",
                "config.recorder_all_resources",
                "cloudtrail.account_multi_region_trail",
            ],
        ),
    );
    let doc = json(&out.stdout);
    let eu_fail: Vec<&Value> = findings(&doc)
        .iter()
        .filter(|f| f["region"] == "eu-west-1" && f["status"] != "pass")
        .collect();
    assert!(eu_fail.is_empty(), "{eu_fail:?}\n{out}");
    // The baseline's eu-west-1 trail is multi-region: it now also reaches us-east-1 as a
    // shadow trail, so us-east-1's account-level CloudTrail control passes too.
    assert_eq!(
        out.code, 3,
        "us-east-1's detector and recorder still fail\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_beside_outputs_tags_the_resources_no_stack_owns() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    let t = SeedTarget::assume(&endpoint, "us-east-1", OTHER_ACCOUNT, ROLE).await;
    let outputs = seed::baseline(&t, Flaws::default()).await;
    let file = write_outputs(&repo.root, "outputs.json", &outputs);
    // Beside the stack: an unencrypted database and a vault nobody declared.
    seed::db_instance(
        &aws_sdk_rds::Client::new(&t.cfg),
        "rogue-db",
        false,
        7,
        false,
    )
    .await;

    let base = [
        "--account",
        OTHER_ACCOUNT,
        "--role-name",
        ROLE,
        "--region",
        "us-east-1",
        "--outputs",
        file.to_str().unwrap(),
    ];
    let checks = [
        "rds.storage_encrypted",
        "rds.backup_retention",
        "cloudtrail.*",
        "guardduty.detector_enabled",
    ];
    let rogue = format!("arn:aws:rds:us-east-1:{OTHER_ACCOUNT}:db:rogue-db");
    let owned = format!("arn:aws:rds:us-east-1:{OTHER_ACCOUNT}:db:ohmc-postgres");

    // Without --discover the stack's outputs are the whole audit.
    let plain = run(
        &repo,
        &endpoint,
        &args(&[&base[..], &["--format", "json"]].concat(), &checks),
    );
    assert_eq!(plain.code, 0, "{plain}");
    let doc = json(&plain.stdout);
    assert!(
        !findings(&doc)
            .iter()
            .any(|f| f["resource"] == rogue.as_str()),
        "{plain}"
    );

    let out = run(
        &repo,
        &endpoint,
        &args(
            &[&base[..], &["--discover", "--format", "json"]].concat(),
            &checks,
        ),
    );
    assert_eq!(out.code, 3, "{out}");
    let doc = json(&out.stdout);
    let by: BTreeMap<(String, String), &Value> = findings(&doc)
        .iter()
        .map(|f| {
            (
                (
                    f["check_id"].as_str().unwrap().to_string(),
                    f["resource"].as_str().unwrap().to_string(),
                ),
                f,
            )
        })
        .collect();
    assert_eq!(
        by.len(),
        findings(&doc).len(),
        "no resource judged twice\n{out}"
    );
    let rogue_enc = by[&("rds.storage_encrypted".to_string(), rogue.clone())];
    assert_eq!(rogue_enc["status"], "fail");
    assert_eq!(rogue_enc["unmanaged"], true);
    let owned_enc = by[&("rds.storage_encrypted".to_string(), owned)];
    assert_eq!(owned_enc["status"], "pass");
    assert!(owned_enc.get("unmanaged").is_none(), "{owned_enc}");
    // The account-level control is the account's, not an unmanaged resource's.
    let acct = by[&(
        "cloudtrail.account_multi_region_trail".to_string(),
        format!("arn:aws:cloudtrail:us-east-1:{OTHER_ACCOUNT}:trail"),
    )];
    assert_eq!(acct["status"], "pass", "{acct}");
    assert!(acct.get("unmanaged").is_none());
    let failing: Vec<&str> = findings(&doc)
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["resource"].as_str().unwrap())
        .collect();
    assert_eq!(failing, vec![rogue.as_str()], "{out}");

    let human = run(
        &repo,
        &endpoint,
        &args(&[&base[..], &["--discover"]].concat(), &checks),
    );
    assert!(
        human.stdout.contains(&format!("{rogue} (unmanaged)")),
        "{human}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_assume_role_is_an_error_of_that_account_while_the_others_finish() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    for region in REGIONS {
        let t = SeedTarget::assume(&moto.endpoint(), region, MOTO_ACCOUNT, ROLE).await;
        seed::baseline(&t, Flaws::default()).await;
    }
    proxy.add_rule(
        FaultRule::action("AssumeRole", Fault::AccessDenied).body_contains(OTHER_ACCOUNT),
    );
    let base = [
        "--account",
        MOTO_ACCOUNT,
        "--account",
        OTHER_ACCOUNT,
        "--role-name",
        ROLE,
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
        "--format",
        "json",
    ];
    let checks = [
        "guardduty.detector_enabled",
        "config.recorder_all_resources",
        "cloudtrail.account_multi_region_trail",
    ];
    let out = run(&repo, &proxy.endpoint(), &args(&base, &checks));
    assert_eq!(out.code, 1, "{out}");
    let doc = json(&out.stdout);
    let errors: Vec<(String, String)> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["account_id"].as_str().unwrap().into(),
                e["region"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (OTHER_ACCOUNT.into(), "eu-west-1".into()),
            (OTHER_ACCOUNT.into(), "us-east-1".into())
        ],
        "{out}"
    );
    for e in doc["errors"].as_array().unwrap() {
        assert!(
            e["message"].as_str().unwrap().contains("AccessDenied"),
            "{e}"
        );
    }
    // The other account finished: every check judged, every one passing.
    let mine: Vec<&Value> = findings(&doc)
        .iter()
        .filter(|f| f["account_id"] == MOTO_ACCOUNT)
        .collect();
    assert_eq!(mine.len(), 6, "{out}");
    assert!(mine.iter().all(|f| f["status"] == "pass"), "{out}");
    assert!(proxy.injected() >= 2, "the denial was injected");
}

/// `ohmc-infra audit merge ...`: no AWS, no repository.
fn merge(args: &[String]) -> Audit {
    let out = std::process::Command::new(crate::harness::ohmc_bin())
        .arg("audit")
        .args(args)
        .output()
        .expect("run ohmc-infra audit merge");
    Audit::from(out)
}

/// Every format of a report directory, with the parts that differ between two runs of
/// the same audit (times, durations) masked.
fn stable_formats(dir: &Path) -> BTreeMap<String, String> {
    let times = regex::Regex::new(
        r#"(?x)
        \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})   # RFC 3339
        | "(duration_ms|elapsed_ms)":\s*\d+
        | time="[0-9.]+"
        | in\ [0-9.]+\ ?s\b
        | (ohmc_compliance_audit_(duration_seconds|last_success_timestamp_seconds)(\{[^}]*\})?)\ [0-9.e+]+
        "#,
    )
    .unwrap();
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        out.insert(name, times.replace_all(&text, "<T>").into_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_are_deterministic_and_their_merge_equals_the_unsharded_run_in_every_format() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    // Six accounts over two regions, a mix: baseline, flawed baseline, empty.
    let accounts: Vec<String> = (1..=6)
        .map(|i| format!("{:012}", 300_000_000_000u64 + i))
        .collect();
    for (i, a) in accounts.iter().enumerate() {
        for region in REGIONS {
            let t = SeedTarget::assume(&endpoint, region, a, ROLE).await;
            match i % 3 {
                0 => {
                    seed::baseline(&t, Flaws::default()).await;
                }
                1 => {
                    seed::baseline(
                        &t,
                        Flaws {
                            unencrypted_db: true,
                            trail_without_validation: true,
                        },
                    )
                    .await;
                }
                _ => {}
            }
        }
    }
    // A waiver in use in one target and one matching nothing: the merge must neither
    // lose the first nor invent a warning for the second from a shard without it.
    let waivers = repo.write(
        "waivers.hcl",
        &format!(
            r#"
waiver {{
  check    = "rds.storage_encrypted"
  resource = "arn:aws:rds:us-east-1:{}:db:*"
  reason   = "Migration scheduled"
  owner    = "dba@ohmycoins.io"
  expires  = "2027-06-30"
}}
waiver {{
  check    = "rds.storage_encrypted"
  resource = "arn:aws:rds:*:999999999999:db:*"
  reason   = "Stale"
  owner    = "dba@ohmycoins.io"
  expires  = "2027-06-30"
}}
"#,
            accounts[1]
        ),
    );
    let mut base: Vec<String> = Vec::new();
    for a in &accounts {
        base.extend(["--account".to_string(), a.clone()]);
    }
    base.extend(
        [
            "--role-name",
            ROLE,
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--waivers",
            waivers.to_str().unwrap(),
            "--format",
            "json",
        ]
        .map(String::from),
    );
    let with = |extra: &[&str]| -> Vec<String> {
        let b: Vec<&str> = base.iter().map(String::as_str).collect();
        args(&[&b[..], extra].concat(), &DISCOVERY_CHECKS)
    };

    let whole_dir = repo.root.join("whole");
    let whole = run(
        &repo,
        &endpoint,
        &with(&["--output-dir", whole_dir.to_str().unwrap()]),
    );
    assert_eq!(whole.code, 3, "{whole}");
    let whole_doc = json(&whole.stdout);
    assert_eq!(whole_doc["targets"].as_array().unwrap().len(), 12);

    let n = 3;
    let mut shard_files = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for k in 0..n {
        let dir = repo.root.join(format!("shard-{k}"));
        let shard = format!("{k}/{n}");
        let out = run(
            &repo,
            &endpoint,
            &with(&["--shard", &shard, "--output-dir", dir.to_str().unwrap()]),
        );
        assert!(matches!(out.code, 0 | 3), "{out}");
        let doc = json(&out.stdout);
        let targets: BTreeSet<(String, String)> = doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["account_id"].as_str().unwrap().into(),
                    t["region"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(
            !targets.is_empty(),
            "shard {shard} holds no target: a poor hash for 12 targets"
        );
        assert!(seen.is_disjoint(&targets), "shard {shard} overlaps another");
        seen.extend(targets.iter().cloned());
        // Deterministic: the same shard twice audits the same targets.
        let again = json(&run(&repo, &endpoint, &with(&["--shard", &shard])).stdout);
        let again: BTreeSet<(String, String)> = again["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["account_id"].as_str().unwrap().into(),
                    t["region"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(again, targets, "shard {shard} is not deterministic");
        shard_files.push(dir.join("audit.json"));
    }
    assert_eq!(seen.len(), 12, "every target in some shard");

    let merged_dir = repo.root.join("merged");
    let mut merge_args: Vec<String> = vec!["merge".into()];
    merge_args.extend(shard_files.iter().map(|p| p.to_str().unwrap().to_string()));
    merge_args.extend([
        "--output-dir".into(),
        merged_dir.to_str().unwrap().into(),
        "--format".into(),
        "json".into(),
    ]);
    let merged = merge(&merge_args);
    assert_eq!(merged.code, whole.code, "{merged}");
    let whole_files = stable_formats(&whole_dir);
    let merged_files = stable_formats(&merged_dir);
    assert_eq!(
        whole_files.keys().collect::<Vec<_>>(),
        merged_files.keys().collect::<Vec<_>>()
    );
    assert_eq!(whole_files.len(), 6, "every format");
    for (name, text) in &whole_files {
        assert_eq!(
            &merged_files[name], text,
            "{name}: the merge differs from the unsharded run"
        );
    }
    // The waiver in use waived; each account's waivers that match nothing of its own
    // warned (5 accounts for the first, 6 for the stale one), whichever shard held them.
    assert!(
        whole_doc["summary"]["waived"].as_u64().unwrap() >= 1,
        "{whole}"
    );
    assert_eq!(
        whole_doc["warnings"].as_array().unwrap().len(),
        11,
        "{whole}"
    );

    // A shard given twice is refused rather than double-counted.
    let twice = merge(&[
        "merge".into(),
        shard_files[0].to_str().unwrap().into(),
        shard_files[0].to_str().unwrap().into(),
    ]);
    assert_eq!(twice.code, 1, "{twice}");
    assert!(twice.stderr.contains("the shards overlap"), "{twice}");
}

async fn load_balancer(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    name: &str,
    kind: aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum,
    subnets: &[String],
) -> String {
    elb.create_load_balancer()
        .name(name)
        .r#type(kind)
        .set_subnets(Some(subnets.to_vec()))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string()
}

async fn cache_group(ec: &aws_sdk_elasticache::Client, id: &str, hardened: bool) {
    let mut b = ec
        .create_replication_group()
        .replication_group_id(id)
        .replication_group_description("bench")
        .engine("redis")
        .cache_node_type("cache.t3.micro")
        .num_cache_clusters(if hardened { 2 } else { 1 });
    if hardened {
        b = b
            .at_rest_encryption_enabled(true)
            .transit_encryption_enabled(true)
            .automatic_failover_enabled(true)
            .snapshot_retention_limit(7);
    }
    b.send().await.expect("create replication group");
}

async fn db_cluster(rds: &aws_sdk_rds::Client, id: &str, hardened: bool) {
    rds.create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-postgresql")
        .master_username("audit")
        .master_user_password("not-a-password-1")
        .storage_encrypted(hardened)
        .deletion_protection(hardened)
        .backup_retention_period(if hardened { 7 } else { 1 })
        .send()
        .await
        .expect("create DB cluster");
}

/// Discovery of the kinds beyond the account-level controls: DB clusters (and the
/// instances outside them), ElastiCache replication groups and application load
/// balancers without a web ACL, each planted defect found in an account with no outputs,
/// judged by the same checks and control ids as a stack's resources. The lines are
/// `check resource status controls`, resource ids masked by name.
#[tokio::test(flavor = "multi_thread")]
async fn discovery_finds_a_defective_cluster_cache_group_and_unprotected_alb_without_outputs() {
    use aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum as Lb;
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    // Production: deletion protection is judged too.
    repo.write(
        "audit.hcl",
        &format!("audit {{\n  production_accounts = [\"{MOTO_ACCOUNT}\"]\n}}\n"),
    );
    let t = SeedTarget::default_account(&endpoint, "us-east-1").await;
    let rds = aws_sdk_rds::Client::new(&t.cfg);
    db_cluster(&rds, "weak-aurora", false).await;
    db_cluster(&rds, "good-aurora", true).await;
    // A member instance is judged through its cluster, not again as an instance.
    rds.create_db_instance()
        .db_instance_identifier("weak-aurora-1")
        .db_cluster_identifier("weak-aurora")
        .engine("aurora-postgresql")
        .db_instance_class("db.r5.large")
        .send()
        .await
        .expect("create cluster member");
    seed::db_instance(&rds, "lonely-db", false, 7, false).await;
    let ec = aws_sdk_elasticache::Client::new(&t.cfg);
    cache_group(&ec, "weak-cache", false).await;
    cache_group(&ec, "good-cache", true).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&t.cfg);
    let subnets = moto.default_subnets();
    let bare = load_balancer(&elb, "bare-alb", Lb::Application, &subnets).await;
    let guarded = load_balancer(&elb, "guarded-alb", Lb::Application, &subnets).await;
    // A network load balancer cannot have a web ACL: not judged for one.
    load_balancer(&elb, "net-lb", Lb::Network, &subnets).await;
    let waf = aws_sdk_wafv2::Client::new(&t.cfg);
    let acl = waf
        .create_web_acl()
        .name("edge")
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .default_action(
            aws_sdk_wafv2::types::DefaultAction::builder()
                .allow(aws_sdk_wafv2::types::AllowAction::builder().build())
                .build(),
        )
        .visibility_config(seed::visibility("edge", true))
        .send()
        .await
        .unwrap()
        .summary()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    waf.associate_web_acl()
        .web_acl_arn(&acl)
        .resource_arn(&guarded)
        .send()
        .await
        .unwrap();

    let base = MOTO_ACCOUNT_IN_US_EAST_1;
    let out = run(
        &repo,
        &endpoint,
        &args(&base, &["rds.*", "elasticache.*", "waf.web_acl_associated"]),
    );
    assert_eq!(out.code, 3, "{out}");
    let doc = json(&out.stdout);
    assert!(doc["errors"].as_array().unwrap().is_empty(), "{out}");
    policy_grants_calls(
        &doc,
        &[
            "rds:DescribeDBClusters",
            "elasticache:DescribeReplicationGroups",
            "elasticloadbalancing:DescribeLoadBalancers",
        ],
    );
    let a = MOTO_ACCOUNT;
    let mut lines: Vec<String> = findings(&doc)
        .iter()
        .map(|f| {
            let resource = f["resource"]
                .as_str()
                .unwrap()
                .replace(&bare, "<bare-alb>")
                .replace(&guarded, "<guarded-alb>")
                .replace(&format!(":{a}:"), ":<account>:");
            let controls: Vec<String> = controls(f).into_iter().collect();
            format!(
                "{} {} {} [{}]",
                f["check_id"].as_str().unwrap(),
                resource,
                f["status"].as_str().unwrap(),
                controls.join(" ")
            )
        })
        .collect();
    lines.sort();
    let expected = "
        elasticache.automatic_backups arn:aws:elasticache:us-east-1:<account>:replicationgroup:good-cache pass [ElastiCache.1]
        elasticache.automatic_backups arn:aws:elasticache:us-east-1:<account>:replicationgroup:weak-cache fail [ElastiCache.1]
        elasticache.automatic_failover arn:aws:elasticache:us-east-1:<account>:replicationgroup:good-cache pass [ElastiCache.3]
        elasticache.automatic_failover arn:aws:elasticache:us-east-1:<account>:replicationgroup:weak-cache fail [ElastiCache.3]
        elasticache.encrypted_at_rest arn:aws:elasticache:us-east-1:<account>:replicationgroup:good-cache pass [ElastiCache.4]
        elasticache.encrypted_at_rest arn:aws:elasticache:us-east-1:<account>:replicationgroup:weak-cache fail [ElastiCache.4]
        elasticache.encrypted_in_transit arn:aws:elasticache:us-east-1:<account>:replicationgroup:good-cache pass [ElastiCache.5]
        elasticache.encrypted_in_transit arn:aws:elasticache:us-east-1:<account>:replicationgroup:weak-cache fail [ElastiCache.5]
        rds.backup_retention arn:aws:rds:us-east-1:<account>:db:lonely-db pass [RDS.11]
        rds.cluster_backup_retention arn:aws:rds:us-east-1:<account>:cluster:good-aurora pass []
        rds.cluster_backup_retention arn:aws:rds:us-east-1:<account>:cluster:weak-aurora fail []
        rds.cluster_deletion_protection arn:aws:rds:us-east-1:<account>:cluster:good-aurora pass [RDS.7]
        rds.cluster_deletion_protection arn:aws:rds:us-east-1:<account>:cluster:weak-aurora fail [RDS.7]
        rds.cluster_storage_encrypted arn:aws:rds:us-east-1:<account>:cluster:good-aurora pass [RDS.27]
        rds.cluster_storage_encrypted arn:aws:rds:us-east-1:<account>:cluster:weak-aurora fail [RDS.27]
        rds.deletion_protection arn:aws:rds:us-east-1:<account>:db:lonely-db fail [RDS.8]
        rds.storage_encrypted arn:aws:rds:us-east-1:<account>:db:lonely-db fail [2.3.1 RDS.3]
        waf.web_acl_associated <bare-alb> fail [ELB.16]
        waf.web_acl_associated <guarded-alb> pass [ELB.16]
    ";
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines.join("\n"),
        expected.join("\n"),
        "snapshot differs\n{out}"
    );
    // The evidence is the stack path's: the same expected/observed wording.
    let bare_f = findings(&doc)
        .iter()
        .find(|f| f["resource"] == bare.as_str())
        .unwrap();
    assert_eq!(bare_f["evidence"]["observed"], "no web ACL associated");
    let weak = findings(&doc)
        .iter()
        .find(|f| {
            f["check_id"] == "rds.cluster_storage_encrypted"
                && f["resource"]
                    .as_str()
                    .unwrap()
                    .ends_with(":cluster:weak-aurora")
        })
        .unwrap();
    assert_eq!(weak["evidence"]["observed"], "StorageEncrypted: false");

    // The stack path, given the same resources as outputs, judges them alike: same
    // check ids, resources, outcomes and evidence.
    let judged = |doc: &Value, kinds: &[&str]| -> BTreeSet<String> {
        findings(doc)
            .iter()
            .filter(|f| {
                kinds
                    .iter()
                    .any(|k| f["check_id"].as_str().unwrap().starts_with(k))
            })
            .filter(|f| {
                let r = f["resource"].as_str().unwrap();
                r.contains("weak-") || r.ends_with(":db:lonely-db")
            })
            .map(judgement)
            .collect()
    };
    let kinds = ["rds.", "elasticache."];
    let file = write_outputs(
        &repo.root,
        "outputs.json",
        &serde_json::from_value(serde_json::json!({
            "rds_instance_ids": {"value": ["lonely-db"]},
            "rds_cluster_ids": {"value": ["weak-aurora"]},
            "redis_replication_group_id": {"value": "weak-cache"},
        }))
        .unwrap(),
    );
    let stack = run(
        &repo,
        &endpoint,
        &args(
            &[&base[..], &["--outputs", file.to_str().unwrap()]].concat(),
            &["rds.*", "elasticache.*"],
        ),
    );
    assert_eq!(stack.code, 3, "{stack}");
    let from_stack = judged(&json(&stack.stdout), &kinds);
    // The cluster's 3 checks, the cache group's 4 and the instance's 3 (the instance
    // judged from discovery's listing, the stack path describing it).
    assert_eq!(from_stack.len(), 10, "{stack}");
    assert_eq!(from_stack, judged(&doc, &kinds), "{stack}");
}

/// A selection of checks reaches the calls: discovery makes only the listings and
/// describes the selected checks need (none for GuardDuty findings, Config's channel,
/// DB clusters, trail status or the trail's bucket), and judges those checks exactly as
/// the run of every check does.
#[tokio::test(flavor = "multi_thread")]
async fn a_selection_of_checks_makes_only_the_calls_those_checks_need() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint();
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    let t = SeedTarget::default_account(&endpoint, "us-east-1").await;
    seed::detector(&aws_sdk_guardduty::Client::new(&t.cfg)).await;
    let bucket = format!("config-{MOTO_ACCOUNT}");
    seed::private_bucket(&s3(&t), &bucket, "us-east-1").await;
    seed::config_recorder(&aws_sdk_config::Client::new(&t.cfg), MOTO_ACCOUNT, &bucket).await;
    weak_trail(&t, "weak").await;
    let rds = aws_sdk_rds::Client::new(&t.cfg);
    seed::db_instance(&rds, "plain-db", false, 7, false).await;
    db_cluster(&rds, "aurora", true).await;

    let base = MOTO_ACCOUNT_IN_US_EAST_1;
    let selected = [
        "guardduty.detector_enabled",
        "config.recorder_all_resources",
        "cloudtrail.log_file_validation",
        "rds.storage_encrypted",
    ];
    let some = run(&repo, &endpoint, &args(&base, &selected));
    assert_eq!(some.code, 3, "{some}");
    let doc = json(&some.stdout);
    let called: Vec<&str> = doc["api_calls"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected = "
        cloudtrail:DescribeTrails
        config:DescribeConfigurationRecorderStatus
        config:DescribeConfigurationRecorders
        guardduty:GetDetector
        guardduty:ListDetectors
        rds:DescribeDBInstances
        sts:GetCallerIdentity
    ";
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(called.join("\n"), expected.join("\n"), "{some}");
    // Each listing once: nothing is described again after it was listed.
    for listing in [
        "rds:DescribeDBInstances",
        "cloudtrail:DescribeTrails",
        "config:DescribeConfigurationRecorders",
    ] {
        assert_eq!(doc["api_calls"][listing], 1, "{listing}\n{some}");
    }

    // The same judgement as the run of every check, for the selected ones.
    let every = run(&repo, &endpoint, &args(&base, &DISCOVERY_CHECKS));
    assert_eq!(every.code, 3, "{every}");
    let of_selected = |doc: &Value| -> BTreeSet<String> {
        findings(doc)
            .iter()
            .filter(|f| selected.contains(&f["check_id"].as_str().unwrap()))
            .map(judgement)
            .collect()
    };
    let judged = of_selected(&doc);
    assert_eq!(judged.len(), 4, "{some}");
    assert_eq!(judged, of_selected(&json(&every.stdout)), "{every}");
}
