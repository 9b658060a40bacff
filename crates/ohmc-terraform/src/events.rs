//! Terraform's streaming `-json` UI, one typed event per line.
//!
//! Terraform mixes plain lines into that stream (1.0.3 prints "Acquiring state
//! lock. This may take a few moments..." without JSON), so a line that is not a
//! JSON object becomes [`UiEvent::Text`] instead of an error.
//!
//! Messages are those of UI versions 1.0 (Terraform 1.0) to 1.3 (1.15): 1.3
//! adds import and action-invocation counts, deferred changes, planned action
//! invocations, ephemeral resource operations and action hooks. A message
//! this crate does not model is kept as [`UiEvent::Other`] when it is only
//! information, but one that names a resource or a change becomes
//! [`UiEvent::Unrecognised`], which callers must show: a change must never be
//! dropped silently because a newer Terraform describes it differently.

use serde::Deserialize;
use serde_json::Value;

use crate::diagnostics::Diagnostic;

/// The resource a change or hook event is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ResourceAddr {
    pub addr: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub resource_name: String,
}

/// One planned (or drifted) change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ChangeEvent {
    pub resource: ResourceAddr,
    pub action: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// Where a `moved` block takes the object from (action "move", or any
    /// action on a moved object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_resource: Option<ResourceAddr>,
    /// Set when an `import` block imports the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importing: Option<ImportingEvent>,
}

/// The import an `import` block plans.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ImportingEvent {
    #[serde(default)]
    pub id: Option<String>,
}

/// The counts Terraform prints at the end of a plan or apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ChangeSummary {
    pub add: u64,
    pub change: u64,
    pub remove: u64,
    /// UI 1.2+: objects imported by `import` blocks.
    #[serde(default)]
    pub import: u64,
    /// UI 1.3: action invocations planned.
    #[serde(default)]
    pub action_invocation: u64,
    #[serde(default)]
    pub operation: String,
}

/// A streaming UI event.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    Version {
        terraform: String,
    },
    PlannedChange(ChangeEvent),
    ResourceDrift(ChangeEvent),
    /// A change Terraform put off to a later plan (UI 1.3).
    DeferredChange {
        change: ChangeEvent,
        reason: String,
    },
    /// An action (Terraform 1.14+ `action` blocks) planned to run.
    PlannedActionInvocation {
        addr: String,
    },
    /// Ephemeral resources opened, renewed and closed, and actions run:
    /// progress, never a change to state.
    Operation {
        kind: String,
        addr: String,
    },
    ChangeSummary(ChangeSummary),
    RefreshStart {
        addr: String,
    },
    RefreshComplete {
        addr: String,
    },
    ApplyStart {
        addr: String,
        action: String,
    },
    ApplyProgress {
        addr: String,
        action: String,
        elapsed_seconds: u64,
    },
    ApplyComplete {
        addr: String,
        action: String,
        elapsed_seconds: u64,
    },
    ApplyErrored {
        addr: String,
        action: String,
        elapsed_seconds: u64,
    },
    /// Output values. Kept as names only: the streaming `outputs` message carries
    /// sensitive values in plaintext, and nothing downstream needs the values.
    Outputs {
        names: Vec<String>,
    },
    Diagnostic(Diagnostic),
    Log {
        message: String,
    },
    /// A JSON message of a type this version does not model, carrying no
    /// resource or change.
    Other {
        kind: String,
    },
    /// A message that names a resource or a change but that this version
    /// cannot read: a newer Terraform, or a changed shape. Never to be dropped.
    Unrecognised {
        kind: String,
        /// The address it names, when one can be found.
        addr: Option<String>,
    },
    /// A line that was not a JSON object.
    Text(String),
}

#[derive(Deserialize)]
struct Hook {
    resource: ResourceAddr,
    #[serde(default)]
    action: String,
    #[serde(default)]
    elapsed_seconds: u64,
}

