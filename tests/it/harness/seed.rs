//! Seeding a moto account and region through the Rust SDK with a compact, compliant
//! "platform baseline" (CloudTrail, GuardDuty, Config, WAF, RDS, ACM, Backup) and the
//! stack outputs that describe it. Any account: [`SeedTarget::assume`] goes through STS
//! AssumeRole, which moto answers with credentials isolated to that account.
//!
//! `verify.rs` keeps its own richer staging seed (ALB, Route 53, scenarios); this one is
//! for tests that need the same baseline in several accounts and regions.

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

fn visibility(metric: &str) -> aws_sdk_wafv2::types::VisibilityConfig {
    aws_sdk_wafv2::types::VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(true)
        .metric_name(metric)
        .build()
        .unwrap()
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
    let mut create = s3.create_bucket().bucket(&bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
    s3.put_public_access_block()
        .bucket(&bucket)
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
    use aws_sdk_guardduty::types as gdt;
    let det = aws_sdk_guardduty::Client::new(&t.cfg)
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
    let detector_id = det.detector_id().unwrap().to_string();

    // Config.
    use aws_sdk_config::types as cfgt;
    let config = aws_sdk_config::Client::new(&t.cfg);
    config
        .put_configuration_recorder()
        .configuration_recorder(
            cfgt::ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{acct}:role/ohmc-config"))
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
                .s3_bucket_name(&bucket)
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

    // WAF: a web ACL with a managed rule group and a rate rule, logging on.
    use aws_sdk_wafv2::types::*;
    let waf = aws_sdk_wafv2::Client::new(&t.cfg);
    let rules = vec![
        Rule::builder()
            .name("AWSManagedRulesCommonRuleSet")
            .priority(0)
            .statement(
                Statement::builder()
                    .managed_rule_group_statement(
                        ManagedRuleGroupStatement::builder()
                            .vendor_name("AWS")
                            .name("AWSManagedRulesCommonRuleSet")
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
            .visibility_config(visibility("common"))
            .build()
            .unwrap(),
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
            .visibility_config(visibility("rate-limit"))
            .build()
            .unwrap(),
    ];
    let acl = waf
        .create_web_acl()
        .name("ohmc")
        .scope(Scope::Regional)
        .default_action(
            DefaultAction::builder()
                .allow(AllowAction::builder().build())
                .build(),
        )
        .set_rules(Some(rules))
        .visibility_config(visibility("ohmc"))
        .send()
        .await
        .expect("create web acl");
    let acl_arn = acl.summary().unwrap().arn().unwrap().to_string();
    waf.put_logging_configuration()
        .logging_configuration(
            LoggingConfiguration::builder()
                .resource_arn(&acl_arn)
                .log_destination_configs(format!(
                    "arn:aws:logs:{region}:{acct}:log-group:aws-waf-logs-ohmc"
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // RDS.
    let db = "ohmc-postgres";
    aws_sdk_rds::Client::new(&t.cfg)
        .create_db_instance()
        .db_instance_identifier(db)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("ohmc")
        .master_user_password("not-a-real-password-1")
        .storage_encrypted(!flaws.unencrypted_db)
        .backup_retention_period(7)
        .send()
        .await
        .expect("create db");

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
    use aws_sdk_backup::types as bt;
    let backup = aws_sdk_backup::Client::new(&t.cfg);
    backup
        .create_backup_vault()
        .backup_vault_name("ohmc")
        .encryption_key_arn(&kms)
        .send()
        .await
        .unwrap();
    let plan = backup
        .create_backup_plan()
        .backup_plan(
            bt::BackupPlanInput::builder()
                .backup_plan_name("ohmc")
                .rules(
                    bt::BackupRuleInput::builder()
                        .rule_name("daily")
                        .target_backup_vault_name("ohmc")
                        .schedule_expression("cron(0 5 ? * * *)")
                        .lifecycle(bt::Lifecycle::builder().delete_after_days(35).build())
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    json!({
        "cloudtrail_name": trail,
        "cloudtrail_bucket_name": bucket,
        "guardduty_detector_id": detector_id,
        "config_recorder_name": "default",
        "web_acl_arn": {"value": acl_arn, "type": "string", "sensitive": false},
        "rds_instance_ids": [db],
        "certificate_arn": cert_arn,
        "backup_vault_name": "ohmc",
        "backup_plan_id": plan.backup_plan_id().unwrap(),
    })
    .as_object()
    .unwrap()
    .clone()
}
