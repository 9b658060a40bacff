//! aws-smithy-mocks: the APIs moto does not implement. Responses are shaped like the
//! examples in AWS's API reference for each operation.

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

/// Runs one area's checks against [`outputs`] in a context whose endpoint answers
/// nothing: STS and `client` are mocked, so the area must need no other client.
async fn run_mocked(client: ClientOverride, area: Area, production: bool) -> Report {
    let ctx = AwsContext::load(options("http://127.0.0.1:9"))
        .await
        .unwrap()
        .with_client(sts())
        .with_client(client);
    let exp = Expectations::new(outputs(), settings(), production);
    let only = RunOptions {
        areas: Some([area].into()),
        ..Default::default()
    };
    run_checks(&ctx, &exp, &only).await
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

fn lines(report: &Report) -> String {
    let mut l: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.check_id, f.resource, f.outcome.label()))
        .collect();
    l.sort();
    l.join("\n")
}

fn dt(t: chrono::DateTime<chrono::Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

/// The Backup client: plan, vault, selections and recovery points. Selections and
/// recovery points are what moto lacks (ListBackupSelections 500, ListRecoveryPoints 404).
fn backup_client(
    selection_resources: Vec<String>,
    newest_point_age_h: Option<i64>,
    locked: bool,
    key: Option<&'static str>,
) -> aws_sdk_backup::Client {
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
                        // A minute older than the whole hours, so the check (whose clock
                        // started before this answer) still sees `age` whole hours.
                        .creation_date(dt(chrono::Utc::now()
                            - chrono::Duration::hours(age + extra)
                            - chrono::Duration::minutes(1)))
                        .build(),
                );
            }
        }
        out.build()
    });
    mock_client!(
        aws_sdk_backup,
        RuleMode::MatchAny,
        [&plan, &list_sel, &get_sel, &vault, &points]
    )
}

/// Mocked (moto lacks ListBackupSelections/ListRecoveryPointsByBackupVault): a
/// production account whose selection lists the instance and whose newest point is 3h old.
#[tokio::test]
async fn backup_all_pass_mocked() {
    let client = backup_client(vec![DB_ARN.into()], Some(3), true, Some(KMS_KEY));
    let report = run_mocked(ClientOverride::Backup(client), Area::Backup, true).await;
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
    let client = backup_client(
        vec!["arn:aws:rds:*:*:db:*".into()],
        Some(3),
        false,
        Some(KMS_KEY),
    );
    let report = run_mocked(ClientOverride::Backup(client), Area::Backup, false).await;
    assert_eq!(
        outcome_of(&report, "backup.selection_covers_rds")[0].outcome,
        Outcome::Pass
    );
}

/// Mocked: the selection covers another resource, the newest point is 30h old (RPO
/// 24h), the vault has no KMS key and is unlocked in production.
#[tokio::test]
async fn backup_failures_mocked() {
    let client = backup_client(
        vec!["arn:aws:dynamodb:us-east-1:123456789012:table/ohmc".into()],
        Some(30),
        false,
        None,
    );
    let report = run_mocked(ClientOverride::Backup(client), Area::Backup, true).await;
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
    assert!(
        rpo.evidence.observed.contains("(30h old)"),
        "{:?}",
        rpo.evidence
    );
}

