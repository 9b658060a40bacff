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

use crate::harness::moto::{MotoServer, MOTO_ACCOUNT};
use crate::harness::proxy::{Fault, FaultProxy, FaultRule};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use ohmc_checks::{
    run_checks, Area, AwsContext, ClientOverride, ContextOptions, Expectations, Finding, Outcome, Report,
    RunOptions, VerifySettings,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::time::Duration;

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

fn creds() -> Credentials {
    Credentials::new("AKIDTEST", "secret", None, None, "ohmc-test")
}

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

async fn seed_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(creds())
        .load()
        .await
}

/// The SDK clients the seeding uses.
struct Seeder {
    elb: aws_sdk_elasticloadbalancingv2::Client,
    acm: aws_sdk_acm::Client,
    r53: aws_sdk_route53::Client,
    waf: aws_sdk_wafv2::Client,
    backup: aws_sdk_backup::Client,
    config: aws_sdk_config::Client,
    gd: aws_sdk_guardduty::Client,
    ct: aws_sdk_cloudtrail::Client,
    s3: aws_sdk_s3::Client,
    rds: aws_sdk_rds::Client,
}

/// What the staging seed created: the stack outputs plus the ids the scenarios mutate.
struct Staging {
    outputs: Map<String, Value>,
    alb_arn: String,
    alb_dns: String,
    alb_zone: String,
    zone_id: String,
    cert_arn: String,
    acl_name: String,
    acl_id: String,
    acl_arn: String,
    plan_id: String,
    detector_id: String,
    subnets: Vec<String>,
}

