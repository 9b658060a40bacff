//! Keeps secrets out of everything Terraform says, before anyone reads it.
//!
//! Terraform echoes values back in many shapes: a provider's error naming the
//! object it failed to create ("injected failure for leaky-<secret>"), a
//! diagnostic's source snippet quoting the var-file line that assigns a
//! sensitive variable, the streaming `outputs` message with sensitive values in
//! plaintext. Masks cannot catch these, because they are free text. So every
//! line is scrubbed as it arrives, with what is known before Terraform runs:
//! the values of the variables declared `sensitive` (from var files and
//! `TF_VAR_*`), and their names, so that any snippet line assigning one is
//! masked whole, whatever its value looks like (a syntax error may leave no
//! value to find).

use serde_json::Value;

use crate::plan::REDACTED;

/// Values shorter than this are left alone: masking "1" or "ok" everywhere
/// would shred ordinary text, and such values are masked structurally.
const SHORTEST_SECRET: usize = 4;

/// What to scrub: secret values and the names of sensitive variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scrubber {
    secrets: Vec<String>,
    sensitive_variables: Vec<String>,
}

impl Scrubber {
    pub fn new(
        secrets: impl IntoIterator<Item = String>,
        sensitive_variables: impl IntoIterator<Item = String>,
    ) -> Scrubber {
        let mut scrubber = Scrubber {
            secrets: Vec::new(),
            sensitive_variables: sensitive_variables.into_iter().collect(),
        };
        scrubber.add_secrets(secrets);
        scrubber.sensitive_variables.sort();
        scrubber.sensitive_variables.dedup();
        scrubber
    }

    /// Adds values (and their JSON-escaped forms, as they appear inside a
    /// JSON string) to scrub; longest first, so a secret containing another
    /// is replaced whole.
    pub fn add_secrets(&mut self, secrets: impl IntoIterator<Item = String>) {
        for secret in secrets {
            let escaped = serde_json::to_string(&secret).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_string();
            if escaped != secret {
                self.secrets.push(escaped);
            }
            self.secrets.push(secret);
        }
        self.secrets
            .retain(|s| s.chars().count() >= SHORTEST_SECRET);
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.secrets.dedup();
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.sensitive_variables.is_empty()
    }

    /// Free text: secrets replaced, and lines that assign a sensitive
    /// variable (`db_password = ...`, as a snippet quotes a var file) masked.
    pub fn scrub_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            match self.assigned_variable(line) {
                Some((indent, name)) => {
                    out.push_str(indent);
                    out.push_str(name);
                    out.push_str(" = ");
                    out.push_str(REDACTED);
                }
                None => out.push_str(&self.replace_secrets(line)),
            }
        }
        out
    }

    /// One line of Terraform's output. A JSON message is scrubbed string by
    /// string (so snippets, which are multi-line strings, get their lines
    /// masked) and the values of sensitive outputs are replaced; other lines
    /// are free text.
    pub fn scrub_line(&self, line: &str) -> String {
        match serde_json::from_str::<Value>(line.trim()) {
            Ok(Value::Object(mut message)) => {
                if message.get("type").and_then(Value::as_str) == Some("outputs") {
                    if let Some(Value::Object(outputs)) = message.get_mut("outputs") {
                        for output in outputs.values_mut() {
                            if output.get("sensitive") == Some(&Value::Bool(true)) {
                                output["value"] = Value::String(REDACTED.into());
                            }
                        }
                    }
                }
                let mut value = Value::Object(message);
                self.scrub_value(&mut value);
                serde_json::to_string(&value).unwrap_or_default()
            }
            _ => self.scrub_text(line),
        }
    }

    fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                let scrubbed = self.scrub_text(s);
                if scrubbed != *s {
                    *s = scrubbed;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.scrub_value(v)),
            _ => {}
        }
    }

    fn replace_secrets(&self, line: &str) -> String {
        let mut out = line.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// `(indent, name)` when `line` assigns a sensitive variable. Snippet
    /// lines may carry a line-number gutter ("  7: db_password = ...").
    fn assigned_variable<'a>(&'a self, line: &'a str) -> Option<(&'a str, &'a str)> {
        let body_start = line
            .find(|c: char| !(c.is_whitespace() || c.is_ascii_digit() || c == ':' || c == '│'))
            .unwrap_or(line.len());
        let (indent, body) = line.split_at(body_start);
        let name = self.sensitive_variables.iter().find(|name| {
            let Some(rest) = body.strip_prefix(name.as_str()) else {
                return false;
            };
            let rest = rest.trim_start();
            rest.starts_with('=') && !rest.starts_with("==")
        })?;
        Some((indent, name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber {
        Scrubber::new(
            ["CANARY-pw-123".to_string(), "ok".to_string()],
            ["db_password".to_string()],
        )
    }

    #[test]
    fn replaces_secrets_inside_other_text() {
        assert_eq!(
            scrubber().scrub_text("injected failure for leaky-CANARY-pw-123 (ok)"),
            "injected failure for leaky-(sensitive) (ok)"
        );
    }

    #[test]
    fn masks_lines_that_assign_a_sensitive_variable_whatever_the_value() {
        let snippet =
            "  1: region = \"us-east-1\"\n  2: db_password = [\"CANARY-typed\"\n  3: things = {}";
        assert_eq!(
            scrubber().scrub_text(snippet),
            "  1: region = \"us-east-1\"\n  2: db_password = (sensitive)\n  3: things = {}"
        );
        assert_eq!(
            scrubber().scrub_text("db_password_hint = \"x\"\nif db_password == 1"),
            "db_password_hint = \"x\"\nif db_password == 1"
        );
    }

    #[test]
    fn scrubs_json_messages_string_by_string() {
        let line = r#"{"type":"diagnostic","diagnostic":{"summary":"Invalid value","snippet":{"code":"db_password = [\"CANARY-typed\"]"}}}"#;
        let out = scrubber().scrub_line(line);
        assert!(!out.contains("CANARY"), "{out}");
        assert!(out.contains(r#"db_password = (sensitive)"#), "{out}");
        let outputs = r#"{"type":"outputs","outputs":{"token":{"sensitive":true,"value":"hunter22"},"region":{"sensitive":false,"value":"us-east-1"}}}"#;
        let out = scrubber().scrub_line(outputs);
        assert!(
            !out.contains("hunter22") && out.contains("us-east-1"),
            "{out}"
        );
    }

    #[test]
    fn json_escaped_secrets_are_found_too() {
        let s = Scrubber::new(["quote\"inside".to_string()], []);
        assert_eq!(
            s.scrub_line(r#"{"detail":"bad value quote\"inside here"}"#),
            r#"{"detail":"bad value (sensitive) here"}"#
        );
    }
}
