//! Seeding a moto account and region through the Rust SDK with a compact, compliant
//! "platform baseline" (CloudTrail, GuardDuty, Config, WAF, RDS, ACM, Backup) and the
//! stack outputs that describe it. Any account: [`SeedTarget::assume`] goes through STS
//! AssumeRole, which moto answers with credentials isolated to that account.
//!
//! `verify/seed.rs` keeps its own richer staging seed (ALB, Route 53, scenarios) built
//! from the same pieces ([`waf_rules`], [`private_bucket`], [`config_recorder`],
//! [`detector`], [`db_instance`]); this one is for tests that need the same baseline in
//! several accounts and regions.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use serde_json::{json, Map, Value};

/// Credentials moto accepts for its default account.
pub fn creds() -> Credentials {
    Credentials::new("AKIDTEST", "secret", None, None, "ohmc-test")
}

/// The base SDK config for moto in a region.
pub async fn sdk(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(creds())
        .load()
        .await
}

/// Where to seed: an account (through an assumed role) and a region.
pub struct SeedTarget {
    pub cfg: SdkConfig,
    pub account: String,
    pub region: String,
}

impl SeedTarget {
    /// moto's default account.
    pub async fn default_account(endpoint: &str, region: &str) -> Self {
        SeedTarget {
            cfg: sdk(endpoint, region).await,
            account: super::moto::MOTO_ACCOUNT.into(),
            region: region.into(),
        }
    }

    /// Another account: STS AssumeRole into `arn:aws:iam::ACCOUNT:role/ROLE`.
    pub async fn assume(endpoint: &str, region: &str, account: &str, role: &str) -> Self {
        let base = sdk(endpoint, region).await;
        let out = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
            .role_session_name("ohmc-seed")
            .send()
            .await
            .expect("assume role");
        let c = out.credentials().expect("credentials");
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        );
        let cfg = base
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(creds),
            )
            .build();
        SeedTarget {
            cfg,
            account: account.into(),
            region: region.into(),
        }
    }
}

/// What to get wrong, for failing findings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flaws {
    /// The trail does not validate log files (cloudtrail.log_file_validation fails).
    pub trail_without_validation: bool,
    /// The DB instance is not encrypted (rds.storage_encrypted fails).
    pub unencrypted_db: bool,
}

/// WAF visibility: sampled requests on, CloudWatch metrics as given.
pub fn visibility(metric: &str, metrics: bool) -> aws_sdk_wafv2::types::VisibilityConfig {
    aws_sdk_wafv2::types::VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(metrics)
        .metric_name(metric)
        .build()
        .unwrap()
}

