//! What the account is supposed to look like: the stack's Terraform outputs plus the
//! environment's `verify {}` block. The binary parses `environment.hcl`; this crate only
//! sees the typed result, so the checks never read files.

use serde_json::{Map, Value};
use std::time::Duration;

/// The Terraform output names the checks read (see `environments/README.md`).
pub mod outputs {
    pub const ALB_ARN: &str = "alb_arn";
    pub const ALB_DNS_NAME: &str = "alb_dns_name";
    pub const HTTPS_LISTENER_ARN: &str = "https_listener_arn";
    pub const HOSTED_ZONE_ID: &str = "hosted_zone_id";
    pub const CERTIFICATE_ARN: &str = "certificate_arn";
    pub const WEB_ACL_ARN: &str = "web_acl_arn";
    pub const BACKUP_PLAN_ID: &str = "backup_plan_id";
    pub const BACKUP_VAULT_NAME: &str = "backup_vault_name";
    pub const CONFIG_RECORDER_NAME: &str = "config_recorder_name";
    pub const GUARDDUTY_DETECTOR_ID: &str = "guardduty_detector_id";
    pub const CLOUDTRAIL_NAME: &str = "cloudtrail_name";
    pub const CLOUDTRAIL_BUCKET_NAME: &str = "cloudtrail_bucket_name";
    pub const RDS_INSTANCE_IDS: &str = "rds_instance_ids";
}

/// The `verify {}` block of `environment.hcl`, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySettings {
    /// Names that must have records in the hosted zone and be covered by the certificate.
    pub domain_names: Vec<String>,
    /// A certificate expiring within this many days fails ACM.1 (default 30).
    pub certificate_expiry_window_days: u32,
    /// Minimum retention of backup plan rules and RDS automated backups, in days.
    pub min_backup_retention_days: u32,
    /// AWS managed rule group names that must be in the web ACL.
    pub required_waf_rule_groups: Vec<String>,
    /// AWS Config rule names that must exist and report compliance.
    pub required_config_rules: Vec<String>,
    /// Expected GuardDuty finding publishing frequency (`FIFTEEN_MINUTES`, `ONE_HOUR`, `SIX_HOURS`).
    pub guardduty_finding_frequency: Option<String>,
    /// The newest recovery point must be younger than this; backup rules must run at least this often.
    pub rpo_target: Duration,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            domain_names: Vec::new(),
            certificate_expiry_window_days: 30,
            min_backup_retention_days: 7,
            required_waf_rule_groups: Vec::new(),
            required_config_rules: Vec::new(),
            guardduty_finding_frequency: None,
            rpo_target: Duration::from_secs(24 * 3600),
        }
    }
}

/// Everything the checks compare the account against.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectations {
    /// The merged Terraform outputs of the environment's stacks (`name -> value`). Values may
    /// be bare (`"arn:..."`) or in `terraform output -json` form (`{"value": "arn:...", ...}`).
    pub outputs: Map<String, Value>,
    pub settings: VerifySettings,
    /// Production-only expectations (vault lock, cross-region backup copy, RDS deletion
    /// protection) are judged only when true; otherwise those checks are Skipped.
    pub production: bool,
}

impl Expectations {
    pub fn new(outputs: Map<String, Value>, settings: VerifySettings, production: bool) -> Self {
        Expectations {
            outputs,
            settings,
            production,
        }
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        let v = self.outputs.get(name)?;
        match v {
            Value::Object(o) if o.contains_key("value") => o.get("value"),
            v => Some(v),
        }
    }

    /// A string output, or `None` when missing, null or empty.
    pub fn output_str(&self, name: &str) -> Option<&str> {
        match self.raw(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim()),
            _ => None,
        }
    }

    /// A list-of-strings output, or `None` when missing or not a list.
    pub fn output_list(&self, name: &str) -> Option<Vec<String>> {
        match self.raw(name)? {
            Value::Array(a) => Some(
                a.iter()
                    .filter_map(|v| v.as_str().map(|s| s.to_string()))
                    .collect(),
            ),
            _ => None,
        }
    }
}