impl Seeder {
    async fn new(endpoint: &str) -> Self {
        let cfg = seed_config(endpoint).await;
        Seeder {
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&cfg),
            acm: aws_sdk_acm::Client::new(&cfg),
            r53: aws_sdk_route53::Client::new(&cfg),
            waf: aws_sdk_wafv2::Client::new(&cfg),
            backup: aws_sdk_backup::Client::new(&cfg),
            config: aws_sdk_config::Client::new(&cfg),
            gd: aws_sdk_guardduty::Client::new(&cfg),
            ct: aws_sdk_cloudtrail::Client::new(&cfg),
            s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build()),
            rds: aws_sdk_rds::Client::new(&cfg),
        }
    }

    /// moto's default subnets (EC2 DescribeSubnets by hand: no EC2 crate needed).
    fn default_subnets(moto: &MotoServer) -> Vec<String> {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";
        let (status, body) = moto.raw(
            "POST",
            "/",
            &[("Authorization", auth), ("Content-Type", "application/x-www-form-urlencoded")],
            "Action=DescribeSubnets&Version=2016-11-15",
        );
        assert_eq!(status, 200, "DescribeSubnets: {body}");
        let re = regex::Regex::new(r"<subnetId>(subnet-[0-9a-f]+)</subnetId>").unwrap();
        let subnets: Vec<String> = re.captures_iter(&body).map(|c| c[1].to_string()).take(2).collect();
        assert_eq!(subnets.len(), 2, "moto default subnets: {body}");
        subnets
    }

    async fn load_balancer(&self, name: &str, subnets: &[String]) -> (String, String, String) {
        let out = self.elb.create_load_balancer().name(name).set_subnets(Some(subnets.to_vec())).send().await.unwrap();
        let lb = &out.load_balancers()[0];
        (
            lb.load_balancer_arn().unwrap().to_string(),
            lb.dns_name().unwrap().to_string(),
            lb.canonical_hosted_zone_id().unwrap().to_string(),
        )
    }

    async fn request_cert(&self, names: &[&str]) -> String {
        let out = self
            .acm
            .request_certificate()
            .domain_name(names[0])
            .set_subject_alternative_names(Some(names.iter().map(|s| s.to_string()).collect()))
            .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
            .send()
            .await
            .unwrap();
        out.certificate_arn().unwrap().to_string()
    }

    async fn import_cert(&self, key_bits: u32, days: i64) -> String {
        let (cert, key) = make_cert(key_bits, days);
        let out = self
            .acm
            .import_certificate()
            .certificate(aws_smithy_types::Blob::new(cert))
            .private_key(aws_smithy_types::Blob::new(key))
            .send()
            .await
            .unwrap();
        out.certificate_arn().unwrap().to_string()
    }

    async fn record(&self, zone: &str, action: aws_sdk_route53::types::ChangeAction, rrset: aws_sdk_route53::types::ResourceRecordSet) {
        use aws_sdk_route53::types::{Change, ChangeBatch};
        self.r53
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(
                ChangeBatch::builder()
                    .changes(Change::builder().action(action).resource_record_set(rrset).build().unwrap())
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    fn alias(name: &str, zone: &str, dns: &str) -> aws_sdk_route53::types::ResourceRecordSet {
        use aws_sdk_route53::types::{AliasTarget, ResourceRecordSet, RrType};
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::A)
            .alias_target(AliasTarget::builder().hosted_zone_id(zone).dns_name(dns).evaluate_target_health(false).build().unwrap())
            .build()
            .unwrap()
    }

    fn cname(name: &str, value: &str) -> aws_sdk_route53::types::ResourceRecordSet {
        use aws_sdk_route53::types::{ResourceRecord, ResourceRecordSet, RrType};
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(ResourceRecord::builder().value(value).build().unwrap())
            .build()
            .unwrap()
    }

    fn waf_rules(groups: &[&str], rate: bool, metrics: bool) -> Vec<aws_sdk_wafv2::types::Rule> {
        use aws_sdk_wafv2::types::*;
        let mut rules = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            rules.push(
                Rule::builder()
                    .name(*g)
                    .priority(i as i32)
                    .statement(
                        Statement::builder()
                            .managed_rule_group_statement(ManagedRuleGroupStatement::builder().vendor_name("AWS").name(*g).build().unwrap())
                            .build(),
                    )
                    .override_action(OverrideAction::builder().none(NoneAction::builder().build()).build())
                    .visibility_config(visibility(g, metrics))
                    .build()
                    .unwrap(),
            );
        }
        if rate {
            rules.push(
                Rule::builder()
                    .name("rate-limit")
                    .priority(100)
                    .statement(
                        Statement::builder()
                            .rate_based_statement(
                                RateBasedStatement::builder()
                                    .limit(2000)
                                    .aggregate_key_type(RateBasedStatementAggregateKeyType::Ip)
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .action(RuleAction::builder().block(BlockAction::builder().build()).build())
                    .visibility_config(visibility("rate-limit", true))
                    .build()
                    .unwrap(),
            );
        }
        rules
    }

/// A regional web ACL with the rules, associated with the ALB, logging on.
    async fn web_acl(&self, name: &str, rules: Vec<aws_sdk_wafv2::types::Rule>, alb_arn: &str) -> (String, String) {
        use aws_sdk_wafv2::types::*;
        let acl = self
            .waf
            .create_web_acl()
            .name(name)
            .scope(Scope::Regional)
            .default_action(DefaultAction::builder().allow(AllowAction::builder().build()).build())
            .set_rules(Some(rules))
            .visibility_config(visibility(name, true))
            .send()
            .await
            .unwrap();
        let summary = acl.summary().unwrap();
        let (acl_arn, acl_id) = (summary.arn().unwrap().to_string(), summary.id().unwrap().to_string());
        // AWS replaces an existing association; moto keeps the first, so drop it first.
        self.waf.disassociate_web_acl().resource_arn(alb_arn).send().await.ok();
        self.waf.associate_web_acl().web_acl_arn(&acl_arn).resource_arn(alb_arn).send().await.unwrap();
        self.waf
            .put_logging_configuration()
            .logging_configuration(
                LoggingConfiguration::builder()
                    .resource_arn(&acl_arn)
                    .log_destination_configs(format!("arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-{name}"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        (acl_arn, acl_id)
    }

    async fn update_acl(&self, st: &Staging, rules: Vec<aws_sdk_wafv2::types::Rule>) {
        use aws_sdk_wafv2::types::*;
        let got = self.waf.get_web_acl().name(&st.acl_name).scope(Scope::Regional).id(&st.acl_id).send().await.unwrap();
        self.waf
            .update_web_acl()
            .name(&st.acl_name)
            .scope(Scope::Regional)
            .id(&st.acl_id)
            .lock_token(got.lock_token().unwrap())
            .default_action(DefaultAction::builder().allow(AllowAction::builder().build()).build())
            .set_rules(Some(rules))
            .visibility_config(visibility("ohmc-staging", true))
            .send()
            .await
            .unwrap();
    }

    async fn backup_plan(&self, name: &str, schedule: &str, keep_days: i64, copy_to: Option<&str>) -> String {
        use aws_sdk_backup::types::*;
        let mut rule = BackupRuleInput::builder()
            .rule_name("daily")
            .target_backup_vault_name("ohmc-staging")
            .schedule_expression(schedule)
            .lifecycle(Lifecycle::builder().delete_after_days(keep_days).build());
        if let Some(dest) = copy_to {
            rule = rule.copy_actions(CopyAction::builder().destination_backup_vault_arn(dest).build().unwrap());
        }
        let out = self
            .backup
            .create_backup_plan()
            .backup_plan(BackupPlanInput::builder().backup_plan_name(name).rules(rule.build().unwrap()).build().unwrap())
            .send()
            .await
            .unwrap();
        out.backup_plan_id().unwrap().to_string()
    }

    async fn db(&self, id: &str, encrypted: bool, retention: i32, deletion_protection: bool) {
        self.rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .db_instance_class("db.t3.micro")
            .allocated_storage(20)
            .master_username("ohmc")
            .master_user_password("not-a-real-password-1")
            .storage_encrypted(encrypted)
            .backup_retention_period(retention)
            .deletion_protection(deletion_protection)
            .send()
            .await
            .unwrap();
    }

    async fn trail(&self, name: &str, full: bool) -> String {
        let mut req = self.ct.create_trail().name(name).s3_bucket_name(TRAIL_BUCKET);
        if full {
            req = req
                .is_multi_region_trail(true)
                .enable_log_file_validation(true)
                .kms_key_id(KMS_KEY)
                .cloud_watch_logs_log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:ohmc-cloudtrail:*")
                .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/ohmc-cloudtrail-logs");
        }
        let out = req.send().await.unwrap();
        self.ct.start_logging().name(name).send().await.unwrap();
        out.trail_arn().unwrap().to_string()
    }

    /// A compliant staging-like account.
    async fn staging(&self, moto: &MotoServer) -> Staging {
        let subnets = Self::default_subnets(moto);
        let (alb_arn, alb_dns, alb_zone) = self.load_balancer("ohmc-staging", &subnets).await;

        let cert_arn = self.request_cert(&["staging.ohmycoins.io", "*.staging.ohmycoins.io"]).await;
        use aws_sdk_elasticloadbalancingv2::types as elbt;
        let listener = self
            .elb
            .create_listener()
            .load_balancer_arn(&alb_arn)
            .protocol(elbt::ProtocolEnum::Https)
            .port(443)
            .certificates(elbt::Certificate::builder().certificate_arn(&cert_arn).build())
            .default_actions(
                elbt::Action::builder()
                    .r#type(elbt::ActionTypeEnum::FixedResponse)
                    .fixed_response_config(elbt::FixedResponseActionConfig::builder().status_code("200").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let listener_arn = listener.listeners()[0].listener_arn().unwrap().to_string();

        let zone = self.r53.create_hosted_zone().name("staging.ohmycoins.io").caller_reference("ohmc-seed").send().await.unwrap();
        let zone_id = zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
        for d in DOMAINS {
            self.record(&zone_id, aws_sdk_route53::types::ChangeAction::Create, Self::alias(d, &alb_zone, &format!("dualstack.{alb_dns}")))
                .await;
        }

        let (acl_arn, acl_id) = self.web_acl("ohmc-staging", Self::waf_rules(&MANAGED_GROUPS, true, true), &alb_arn).await;

        self.backup.create_backup_vault().backup_vault_name("ohmc-staging").encryption_key_arn(KMS_KEY).send().await.unwrap();
        let plan_id = self.backup_plan("ohmc-staging", "cron(0 5 ? * * *)", 35, None).await;

        self.s3.create_bucket().bucket(TRAIL_BUCKET).send().await.unwrap();
        self.s3
            .put_public_access_block()
            .bucket(TRAIL_BUCKET)
            .public_access_block_configuration(
                aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        self.trail("ohmc-staging", true).await;

        use aws_sdk_config::types as cfgt;
        self.config
            .put_configuration_recorder()
            .configuration_recorder(
                cfgt::ConfigurationRecorder::builder()
                    .name("default")
                    .role_arn("arn:aws:iam::123456789012:role/ohmc-config")
                    .recording_group(cfgt::RecordingGroup::builder().all_supported(true).include_global_resource_types(true).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        self.config
            .put_delivery_channel()
            .delivery_channel(cfgt::DeliveryChannel::builder().name("default").s3_bucket_name(TRAIL_BUCKET).build())
            .send()
            .await
            .unwrap();
        self.config.start_configuration_recorder().configuration_recorder_name("default").send().await.unwrap();
        for (name, id) in [("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED"), ("rds-storage-encrypted", "RDS_STORAGE_ENCRYPTED")] {
            self.config
                .put_config_rule()
                .config_rule(
                    cfgt::ConfigRule::builder()
                        .config_rule_name(name)
                        .source(cfgt::Source::builder().owner(cfgt::Owner::Aws).source_identifier(id).build().unwrap())
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }

        use aws_sdk_guardduty::types as gdt;
        let det = self
            .gd
            .create_detector()
            .enable(true)
            .finding_publishing_frequency(gdt::FindingPublishingFrequency::FifteenMinutes)
            .features(gdt::DetectorFeatureConfiguration::builder().name(gdt::DetectorFeature::EksAuditLogs).status(gdt::FeatureStatus::Enabled).build())
            .features(gdt::DetectorFeatureConfiguration::builder().name(gdt::DetectorFeature::RdsLoginEvents).status(gdt::FeatureStatus::Enabled).build())
            .send()
            .await
            .unwrap();
        let detector_id = det.detector_id().unwrap().to_string();

        self.db(DB_ID, true, 7, false).await;

        let outputs = json!({
            "alb_arn": {"value": alb_arn, "type": "string", "sensitive": false},
            "alb_dns_name": alb_dns,
            "https_listener_arn": listener_arn,
            "hosted_zone_id": zone_id,
            "certificate_arn": cert_arn,
            "web_acl_arn": acl_arn,
            "backup_plan_id": plan_id,
            "backup_vault_name": "ohmc-staging",
            "config_recorder_name": "default",
            "guardduty_detector_id": detector_id,
            "cloudtrail_name": "ohmc-staging",
            "cloudtrail_bucket_name": TRAIL_BUCKET,
            "rds_instance_ids": [DB_ID],
        });
        Staging {
            outputs: outputs.as_object().unwrap().clone(),
            alb_arn,
            alb_dns,
            alb_zone,
            zone_id,
            cert_arn,
            acl_name: "ohmc-staging".into(),
            acl_id,
            acl_arn,
            plan_id,
            detector_id,
            subnets,
        }
    }
}

fn visibility(metric: &str, on: bool) -> aws_sdk_wafv2::types::VisibilityConfig {
    aws_sdk_wafv2::types::VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(on)
        .metric_name(metric)
        .build()
        .unwrap()
}

/// A self-signed certificate for `staging.ohmycoins.io` and `*.staging.ohmycoins.io`
/// with the given RSA key size, expiring in `days`, made with the `cryptography` package
/// of the pinned tools' Python (installed with moto). Returns (cert PEM, key PEM).
fn make_cert(key_bits: u32, days: i64) -> (Vec<u8>, Vec<u8>) {
    let python = crate::harness::tools_bin().join("../venv/bin/python3");
    let script = format!(
        r#"
import datetime, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size={key_bits})
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "staging.ohmycoins.io")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days={days}))
    .add_extension(x509.SubjectAlternativeName([x509.DNSName("staging.ohmycoins.io"), x509.DNSName("*.staging.ohmycoins.io")]), critical=False)
    .sign(key, hashes.SHA256()))
sys.stdout.write(cert.public_bytes(serialization.Encoding.PEM).decode())
sys.stdout.write("----SPLIT----")
sys.stdout.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode())
"#
    );
    let out = std::process::Command::new(&python).arg("-c").arg(script).output().expect("python for certificates");
    assert!(out.status.success(), "make_cert: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (cert, key) = text.split_once("----SPLIT----").unwrap();
    (cert.as_bytes().to_vec(), key.as_bytes().to_vec())
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
    let expected: Vec<&str> = expected.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let expected = expected.join("\n");
    assert!(actual == expected, "scenario {name}: snapshot differs\n--- expected\n{expected}\n--- actual\n{actual}\n");
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
    let mut lines: Vec<String> = BASELINE.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
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
    report.findings.iter().filter(|f| f.check_id == id).collect()
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
    assert!(issued.evidence.observed.starts_with("ISSUED"), "{:?}", issued.evidence);
    let sel = outcome_of(&report, "backup.selection_covers_rds")[0];
    assert!(
        matches!(&sel.outcome, Outcome::Error { message } if message.starts_with("backup:ListBackupSelections failed: HTTP 500")),
        "{:?}",
        sel.outcome
    );
    let gd = outcome_of(&report, "guardduty.no_high_findings")[0];
    assert!(matches!(&gd.outcome, Outcome::Error { message } if message.contains("HTTP 404")), "{:?}", gd.outcome);
    let skipped = outcome_of(&report, "rds.deletion_protection")[0];
    assert!(matches!(&skipped.outcome, Outcome::Skipped { reason } if reason.contains("production")));
    // Findings come sorted by area, check id, resource; serialisable.
    let keys: Vec<_> = report.findings.iter().map(|f| (f.area, f.check_id.clone(), f.resource.clone())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), report.findings.len());

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
    scenario!("dns alias normalisation", production = false, |st| {
        seeder
            .record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Upsert,
                Seeder::alias("staging.ohmycoins.io", &st.alb_zone, &format!("DUALSTACK.{}.", st.alb_dns.to_uppercase())))
            .await;
    }, BASELINE);

    // DNS: records pointing at a deleted load balancer and a bucket that does not exist.
    let report = scenario!("dns dangling records", production = false, |st| {
        seeder.record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname("old.staging.ohmycoins.io", "ohmc-old-1234567890.us-east-1.elb.amazonaws.com")).await;
        seeder.record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname("assets.staging.ohmycoins.io", "ohmc-old-assets.s3.amazonaws.com")).await;
        seeder.record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname("logs.staging.ohmycoins.io", &format!("{TRAIL_BUCKET}.s3.amazonaws.com"))).await;
        // An alias to a load balancer deleted after the record was made.
        let (old_arn, old_dns, old_zone) = seeder.load_balancer("ohmc-legacy", &st.subnets).await;
        seeder.record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Create,
            Seeder::alias("legacy.staging.ohmycoins.io", &old_zone, &format!("dualstack.{old_dns}"))).await;
        seeder.elb.delete_load_balancer().load_balancer_arn(old_arn).send().await.unwrap();
    }, baseline_with("
        dns.no_dangling_records arn:aws:route53:::hostedzone/<zone> fail
    "));
    let dangling = &outcome_of(&report, "dns.no_dangling_records")[0].evidence.observed;
    assert_eq!(
        dangling,
        "dangling: assets.staging.ohmycoins.io CNAME -> bucket ohmc-old-assets; \
         legacy.staging.ohmycoins.io A -> load balancer ohmc-legacy-1.us-east-1.elb.amazonaws.com; \
         old.staging.ohmycoins.io CNAME -> load balancer ohmc-old-1234567890.us-east-1.elb.amazonaws.com"
    );

    // ACM: a certificate that does not cover api.staging (no wildcard) and is not on the listener.
    scenario!("acm names not covered", production = false, |st| {
        st.cert_arn = seeder.request_cert(&["staging.ohmycoins.io"]).await;
        st.outputs.insert("certificate_arn".into(), json!(st.cert_arn));
    }, baseline_with("
        acm.certificate_issued_covers_names <cert> fail
        acm.certificate_in_use_by_listener <cert> fail
    "));

    // ACM: an imported RSA-1024 certificate (ACM.2), covering the names, on the listener.
    scenario!("acm weak key", production = false, |st| {
        st.cert_arn = seeder.import_cert(1024, 365).await;
        attach_cert(&seeder, &mut st).await;
    }, baseline_with("
        acm.certificate_key_strength <cert> fail
    "));

    // ACM: an imported certificate expiring in 10 days, inside the 30-day window (ACM.1).
    scenario!("acm expiring", production = false, |st| {
        st.cert_arn = seeder.import_cert(2048, 10).await;
        attach_cert(&seeder, &mut st).await;
    }, baseline_with("
        acm.certificate_not_expiring <cert> fail
    "));

    // WAF: the web ACL is not associated with the ALB.
    scenario!("waf not associated", production = false, |st| {
        seeder.waf.disassociate_web_acl().resource_arn(&st.alb_arn).send().await.unwrap();
    }, baseline_with("
        waf.web_acl_associated <web-acl> fail
    "));

    // WAF: the stack's web ACL has no rules at all (WAF.10); its own metrics are on.
    // (moto's UpdateWebACL ignores an empty rule list, so this is a new ACL.)
    scenario!("waf no rules", production = false, |st| {
        let (arn, _) = seeder.web_acl("ohmc-empty", Vec::new(), &st.alb_arn).await;
        st.acl_arn = arn;
        st.outputs.insert("web_acl_arn".into(), json!(st.acl_arn));
    }, baseline_with("
        waf.web_acl_has_rules <web-acl> fail
        waf.managed_rule_groups <web-acl> fail
        waf.rate_based_rule <web-acl> fail
    "));

    // WAF: a managed group missing and no rate-based rule.
    scenario!("waf missing groups", production = false, |st| {
        seeder.update_acl(&st, Seeder::waf_rules(&MANAGED_GROUPS[..2], false, true)).await;
    }, baseline_with("
        waf.managed_rule_groups <web-acl> fail
        waf.rate_based_rule <web-acl> fail
    "));

    // WAF: CloudWatch metrics off on the managed rules (WAF.12).
    scenario!("waf metrics off", production = false, |st| {
        seeder.update_acl(&st, Seeder::waf_rules(&MANAGED_GROUPS, true, false)).await;
    }, baseline_with("
        waf.cloudwatch_metrics <web-acl> fail
    "));

    // WAF: logging removed.
    scenario!("waf logging off", production = false, |st| {
        seeder.waf.delete_logging_configuration().resource_arn(&st.acl_arn).send().await.unwrap();
    }, baseline_with("
        waf.logging_enabled <web-acl> fail
    "));

    // Backup: a weekly rule keeping 3 days misses the 24h RPO and the 7-day retention.
    scenario!("backup weak plan", production = false, |st| {
        st.plan_id = seeder.backup_plan("ohmc-weekly", "cron(0 5 ? * SUN *)", 3, None).await;
        st.outputs.insert("backup_plan_id".into(), json!(st.plan_id));
    }, baseline_with("
        backup.plan_rules arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> fail
    "));

    // Production: no vault lock, no cross-region copy, no deletion protection.
    scenario!("production without lock, copy, deletion protection", production = true, |st| {}, baseline_with("
        backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging fail
        backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> fail
        rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres fail
    "));

    // Production, compliant: vault locked, copy to us-west-2, deletion protection on.
    scenario!("production compliant", production = true, |st| {
        seeder.backup.put_backup_vault_lock_configuration().backup_vault_name("ohmc-staging").min_retention_days(7).send().await.unwrap();
        st.plan_id = seeder
            .backup_plan("ohmc-production", "cron(0 5 ? * * *)", 35, Some("arn:aws:backup:us-west-2:123456789012:backup-vault:ohmc-dr"))
            .await;
        st.outputs.insert("backup_plan_id".into(), json!(st.plan_id));
        seeder.rds.modify_db_instance().db_instance_identifier(DB_ID).deletion_protection(true).apply_immediately(true).send().await.unwrap();
    }, baseline_with("
        backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging pass
        backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:<plan> pass
        rds.deletion_protection arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres pass
    "));

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
    scenario!("guardduty disabled", production = false, |st| {
        seeder.gd.update_detector().detector_id(&st.detector_id).enable(false)
            .finding_publishing_frequency(aws_sdk_guardduty::types::FindingPublishingFrequency::SixHours).send().await.unwrap();
    }, baseline_with("
        guardduty.detector_enabled arn:aws:guardduty:us-east-1:123456789012:detector/<detector> fail
    "));

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
    scenario!("cloudtrail bucket public", production = false, |st| {
        seeder.s3.delete_public_access_block().bucket(TRAIL_BUCKET).send().await.unwrap();
    }, baseline_with("
        cloudtrail.bucket_public_access_blocked arn:aws:s3:::ohmc-staging-cloudtrail fail
    "));

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
    let report = scenario!("outputs name missing resources", production = true, |st| {
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
    }, MISSING_RESOURCES);
    for f in report.findings.iter().filter(|f| !matches!(f.area, Area::Dns | Area::Config)) {
        assert_ne!(f.outcome, Outcome::Pass, "{} {} passed on a missing resource", f.check_id, f.resource);
    }

    // Missing stack outputs: the checks needing them are Skipped, naming the output.
    let report = scenario!("missing outputs", production = false, |st| {
        st.outputs.remove("web_acl_arn");
        st.outputs.insert("guardduty_detector_id".into(), Value::Null);
    }, baseline_with("
        -waf.cloudwatch_metrics
        -waf.logging_enabled
        -waf.managed_rule_groups
        -waf.rate_based_rule
        -waf.web_acl_associated
        -waf.web_acl_has_rules
        -guardduty.detector_enabled
        -guardduty.no_high_findings
        -guardduty.protection_features
        waf.cloudwatch_metrics output:web_acl_arn skipped
        waf.logging_enabled output:web_acl_arn skipped
        waf.managed_rule_groups output:web_acl_arn skipped
        waf.rate_based_rule output:web_acl_arn skipped
        waf.web_acl_associated output:web_acl_arn skipped
        waf.web_acl_has_rules output:web_acl_arn skipped
        guardduty.detector_enabled output:guardduty_detector_id skipped
        guardduty.no_high_findings output:guardduty_detector_id skipped
        guardduty.protection_features output:guardduty_detector_id skipped
    "));
    let waf = outcome_of(&report, "waf.web_acl_has_rules")[0];
    assert_eq!(waf.outcome, Outcome::Skipped { reason: "stack output `web_acl_arn` is missing".into() });
}

/// Makes `st.cert_arn` the stack's certificate, served by a new HTTPS listener that
/// becomes the stack's listener. (moto's ModifyListener does not update the
/// certificate's InUseBy; CreateListener does.)
async fn attach_cert(seeder: &Seeder, st: &mut Staging) {
    use aws_sdk_elasticloadbalancingv2::types as elbt;
    st.outputs.insert("certificate_arn".into(), json!(st.cert_arn));
    let out = seeder
        .elb
        .create_listener()
        .load_balancer_arn(&st.alb_arn)
        .protocol(elbt::ProtocolEnum::Https)
        .port(8443)
        .certificates(elbt::Certificate::builder().certificate_arn(&st.cert_arn).build())
        .default_actions(
            elbt::Action::builder()
                .r#type(elbt::ActionTypeEnum::FixedResponse)
                .fixed_response_config(elbt::FixedResponseActionConfig::builder().status_code("200").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    st.outputs.insert("https_listener_arn".into(), json!(out.listeners()[0].listener_arn().unwrap()));
}

/// What moto answers for the run (the comparison key): everything but the text of Error
/// messages, whose last transient error may differ between runs with retries.
fn comparable(report: &Report) -> Vec<(String, String, String, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (f.check_id.clone(), f.resource.clone(), f.outcome.label().to_string(), f.evidence.expected.clone(), f.evidence.observed.clone())
        })
        .collect()
}

/// 30% throttling is ridden out by retries; a service answering 500 to everything makes
/// its checks Error (never Pass) and leaves the others alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_fault_injection() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    let exp = expectations(&st, false);

    let clean = run(&context(&moto.endpoint()).await, &exp).await;
    assert_snapshot("fault-free", &snapshot(&clean, &st), BASELINE);

    let proxy = FaultProxy::start(&moto.endpoint()).await;
    proxy.add_rule(FaultRule::all(Fault::Throttle).share(30));
    let throttled = run(&context(&proxy.endpoint()).await, &exp).await;
    let calls = proxy.calls();
    let injected = proxy.injected();
    assert!(injected * 100 >= calls.len() * 25, "expected ~30% throttled, got {injected} of {}", calls.len());
    assert_eq!(comparable(&throttled), comparable(&clean), "30% throttling changed the result");

    for (service, area) in [("rds", Area::Rds), ("wafv2", Area::Waf), ("cloudtrail", Area::CloudTrail)] {
        proxy.clear_rules();
        proxy.add_rule(FaultRule::service(service, Fault::ServerError));
        let broken = run(&context(&proxy.endpoint()).await, &exp).await;
        // The checks that call the broken service: the area's, except the CloudTrail bucket
        // check, which reads S3 (the stack output names the bucket).
        let uses = |f: &Finding| f.area == area && f.check_id != "cloudtrail.bucket_public_access_blocked";
        let (mine, others): (Vec<&Finding>, Vec<&Finding>) = broken.findings.iter().partition(|f| uses(f));
        assert!(!mine.is_empty());
        for f in &mine {
            assert!(
                matches!(&f.outcome, Outcome::Error { message } if message.contains("HTTP 500 InternalFailure"))
                    || matches!(f.outcome, Outcome::Skipped { .. }),
                "{service} down: {} {} is {:?}",
                f.check_id,
                f.resource,
                f.outcome
            );
        }
        assert!(mine.iter().any(|f| matches!(f.outcome, Outcome::Error { .. })));
        assert!(broken.has_errors(), "a run with errors must say so (the CLI exits 1)");
        let clean_others: Vec<&Finding> = clean.findings.iter().filter(|f| !uses(f)).collect();
        let strip = |v: &[&Finding]| v.iter().map(|f| (f.check_id.clone(), f.resource.clone(), f.outcome.label())).collect::<Vec<_>>();
        assert_eq!(strip(&others), strip(&clean_others), "{service} down changed other areas");
    }
}

/// Every AWS call of a run is a read granted by the shipped least-privilege policy, and
/// the library's recorder saw every call the proxy saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_is_read_only_and_within_policy() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    // Add a dangling CNAME to an S3 bucket so the S3 and ELB listing calls are made too.
    seeder
        .record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname("assets.staging.ohmycoins.io", "ohmc-old-assets.s3.amazonaws.com"))
        .await;
    seeder
        .record(&st.zone_id, aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname("old.staging.ohmycoins.io", "gone-1.us-east-1.elb.amazonaws.com"))
        .await;
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let ctx = context(&proxy.endpoint()).await;
    let report = run(&ctx, &expectations(&st, true)).await;

    let policy: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::harness::repo_root().join("deploy/iam/audit-readonly-policy.json")).unwrap())
            .unwrap();
    let mut granted = BTreeSet::new();
    for stmt in policy["Statement"].as_array().unwrap() {
        assert_eq!(stmt["Effect"], "Allow");
        for a in stmt["Action"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(!a.ends_with(":*") && a != "*", "wildcard action {a} in the policy");
            assert!(ohmc_checks::iam::is_read_action(a), "non-read action {a} in the policy");
            granted.insert(a.to_string());
        }
    }

    let recorded: BTreeSet<String> = report.api_calls.keys().cloned().collect();
    assert!(recorded.len() >= 20, "too few recorded actions: {recorded:?}");
    for action in &recorded {
        assert!(ohmc_checks::iam::is_read_action(action), "{action} is not a read");
        assert!(granted.contains(action), "{action} is not granted by deploy/iam/audit-readonly-policy.json");
    }
    // The policy grants nothing the checks do not use (least privilege), except calls
    // made only when moto-missing data exists (GuardDuty findings, Backup selections).
    let unused: Vec<&String> = granted.difference(&recorded).collect();
    let allowed_unused: BTreeSet<&str> = ["guardduty:GetFindings", "backup:GetBackupSelection"].into();
    for a in &unused {
        assert!(allowed_unused.contains(a.as_str()), "policy grants {a}, which no check calls");
    }

    // Cross-check at the HTTP level: everything the proxy saw is a read and was recorded.
    let iam_name = |service: &str, action: &str| ohmc_checks::iam::iam_action(service, action);
    for call in proxy.calls() {
        let action = iam_name(&call.service, &call.action);
        assert!(ohmc_checks::iam::is_read_action(&action), "proxy saw a non-read call: {call:?}");
        assert!(recorded.contains(&action), "proxy saw {action}, the recorder did not: {call:?}");
    }
}

// ---------------------------------------------------------------------------------------
// aws-smithy-mocks: the APIs moto does not implement. Responses are shaped like the
// examples in AWS's API reference for each operation.
// ---------------------------------------------------------------------------------------

mod mocked {
    use super::*;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    const DB_ARN: &str = "arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres";

    fn sts() -> ClientOverride {
        let who = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account(MOTO_ACCOUNT)
                .arn("arn:aws:iam::123456789012:user/ohmc")
                .user_id("AIDAEXAMPLE")
                .build()
        });
        ClientOverride::Sts(mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&who]))
    }

    /// A context whose endpoint answers nothing: every client used must be mocked.
    async fn mocked_context(overrides: Vec<ClientOverride>) -> AwsContext {
        let mut ctx = AwsContext::load(options("http://127.0.0.1:9")).await.unwrap().with_client(sts());
        for o in overrides {
            ctx = ctx.with_client(o);
        }
        ctx
    }

    fn outputs() -> Map<String, Value> {
        json!({
            "backup_plan_id": "8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55",
            "backup_vault_name": "ohmc-staging",
            "rds_instance_ids": ["ohmc-staging-postgres"],
            "config_recorder_name": "default",
            "guardduty_detector_id": "12abc34d567e8fa901bc2d34e56789f0",
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn only(area: Area) -> RunOptions {
        RunOptions { areas: Some([area].into()), ..Default::default() }
    }

    fn lines(report: &Report) -> String {
        let mut l: Vec<String> =
            report.findings.iter().map(|f| format!("{} {} {}", f.check_id, f.resource, f.outcome.label())).collect();
        l.sort();
        l.join("\n")
    }

    fn dt(t: chrono::DateTime<chrono::Utc>) -> aws_smithy_types::DateTime {
        aws_smithy_types::DateTime::from_secs(t.timestamp())
    }

    /// The Backup client: plan, vault, selections and recovery points. Selections and
    /// recovery points are what moto lacks (ListBackupSelections 500, ListRecoveryPoints 404).
    fn backup_client(selection_resources: Vec<String>, newest_point_age_h: Option<i64>, locked: bool, key: Option<&'static str>) -> aws_sdk_backup::Client {
        use aws_sdk_backup::operation::*;
        use aws_sdk_backup::types::*;
        let plan = mock!(aws_sdk_backup::Client::get_backup_plan).then_output(|| {
            get_backup_plan::GetBackupPlanOutput::builder()
                .backup_plan_id("8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55")
                .backup_plan_arn("arn:aws:backup:us-east-1:123456789012:backup-plan:8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55")
                .backup_plan(
                    BackupPlan::builder()
                        .backup_plan_name("ohmc-staging")
                        .rules(
                            BackupRule::builder()
                                .rule_name("daily")
                                .target_backup_vault_name("ohmc-staging")
                                .schedule_expression("cron(0 5 ? * * *)")
                                .lifecycle(Lifecycle::builder().delete_after_days(35).build())
                                .copy_actions(
                                    CopyAction::builder()
                                        .destination_backup_vault_arn("arn:aws:backup:us-west-2:123456789012:backup-vault:ohmc-dr")
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let list_sel = mock!(aws_sdk_backup::Client::list_backup_selections).then_output(|| {
            list_backup_selections::ListBackupSelectionsOutput::builder()
                .backup_selections_list(
                    BackupSelectionsListMember::builder()
                        .selection_id("sel-1")
                        .selection_name("ohmc-rds")
                        .backup_plan_id("8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55")
                        .build(),
                )
                .build()
        });
        let get_sel = mock!(aws_sdk_backup::Client::get_backup_selection).then_output(move || {
            get_backup_selection::GetBackupSelectionOutput::builder()
                .selection_id("sel-1")
                .backup_selection(
                    BackupSelection::builder()
                        .selection_name("ohmc-rds")
                        .iam_role_arn("arn:aws:iam::123456789012:role/ohmc-backup")
                        .set_resources(Some(selection_resources.clone()))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let vault = mock!(aws_sdk_backup::Client::describe_backup_vault).then_output(move || {
            describe_backup_vault::DescribeBackupVaultOutput::builder()
                .backup_vault_name("ohmc-staging")
                .backup_vault_arn("arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging")
                .set_encryption_key_arn(key.map(str::to_string))
                .locked(locked)
                .set_min_retention_days(locked.then_some(7))
                .build()
        });
        let points = mock!(aws_sdk_backup::Client::list_recovery_points_by_backup_vault).then_output(move || {
            let mut out = list_recovery_points_by_backup_vault::ListRecoveryPointsByBackupVaultOutput::builder();
            if let Some(age) = newest_point_age_h {
                for (i, extra) in [(1, 48), (2, 0)] {
                    out = out.recovery_points(
                        RecoveryPointByBackupVault::builder()
                            .recovery_point_arn(format!("arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-{i}"))
                            .resource_arn(DB_ARN)
                            .resource_type("RDS")
                            .status(RecoveryPointStatus::Completed)
                            .creation_date(dt(chrono::Utc::now() - chrono::Duration::hours(age + extra)))
                            .build(),
                    );
                }
            }
            out.build()
        });
        mock_client!(aws_sdk_backup, RuleMode::MatchAny, [&plan, &list_sel, &get_sel, &vault, &points])
    }

    /// Mocked (moto lacks ListBackupSelections/ListRecoveryPointsByBackupVault): a
    /// production account whose selection lists the instance and whose newest point is 3h old.
    #[tokio::test]
    async fn backup_all_pass_mocked() {
        let client = backup_client(vec![DB_ARN.into()], Some(3), true, Some(KMS_KEY));
        let ctx = mocked_context(vec![ClientOverride::Backup(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), true), &only(Area::Backup)).await;
        assert_eq!(
            lines(&report),
            "backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55 pass
backup.plan_rules arn:aws:backup:us-east-1:123456789012:backup-plan:8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55 pass
backup.recovery_point_within_rpo arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres pass
backup.selection_covers_rds arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres pass
backup.vault_encrypted arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging pass
backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging pass"
        );
    }

    /// Mocked: a wildcard selection covers the instance.
    #[tokio::test]
    async fn backup_wildcard_selection_mocked() {
        let client = backup_client(vec!["arn:aws:rds:*:*:db:*".into()], Some(3), false, Some(KMS_KEY));
        let ctx = mocked_context(vec![ClientOverride::Backup(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Backup)).await;
        assert_eq!(outcome_of(&report, "backup.selection_covers_rds")[0].outcome, Outcome::Pass);
    }

    /// Mocked: the selection covers another resource, the newest point is 30h old (RPO
    /// 24h), the vault has no KMS key and is unlocked in production.
    #[tokio::test]
    async fn backup_failures_mocked() {
        let client = backup_client(vec!["arn:aws:dynamodb:us-east-1:123456789012:table/ohmc".into()], Some(30), false, None);
        let ctx = mocked_context(vec![ClientOverride::Backup(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), true), &only(Area::Backup)).await;
        assert_eq!(
            lines(&report),
            "backup.cross_region_copy arn:aws:backup:us-east-1:123456789012:backup-plan:8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55 pass
backup.plan_rules arn:aws:backup:us-east-1:123456789012:backup-plan:8d1a6c0e-2f43-4b9c-9c1e-3f6f1b2a7d55 pass
backup.recovery_point_within_rpo arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres fail
backup.selection_covers_rds arn:aws:rds:us-east-1:123456789012:db:ohmc-staging-postgres fail
backup.vault_encrypted arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging fail
backup.vault_lock arn:aws:backup:us-east-1:123456789012:backup-vault:ohmc-staging fail"
        );
        let rpo = outcome_of(&report, "backup.recovery_point_within_rpo")[0];
        assert!(rpo.evidence.observed.contains("(30h old)"), "{:?}", rpo.evidence);
    }

    /// Mocked: no recovery point at all is a Fail.
    #[tokio::test]
    async fn backup_no_recovery_point_mocked() {
        let client = backup_client(vec![DB_ARN.into()], None, false, Some(KMS_KEY));
        let ctx = mocked_context(vec![ClientOverride::Backup(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Backup)).await;
        let rpo = outcome_of(&report, "backup.recovery_point_within_rpo")[0];
        assert_eq!(rpo.outcome, Outcome::Fail);
        assert_eq!(rpo.evidence.observed, "no completed recovery point");
    }

    fn guardduty_client(finding_types: Vec<&'static str>) -> aws_sdk_guardduty::Client {
        use aws_sdk_guardduty::operation::*;
        use aws_sdk_guardduty::types::*;
        let det = mock!(aws_sdk_guardduty::Client::get_detector).then_output(|| {
            get_detector::GetDetectorOutput::builder()
                .status(DetectorStatus::Enabled)
                .finding_publishing_frequency(FindingPublishingFrequency::FifteenMinutes)
                .service_role("arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty")
                .features(DetectorFeatureConfigurationResult::builder().name(DetectorFeatureResult::EksAuditLogs).status(FeatureStatus::Enabled).build())
                .features(DetectorFeatureConfigurationResult::builder().name(DetectorFeatureResult::RdsLoginEvents).status(FeatureStatus::Enabled).build())
                .build()
        });
        let ids: Vec<String> = (0..finding_types.len()).map(|i| format!("finding{i:030}")).collect();
        let ids2 = ids.clone();
        let list = mock!(aws_sdk_guardduty::Client::list_findings)
            .match_requests(|req| {
                // The check asks only for unarchived findings of severity >= 7.
                let c = req.finding_criteria().and_then(|c| c.criterion()).cloned().unwrap_or_default();
                c.get("severity").and_then(|s| s.greater_than_or_equal()) == Some(7)
                    && c.get("service.archived").map(|a| a.equals()) == Some(&["false".to_string()][..])
            })
            .then_output(move || list_findings::ListFindingsOutput::builder().set_finding_ids(Some(ids.clone())).build());
        let get = mock!(aws_sdk_guardduty::Client::get_findings).then_output(move || {
            let mut out = get_findings::GetFindingsOutput::builder();
            for (id, t) in ids2.iter().zip(finding_types.iter()) {
                out = out.findings(
                    Finding::builder()
                        .id(id)
                        .account_id(MOTO_ACCOUNT)
                        .arn(format!("arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0/finding/{id}"))
                        .r#type(*t)
                        .severity(8.0)
                        .region("us-east-1")
                        .schema_version("2.0")
                        .created_at("2026-11-26T10:00:00.000Z")
                        .updated_at("2026-11-26T10:00:00.000Z")
                        .resource(Resource::builder().resource_type("Instance").build())
                        .build(),
                );
            }
            out.build()
        });
        mock_client!(aws_sdk_guardduty, RuleMode::MatchAny, [&det, &list, &get])
    }

    /// Mocked (moto answers ListFindings with 404): no active HIGH findings passes.
    #[tokio::test]
    async fn guardduty_no_findings_mocked() {
        let ctx = mocked_context(vec![ClientOverride::GuardDuty(guardduty_client(vec![]))]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::GuardDuty)).await;
        assert_eq!(
            lines(&report),
            "guardduty.detector_enabled arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0 pass
guardduty.no_high_findings arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0 pass
guardduty.protection_features arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0 pass"
        );
    }

    /// Mocked: three HIGH findings fail the check, with count and types as evidence.
    #[tokio::test]
    async fn guardduty_high_findings_mocked() {
        let types = vec![
            "UnauthorizedAccess:EC2/SSHBruteForce",
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            "UnauthorizedAccess:EC2/SSHBruteForce",
        ];
        let ctx = mocked_context(vec![ClientOverride::GuardDuty(guardduty_client(types))]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::GuardDuty)).await;
        let high = outcome_of(&report, "guardduty.no_high_findings")[0];
        assert_eq!(high.outcome, Outcome::Fail);
        assert_eq!(
            high.evidence.observed,
            "3 findings: CryptoCurrency:EC2/BitcoinTool.B!DNS x1, UnauthorizedAccess:EC2/SSHBruteForce x2"
        );
    }

    fn config_client(compliance: Vec<(&'static str, &'static str)>) -> aws_sdk_config::Client {
        use aws_sdk_config::operation::*;
        use aws_sdk_config::types::*;
        let rec = mock!(aws_sdk_config::Client::describe_configuration_recorders).then_output(|| {
            describe_configuration_recorders::DescribeConfigurationRecordersOutput::builder()
                .configuration_recorders(
                    ConfigurationRecorder::builder()
                        .name("default")
                        .role_arn("arn:aws:iam::123456789012:role/ohmc-config")
                        .recording_group(RecordingGroup::builder().all_supported(true).include_global_resource_types(true).build())
                        .build(),
                )
                .build()
        });
        let status = mock!(aws_sdk_config::Client::describe_configuration_recorder_status).then_output(|| {
            describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput::builder()
                .configuration_recorders_status(
                    ConfigurationRecorderStatus::builder().name("default").recording(true).last_status(RecorderStatus::Success).build(),
                )
                .build()
        });
        let chan = mock!(aws_sdk_config::Client::describe_delivery_channels).then_output(|| {
            describe_delivery_channels::DescribeDeliveryChannelsOutput::builder()
                .delivery_channels(DeliveryChannel::builder().name("default").s3_bucket_name("ohmc-config").build())
                .build()
        });
        let rules = mock!(aws_sdk_config::Client::describe_config_rules).then_output(|| {
            let mut out = describe_config_rules::DescribeConfigRulesOutput::builder();
            for (name, id) in [("cloudtrail-enabled", "abc123"), ("rds-storage-encrypted", "def456")] {
                out = out.config_rules(
                    ConfigRule::builder()
                        .config_rule_name(name)
                        .config_rule_arn(format!("arn:aws:config:us-east-1:123456789012:config-rule/config-rule-{id}"))
                        .source(Source::builder().owner(Owner::Aws).source_identifier("X").build().unwrap())
                        .build(),
                );
            }
            out.build()
        });
        let comp = mock!(aws_sdk_config::Client::describe_compliance_by_config_rule).then_output(move || {
            let mut out = describe_compliance_by_config_rule::DescribeComplianceByConfigRuleOutput::builder();
            for (name, kind) in &compliance {
                out = out.compliance_by_config_rules(
                    ComplianceByConfigRule::builder()
                        .config_rule_name(*name)
                        .compliance(Compliance::builder().compliance_type(ComplianceType::from(*kind)).build())
                        .build(),
                );
            }
            out.build()
        });
        mock_client!(aws_sdk_config, RuleMode::MatchAny, [&rec, &status, &chan, &rules, &comp])
    }

    /// Mocked (moto answers DescribeComplianceByConfigRule with 500): both rules COMPLIANT.
    #[tokio::test]
    async fn config_compliance_reported_mocked() {
        let client = config_client(vec![("cloudtrail-enabled", "COMPLIANT"), ("rds-storage-encrypted", "COMPLIANT")]);
        let ctx = mocked_context(vec![ClientOverride::Config(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Config)).await;
        assert_eq!(
            lines(&report),
            "config.delivery_channel arn:aws:config:us-east-1:123456789012:delivery-channel pass
config.recorder_all_resources arn:aws:config:us-east-1:123456789012:configuration-recorder/default pass
config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/cloudtrail-enabled pass
config.required_rules_exist arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted pass
config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/cloudtrail-enabled pass
config.rule_compliance_reported arn:aws:config:us-east-1:123456789012:config-rule/rds-storage-encrypted pass"
        );
    }

    /// Mocked: NON_COMPLIANT fails, no data fails, an unknown ComplianceType is an Error
    /// naming the value (never a panic, never a pass).
    #[tokio::test]
    async fn config_compliance_failures_mocked() {
        let client = config_client(vec![("cloudtrail-enabled", "NON_COMPLIANT"), ("rds-storage-encrypted", "SOMEWHAT_COMPLIANT")]);
        let ctx = mocked_context(vec![ClientOverride::Config(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Config)).await;
        let c = outcome_of(&report, "config.rule_compliance_reported");
        assert_eq!(c[0].outcome, Outcome::Fail);
        assert_eq!(c[1].outcome, Outcome::Error { message: "unknown value \"SOMEWHAT_COMPLIANT\" for ComplianceType".into() });

        let client = config_client(vec![]);
        let ctx = mocked_context(vec![ClientOverride::Config(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Config)).await;
        for f in outcome_of(&report, "config.rule_compliance_reported") {
            assert_eq!((f.outcome.clone(), f.evidence.observed.as_str()), (Outcome::Fail, "no compliance reported"));
        }
    }

    /// Mocked: unknown ACM enum values (a future key algorithm, a future status) are
    /// Errors naming the value; a throttled-past-retries call is an Error too.
    #[tokio::test]
    async fn acm_unknown_values_and_throttling_mocked() {
        use aws_sdk_acm::operation::describe_certificate::*;
        use aws_sdk_acm::types::*;
        let cert = mock!(aws_sdk_acm::Client::describe_certificate).then_output(|| {
            DescribeCertificateOutput::builder()
                .certificate(
                    CertificateDetail::builder()
                        .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012")
                        .domain_name("staging.ohmycoins.io")
                        .subject_alternative_names("*.staging.ohmycoins.io")
                        .status(CertificateStatus::from("QUANTUM_PENDING"))
                        .key_algorithm(KeyAlgorithm::from("ML_DSA_65"))
                        .not_after(dt(chrono::Utc::now() + chrono::Duration::days(200)))
                        .build(),
                )
                .build()
        });
        let ctx = mocked_context(vec![ClientOverride::Acm(mock_client!(aws_sdk_acm, RuleMode::MatchAny, [&cert]))]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Acm)).await;
        let status = &outcome_of(&report, "acm.certificate_issued_covers_names")[0].outcome;
        assert_eq!(status, &Outcome::Error { message: "unknown value \"QUANTUM_PENDING\" for certificate Status".into() });
        let key = &outcome_of(&report, "acm.certificate_key_strength")[0].outcome;
        assert_eq!(key, &Outcome::Error { message: "unknown value \"ML_DSA_65\" for KeyAlgorithm".into() });
        assert_eq!(outcome_of(&report, "acm.certificate_not_expiring")[0].outcome, Outcome::Pass);

        let throttled = mock!(aws_sdk_acm::Client::describe_certificate).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
                aws_smithy_types::body::SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            )
        });
        let client = mock_client!(aws_sdk_acm, RuleMode::MatchAny, [&throttled], |c| c
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))));
        let ctx = mocked_context(vec![ClientOverride::Acm(client)]).await;
        let report = run_checks(&ctx, &Expectations::new(outputs(), settings(), false), &only(Area::Acm)).await;
        assert_eq!(throttled.num_calls(), 3, "retried up to max attempts");
        for f in &report.findings {
            if f.check_id == "acm.certificate_in_use_by_listener" {
                continue; // https_listener_arn is not in these outputs: Skipped
            }
            assert_eq!(
                f.outcome,
                Outcome::Error { message: "acm:DescribeCertificate failed: HTTP 400 ThrottlingException: Rate exceeded".into() },
                "{}",
                f.check_id
            );
        }
    }
}

/// The catalog lists every check with its controls and the benchmark versions.
#[test]
fn verify_catalog_controls() {
    let cat = ohmc_checks::catalog();
    assert!(cat.len() >= 30, "{} checks", cat.len());
    let by_id = |id: &str| cat.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("{id} missing"));
    let ids = |id: &str| by_id(id).controls.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(ids("cloudtrail.multi_region_logging"), ["CloudTrail.1", "CIS 3.1 (v1.4.0)", "CIS 3.1 (v3.0.0)"]);
    assert_eq!(ids("acm.certificate_not_expiring"), ["ACM.1"]);
    assert_eq!(ids("acm.certificate_key_strength"), ["ACM.2"]);
    assert_eq!(ids("waf.web_acl_has_rules"), ["WAF.10"]);
    assert_eq!(ids("waf.cloudwatch_metrics"), ["WAF.12"]);
    assert_eq!(ids("rds.deletion_protection"), ["RDS.8"]);
    assert_eq!(ids("rds.backup_retention"), ["RDS.11"]);
    assert_eq!(ids("guardduty.detector_enabled"), ["GuardDuty.1"]);
    assert_eq!(ids("config.recorder_all_resources"), ["Config.1", "CIS 3.5 (v1.4.0)", "CIS 3.3 (v3.0.0)"]);
    for area in Area::ALL {
        assert!(cat.iter().filter(|c| c.area == area).count() >= 3, "{area} has fewer than 3 checks");
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
    let runopts = RunOptions { areas: Some([Area::Rds].into()), ..Default::default() };
    let report = run_checks(&ctx, &expectations(&st, false), &runopts).await;
    assert_eq!(report.account_id.as_deref(), Some("111111111111"));
    let enc = outcome_of(&report, "rds.storage_encrypted")[0];
    assert_eq!(enc.resource, "arn:aws:rds:us-east-1:111111111111:db:ohmc-staging-postgres");
    assert_eq!((enc.outcome.clone(), enc.evidence.observed.as_str()), (Outcome::Fail, "no DB instance ohmc-staging-postgres"));

    // A malformed role ARN is refused before any call.
    let mut bad = options(&moto.endpoint());
    bad.role_arn = Some("ohmc-audit".into());
    let err = AwsContext::load(bad).await.unwrap_err();
    assert!(err.to_string().contains("invalid role ARN"), "{err}");
}

/// Benchmark (run by hand: `cargo test -p ohmc-cli --test it verify_benchmark -- --ignored
/// --nocapture`): an account of 500 DNS records, 20 certificates and 5 web ACLs. Prints the
/// API calls per area and the wall time against moto's measured calls-per-second ceiling.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by hand with --ignored --nocapture"]
#[allow(clippy::print_stderr)] // the benchmark's report
async fn verify_benchmark() {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    // 500 records in the zone (CNAMEs to the ALB), 20 certificates, 5 web ACLs.
    for batch in 0..5 {
        let changes: Vec<Change> = (0..100)
            .map(|i| {
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(Seeder::cname(&format!("svc{}.staging.ohmycoins.io", batch * 100 + i), &st.alb_dns))
                    .build()
                    .unwrap()
            })
            .collect();
        seeder
            .r53
            .change_resource_record_sets()
            .hosted_zone_id(&st.zone_id)
            .change_batch(ChangeBatch::builder().set_changes(Some(changes)).build().unwrap())
            .send()
            .await
            .unwrap();
    }
    for i in 0..19 {
        seeder.request_cert(&[&format!("c{i}.staging.ohmycoins.io")]).await;
    }
    for i in 0..4 {
        seeder
            .waf
            .create_web_acl()
            .name(format!("extra-{i}"))
            .scope(aws_sdk_wafv2::types::Scope::Regional)
            .default_action(aws_sdk_wafv2::types::DefaultAction::builder().allow(aws_sdk_wafv2::types::AllowAction::builder().build()).build())
            .set_rules(Some(Seeder::waf_rules(&MANAGED_GROUPS, true, true)))
            .visibility_config(visibility("extra", true))
            .send()
            .await
            .unwrap();
    }

    // The emulator's ceiling: cheap reads, 8 in flight.
    let probe = std::time::Instant::now();
    let n = 400;
    let acm = seeder.acm.clone();
    let cert = st.cert_arn.clone();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (acm, cert) = (acm.clone(), cert.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n / 8 {
                acm.describe_certificate().certificate_arn(&cert).send().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let ceiling = n as f64 / probe.elapsed().as_secs_f64();

    let ctx = context(&moto.endpoint()).await;
    let report = run(&ctx, &expectations(&st, false)).await;
    let total: u64 = report.api_calls.values().sum();
    let wall = report.elapsed_ms as f64 / 1000.0;
    let floor = total as f64 / ceiling;
    eprintln!("moto ceiling: {ceiling:.0} calls/s ({n} DescribeCertificate, 8 in flight)");
    eprintln!("verify: {total} calls in {wall:.2}s = {:.0} calls/s; {floor:.2}s at the ceiling; ratio {:.2}", total as f64 / wall, wall / floor);
    for (area, calls) in &report.api_calls_by_area {
        let list: Vec<String> = calls.iter().map(|(a, n)| format!("{a} x{n}")).collect();
        eprintln!("  {:<10} {:>3} calls: {}", area.name(), calls.values().sum::<u64>(), list.join(", "));
    }
    assert_eq!(report.summary.fail, 0, "the seeded account is compliant");

    // The scaled resources (records, certificates, web ACLs) live in areas moto
    // implements; without the SDK's retries of moto's unimplemented APIs the run
    // is measured against the ceiling alone.
    let scaled = RunOptions { areas: Some([Area::Dns, Area::Acm, Area::Waf].into()), ..Default::default() };
    let report = run_checks(&ctx, &expectations(&st, false), &scaled).await;
    let total: u64 = report.api_calls.values().sum();
    let wall = report.elapsed_ms as f64 / 1000.0;
    let floor = total as f64 / ceiling;
    eprintln!(
        "verify DNS+ACM+WAF: {total} calls in {wall:.2}s = {:.0} calls/s; {floor:.2}s at the ceiling; ratio {:.2}",
        total as f64 / wall,
        wall / floor
    );
}

/// A certificate still waiting for DNS validation (moto keeps requested certificates
/// PENDING_VALIDATION for MOTO_ACM_VALIDATION_WAIT seconds) fails the issued check. (moto
/// gives pending certificates a NotAfter, real ACM does not; the expiry check judges the
/// NotAfter it is given.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_acm_pending_validation() {
    let moto = MotoServer::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "3600")]);
    let seeder = Seeder::new(&moto.endpoint()).await;
    let arn = seeder.request_cert(&["staging.ohmycoins.io", "*.staging.ohmycoins.io"]).await;
    let outputs = json!({ "certificate_arn": arn }).as_object().unwrap().clone();
    let ctx = context(&moto.endpoint()).await;
    let runopts = RunOptions { areas: Some([Area::Acm].into()), ..Default::default() };
    let report = run_checks(&ctx, &Expectations::new(outputs, settings(), false), &runopts).await;
    let got: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.check_id, f.outcome.label(), f.evidence.observed))
        .collect();
    assert_eq!(
        got[..3],
        [
            "acm.certificate_in_use_by_listener skipped ",
            "acm.certificate_issued_covers_names fail PENDING_VALIDATION, names staging.ohmycoins.io, *.staging.ohmycoins.io",
            "acm.certificate_key_strength pass RSA_2048",
        ]
    );
    assert!(got[3].starts_with("acm.certificate_not_expiring pass NotAfter "), "{}", got[3]);
}
