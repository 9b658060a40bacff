//! The saved-plan JSON document (`terraform show -json PLANFILE`).
//!
//! Format versions 0.x (Terraform 0.12–1.0 write "0.1"/"0.2") and 1.x (1.1+)
//! are read; HashiCorp only adds fields within a major version, so an unknown
//! major version is refused rather than misread.
//!
//! The document carries sensitive values in plaintext: [`redact`] applies the
//! `*_sensitive` masks, and the plan's `variables` section (plaintext values of
//! sensitive variables) is deliberately not modelled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TerraformError;
use crate::Result;

/// Replaces a sensitive value in anything this tool shows.
pub const REDACTED: &str = "(sensitive)";
/// Stands for a value Terraform will only know after apply.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

/// What a change does, folded from Terraform's `actions` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Read,
    Create,
    Update,
    Replace,
    Delete,
    /// Removed from state without being destroyed (`removed` blocks, 1.7+).
    Forget,
}

impl Action {
    pub fn from_actions(actions: &[String]) -> Option<Action> {
        let a: Vec<&str> = actions.iter().map(String::as_str).collect();
        Some(match a.as_slice() {
            ["no-op"] => Action::NoOp,
            ["read"] => Action::Read,
            ["create"] => Action::Create,
            ["update"] => Action::Update,
            ["delete", "create"] | ["create", "delete"] => Action::Replace,
            ["delete"] => Action::Delete,
            ["forget"] => Action::Forget,
            _ => return None,
        })
    }

    /// Whether the change destroys an existing object.
    pub fn is_destructive(self) -> bool {
        matches!(self, Action::Delete | Action::Replace)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Read => "read",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Forget => "forget",
        }
    }
}

/// A before/after change with its sensitivity masks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub before: Value,
    #[serde(default)]
    pub after: Value,
    #[serde(default)]
    pub after_unknown: Value,
    #[serde(default)]
    pub before_sensitive: Value,
    #[serde(default)]
    pub after_sensitive: Value,
    /// Present when an `import` block brings the object under management.
    #[serde(default)]
    pub importing: Option<Importing>,
}

impl Change {
    pub fn action(&self) -> Option<Action> {
        Action::from_actions(&self.actions)
    }

    /// The new value with sensitive parts replaced, and unknown parts marked.
    /// Terraform 1.1+ keeps partly unknown values partly known (a map whose
    /// keys are known and whose values are not): `after` then omits the
    /// unknown parts and `after_unknown` marks them, so both are merged here.
    /// A reviewer must never see an unknown value as absent or empty.
    pub fn redacted_after(&self) -> Value {
        redact(
            &mark_unknown(&self.after, &self.after_unknown),
            &self.after_sensitive,
        )
    }

    pub fn redacted_before(&self) -> Value {
        redact(&self.before, &self.before_sensitive)
    }

    /// Whether any part of the before or after value is sensitive.
    pub fn is_sensitive(&self) -> bool {
        mask_has_true(&self.after_sensitive) || mask_has_true(&self.before_sensitive)
    }
}

/// One resource's planned change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    #[serde(default)]
    pub mode: String,
    #[serde(rename = "type", default)]
    pub resource_type: String,
    #[serde(default)]
    pub name: String,
    pub change: Change,
    #[serde(default)]
    pub action_reason: Option<String>,
    /// Where a `moved` block (1.1+) takes this object from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_address: Option<String>,
}

/// A change Terraform put off to a later plan (1.9+ deferred actions).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeferredChange {
    pub reason: String,
    pub resource_change: ResourceChange,
}

/// An `import` block's import (1.5+), as `change.importing`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Importing {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub unknown: bool,
}