/// Web ACL rules: one per AWS managed rule group (priority in order, metric named after
/// the group), then a 2000-requests rate-based blocking rule if `rate`.
pub fn waf_rules(groups: &[&str], rate: bool, metrics: bool) -> Vec<aws_sdk_wafv2::types::Rule> {
    use aws_sdk_wafv2::types::*;
    let mut rules = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        rules.push(
            Rule::builder()
                .name(*g)
                .priority(i as i32)
                .statement(
                    Statement::builder()
                        .managed_rule_group_statement(
                            ManagedRuleGroupStatement::builder()
                                .vendor_name("AWS")
                                .name(*g)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .override_action(
                    OverrideAction::builder()
                        .none(NoneAction::builder().build())
                        .build(),
                )
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
                .action(
                    RuleAction::builder()
                        .block(BlockAction::builder().build())
                        .build(),
                )
                .visibility_config(visibility("rate-limit", true))
                .build()
                .unwrap(),
        );
    }
    rules
}

/// A regional web ACL (default allow, metrics on) with the rules, logging to the
/// `aws-waf-logs-NAME` log group of the account and region; returns (ARN, id).
pub async fn web_acl(
    waf: &aws_sdk_wafv2::Client,
    name: &str,
    rules: Vec<aws_sdk_wafv2::types::Rule>,
    account: &str,
    region: &str,
) -> (String, String) {
    use aws_sdk_wafv2::types::*;
    let acl = waf
        .create_web_acl()
        .name(name)
        .scope(Scope::Regional)
        .default_action(
            DefaultAction::builder()
                .allow(AllowAction::builder().build())
                .build(),
        )
        .set_rules(Some(rules))
        .visibility_config(visibility(name, true))
        .send()
        .await
        .expect("create web acl");
    let summary = acl.summary().unwrap();
    let (arn, id) = (
        summary.arn().unwrap().to_string(),
        summary.id().unwrap().to_string(),
    );
    waf.put_logging_configuration()
        .logging_configuration(
            LoggingConfiguration::builder()
                .resource_arn(&arn)
                .log_destination_configs(format!(
                    "arn:aws:logs:{region}:{account}:log-group:aws-waf-logs-{name}"
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    (arn, id)
}

/// A backup plan with one rule `daily` into `vault`, on `schedule`, keeping recovery
/// points `keep_days`, copying them to `copy_to` if given; returns the plan id.
pub async fn backup_plan(
    backup: &aws_sdk_backup::Client,
    name: &str,
    vault: &str,
    schedule: &str,
    keep_days: i64,
    copy_to: Option<&str>,
) -> String {
    use aws_sdk_backup::types::*;
    let mut rule = BackupRuleInput::builder()
        .rule_name("daily")
        .target_backup_vault_name(vault)
        .schedule_expression(schedule)
        .lifecycle(Lifecycle::builder().delete_after_days(keep_days).build());
    if let Some(dest) = copy_to {
        rule = rule.copy_actions(
            CopyAction::builder()
                .destination_backup_vault_arn(dest)
                .build()
                .unwrap(),
        );
    }
    let out = backup
        .create_backup_plan()
        .backup_plan(
            BackupPlanInput::builder()
                .backup_plan_name(name)
                .rules(rule.build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    out.backup_plan_id().unwrap().to_string()
}

/// A bucket in `region` that blocks every kind of public access.
pub async fn private_bucket(s3: &aws_sdk_s3::Client, bucket: &str, region: &str) {
    let mut create = s3.create_bucket().bucket(bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
    s3.put_public_access_block()
        .bucket(bucket)
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
}

/// An enabled GuardDuty detector publishing every 15 minutes, with EKS audit logs and
/// RDS login events on; returns its id.
pub async fn detector(gd: &aws_sdk_guardduty::Client) -> String {
    use aws_sdk_guardduty::types as gdt;
    let det = gd
        .create_detector()
        .enable(true)
        .finding_publishing_frequency(gdt::FindingPublishingFrequency::FifteenMinutes)
        .features(
            gdt::DetectorFeatureConfiguration::builder()
                .name(gdt::DetectorFeature::EksAuditLogs)
                .status(gdt::FeatureStatus::Enabled)
                .build(),
        )
        .features(
            gdt::DetectorFeatureConfiguration::builder()
                .name(gdt::DetectorFeature::RdsLoginEvents)
                .status(gdt::FeatureStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("create detector");
    det.detector_id().unwrap().to_string()
}

/// The Config recorder `default` recording everything (global types included) with the
/// account's `ohmc-config` role, a delivery channel to `bucket`, and the recorder started.
pub async fn config_recorder(config: &aws_sdk_config::Client, account: &str, bucket: &str) {
    use aws_sdk_config::types as cfgt;
    config
        .put_configuration_recorder()
        .configuration_recorder(
            cfgt::ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{account}:role/ohmc-config"))
                .recording_group(
                    cfgt::RecordingGroup::builder()
                        .all_supported(true)
                        .include_global_resource_types(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .put_delivery_channel()
        .delivery_channel(
            cfgt::DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(bucket)
                .build(),
        )
        .send()
        .await
        .unwrap();
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .unwrap();
}

/// A small Postgres instance.
pub async fn db_instance(
    rds: &aws_sdk_rds::Client,
    id: &str,
    encrypted: bool,
    retention: i32,
    deletion_protection: bool,
) {
    rds.create_db_instance()
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
        .expect("create db");
}

/// Seeds the baseline; returns the stack outputs (flat map) describing it.
pub async fn baseline(t: &SeedTarget, flaws: Flaws) -> Map<String, Value> {
    let (acct, region) = (t.account.as_str(), t.region.as_str());
    let kms = format!("arn:aws:kms:{region}:{acct}:key/0b6a4c52-6b1c-4a36-9d5e-2a0c7c0f1a11");

    // CloudTrail and its bucket.
    let bucket = format!("ohmc-trail-{acct}-{region}");
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&t.cfg)
            .force_path_style(true)
            .build(),
    );
    private_bucket(&s3, &bucket, region).await;
    let trail = format!("ohmc-{region}");
    let ct = aws_sdk_cloudtrail::Client::new(&t.cfg);
    ct.create_trail()
        .name(&trail)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .enable_log_file_validation(!flaws.trail_without_validation)
        .kms_key_id(&kms)
        .cloud_watch_logs_log_group_arn(format!(
            "arn:aws:logs:{region}:{acct}:log-group:ohmc-cloudtrail:*"
        ))
        .cloud_watch_logs_role_arn(format!("arn:aws:iam::{acct}:role/ohmc-cloudtrail-logs"))
        .send()
        .await
        .expect("create trail");
    ct.start_logging().name(&trail).send().await.unwrap();

    // GuardDuty.
    let detector_id = detector(&aws_sdk_guardduty::Client::new(&t.cfg)).await;

    // Config.
    config_recorder(&aws_sdk_config::Client::new(&t.cfg), acct, &bucket).await;

    // WAF: a web ACL with a managed rule group and a rate rule, logging on.
    let rules = waf_rules(&["AWSManagedRulesCommonRuleSet"], true, true);
    let (acl_arn, _) = web_acl(
        &aws_sdk_wafv2::Client::new(&t.cfg),
        "ohmc",
        rules,
        acct,
        region,
    )
    .await;

    // RDS.
    let db = "ohmc-postgres";
    db_instance(
        &aws_sdk_rds::Client::new(&t.cfg),
        db,
        !flaws.unencrypted_db,
        7,
        false,
    )
    .await;

    // ACM (moto started with MOTO_ACM_VALIDATION_WAIT=0 issues at once).
    let cert = aws_sdk_acm::Client::new(&t.cfg)
        .request_certificate()
        .domain_name("audit.ohmycoins.io")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .expect("request certificate");
    let cert_arn = cert.certificate_arn().unwrap().to_string();

    // Backup: an encrypted vault and a daily plan.
    let backup = aws_sdk_backup::Client::new(&t.cfg);
    backup
        .create_backup_vault()
        .backup_vault_name("ohmc")
        .encryption_key_arn(&kms)
        .send()
        .await
        .unwrap();
    let plan_id = backup_plan(&backup, "ohmc", "ohmc", "cron(0 5 ? * * *)", 35, None).await;

    json!({
        "cloudtrail_name": trail,
        "cloudtrail_bucket_name": bucket,
        "guardduty_detector_id": detector_id,
        "config_recorder_name": "default",
        "web_acl_arn": {"value": acl_arn, "type": "string", "sensitive": false},
        "rds_instance_ids": [db],
        "certificate_arn": cert_arn,
        "backup_vault_name": "ohmc",
        "backup_plan_id": plan_id,
    })
    .as_object()
    .unwrap()
    .clone()
}