/// Mocked: no recovery point at all is a Fail.
#[tokio::test]
async fn backup_no_recovery_point_mocked() {
    let client = backup_client(vec![DB_ARN.into()], None, false, Some(KMS_KEY));
    let report = run_mocked(ClientOverride::Backup(client), Area::Backup, false).await;
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
    let ids: Vec<String> = (0..finding_types.len())
        .map(|i| format!("finding{i:030}"))
        .collect();
    let ids2 = ids.clone();
    let list = mock!(aws_sdk_guardduty::Client::list_findings)
        .match_requests(|req| {
            // The check asks only for unarchived findings of severity >= 7.
            let c = req
                .finding_criteria()
                .and_then(|c| c.criterion())
                .cloned()
                .unwrap_or_default();
            c.get("severity").and_then(|s| s.greater_than_or_equal()) == Some(7)
                && c.get("service.archived").map(|a| a.equals()) == Some(&["false".to_string()][..])
        })
        .then_output(move || {
            list_findings::ListFindingsOutput::builder()
                .set_finding_ids(Some(ids.clone()))
                .build()
        });
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
    let report = run_mocked(
        ClientOverride::GuardDuty(guardduty_client(vec![])),
        Area::GuardDuty,
        false,
    )
    .await;
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
    let report = run_mocked(
        ClientOverride::GuardDuty(guardduty_client(types)),
        Area::GuardDuty,
        false,
    )
    .await;
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
                    .recording_group(
                        RecordingGroup::builder()
                            .all_supported(true)
                            .include_global_resource_types(true)
                            .build(),
                    )
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
            .delivery_channels(
                DeliveryChannel::builder()
                    .name("default")
                    .s3_bucket_name("ohmc-config")
                    .build(),
            )
            .build()
    });
    let rules = mock!(aws_sdk_config::Client::describe_config_rules).then_output(|| {
        let mut out = describe_config_rules::DescribeConfigRulesOutput::builder();
        for (name, id) in [
            ("cloudtrail-enabled", "abc123"),
            ("rds-storage-encrypted", "def456"),
        ] {
            out = out.config_rules(
                ConfigRule::builder()
                    .config_rule_name(name)
                    .config_rule_arn(format!(
                        "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-{id}"
                    ))
                    .source(
                        Source::builder()
                            .owner(Owner::Aws)
                            .source_identifier("X")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            );
        }
        out.build()
    });
    let comp =
        mock!(aws_sdk_config::Client::describe_compliance_by_config_rule).then_output(move || {
            let mut out =
                describe_compliance_by_config_rule::DescribeComplianceByConfigRuleOutput::builder();
            for (name, kind) in &compliance {
                out = out.compliance_by_config_rules(
                    ComplianceByConfigRule::builder()
                        .config_rule_name(*name)
                        .compliance(
                            Compliance::builder()
                                .compliance_type(ComplianceType::from(*kind))
                                .build(),
                        )
                        .build(),
                );
            }
            out.build()
        });
    mock_client!(
        aws_sdk_config,
        RuleMode::MatchAny,
        [&rec, &status, &chan, &rules, &comp]
    )
}

/// Mocked (moto answers DescribeComplianceByConfigRule with 500): both rules COMPLIANT.
#[tokio::test]
async fn config_compliance_reported_mocked() {
    let client = config_client(vec![
        ("cloudtrail-enabled", "COMPLIANT"),
        ("rds-storage-encrypted", "COMPLIANT"),
    ]);
    let report = run_mocked(ClientOverride::Config(client), Area::Config, false).await;
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
    let client = config_client(vec![
        ("cloudtrail-enabled", "NON_COMPLIANT"),
        ("rds-storage-encrypted", "SOMEWHAT_COMPLIANT"),
    ]);
    let report = run_mocked(ClientOverride::Config(client), Area::Config, false).await;
    let c = outcome_of(&report, "config.rule_compliance_reported");
    assert_eq!(c[0].outcome, Outcome::Fail);
    assert_eq!(
        c[1].outcome,
        Outcome::Error {
            message: "unknown value \"SOMEWHAT_COMPLIANT\" for ComplianceType".into()
        }
    );

    let client = config_client(vec![]);
    let report = run_mocked(ClientOverride::Config(client), Area::Config, false).await;
    for f in outcome_of(&report, "config.rule_compliance_reported") {
        assert_eq!(
            (f.outcome.clone(), f.evidence.observed.as_str()),
            (Outcome::Fail, "no compliance reported")
        );
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
    let report = run_mocked(
        ClientOverride::Acm(mock_client!(aws_sdk_acm, RuleMode::MatchAny, [&cert])),
        Area::Acm,
        false,
    )
    .await;
    let status = &outcome_of(&report, "acm.certificate_issued_covers_names")[0].outcome;
    assert_eq!(
        status,
        &Outcome::Error {
            message: "unknown value \"QUANTUM_PENDING\" for certificate Status".into()
        }
    );
    let key = &outcome_of(&report, "acm.certificate_key_strength")[0].outcome;
    assert_eq!(
        key,
        &Outcome::Error {
            message: "unknown value \"ML_DSA_65\" for KeyAlgorithm".into()
        }
    );
    assert_eq!(
        outcome_of(&report, "acm.certificate_not_expiring")[0].outcome,
        Outcome::Pass
    );

    let throttled = mock!(aws_sdk_acm::Client::describe_certificate).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            ),
        )
    });
    let client = mock_client!(aws_sdk_acm, RuleMode::MatchAny, [&throttled], |c| c
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        ));
    let report = run_mocked(ClientOverride::Acm(client), Area::Acm, false).await;
    assert_eq!(throttled.num_calls(), 3, "retried up to max attempts");
    for f in &report.findings {
        if f.check_id == "acm.certificate_in_use_by_listener" {
            continue; // https_listener_arn is not in these outputs: an Error of its own
        }
        assert_eq!(
            f.outcome,
            Outcome::Error {
                message:
                    "acm:DescribeCertificate failed: HTTP 400 ThrottlingException: Rate exceeded"
                        .into()
            },
            "{}",
            f.check_id
        );
    }
}
