//! The `audit {}` block: what discovery judges accounts against when no stack says.
//!
//! ```hcl
//! audit {
//!   domain_names                   = ["ohmycoins.io", "*.ohmycoins.io"] # certificates must cover these
//!   required_waf_rule_groups       = ["AWSManagedRulesCommonRuleSet"]   # the documented default
//!   required_config_rules          = ["cloudtrail-enabled"]
//!   guardduty_finding_frequency    = "FIFTEEN_MINUTES"
//!   min_backup_retention_days      = 7
//!   certificate_expiry_window_days = 30
//!   rpo_target_hours               = 24
//!   production_accounts            = ["210987654321"] # vault lock, cross-region copy, RDS deletion protection
//! }
//! ```
//!
//! Without the block (or the file) the documented defaults apply: the `verify {}`
//! defaults, and the AWS baseline rule group `AWSManagedRulesCommonRuleSet` required in
//! every web ACL. What has no default (domain names, Config rules) leaves its checks
//! "not judged: needs expectation `audit.X`", never passed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ohmc_checks::VerifySettings;
use serde::Deserialize;

/// The file name looked for at the repository root.
pub const AUDIT_FILE: &str = "audit.hcl";

/// The web ACL rule group required when the `audit {}` block names none: the AWS
/// managed baseline (OWASP top-10 class protections).
pub const DEFAULT_WAF_RULE_GROUPS: [&str; 1] = ["AWSManagedRulesCommonRuleSet"];

#[derive(Debug, thiserror::Error)]
pub enum DefaultsError {
    #[error("reading {}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
}

/// Discovery's expectations for accounts no environment describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDefaults {
    pub settings: VerifySettings,
    /// Accounts judged as production (production-only checks apply).
    pub production_accounts: BTreeSet<String>,
}

impl Default for AuditDefaults {
    fn default() -> Self {
        AuditDefaults {
            settings: VerifySettings {
                required_waf_rule_groups: DEFAULT_WAF_RULE_GROUPS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                ..VerifySettings::default()
            },
            production_accounts: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    audit: Option<Block>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    domain_names: Option<Vec<String>>,
    required_waf_rule_groups: Option<Vec<String>>,
    required_config_rules: Option<Vec<String>>,
    guardduty_finding_frequency: Option<String>,
    min_backup_retention_days: Option<u32>,
    certificate_expiry_window_days: Option<u32>,
    rpo_target_hours: Option<u64>,
    production_accounts: Option<Vec<String>>,
}

impl AuditDefaults {
    /// Reads the `audit {}` block of `file`; a file that does not exist gives the defaults.
    pub fn load(file: &Path) -> Result<Self, DefaultsError> {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(DefaultsError::Io {
                    file: file.to_path_buf(),
                    source,
                })
            }
        };
        Self::parse(&text).map_err(|message| DefaultsError::Invalid {
            file: file.to_path_buf(),
            message,
        })
    }

    /// Parses the text of an audit file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = hcl::from_str(text).map_err(|e| e.to_string())?;
        let b = file.audit.unwrap_or_default();
        let mut out = AuditDefaults::default();
        let s = &mut out.settings;
        if let Some(v) = b.domain_names {
            s.domain_names = v;
        }
        if let Some(v) = b.required_waf_rule_groups {
            s.required_waf_rule_groups = v;
        }
        if let Some(v) = b.required_config_rules {
            s.required_config_rules = v;
        }
        if let Some(v) = b.guardduty_finding_frequency {
            if !["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"].contains(&v.as_str()) {
                return Err(format!(
                    "guardduty_finding_frequency = {v:?}: expected FIFTEEN_MINUTES, ONE_HOUR or SIX_HOURS"
                ));
            }
            s.guardduty_finding_frequency = Some(v);
        }
        if let Some(v) = b.min_backup_retention_days {
            s.min_backup_retention_days = v;
        }
        if let Some(v) = b.certificate_expiry_window_days {
            s.certificate_expiry_window_days = v;
        }
        if let Some(v) = b.rpo_target_hours {
            if v == 0 {
                return Err("rpo_target_hours must be at least 1".into());
            }
            s.rpo_target = Duration::from_secs(v * 3600);
        }
        for a in b.production_accounts.unwrap_or_default() {
            if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "production_accounts: {a:?} is not a 12-digit account id"
                ));
            }
            out.production_accounts.insert(a);
        }
        Ok(out)
    }

    /// Whether production-only checks apply to the account.
    pub fn is_production(&self, account: &str) -> bool {
        self.production_accounts.contains(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_overrides_the_documented_defaults() {
        let d = AuditDefaults::parse(
            r#"
audit {
  domain_names        = ["a.example.com"]
  rpo_target_hours    = 6
  production_accounts = ["111111111111"]
}
"#,
        )
        .unwrap();
        assert_eq!(d.settings.domain_names, vec!["a.example.com"]);
        assert_eq!(d.settings.rpo_target, Duration::from_secs(6 * 3600));
        assert_eq!(
            d.settings.required_waf_rule_groups,
            vec!["AWSManagedRulesCommonRuleSet"]
        );
        assert!(d.is_production("111111111111"));
        assert!(!d.is_production("222222222222"));
    }

    #[test]
    fn typos_and_bad_values_are_errors() {
        assert!(AuditDefaults::parse("audit {\n  domain_name = []\n}\n").is_err());
        assert!(AuditDefaults::parse("audit {\n  production_accounts = [\"12\"]\n}\n").is_err());
        assert!(
            AuditDefaults::parse("audit {\n  guardduty_finding_frequency = \"DAILY\"\n}\n")
                .is_err()
        );
        assert_eq!(AuditDefaults::parse("").unwrap(), AuditDefaults::default());
    }

    #[test]
    fn a_missing_file_is_the_defaults() {
        let d = AuditDefaults::load(Path::new("/nonexistent/audit.hcl")).unwrap();
        assert_eq!(d, AuditDefaults::default());
    }
}