impl UiEvent {
    /// Parses one line of `-json` output. Never fails: unknown or non-JSON lines
    /// are kept as `Other` or `Text`.
    pub fn parse_line(line: &str) -> UiEvent {
        let trimmed = line.trim();
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(trimmed) else {
            return UiEvent::Text(trimmed.to_string());
        };
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let field = |name: &str| obj.get(name).cloned().unwrap_or(Value::Null);
        let hook = || serde_json::from_value::<Hook>(field("hook")).ok();
        let parsed = match kind.as_str() {
            "version" => Some(UiEvent::Version {
                terraform: obj
                    .get("terraform")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            }),
            "planned_change" => serde_json::from_value(field("change"))
                .ok()
                .map(UiEvent::PlannedChange),
            "deferred_change" => {
                // The body's key has varied between releases.
                let deferred = ["change", "deferred_change", "deferred"]
                    .iter()
                    .find_map(|key| obj.get(*key).cloned())
                    .unwrap_or(Value::Null);
                serde_json::from_value(deferred.get("change").cloned().unwrap_or(Value::Null))
                    .ok()
                    .map(|change| UiEvent::DeferredChange {
                        change,
                        reason: deferred
                            .get("reason")
                            .and_then(Value::as_str)
                            .unwrap_or("unknown")
                            .to_string(),
                    })
            }
            "planned_action_invocation" => field("invocation")
                .pointer("/action/addr")
                .and_then(Value::as_str)
                .map(|addr| UiEvent::PlannedActionInvocation {
                    addr: addr.to_string(),
                }),
            "ephemeral_op_start"
            | "ephemeral_op_progress"
            | "ephemeral_op_complete"
            | "ephemeral_op_errored"
            | "action_start"
            | "action_progress"
            | "action_complete"
            | "action_errored"
            | "provision_start"
            | "provision_progress"
            | "provision_complete"
            | "provision_errored" => Some(UiEvent::Operation {
                addr: find_addr(&Value::Object(obj.clone())).unwrap_or_default(),
                kind: kind.clone(),
            }),
            "resource_drift" => serde_json::from_value(field("change"))
                .ok()
                .map(UiEvent::ResourceDrift),
            "change_summary" => serde_json::from_value(field("changes"))
                .ok()
                .map(UiEvent::ChangeSummary),
            "refresh_start" => hook().map(|h| UiEvent::RefreshStart {
                addr: h.resource.addr,
            }),
            "refresh_complete" => hook().map(|h| UiEvent::RefreshComplete {
                addr: h.resource.addr,
            }),
            "apply_start" => hook().map(|h| UiEvent::ApplyStart {
                addr: h.resource.addr,
                action: h.action,
            }),
            "apply_progress" => hook().map(|h| UiEvent::ApplyProgress {
                addr: h.resource.addr,
                action: h.action,
                elapsed_seconds: h.elapsed_seconds,
            }),
            "apply_complete" => hook().map(|h| UiEvent::ApplyComplete {
                addr: h.resource.addr,
                action: h.action,
                elapsed_seconds: h.elapsed_seconds,
            }),
            "apply_errored" => hook().map(|h| UiEvent::ApplyErrored {
                addr: h.resource.addr,
                action: h.action,
                elapsed_seconds: h.elapsed_seconds,
            }),
            "outputs" => Some(UiEvent::Outputs {
                names: obj
                    .get("outputs")
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default(),
            }),
            "diagnostic" => serde_json::from_value(field("diagnostic"))
                .ok()
                .map(UiEvent::Diagnostic),
            "log" => Some(UiEvent::Log {
                message: obj
                    .get("@message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            }),
            _ => None,
        };
        parsed.unwrap_or_else(|| {
            // Unmodelled, or modelled but no longer in the shape expected:
            // what names a resource or a change is surfaced, not dropped.
            let whole = Value::Object(obj.clone());
            let carries_change = obj.contains_key("change") || find_addr(&whole).is_some();
            if carries_change {
                UiEvent::Unrecognised {
                    addr: find_addr(&whole),
                    kind,
                }
            } else {
                UiEvent::Other { kind }
            }
        })
    }
}

/// The first `addr` anywhere in a message (`hook.resource.addr`,
/// `change.resource.addr`, ...).
fn find_addr(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get("addr")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| map.values().find_map(find_addr)),
        Value::Array(items) => items.iter().find_map(find_addr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_plain_lines() {
        assert_eq!(
            UiEvent::parse_line("Acquiring state lock. This may take a few moments..."),
            UiEvent::Text("Acquiring state lock. This may take a few moments...".into())
        );
    }

    #[test]
    fn parses_planned_change_and_summary() {
        let line = r#"{"@level":"info","@message":"x: Plan to replace","type":"planned_change","change":{"resource":{"addr":"ohmctest_thing.a","module":"","resource":"ohmctest_thing.a","implied_provider":"ohmctest","resource_type":"ohmctest_thing","resource_name":"a","resource_key":null},"action":"replace","reason":"cannot_update"}}"#;
        match UiEvent::parse_line(line) {
            UiEvent::PlannedChange(c) => {
                assert_eq!(c.resource.addr, "ohmctest_thing.a");
                assert_eq!(c.action, "replace");
                assert_eq!(c.reason.as_deref(), Some("cannot_update"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let line = r#"{"type":"change_summary","changes":{"add":1,"change":2,"remove":3,"operation":"plan"}}"#;
        assert_eq!(
            UiEvent::parse_line(line),
            UiEvent::ChangeSummary(ChangeSummary {
                add: 1,
                change: 2,
                remove: 3,
                operation: "plan".into(),
                ..ChangeSummary::default()
            })
        );
    }

    #[test]
    fn outputs_keep_names_not_values() {
        let line = r#"{"type":"outputs","outputs":{"db_password":{"sensitive":true,"type":"string","value":"hunter2"}}}"#;
        let event = UiEvent::parse_line(line);
        assert_eq!(
            event,
            UiEvent::Outputs {
                names: vec!["db_password".into()]
            }
        );
        assert!(!format!("{event:?}").contains("hunter2"));
    }

    /// Lines as Terraform 1.15.5 (UI 1.3) writes them.
    #[test]
    fn reads_ui_1_3_messages() {
        let summary = r#"{"@level":"info","@message":"Plan: 1 to import, 2 to add, 0 to change, 0 to destroy, 1 action to invoke.","@module":"terraform.ui","type":"change_summary","changes":{"add":2,"change":0,"import":1,"remove":0,"action_invocation":1,"operation":"plan"}}"#;
        assert_eq!(
            UiEvent::parse_line(summary),
            UiEvent::ChangeSummary(ChangeSummary {
                add: 2,
                import: 1,
                action_invocation: 1,
                operation: "plan".into(),
                ..ChangeSummary::default()
            })
        );
        let moved = r#"{"type":"planned_change","change":{"resource":{"addr":"terraform_data.new","resource_type":"terraform_data","resource_name":"new"},"previous_resource":{"addr":"terraform_data.old","resource_type":"terraform_data","resource_name":"old"},"action":"move"}}"#;
        match UiEvent::parse_line(moved) {
            UiEvent::PlannedChange(c) => {
                assert_eq!(c.action, "move");
                assert_eq!(c.previous_resource.unwrap().addr, "terraform_data.old");
            }
            other => panic!("unexpected {other:?}"),
        }
        let imported = r#"{"type":"planned_change","change":{"resource":{"addr":"ohmctest_thing.adopted","resource_type":"ohmctest_thing","resource_name":"adopted"},"action":"update","importing":{"id":"abc"}}}"#;
        match UiEvent::parse_line(imported) {
            UiEvent::PlannedChange(c) => {
                assert_eq!(c.importing.unwrap().id.as_deref(), Some("abc"))
            }
            other => panic!("unexpected {other:?}"),
        }
        let deferred = r#"{"type":"deferred_change","change":{"reason":"instance_count_unknown","change":{"resource":{"addr":"terraform_data.later[\"k\"]","resource_type":"terraform_data","resource_name":"later"},"action":"create"}}}"#;
        match UiEvent::parse_line(deferred) {
            UiEvent::DeferredChange { change, reason } => {
                assert_eq!(change.resource.addr, "terraform_data.later[\"k\"]");
                assert_eq!(reason, "instance_count_unknown");
            }
            other => panic!("unexpected {other:?}"),
        }
        let ephemeral = r#"{"type":"ephemeral_op_start","hook":{"resource":{"addr":"ephemeral.random_password.db"},"action":"open"}}"#;
        assert_eq!(
            UiEvent::parse_line(ephemeral),
            UiEvent::Operation {
                kind: "ephemeral_op_start".into(),
                addr: "ephemeral.random_password.db".into()
            }
        );
        let action = r#"{"type":"planned_action_invocation","invocation":{"action":{"addr":"action.aws_lambda_invoke.notify"}}}"#;
        assert_eq!(
            UiEvent::parse_line(action),
            UiEvent::PlannedActionInvocation {
                addr: "action.aws_lambda_invoke.notify".into()
            }
        );
    }

    /// A message type from a future release that carries a change, or a known
    /// one whose shape changed, must not vanish as `Other`.
    #[test]
    fn unknown_messages_that_carry_a_change_are_never_dropped() {
        let future = r#"{"type":"planned_teleport","change":{"resource":{"addr":"aws_instance.web"},"action":"teleport"}}"#;
        assert_eq!(
            UiEvent::parse_line(future),
            UiEvent::Unrecognised {
                kind: "planned_teleport".into(),
                addr: Some("aws_instance.web".into())
            }
        );
        let reshaped = r#"{"type":"planned_change","change":{"target":"aws_instance.web"}}"#;
        assert!(matches!(
            UiEvent::parse_line(reshaped),
            UiEvent::Unrecognised { .. }
        ));
    }

    #[test]
    fn unknown_types_are_kept() {
        assert_eq!(
            UiEvent::parse_line(r#"{"type":"test_abstract"}"#),
            UiEvent::Other {
                kind: "test_abstract".into()
            }
        );
    }
}
