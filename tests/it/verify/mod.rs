//! Integration tests: verify (the `ohmc-checks` library).
//!
//! - Against a real moto server, seeded through the Rust SDK: one compliant staging-like
//!   account, then one scenario per failure mode; every scenario asserts the outcome of
//!   every check as sorted `check_id resource outcome` lines.
//! - Against `aws-smithy-mocks` for the APIs moto does not implement (Backup selections
//!   and recovery points, GuardDuty findings, Config compliance), with responses shaped
//!   like AWS's documentation. Each such test says so.
//! - Through the fault-injecting proxy: 30% throttling gives the fault-free result; a
//!   service answering 500 to every call turns its checks to Error, never Pass.
//! - Read-only: every recorded call is a Describe/Get/List granted by
//!   `deploy/iam/audit-readonly-policy.json`.

mod bench;
mod faults;
mod mocks;
mod seed;

use crate::harness::moto::{MotoServer, MOTO_ACCOUNT};
use crate::harness::proxy::{Fault, FaultProxy, FaultRule};
use crate::harness::seed::creds;
use ohmc_checks::{
    run_checks, Area, AwsContext, ClientOverride, ContextOptions, Expectations, Finding, Outcome,
    Report, RunOptions, VerifySettings,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::time::Duration;

use seed::*;

const REGION: &str = "us-east-1";
const DOMAINS: [&str; 2] = ["staging.ohmycoins.io", "api.staging.ohmycoins.io"];
const MANAGED_GROUPS: [&str; 4] = [
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
];
const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0b6a4c52-6b1c-4a36-9d5e-2a0c7c0f1a11";
const DB_ID: &str = "ohmc-staging-postgres";
const TRAIL_BUCKET: &str = "ohmc-staging-cloudtrail";

/// Options for a context against an emulator: fast backoff, enough attempts to ride out
/// 30% throttling.
fn options(endpoint: &str) -> ContextOptions {
    ContextOptions {
        region: Some(REGION.into()),
        endpoint_url: Some(endpoint.into()),
        static_credentials: Some(creds()),
        max_attempts: 8,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(40),
        attempt_timeout: Duration::from_secs(20),
        operation_timeout: Duration::from_secs(60),
        ..Default::default()
    }
}

async fn context(endpoint: &str) -> AwsContext {
    AwsContext::load(options(endpoint)).await.expect("context")
}

fn settings() -> VerifySettings {
    VerifySettings {
        domain_names: DOMAINS.iter().map(|s| s.to_string()).collect(),
        certificate_expiry_window_days: 30,
        min_backup_retention_days: 7,
        required_waf_rule_groups: MANAGED_GROUPS.iter().map(|s| s.to_string()).collect(),
        required_config_rules: vec!["cloudtrail-enabled".into(), "rds-storage-encrypted".into()],
        guardduty_finding_frequency: Some("FIFTEEN_MINUTES".into()),
        rpo_target: Duration::from_secs(24 * 3600),
    }
}

/// The report as sorted `check_id resource outcome` lines, with the run's random ids
/// replaced by names.
fn snapshot(report: &Report, st: &Staging) -> String {
    let mut subs: Vec<(String, &str)> = vec![
        (st.acl_arn.clone(), "<web-acl>"),
        (st.alb_arn.clone(), "<alb>"),
        (st.cert_arn.clone(), "<cert>"),
        (st.plan_id.clone(), "<plan>"),
        (st.detector_id.clone(), "<detector>"),
        (st.zone_id.clone(), "<zone>"),
    ];
    subs.retain(|(k, _)| !k.is_empty());
    let mut lines: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let mut res = f.resource.clone();
            for (k, v) in &subs {
                res = res.replace(k.as_str(), v);
            }
            let re = regex::Regex::new(r"certificate/[0-9a-f-]{36}").unwrap();
            let res = re.replace_all(&res, "certificate/<other-cert>").to_string();
            format!("{} {} {}", f.check_id, res, f.outcome.label())
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Compares with the expected lines, printing the whole actual snapshot on mismatch.
#[track_caller]
fn assert_snapshot(name: &str, actual: &str, expected: &str) {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let expected = expected.join("\n");
    assert!(
        actual == expected,
        "scenario {name}: snapshot differs\n--- expected\n{expected}\n--- actual\n{actual}\n"
    );
}

fn expectations(st: &Staging, production: bool) -> Expectations {
    Expectations::new(st.outputs.clone(), settings(), production)
}

/// The lines of the compliant staging account. The four Error lines are the APIs moto
/// does not implement (tested against aws-smithy-mocks below): a NotImplemented/404/500
/// is never a pass.
const BASELINE: &str = "
acm.certificate_in_use_by_listener <cert> pass
acm.certificate_issued_covers_names <cert> pass
acm.certificate_key_strength <cert> pass
acm.certificate_not_expiring <cert> pass
backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> skipped
backup.plan_rules arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> pass
backup.recovery_point_within_rpo arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres error
backup.selection_covers_rds arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres error
backup.vault_encrypted arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging pass
backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging skipped
cloudtrail.bucket_public_access_blocked arn:aws:s3:::ohmc-staging-cloudtrail pass
cloudtrail.cloudwatch_logs arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging pass
cloudtrail.kms_encrypted arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging pass
cloudtrail.log_file_validation arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging pass
cloudtrail.multi_region_logging arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging pass
config.delivery_channel arn:aws:config:us-east-1:123456789012:delivery-channel pass
config.recorder_all_resources arn:aws:config:us-east-1:123456789012:configuration-recorder/default pass
config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/cloudtrail-enabled pass
config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted pass
config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/cloudtrail-enabled error
config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted error
dns.alias_targets_alb arn:aws:route53:::hostedzone/<zone>/recordset/api.staging.ohmycoins.io pass
dns.alias_targets_alb arn:aws:route53:::hostedzone/<zone>/recordset/staging.ohmycoins.io pass
dns.expected_records_exist arn:aws:route53:::hostedzone/<zone>/recordset/api.staging.ohmycoins.io pass
dns.expected_records_exist arn:aws:route53:::hostedzone/<zone>/recordset/staging.ohmycoins.io pass
dns.no_dangling_records arn:aws:route53:::hostedzone/<zone> pass
guardduty.detector_enabled arn:aws:guardduty:us-east-1:123456789012:detector/<detector> pass
guardduty.no_high_findings arn:aws:guardduty:us-east-1:123456789012:detector/<detector> error
guardduty.protection_features arn:aws:guardduty:us-east-1:123456789012:detector/<detector> pass
rds.backup_retention arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres pass
rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres skipped
rds.storage_encrypted arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres pass
waf.cloudwatch_metrics <web-acl> pass
waf.logging_enabled <web-acl> pass
waf.managed_rule_groups <web-acl> pass
waf.rate_based_rule <web-acl> pass
waf.web_acl_associated <web-acl> pass
waf.web_acl_has_rules <web-acl> pass
";

/// Every output names a resource that does not exist (DNS and the account-wide Config
/// checks do not depend on those outputs). The Errors are moto's unimplemented APIs.
const MISSING_RESOURCES: &str = "
acm.certificate_in_use_by_listener arn:aws:acm:us-east-1:123456789012:certificate/<other-cert> fail
acm.certificate_issued_covers_names arn:aws:acm:us-east-1:123456789012:certificate/<other-cert> fail
acm.certificate_key_strength arn:aws:acm:us-east-1:123456789012:certificate/<other-cert> fail
acm.certificate_not_expiring arn:aws:acm:us-east-1:123456789012:certificate/<other-cert> fail
backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:22222222-2222-2222-2222-222222222222 fail
backup.plan_rules arn:aws:backup:us-east-1:123456789012:backup-plan:22222222-2222-2222-2222-222222222222 fail
backup.recovery_point_within_rpo arn:aws:rds:us-east-1:123456789012:db:gone error
backup.selection_covers_rds arn:aws:rds:us-east-1:123456789012:db:gone error
backup.vault_encrypted arn:aws:backup:us-east-1:123456789012:backup-vault:gone fail
backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:gone fail
cloudtrail.bucket_public_access_blocked arn:aws:s3:::ohmc-gone-bucket fail
cloudtrail.cloudwatch_logs arn:aws:cloudtrail:us-east-1:123456789012:trail/gone fail
cloudtrail.kms_encrypted arn:aws:cloudtrail:us-east-1:123456789012:trail/gone fail
cloudtrail.log_file_validation arn:aws:cloudtrail:us-east-1:123456789012:trail/gone fail
cloudtrail.multi_region_logging arn:aws:cloudtrail:us-east-1:123456789012:trail/gone fail
config.delivery_channel arn:aws:config:us-east-1:123456789012:delivery-channel pass
config.recorder_all_resources arn:aws:config:us-east-1:123456789012:configuration-recorder/gone fail
config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/cloudtrail-enabled pass
config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted pass
config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/cloudtrail-enabled error
config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted error
dns.alias_targets_alb arn:aws:route53:::hostedzone/<zone>/recordset/api.staging.ohmycoins.io pass
dns.alias_targets_alb arn:aws:route53:::hostedzone/<zone>/recordset/staging.ohmycoins.io pass
dns.expected_records_exist arn:aws:route53:::hostedzone/<zone>/recordset/api.staging.ohmycoins.io pass
dns.expected_records_exist arn:aws:route53:::hostedzone/<zone>/recordset/staging.ohmycoins.io pass
dns.no_dangling_records arn:aws:route53:::hostedzone/<zone> pass
guardduty.detector_enabled arn:aws:guardduty:us-east-1:123456789012:detector/33333333333333333333333333333333 fail
guardduty.no_high_findings arn:aws:guardduty:us-east-1:123456789012:detector/33333333333333333333333333333333 error
guardduty.protection_features arn:aws:guardduty:us-east-1:123456789012:detector/33333333333333333333333333333333 fail
rds.backup_retention arn:aws:rds:us-east-1:123456789012:db:gone fail
rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:gone fail
rds.storage_encrypted arn:aws:rds:us-east-1:123456789012:db:gone fail
waf.cloudwatch_metrics arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111 fail
waf.logging_enabled arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111 fail
waf.managed_rule_groups arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111 fail
waf.rate_based_rule arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111 fail
waf.web_acl_associated arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111 fail
waf.web_acl_has_rules arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111 fail
";

/// Applies line overrides (`check_id resource outcome`, same first two fields) to the
/// baseline, adds new lines, and removes lines given as `-check_id resource`.
fn baseline_with(changes: &str) -> String {
    let mut lines: Vec<String> = BASELINE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    for change in changes.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(gone) = change.strip_prefix('-') {
            lines.retain(|l| !l.starts_with(&format!("{gone} ")));
            continue;
        }
        let key: Vec<&str> = change.splitn(3, ' ').collect();
        let prefix = format!("{} {} ", key[0], key[1]);
        lines.retain(|l| !l.starts_with(&prefix));
        lines.push(change.to_string());
    }
    lines.sort();
    lines.join("\n")
}

async fn run(ctx: &AwsContext, exp: &Expectations) -> Report {
    run_checks(ctx, exp, &RunOptions::default()).await
}

fn outcome_of<'a>(report: &'a Report, id: &str) -> Vec<&'a Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.check_id == id)
        .collect()
}

