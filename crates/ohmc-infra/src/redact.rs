//! Scrubs known secret values out of text before anyone sees it.
//!
//! Masks keep sensitive values out of what this tool renders itself; this is
//! the second line for text it passes through from Terraform (diagnostics,
//! provider errors) that could echo a value back.

use ohmc_terraform::plan::{sensitive_strings, PlanDocument};
use ohmc_terraform::scrub::Scrubber;

/// The secrets a plan holds, applied through the one [`Scrubber`] that cleans
/// everything Terraform prints.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    scrubber: Scrubber,
}

impl Redactor {
    /// Collects every sensitive value a plan document holds: masked resource and
    /// output values, and the values of variables declared `sensitive`.
    pub fn from_plan_json(bytes: &[u8]) -> Redactor {
        let mut secrets = Vec::new();
        if let Ok(doc) = PlanDocument::parse(bytes) {
            for rc in doc.resource_changes.iter().chain(doc.resource_drift.iter()) {
                sensitive_strings(&rc.change.before, &rc.change.before_sensitive, &mut secrets);
                sensitive_strings(&rc.change.after, &rc.change.after_sensitive, &mut secrets);
            }
            for change in doc.output_changes.values() {
                sensitive_strings(&change.before, &change.before_sensitive, &mut secrets);
                sensitive_strings(&change.after, &change.after_sensitive, &mut secrets);
            }
        }
        if let Ok(raw) = serde_json::from_slice::<serde_json::Value>(bytes) {
            let declared = raw
                .pointer("/configuration/root_module/variables")
                .and_then(|v| v.as_object());
            let values = raw.get("variables").and_then(|v| v.as_object());
            if let (Some(declared), Some(values)) = (declared, values) {
                for (name, decl) in declared {
                    if decl.get("sensitive").and_then(|s| s.as_bool()) == Some(true) {
                        if let Some(v) = values.get(name).and_then(|v| v.get("value")) {
                            sensitive_strings(v, &serde_json::Value::Bool(true), &mut secrets);
                        }
                    }
                }
            }
        }
        Redactor {
            scrubber: Scrubber::new(secrets, []),
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        self.scrubber.scrub_text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_sensitive_variables_and_outputs() {
        let plan = br#"{"format_version":"0.2",
          "variables":{"db_password":{"value":"canary-pw-123"},"region":{"value":"us-east-1"}},
          "configuration":{"root_module":{"variables":{"db_password":{"sensitive":true},"region":{}}}},
          "output_changes":{"token":{"actions":["create"],"after":"canary-token-456","after_sensitive":true}}}"#;
        let r = Redactor::from_plan_json(plan);
        let text = r.scrub("pw=canary-pw-123 token=canary-token-456 region=us-east-1");
        assert_eq!(text, "pw=(sensitive) token=(sensitive) region=us-east-1");
    }
}
