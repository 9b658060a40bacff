//! Terraform's streaming `-json` UI, one typed event per line.
//!
//! Terraform mixes plain lines into that stream (1.0.3 prints "Acquiring state
//! lock. This may take a few moments..." without JSON), so a line that is not a
//! JSON object becomes [`UiEvent::Text`] instead of an error.

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
}

/// The counts Terraform prints at the end of a plan or apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ChangeSummary {
    pub add: u64,
    pub change: u64,
    pub remove: u64,
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
    /// A JSON message of a type this version does not model.
    Other {
        kind: String,
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
        parsed.unwrap_or(UiEvent::Other { kind })
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
                operation: "plan".into()
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
