//! What the account is supposed to look like: the stack's Terraform outputs plus the
//! environment's `verify {}` block. The binary parses `environment.hcl`; this crate only
//! sees the typed result, so the checks never read files.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
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
    /// Optional: Aurora/Multi-AZ DB cluster ids (the platform's stacks declare none).
    pub const RDS_CLUSTER_IDS: &str = "rds_cluster_ids";
    /// Optional: the data stack's Redis replication group.
    pub const REDIS_REPLICATION_GROUP_ID: &str = "redis_replication_group_id";
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
    /// Which stack declares each output (`output name -> stack name`), so an output that
    /// cannot be read names where it should have come from. Empty when no stack is known
    /// (an account audited without an environment).
    pub output_stacks: BTreeMap<String, String>,
}

/// Why a stack output a check needs could not be read. A check that cannot read its
/// expectation is an Error, never Skipped: a renamed or mistyped output would otherwise
/// turn a whole area silently green.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError {
    /// The output's name.
    pub output: String,
    /// The stack that declares it, when one does.
    pub stack: Option<String>,
    pub problem: OutputProblem,
}

/// What was found instead of a usable output value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputProblem {
    /// No output of that name (or its value is null: Terraform omits null outputs).
    Missing,
    /// A string output that is empty or only spaces.
    Empty,
    /// The value has another type than the check reads.
    WrongType {
        expected: &'static str,
        seen: String,
    },
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stack output `{}` ", self.output)?;
        match &self.stack {
            Some(stack) => write!(f, "(from stack \"{stack}\") ")?,
            None => write!(f, "(declared by no stack of this environment) ")?,
        }
        match &self.problem {
            OutputProblem::Missing => write!(f, "is missing"),
            OutputProblem::Empty => write!(f, "is an empty string"),
            OutputProblem::WrongType { expected, seen } => {
                write!(f, "is {seen}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for OutputError {}

/// A JSON value's type in the words of Terraform's type system.
fn type_seen(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(a) => match a.iter().find(|e| !e.is_string()) {
            Some(e) => format!("a list holding {}", type_seen(e)),
            None => "a list of strings".into(),
        },
        Value::Object(_) => "an object".into(),
    }
}

impl Expectations {
    pub fn new(outputs: Map<String, Value>, settings: VerifySettings, production: bool) -> Self {
        Expectations {
            outputs,
            settings,
            production,
            output_stacks: BTreeMap::new(),
        }
    }

    /// Names the stack that declares each output, for error messages.
    pub fn with_output_stacks(mut self, output_stacks: BTreeMap<String, String>) -> Self {
        self.output_stacks = output_stacks;
        self
    }

    fn raw(&self, name: &str) -> Option<&Value> {
        let v = self.outputs.get(name)?;
        match v {
            Value::Object(o) if o.contains_key("value") => o.get("value"),
            v => Some(v),
        }
    }

    fn problem(&self, name: &str, problem: OutputProblem) -> OutputError {
        OutputError {
            output: name.to_string(),
            stack: self.output_stacks.get(name).cloned(),
            problem,
        }
    }

    /// A string output the check cannot do without.
    pub fn output_str(&self, name: &str) -> Result<&str, OutputError> {
        self.optional_output_str(name)?
            .ok_or_else(|| self.problem(name, OutputProblem::Missing))
    }

    /// A string output the check can do without: `None` when absent, but a value of
    /// another type (or an empty string) is still an error, since the stack meant to say
    /// something and the check would otherwise judge without it.
    pub fn optional_output_str(&self, name: &str) -> Result<Option<&str>, OutputError> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => {
                Err(self.problem(name, OutputProblem::Empty))
            }
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(other) => Err(self.problem(
                name,
                OutputProblem::WrongType {
                    expected: "a string",
                    seen: type_seen(other),
                },
            )),
        }
    }

    /// A list-of-strings output the check can do without: `None` when absent, an error
    /// when present with another type (the stack meant to say something).
    pub fn optional_output_list(&self, name: &str) -> Result<Option<Vec<String>>, OutputError> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.output_list(name).map(Some),
        }
    }

    /// A list-of-strings output the check cannot do without. Every element must be a
    /// string: silently dropping the others would judge fewer resources than the stack has.
    pub fn output_list(&self, name: &str) -> Result<Vec<String>, OutputError> {
        match self.raw(name) {
            None | Some(Value::Null) => Err(self.problem(name, OutputProblem::Missing)),
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()),
            Some(other) => Err(self.problem(
                name,
                OutputProblem::WrongType {
                    expected: "a list of strings",
                    seen: type_seen(other),
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exp(outputs: Value) -> Expectations {
        let Value::Object(map) = outputs else {
            panic!("an object")
        };
        Expectations::new(map, VerifySettings::default(), false).with_output_stacks(
            [("hosted_zone_id".to_string(), "edge".to_string())]
                .into_iter()
                .collect(),
        )
    }

    #[test]
    fn an_unreadable_output_names_itself_its_stack_and_what_was_found() {
        let e = exp(json!({}));
        assert_eq!(
            e.output_str("hosted_zone_id").unwrap_err().to_string(),
            "stack output `hosted_zone_id` (from stack \"edge\") is missing"
        );
        let e = exp(json!({"hosted_zone_id": ["Z1"]}));
        assert_eq!(
            e.output_str("hosted_zone_id").unwrap_err().to_string(),
            "stack output `hosted_zone_id` (from stack \"edge\") is a list of strings, expected a string"
        );
        let e = exp(json!({"hosted_zone_id": {"value": "  ", "sensitive": false}}));
        assert_eq!(
            e.output_str("hosted_zone_id").unwrap_err().problem,
            OutputProblem::Empty
        );
        let e = exp(json!({"rds_instance_ids": "db-1"}));
        assert_eq!(
            e.output_list("rds_instance_ids").unwrap_err().to_string(),
            "stack output `rds_instance_ids` (declared by no stack of this environment) is a string, expected a list of strings"
        );
        let e = exp(json!({"rds_instance_ids": ["db-1", 2]}));
        assert_eq!(
            e.output_list("rds_instance_ids").unwrap_err().problem,
            OutputProblem::WrongType {
                expected: "a list of strings",
                seen: "a list holding a number".into()
            }
        );
    }

    #[test]
    fn readable_outputs_and_absent_optional_ones() {
        let e = exp(json!({"hosted_zone_id": {"value": " Z1 "}, "rds_instance_ids": ["a", "b"]}));
        assert_eq!(e.output_str("hosted_zone_id").unwrap(), "Z1");
        assert_eq!(e.output_list("rds_instance_ids").unwrap(), ["a", "b"]);
        assert_eq!(e.optional_output_str("alb_arn").unwrap(), None);
        let e = exp(json!({"alb_arn": 3}));
        assert!(e.optional_output_str("alb_arn").is_err());
    }
}