/// Every scenario against one moto server, reset and re-seeded between scenarios.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_moto_scenarios() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let ctx = context(&moto.endpoint()).await;

    macro_rules! scenario {
        // Each scenario is boxed: one test future holding them all overflows the stack.
        ($name:literal, production = $prod:expr, |$st:ident| $mutate:block, $expected:expr) => {
            Box::pin(async {
                moto.reset();
                #[allow(unused_mut)]
                let mut $st = Box::pin(seeder.staging(&moto)).await;
                $mutate
                let exp = expectations(&$st, $prod);
                let report = Box::pin(run(&ctx, &exp)).await;
                let actual = snapshot(&report, &$st);
                #[allow(clippy::print_stderr)] // evidence of a failing scenario
                if actual != $expected.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n") {
                    for f in report.findings.iter().filter(|f| f.outcome != Outcome::Pass) {
                        eprintln!("{} {} {:?} {:?}", f.check_id, f.resource, f.outcome, f.evidence);
                    }
                }
                assert_snapshot($name, &actual, &$expected);
                report
            })
            .await
        };
    }

    // The compliant staging account, with evidence spot-checked.
    let report = scenario!("compliant staging", production = false, |st| {}, BASELINE);
    assert_eq!(report.account_id.as_deref(), Some(MOTO_ACCOUNT));
    let issued = outcome_of(&report, "acm.certificate_issued_covers_names")[0];
    assert!(
        issued.evidence.observed.starts_with("ISSUED"),
        "{:?}",
        issued.evidence
    );
    let sel = outcome_of(&report, "backup.selection_covers_rds")[0];
    assert!(
        matches!(&sel.outcome, Outcome::Error { message } if message.starts_with("backup:ListBackupSelections failed: HTTP 500")),
        "{:?}",
        sel.outcome
    );
    // moto's answer to an API it lacks (an HTML 500 page) is the same on every attempt:
    // not retried, and still an Error (an AWS-shaped 500 is retried: faults.rs).
    let unimplemented: Vec<_> = ctx
        .recorder()
        .spans()
        .into_iter()
        .filter(|s| s.action == "backup:ListBackupSelections")
        .collect();
    assert!(!unimplemented.is_empty());
    for s in &unimplemented {
        assert_eq!((s.attempts, s.ok), (1, false), "{s:?}");
    }
    let gd = outcome_of(&report, "guardduty.no_high_findings")[0];
    assert!(
        matches!(&gd.outcome, Outcome::Error { message } if message.contains("HTTP 404")),
        "{:?}",
        gd.outcome
    );
    let skipped = outcome_of(&report, "rds.deletion_protection")[0];
    assert!(
        matches!(&skipped.outcome, Outcome::Skipped { reason } if reason.contains("production"))
    );
    // Findings come sorted by area, check id, resource; serialisable.
    let keys: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.area, f.check_id.clone(), f.resource.clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        report.findings.len()
    );

    // DNS: a missing record (the alias check then sees no target).
    scenario!("dns missing record", production = false, |st| {
        seeder
            .record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Delete,
                Seeder::alias("api.staging.ohmycoins.io", &st.alb_zone, &format!("dualstack.{}", st.alb_dns)))
            .await;
    }, baseline_with("
        dns.expected_records_exist arn:aws:route53:::hostedzone/<zone>/recordset/api.staging.ohmycoins.io fail
        dns.alias_targets_alb arn:aws:route53:::hostedzone/<zone>/recordset/api.staging.ohmycoins.io fail
    "));

    // DNS: an alias to another environment's load balancer.
    scenario!("dns alias to the wrong ALB", production = false, |st| {
        let (_, other_dns, other_zone) = seeder.load_balancer("ohmc-production", &st.subnets).await;
        seeder
            .record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Upsert,
                Seeder::alias("staging.ohmycoins.io", &other_zone, &format!("DualStack.{}.", other_dns.to_uppercase())))
            .await;
    }, baseline_with("
        dns.alias_targets_alb arn:aws:route53:::hostedzone/<zone>/recordset/staging.ohmycoins.io fail
    "));

    // DNS: the alias check normalises case, trailing dot and `dualstack.`.
    scenario!(
        "dns alias normalisation",
        production = false,
        |st| {
            seeder
                .record(
                    &st.zone_id,
                    aws_sdk_route53::types::ChangeAction::Upsert,
                    Seeder::alias(
                        "staging.ohmycoins.io",
                        &st.alb_zone,
                        &format!("DUALSTACK.{}.", st.alb_dns.to_uppercase()),
                    ),
                )
                .await;
        },
        BASELINE
    );

    // DNS: records pointing at a deleted load balancer and a bucket that does not exist.
    let report = scenario!(
        "dns dangling records",
        production = false,
        |st| {
            seeder
                .record(
                    &st.zone_id,
                    aws_sdk_route53::types::ChangeAction::Create,
                    Seeder::cname(
                        "old.staging.ohmycoins.io",
                        "ohmc-old-1234567890.us-east-1.elb.amazonaws.com",
                    ),
                )
                .await;
            seeder
                .record(
                    &st.zone_id,
                    aws_sdk_route53::types::ChangeAction::Create,
                    Seeder::cname(
                        "assets.staging.ohmycoins.io",
                        "ohmc-old-assets.s3.amazonaws.com",
                    ),
                )
                .await;
            seeder
                .record(
                    &st.zone_id,
                    aws_sdk_route53::types::ChangeAction::Create,
                    Seeder::cname(
                        "logs.staging.ohmycoins.io",
                        &format!("{TRAIL_BUCKET}.s3.amazonaws.com"),
                    ),
                )
                .await;
            // An alias to a load balancer deleted after the record was made.
            let (old_arn, old_dns, old_zone) =
                seeder.load_balancer("ohmc-legacy", &st.subnets).await;
            seeder
                .record(
                    &st.zone_id,
                    aws_sdk_route53::types::ChangeAction::Create,
                    Seeder::alias(
                        "legacy.staging.ohmycoins.io",
                        &old_zone,
                        &format!("dualstack.{old_dns}"),
                    ),
                )
                .await;
            seeder
                .elb
                .delete_load_balancer()
                .load_balancer_arn(old_arn)
                .send()
                .await
                .unwrap();
        },
        baseline_with(
            "
        dns.no_dangling_records arn:aws:route53:::hostedzone/<zone> fail
    "
        )
    );
    let dangling = &outcome_of(&report, "dns.no_dangling_records")[0]
        .evidence
        .observed;
    assert_eq!(
        dangling,
        "dangling: assets.staging.ohmycoins.io CNAME -> bucket ohmc-old-assets; \
         legacy.staging.ohmycoins.io A -> load balancer ohmc-legacy-1.us-east-1.elb.amazonaws.com; \
         old.staging.ohmycoins.io CNAME -> load balancer ohmc-old-1234567890.us-east-1.elb.amazonaws.com"
    );

    // ACM: a certificate that does not cover api.staging (no wildcard) and is not on the listener.
    scenario!(
        "acm names not covered",
        production = false,
        |st| {
            st.cert_arn = seeder.request_cert(&["staging.ohmycoins.io"]).await;
            st.outputs
                .insert("certificate_arn".into(), json!(st.cert_arn));
        },
        baseline_with(
            "
        acm.certificate_issued_covers_names <cert> fail
        acm.certificate_in_use_by_listener <cert> fail
    "
        )
    );

    // ACM: an imported RSA-1024 certificate (ACM.2), covering the names, on the listener.
    scenario!(
        "acm weak key",
        production = false,
        |st| {
            st.cert_arn = seeder.import_cert(1024, 365).await;
            attach_cert(&seeder, &mut st).await;
        },
        baseline_with(
            "
        acm.certificate_key_strength <cert> fail
    "
        )
    );

    // ACM: an imported certificate expiring in 10 days, inside the 30-day window (ACM.1).
    scenario!(
        "acm expiring",
        production = false,
        |st| {
            st.cert_arn = seeder.import_cert(2048, 10).await;
            attach_cert(&seeder, &mut st).await;
        },
        baseline_with(
            "
        acm.certificate_not_expiring <cert> fail
    "
        )
    );

    // WAF: the web ACL is not associated with the ALB.
    scenario!(
        "waf not associated",
        production = false,
        |st| {
            seeder
                .waf
                .disassociate_web_acl()
                .resource_arn(&st.alb_arn)
                .send()
                .await
                .unwrap();
        },
        baseline_with(
            "
        waf.web_acl_associated <web-acl> fail
    "
        )
    );

    // WAF: the stack's web ACL has no rules at all (WAF.10); its own metrics are on.
    // (moto's UpdateWebACL ignores an empty rule list, so this is a new ACL.)
    scenario!(
        "waf no rules",
        production = false,
        |st| {
            let (arn, _) = seeder.web_acl("ohmc-empty", Vec::new(), &st.alb_arn).await;
            st.acl_arn = arn;
            st.outputs.insert("web_acl_arn".into(), json!(st.acl_arn));
        },
        baseline_with(
            "
        waf.web_acl_has_rules <web-acl> fail
        waf.managed_rule_groups <web-acl> fail
        waf.rate_based_rule <web-acl> fail
    "
        )
    );

    // WAF: a managed group missing and no rate-based rule.
    scenario!(
        "waf missing groups",
        production = false,
        |st| {
            seeder
                .update_acl(&st, waf_rules(&MANAGED_GROUPS[..2], false, true))
                .await;
        },
        baseline_with(
            "
        waf.managed_rule_groups <web-acl> fail
        waf.rate_based_rule <web-acl> fail
    "
        )
    );

    // WAF: CloudWatch metrics off on the managed rules (WAF.12).
    scenario!(
        "waf metrics off",
        production = false,
        |st| {
            seeder
                .update_acl(&st, waf_rules(&MANAGED_GROUPS, true, false))
                .await;
        },
        baseline_with(
            "
        waf.cloudwatch_metrics <web-acl> fail
    "
        )
    );

    // WAF: logging removed.
    scenario!(
        "waf logging off",
        production = false,
        |st| {
            seeder
                .waf
                .delete_logging_configuration()
                .resource_arn(&st.acl_arn)
                .send()
                .await
                .unwrap();
        },
        baseline_with(
            "
        waf.logging_enabled <web-acl> fail
    "
        )
    );

    // Backup: a weekly rule keeping 3 days misses the 24h RPO and the 7-day retention.
    scenario!(
        "backup weak plan",
        production = false,
        |st| {
            st.plan_id = seeder
                .backup_plan("ohmc-weekly", "cron(0 5 ? * SUN *)", 3, None)
                .await;
            st.outputs
                .insert("backup_plan_id".into(), json!(st.plan_id));
        },
        baseline_with(
            "
        backup.plan_rules arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> fail
    "
        )
    );

    // Production: no vault lock, no cross-region copy, no deletion protection.
    scenario!(
        "production without lock, copy, deletion protection",
        production = true,
        |st| {},
        baseline_with(
            "
        backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging fail
        backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> fail
        rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres fail
    "
        )
    );

    // Production, compliant: vault locked, copy to us-west-2, deletion protection on.
    scenario!(
        "production compliant",
        production = true,
        |st| {
            seeder
                .backup
                .put_backup_vault_lock_configuration()
                .backup_vault_name("ohmc-staging")
                .min_retention_days(7)
                .send()
                .await
                .unwrap();
            st.plan_id = seeder
                .backup_plan(
                    "ohmc-production",
                    "cron(0 5 ? * * *)",
                    35,
                    Some("arn:aws:backup:us-west-2:123456789012:backup-vault:ohmc-dr"),
                )
                .await;
            st.outputs
                .insert("backup_plan_id".into(), json!(st.plan_id));
            seeder
                .rds
                .modify_db_instance()
                .db_instance_identifier(DB_ID)
                .deletion_protection(true)
                .apply_immediately(true)
                .send()
                .await
                .unwrap();
        },
        baseline_with(
            "
        backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging pass
        backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> pass
        rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres pass
    "
        )
    );

    // Config: the recorder is stopped.
    scenario!("config recorder stopped", production = false, |st| {
        seeder.config.stop_configuration_recorder().configuration_recorder_name("default").send().await.unwrap();
    }, baseline_with("
        config.recorder_all_resources arn:aws:config:us-east-1:123456789012:configuration-recorder/default fail
    "));

    // Config: the recorder skips global resource types.
    scenario!("config recorder without global types", production = false, |st| {
        use aws_sdk_config::types as cfgt;
        seeder.config.put_configuration_recorder().configuration_recorder(
            cfgt::ConfigurationRecorder::builder().name("default").role_arn("arn:aws:iam::123456789012:role/ohmc-config")
                .recording_group(cfgt::RecordingGroup::builder().all_supported(true).include_global_resource_types(false).build())
                .build()).send().await.unwrap();
    }, baseline_with("
        config.recorder_all_resources arn:aws:config:us-east-1:123456789012:configuration-recorder/default fail
    "));

    // Config: no delivery channel.
    scenario!("config no delivery channel", production = false, |st| {
        seeder.config.stop_configuration_recorder().configuration_recorder_name("default").send().await.unwrap();
        seeder.config.delete_delivery_channel().delivery_channel_name("default").send().await.unwrap();
        seeder.config.start_configuration_recorder().configuration_recorder_name("default").send().await.ok();
    }, baseline_with("
        config.delivery_channel arn:aws:config:us-east-1:123456789012:delivery-channel fail
        config.recorder_all_resources arn:aws:config:us-east-1:123456789012:configuration-recorder/default fail
    "));

    // Config: a required rule is missing (its compliance is then skipped).
    scenario!("config rule missing", production = false, |st| {
        seeder.config.delete_config_rule().config_rule_name("rds-storage-encrypted").send().await.unwrap();
    }, baseline_with("
        config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted fail
        config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted skipped
    "));

    // GuardDuty: the detector is disabled and publishes every six hours.
    scenario!(
        "guardduty disabled",
        production = false,
        |st| {
            seeder
                .gd
                .update_detector()
                .detector_id(&st.detector_id)
                .enable(false)
                .finding_publishing_frequency(
                    aws_sdk_guardduty::types::FindingPublishingFrequency::SixHours,
                )
                .send()
                .await
                .unwrap();
        },
        baseline_with(
            "
        guardduty.detector_enabled arn:aws:guardduty:us-east-1:123456789012:detector/<detector> fail
    "
        )
    );

    // GuardDuty: RDS protection off.
    scenario!("guardduty feature off", production = false, |st| {
        use aws_sdk_guardduty::types as gdt;
        seeder.gd.update_detector().detector_id(&st.detector_id)
            .features(gdt::DetectorFeatureConfiguration::builder().name(gdt::DetectorFeature::RdsLoginEvents).status(gdt::FeatureStatus::Disabled).build())
            .send().await.unwrap();
    }, baseline_with("
        guardduty.protection_features arn:aws:guardduty:us-east-1:123456789012:detector/<detector> fail
    "));

    // CloudTrail: the trail stopped logging (CloudTrail.1).
    scenario!("cloudtrail stopped", production = false, |st| {
        seeder.ct.stop_logging().name("ohmc-staging").send().await.unwrap();
    }, baseline_with("
        cloudtrail.multi_region_logging arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging fail
    "));

    // CloudTrail: a bare single-region trail: no KMS, no validation, no CloudWatch Logs.
    scenario!("cloudtrail bare trail", production = false, |st| {
        seeder.trail("ohmc-bare", false).await;
        st.outputs.insert("cloudtrail_name".into(), json!("ohmc-bare"));
    }, baseline_with("
        -cloudtrail.multi_region_logging arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging
        -cloudtrail.kms_encrypted arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging
        -cloudtrail.log_file_validation arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging
        -cloudtrail.cloudwatch_logs arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-staging
        cloudtrail.multi_region_logging arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-bare fail
        cloudtrail.kms_encrypted arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-bare fail
        cloudtrail.log_file_validation arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-bare fail
        cloudtrail.cloudwatch_logs arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc-bare fail
    "));

    // CloudTrail: the bucket's public access block is gone.
    scenario!(
        "cloudtrail bucket public",
        production = false,
        |st| {
            seeder
                .s3
                .delete_public_access_block()
                .bucket(TRAIL_BUCKET)
                .send()
                .await
                .unwrap();
        },
        baseline_with(
            "
        cloudtrail.bucket_public_access_blocked arn:aws:s3:::ohmc-staging-cloudtrail fail
    "
        )
    );

    // RDS: an unencrypted instance keeping backups one day, and one that does not exist.
    scenario!("rds unencrypted, short retention, missing", production = false, |st| {
        seeder.db("ohmc-staging-reports", false, 1, false).await;
        st.outputs.insert("rds_instance_ids".into(), json!([DB_ID, "ohmc-staging-reports", "ohmc-staging-gone"]));
    }, baseline_with("
        rds.storage_encrypted arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-reports fail
        rds.backup_retention arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-reports fail
        rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-reports skipped
        rds.storage_encrypted arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-gone fail
        rds.backup_retention arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-gone fail
        rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-gone skipped
        backup.selection_covers_rds arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-reports error
        backup.selection_covers_rds arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-gone error
        backup.recovery_point_within_rpo arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-reports error
        backup.recovery_point_within_rpo arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-gone error
    "));

    // Stack outputs naming resources that do not exist: Fail (never Pass), with the
    // "not found" errors AWS documents read as absence.
    let report = scenario!(
        "outputs name missing resources",
        production = true,
        |st| {
            for (k, v) in [
            ("certificate_arn", json!("arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000")),
            ("web_acl_arn", json!("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/gone/11111111-1111-1111-1111-111111111111")),
            ("backup_plan_id", json!("22222222-2222-2222-2222-222222222222")),
            ("backup_vault_name", json!("gone")),
            ("config_recorder_name", json!("gone")),
            ("guardduty_detector_id", json!("33333333333333333333333333333333")),
            ("cloudtrail_name", json!("gone")),
            ("cloudtrail_bucket_name", json!("ohmc-gone-bucket")),
            ("rds_instance_ids", json!(["gone"])),
        ] {
            st.outputs.insert(k.into(), v);
        }
        },
        MISSING_RESOURCES
    );
    for f in report
        .findings
        .iter()
        .filter(|f| !matches!(f.area, Area::Dns | Area::Config))
    {
        assert_ne!(
            f.outcome,
            Outcome::Pass,
            "{} {} passed on a missing resource",
            f.check_id,
            f.resource
        );
    }

    // Missing stack outputs: the checks needing them are Errors naming the output and
    // what was found (a missing output must never turn an area silently green).
    let report = scenario!(
        "missing outputs",
        production = false,
        |st| {
            st.outputs.remove("web_acl_arn");
            st.outputs
                .insert("guardduty_detector_id".into(), Value::Null);
        },
        baseline_with(
            "
        -waf.cloudwatch_metrics
        -waf.logging_enabled
        -waf.managed_rule_groups
        -waf.rate_based_rule
        -waf.web_acl_associated
        -waf.web_acl_has_rules
        -guardduty.detector_enabled
        -guardduty.no_high_findings
        -guardduty.protection_features
        waf.cloudwatch_metrics output:web_acl_arn error
        waf.logging_enabled output:web_acl_arn error
        waf.managed_rule_groups output:web_acl_arn error
        waf.rate_based_rule output:web_acl_arn error
        waf.web_acl_associated output:web_acl_arn error
        waf.web_acl_has_rules output:web_acl_arn error
        guardduty.detector_enabled output:guardduty_detector_id error
        guardduty.no_high_findings output:guardduty_detector_id error
        guardduty.protection_features output:guardduty_detector_id error
    "
        )
    );
    let waf = outcome_of(&report, "waf.web_acl_has_rules")[0];
    assert_eq!(
        waf.outcome,
        Outcome::Error {
            message:
                "stack output `web_acl_arn` (declared by no stack of this environment) is missing"
                    .into()
        }
    );
    assert_eq!(waf.evidence.observed, "missing");
    // A null output is missing too (Terraform leaves null outputs out).
    let gd = outcome_of(&report, "guardduty.detector_enabled")[0];
    assert!(
        matches!(&gd.outcome, Outcome::Error { message } if message.ends_with("`guardduty_detector_id` (declared by no stack of this environment) is missing")),
        "{:?}",
        gd.outcome
    );
}

/// The catalog lists every check with its controls and the benchmark versions.
#[test]
fn verify_catalog_controls() {
    let cat = ohmc_checks::catalog();
    assert!(cat.len() >= 30, "{} checks", cat.len());
    let by_id = |id: &str| {
        cat.iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    let ids = |id: &str| {
        by_id(id)
            .controls
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids("cloudtrail.multi_region_logging"),
        ["CloudTrail.1", "CIS 3.1 (v1.4.0)", "CIS 3.1 (v3.0.0)"]
    );
    assert_eq!(ids("acm.certificate_not_expiring"), ["ACM.1"]);
    assert_eq!(ids("acm.certificate_key_strength"), ["ACM.2"]);
    assert_eq!(ids("waf.web_acl_has_rules"), ["WAF.10"]);
    assert_eq!(ids("waf.cloudwatch_metrics"), ["WAF.12"]);
    assert_eq!(ids("rds.deletion_protection"), ["RDS.8"]);
    assert_eq!(ids("rds.backup_retention"), ["RDS.11"]);
    assert_eq!(ids("guardduty.detector_enabled"), ["GuardDuty.1"]);
    assert_eq!(
        ids("config.recorder_all_resources"),
        ["Config.1", "CIS 3.5 (v1.4.0)", "CIS 3.3 (v3.0.0)"]
    );
    for area in Area::ALL {
        assert!(
            cat.iter().filter(|c| c.area == area).count() >= 3,
            "{area} has fewer than 3 checks"
        );
    }
}

/// The optional role is assumed through STS: the checks then read the other account
/// (moto isolates accounts), where the staging resources do not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_assumes_role_into_other_account() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    let mut opts = options(&moto.endpoint());
    opts.role_arn = Some("arn:aws:iam::111111111111:role/ohmc-audit".into());
    let ctx = AwsContext::load(opts).await.unwrap();
    let runopts = RunOptions {
        areas: Some([Area::Rds].into()),
        ..Default::default()
    };
    let report = run_checks(&ctx, &expectations(&st, false), &runopts).await;
    assert_eq!(report.account_id.as_deref(), Some("111111111111"));
    let enc = outcome_of(&report, "rds.storage_encrypted")[0];
    assert_eq!(
        enc.resource,
        "arn:aws:rds:us-east-1:111111111111:db:ohmc-staging-postgres"
    );
    assert_eq!(
        (enc.outcome.clone(), enc.evidence.observed.as_str()),
        (Outcome::Fail, "no DB instance ohmc-staging-postgres")
    );

    // A malformed role ARN is refused before any call.
    let mut bad = options(&moto.endpoint());
    bad.role_arn = Some("ohmc-audit".into());
    let err = AwsContext::load(bad).await.unwrap_err();
    assert!(err.to_string().contains("invalid role ARN"), "{err}");
}

/// A certificate still waiting for DNS validation (moto keeps requested certificates
/// PENDING_VALIDATION for MOTO_ACM_VALIDATION_WAIT seconds) fails the issued check. (moto
/// gives pending certificates a NotAfter, real ACM does not; the expiry check judges the
/// NotAfter it is given.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_acm_pending_validation() {
    let moto = MotoServer::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "3600")]);
    let seeder = Seeder::new(&moto.endpoint()).await;
    let arn = seeder
        .request_cert(&["staging.ohmycoins.io", "*.staging.ohmycoins.io"])
        .await;
    let outputs = json!({ "certificate_arn": arn })
        .as_object()
        .unwrap()
        .clone();
    let ctx = context(&moto.endpoint()).await;
    let runopts = RunOptions {
        areas: Some([Area::Acm].into()),
        ..Default::default()
    };
    let report = run_checks(
        &ctx,
        &Expectations::new(outputs, settings(), false),
        &runopts,
    )
    .await;
    let got: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f.check_id,
                f.outcome.label(),
                f.evidence.observed
            )
        })
        .collect();
    assert_eq!(
        got[..3],
        [
            "acm.certificate_in_use_by_listener error missing",
            "acm.certificate_issued_covers_names fail PENDING_VALIDATION, names staging.ohmycoins.io, *.staging.ohmycoins.io",
            "acm.certificate_key_strength pass RSA_2048",
        ]
    );
    assert!(
        got[3].starts_with("acm.certificate_not_expiring pass NotAfter "),
        "{}",
        got[3]
    );
}