/// The parts of a plan document this tool uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanDocument {
    pub format_version: String,
    #[serde(default)]
    pub terraform_version: String,
    /// Absent (not empty) when the configuration has no resources.
    #[serde(default)]
    pub resource_changes: Vec<ResourceChange>,
    /// Drift, in format 1.x; 0.x plans report drift only in the streaming UI.
    #[serde(default)]
    pub resource_drift: Vec<ResourceChange>,
    #[serde(default)]
    pub output_changes: BTreeMap<String, Change>,
    /// Changes put off to a later plan: the plan is then incomplete.
    #[serde(default)]
    pub deferred_changes: Vec<DeferredChange>,
}

impl PlanDocument {
    /// Parses and version-checks a plan document.
    pub fn parse(bytes: &[u8]) -> Result<PlanDocument> {
        #[derive(Deserialize)]
        struct Probe {
            format_version: String,
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| TerraformError::Parse(format!("plan JSON: {e}")))?;
        let major = probe.format_version.split('.').next().unwrap_or("");
        if major != "0" && major != "1" {
            return Err(TerraformError::PlanFormatUnsupported {
                found: probe.format_version,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| TerraformError::Parse(format!("plan JSON: {e}")))
    }

    /// Changes that actually do something, in address order.
    pub fn effective_changes(&self) -> Vec<(&ResourceChange, Action)> {
        let mut changes: Vec<_> = self
            .resource_changes
            .iter()
            .filter_map(|rc| rc.change.action().map(|a| (rc, a)))
            .filter(|(_, a)| !matches!(a, Action::NoOp | Action::Read))
            .collect();
        changes.sort_by(|a, b| a.0.address.cmp(&b.0.address));
        changes
    }

    pub fn destructive_addresses(&self) -> Vec<String> {
        self.effective_changes()
            .into_iter()
            .filter(|(_, a)| a.is_destructive())
            .map(|(rc, _)| rc.address.clone())
            .collect()
    }
}

/// Replaces every value whose mask is `true` with [`REDACTED`], recursing
/// through objects and lists the way Terraform's masks are shaped.
pub fn redact(value: &Value, mask: &Value) -> Value {
    match (value, mask) {
        (_, Value::Bool(true)) => Value::String(REDACTED.into()),
        (Value::Object(map), Value::Object(masks)) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        masks
                            .get(k)
                            .map(|m| redact(v, m))
                            .unwrap_or_else(|| v.clone()),
                    )
                })
                .collect(),
        ),
        (Value::Array(items), Value::Array(masks)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    masks
                        .get(i)
                        .map(|m| redact(v, m))
                        .unwrap_or_else(|| v.clone())
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// `value` with every part `unknown` marks as unknown replaced by
/// [`KNOWN_AFTER_APPLY`], including parts `value` omits (object keys) or holds
/// as null (list elements), as `show -json` writes them.
pub fn mark_unknown(value: &Value, unknown: &Value) -> Value {
    if !mask_has_true(unknown) {
        return value.clone();
    }
    match unknown {
        Value::Bool(_) => Value::String(KNOWN_AFTER_APPLY.into()),
        Value::Object(masks) => {
            let mut out = value.as_object().cloned().unwrap_or_default();
            for (key, mask) in masks {
                let known = out.get(key).cloned().unwrap_or(Value::Null);
                out.insert(key.clone(), mark_unknown(&known, mask));
            }
            Value::Object(out)
        }
        Value::Array(masks) => {
            let known = value.as_array().cloned().unwrap_or_default();
            let len = known.len().max(masks.len());
            Value::Array(
                (0..len)
                    .map(|i| {
                        let item = known.get(i).cloned().unwrap_or(Value::Null);
                        match masks.get(i) {
                            Some(mask) => mark_unknown(&item, mask),
                            None => item,
                        }
                    })
                    .collect(),
            )
        }
        _ => value.clone(),
    }
}

fn mask_has_true(mask: &Value) -> bool {
    match mask {
        Value::Bool(b) => *b,
        Value::Object(m) => m.values().any(mask_has_true),
        Value::Array(a) => a.iter().any(mask_has_true),
        _ => false,
    }
}

/// Every string leaf of `value` that a mask marks sensitive: the secrets a
/// printer must scrub from any text it shows.
pub fn sensitive_strings(value: &Value, mask: &Value, out: &mut Vec<String>) {
    match (value, mask) {
        (v, Value::Bool(true)) => collect_strings(v, out),
        (Value::Object(map), Value::Object(masks)) => {
            for (k, v) in map {
                if let Some(m) = masks.get(k) {
                    sensitive_strings(v, m, out);
                }
            }
        }
        (Value::Array(items), Value::Array(masks)) => {
            for (v, m) in items.iter().zip(masks) {
                sensitive_strings(v, m, out);
            }
        }
        _ => {}
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if !s.is_empty() => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(m) => m.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partly_unknown_values_show_every_unknown_part() {
        // What Terraform 1.15's show -json writes for
        // `{ for k, t in thing.this : k => t.id }` before the ids exist.
        let change = Change {
            actions: vec!["create".into()],
            after: json!({}),
            after_unknown: json!({"a": true, "b": true}),
            ..Change::default()
        };
        assert_eq!(
            change.redacted_after(),
            json!({"a": KNOWN_AFTER_APPLY, "b": KNOWN_AFTER_APPLY})
        );
        let mixed = Change {
            actions: vec!["update".into()],
            after: json!({"a": "id-a", "list": ["x", null, "z"], "nested": {"k": 1}}),
            after_unknown: json!({"list": [false, true, false], "nested": {"u": true}}),
            after_sensitive: json!({"nested": {"k": true}}),
            ..Change::default()
        };
        assert_eq!(
            mixed.redacted_after(),
            json!({
                "a": "id-a",
                "list": ["x", KNOWN_AFTER_APPLY, "z"],
                "nested": {"k": REDACTED, "u": KNOWN_AFTER_APPLY}
            })
        );
        let whole = Change {
            after_unknown: json!(true),
            ..Change::default()
        };
        assert_eq!(whole.redacted_after(), json!(KNOWN_AFTER_APPLY));
        let known = Change {
            after: Value::Null,
            after_unknown: json!({}),
            ..Change::default()
        };
        assert_eq!(known.redacted_after(), Value::Null);
    }

    #[test]
    fn accepts_0x_and_1x_rejects_unknown_major() {
        assert!(PlanDocument::parse(br#"{"format_version":"0.2"}"#).is_ok());
        assert!(PlanDocument::parse(br#"{"format_version":"1.2","planned_values":{}}"#).is_ok());
        assert!(matches!(
            PlanDocument::parse(br#"{"format_version":"2.0"}"#),
            Err(TerraformError::PlanFormatUnsupported { found }) if found == "2.0"
        ));
    }

    #[test]
    fn folds_actions() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Action::from_actions(&s(&["delete", "create"])),
            Some(Action::Replace)
        );
        assert_eq!(
            Action::from_actions(&s(&["create", "delete"])),
            Some(Action::Replace)
        );
        assert_eq!(Action::from_actions(&s(&["update"])), Some(Action::Update));
        assert_eq!(Action::from_actions(&s(&["bogus"])), None);
        assert!(Action::Delete.is_destructive() && !Action::Update.is_destructive());
    }

    #[test]
    fn redacts_by_mask() {
        let value = json!({"name": "a", "secret": "hunter2", "list": ["x", "y"]});
        let mask = json!({"secret": true, "list": [false, true]});
        assert_eq!(
            redact(&value, &mask),
            json!({"name": "a", "secret": REDACTED, "list": ["x", REDACTED]})
        );
        let mut secrets = Vec::new();
        sensitive_strings(&value, &mask, &mut secrets);
        secrets.sort();
        assert_eq!(secrets, vec!["hunter2".to_string(), "y".to_string()]);
    }

    #[test]
    fn whole_value_sensitive_output() {
        let change = Change {
            actions: vec!["create".into()],
            after: json!("s3cr3t"),
            after_sensitive: json!(true),
            ..Default::default()
        };
        assert_eq!(change.redacted_after(), json!(REDACTED));
        assert!(change.is_sensitive());
    }
}
