//! The catalog: every check this crate runs, with its controls. `verify` runs them;
//! `audit` lists them and the benchmark versions their controls are mapped against.

use crate::expectations::outputs as o;
use crate::model::{Area, Check, Control, Severity};

macro_rules! check {
    ($id:literal, $area:ident, $sev:ident, $title:literal, [$($c:expr),*], prod=$prod:literal, outputs=[$($out:expr),*], $rem:literal) => {
        Entry {
            check: Check {
                id: $id,
                title: $title,
                area: Area::$area,
                severity: Severity::$sev,
                controls: vec![$($c),*],
                production_only: $prod,
                outputs: &[$($out),*],
            },
            remediation: $rem,
        }
    };
}

pub(crate) struct Entry {
    pub check: Check,
    pub remediation: &'static str,
}

const F: fn(&'static str) -> Control = Control::fsbp;
const CIS14: &str = "1.4.0";
const CIS30: &str = "3.0.0";

pub(crate) fn entries() -> Vec<Entry> {
    vec![
        // DNS
        check!("dns.expected_records_exist", Dns, High, "Every expected domain name has a record in the hosted zone",
            [], prod=false, outputs=[o::HOSTED_ZONE_ID],
            "Create the missing A/AAAA alias records in the stack's hosted zone (terraform apply)."),
        check!("dns.alias_targets_alb", Dns, High, "Expected names alias this environment's load balancer",
            [], prod=false, outputs=[o::HOSTED_ZONE_ID, o::ALB_DNS_NAME],
            "Point the alias record at the environment's ALB (alb_dns_name output)."),
        check!("dns.no_dangling_records", Dns, High, "No record aliases or CNAMEs a load balancer or bucket that no longer exists",
            [], prod=false, outputs=[o::HOSTED_ZONE_ID],
            "Delete the dangling records, or recreate their targets: a dangling record can be taken over."),
        // ACM
        check!("acm.certificate_issued_covers_names", Acm, Critical, "The certificate is ISSUED and covers every expected name",
            [], prod=false, outputs=[o::CERTIFICATE_ARN],
            "Complete DNS validation, or request a certificate whose names (wildcards included) cover every domain name."),
        check!("acm.certificate_not_expiring", Acm, High, "The certificate does not expire within the window",
            [F("ACM.1")], prod=false, outputs=[o::CERTIFICATE_ARN],
            "Renew or re-issue the certificate; check that managed renewal can validate (DNS records present)."),
        check!("acm.certificate_key_strength", Acm, Medium, "The certificate uses RSA of at least 2048 bits or an EC key",
            [F("ACM.2")], prod=false, outputs=[o::CERTIFICATE_ARN],
            "Request a certificate with key algorithm RSA_2048 or stronger, or EC_prime256v1."),
        check!("acm.certificate_in_use_by_listener", Acm, High, "The certificate is served by the ALB's HTTPS listener",
            [], prod=false, outputs=[o::CERTIFICATE_ARN, o::HTTPS_LISTENER_ARN],
            "Attach the certificate to the HTTPS listener (aws_lb_listener certificate_arn)."),
        // WAF
        check!("waf.web_acl_associated", Waf, Critical, "The web ACL is associated with the ALB",
            [Control::nist("ELB.16")], prod=false, outputs=[o::WEB_ACL_ARN, o::ALB_ARN],
            "Associate the web ACL with the load balancer (aws_wafv2_web_acl_association)."),
        check!("waf.web_acl_has_rules", Waf, Medium, "The web ACL has at least one rule or rule group",
            [F("WAF.10")], prod=false, outputs=[o::WEB_ACL_ARN],
            "Add rules to the web ACL."),
        check!("waf.managed_rule_groups", Waf, High, "The required AWS managed rule groups are in the web ACL",
            [], prod=false, outputs=[o::WEB_ACL_ARN],
            "Add the missing AWS managed rule groups to the web ACL."),
        check!("waf.rate_based_rule", Waf, Medium, "The web ACL has a rate-based rule",
            [], prod=false, outputs=[o::WEB_ACL_ARN],
            "Add a rate-based rule to the web ACL."),
        check!("waf.cloudwatch_metrics", Waf, Low, "CloudWatch metrics are enabled for the web ACL and every rule",
            [F("WAF.12")], prod=false, outputs=[o::WEB_ACL_ARN],
            "Set cloudwatch_metrics_enabled = true in the visibility config of the web ACL and of each rule."),
        check!("waf.logging_enabled", Waf, Medium, "Web ACL logging is configured",
            [Control::nist("WAF.11")], prod=false, outputs=[o::WEB_ACL_ARN],
            "Configure logging for the web ACL (aws_wafv2_web_acl_logging_configuration)."),
        // Backup
        check!("backup.plan_rules", Backup, High, "The backup plan has a rule meeting the RPO frequency and the minimum retention",
            [], prod=false, outputs=[o::BACKUP_PLAN_ID],
            "Add or fix a backup rule: schedule at least as often as the RPO target, retention at least the minimum."),
        check!("backup.selection_covers_rds", Backup, Critical, "The backup plan's selections cover every RDS instance",
            [], prod=false, outputs=[o::BACKUP_PLAN_ID, o::RDS_INSTANCE_IDS],
            "Add the RDS instance ARNs to a backup selection of the plan."),
        check!("backup.vault_encrypted", Backup, High, "The backup vault is encrypted with a KMS key",
            [], prod=false, outputs=[o::BACKUP_VAULT_NAME],
            "Create the vault with encryption_key_arn set to a customer-managed KMS key."),
        check!("backup.vault_lock", Backup, High, "Vault lock is on (production)",
            [], prod=true, outputs=[o::BACKUP_VAULT_NAME],
            "Enable vault lock (aws_backup_vault_lock_configuration) with a minimum retention."),
        check!("backup.cross_region_copy", Backup, High, "A backup rule copies recovery points to another region (production)",
            [], prod=true, outputs=[o::BACKUP_PLAN_ID],
            "Add a copy_action to a backup rule with a destination vault in another region."),
        check!("backup.recovery_point_within_rpo", Backup, Critical, "The newest recovery point of each RDS instance is within the RPO target",
            [], prod=false, outputs=[o::BACKUP_VAULT_NAME, o::RDS_INSTANCE_IDS],
            "Find out why backup jobs are not completing (AWS Backup job history) and run an on-demand backup."),
        // Config
        check!("config.recorder_all_resources", Config, High, "The Config recorder records all supported and global resources and is recording",
            [F("Config.1"), Control::cis(CIS14, "3.5"), Control::cis(CIS30, "3.3")], prod=false, outputs=[o::CONFIG_RECORDER_NAME],
            "Set recording_group all_supported and include_global_resource_types, and start the recorder."),
        check!("config.delivery_channel", Config, High, "A Config delivery channel exists",
            [], prod=false, outputs=[],
            "Create a delivery channel (aws_config_delivery_channel)."),
        check!("config.required_rules_exist", Config, Medium, "The required Config rules exist",
            [], prod=false, outputs=[],
            "Create the missing AWS Config rules."),
        check!("config.rule_compliance_reported", Config, Medium, "The required Config rules report COMPLIANT",
            [], prod=false, outputs=[],
            "Look at the non-compliant resources of the rule, or why the rule reports no data."),
        // GuardDuty
        check!("guardduty.detector_enabled", GuardDuty, High, "The GuardDuty detector is enabled with the expected finding frequency",
            [F("GuardDuty.1")], prod=false, outputs=[o::GUARDDUTY_DETECTOR_ID],
            "Enable the detector and set finding_publishing_frequency."),
        check!("guardduty.protection_features", GuardDuty, Medium, "EKS audit-log and RDS protection are enabled",
            [F("GuardDuty.5"), F("GuardDuty.9")], prod=false, outputs=[o::GUARDDUTY_DETECTOR_ID],
            "Enable the EKS_AUDIT_LOGS and RDS_LOGIN_EVENTS detector features."),
        check!("guardduty.no_high_findings", GuardDuty, High, "There are no active HIGH GuardDuty findings",
            [], prod=false, outputs=[o::GUARDDUTY_DETECTOR_ID],
            "Triage the HIGH findings, then remediate or archive them."),
        // CloudTrail
        check!("cloudtrail.multi_region_logging", CloudTrail, Critical, "A multi-region trail is logging management events",
            [F("CloudTrail.1"), Control::cis(CIS14, "3.1"), Control::cis(CIS30, "3.1")], prod=false, outputs=[o::CLOUDTRAIL_NAME],
            "Make the trail multi-region with read/write management events and start logging."),
        check!("cloudtrail.account_multi_region_trail", CloudTrail, Critical, "The account has a multi-region trail logging management events, with log file validation and KMS encryption",
            [F("CloudTrail.1"), Control::cis(CIS14, "3.1"), Control::cis(CIS30, "3.1")], prod=false, outputs=[],
            "Create (or fix) one organisation or account trail: multi-region, read/write management events, enable_log_file_validation and kms_key_id."),
        check!("cloudtrail.kms_encrypted", CloudTrail, High, "The trail's logs are encrypted with KMS",
            [F("CloudTrail.2"), Control::cis(CIS14, "3.7"), Control::cis(CIS30, "3.5")], prod=false, outputs=[o::CLOUDTRAIL_NAME],
            "Set kms_key_id on the trail."),
        check!("cloudtrail.log_file_validation", CloudTrail, Medium, "The trail validates log files",
            [F("CloudTrail.4"), Control::cis(CIS14, "3.2"), Control::cis(CIS30, "3.2")], prod=false, outputs=[o::CLOUDTRAIL_NAME],
            "Set enable_log_file_validation = true on the trail."),
        check!("cloudtrail.cloudwatch_logs", CloudTrail, Medium, "The trail delivers to CloudWatch Logs",
            [F("CloudTrail.5"), Control::cis(CIS14, "3.4")], prod=false, outputs=[o::CLOUDTRAIL_NAME],
            "Set cloud_watch_logs_group_arn and cloud_watch_logs_role_arn on the trail."),
        check!("cloudtrail.bucket_public_access_blocked", CloudTrail, Critical, "The trail's S3 bucket blocks all public access",
            [Control::cis(CIS14, "3.3")], prod=false, outputs=[o::CLOUDTRAIL_NAME],
            "Enable all four S3 Block Public Access settings on the trail bucket."),
        // RDS
        check!("rds.storage_encrypted", Rds, Critical, "The DB instance is encrypted at rest",
            [F("RDS.3"), Control::cis(CIS14, "2.3.1"), Control::cis(CIS30, "2.3.1")], prod=false, outputs=[o::RDS_INSTANCE_IDS],
            "Restore the instance from an encrypted snapshot copy (encryption cannot be turned on in place)."),
        check!("rds.deletion_protection", Rds, High, "Deletion protection is on (production)",
            [F("RDS.8")], prod=true, outputs=[o::RDS_INSTANCE_IDS],
            "Set deletion_protection = true on the instance."),
        check!("rds.backup_retention", Rds, High, "Automated backups are kept at least the minimum retention",
            [F("RDS.11")], prod=false, outputs=[o::RDS_INSTANCE_IDS],
            "Set backup_retention_period to at least min_backup_retention_days."),
        check!("rds.cluster_storage_encrypted", Rds, Critical, "The DB cluster is encrypted at rest",
            [F("RDS.27")], prod=false, outputs=[o::RDS_CLUSTER_IDS],
            "Restore the cluster from an encrypted snapshot copy (encryption cannot be turned on in place)."),
        check!("rds.cluster_deletion_protection", Rds, High, "Deletion protection is on for the DB cluster (production)",
            [F("RDS.7")], prod=true, outputs=[o::RDS_CLUSTER_IDS],
            "Set deletion_protection = true on the cluster."),
        check!("rds.cluster_backup_retention", Rds, High, "The DB cluster keeps automated backups at least the minimum retention",
            [], prod=false, outputs=[o::RDS_CLUSTER_IDS],
            "Set backup_retention_period to at least min_backup_retention_days on the cluster."),
        // ElastiCache
        check!("elasticache.encrypted_at_rest", Elasticache, High, "The replication group is encrypted at rest",
            [F("ElastiCache.4")], prod=false, outputs=[o::REDIS_REPLICATION_GROUP_ID],
            "Recreate the replication group with at_rest_encryption_enabled = true (it cannot be turned on in place)."),
        check!("elasticache.encrypted_in_transit", Elasticache, High, "The replication group is encrypted in transit",
            [F("ElastiCache.5")], prod=false, outputs=[o::REDIS_REPLICATION_GROUP_ID],
            "Set transit_encryption_enabled = true (with transit_encryption_mode preferred, then required)."),
        check!("elasticache.automatic_failover", Elasticache, Medium, "The replication group fails over automatically",
            [F("ElastiCache.3")], prod=false, outputs=[o::REDIS_REPLICATION_GROUP_ID],
            "Set automatic_failover_enabled = true with at least one replica."),
        check!("elasticache.automatic_backups", Elasticache, High, "The replication group keeps automatic backups",
            [F("ElastiCache.1")], prod=false, outputs=[o::REDIS_REPLICATION_GROUP_ID],
            "Set snapshot_retention_limit to at least 1 day."),
        // Monitoring (Prometheus and Alertmanager HTTP APIs, from the environment's monitoring {} block)
        check!("monitoring.scrape_jobs_up", Monitoring, High, "Every target of each required scrape job is up",
            [], prod=false, outputs=[],
            "Look at the target's last scrape error on Prometheus's /targets page: fix the exporter, its Service/ServiceMonitor, or the network policy between Prometheus and the target."),
        check!("monitoring.rule_groups_loaded", Monitoring, High, "Every required rule group is loaded and its rules evaluate without error",
            [], prod=false, outputs=[],
            "Deploy the missing PrometheusRule (or rule file) and check that the operator's ruleSelector matches its labels; fix rules whose evaluation fails."),
        check!("monitoring.alertmanager_receivers", Monitoring, High, "Alertmanager answers and its default route's receiver sends somewhere",
            [], prod=false, outputs=[],
            "Check the Alertmanager pods and Service, then its configuration Secret: the root route needs a receiver with a Slack, email or other integration."),
    ]
}

fn table() -> &'static [Entry] {
    static TABLE: std::sync::OnceLock<Vec<Entry>> = std::sync::OnceLock::new();
    TABLE.get_or_init(entries)
}

/// Every check, in catalog order (area, then the order above).
pub fn catalog() -> Vec<Check> {
    table().iter().map(|e| e.check.clone()).collect()
}

/// The catalog entry of a check id (internal ids only).
pub(crate) fn entry(id: &str) -> Option<&'static Entry> {
    table().iter().find(|e| e.check.id == id)
}

/// One check by id.
pub fn check(id: &str) -> Option<Check> {
    entry(id).map(|e| e.check.clone())
}

/// The check ids of an area, in catalog order.
pub(crate) fn area_ids(area: crate::model::Area) -> Vec<&'static str> {
    table()
        .iter()
        .filter(|e| e.check.area == area)
        .map(|e| e.check.id)
        .collect()
}
