//! Terraform diagnostics, from `-json` events or from the boxed text Terraform
//! prints on stderr, classified into typed errors the way terraform-exec does.

use std::fmt;

use serde::Deserialize;

use crate::error::{SourceLocation, TerraformError};
use crate::lock::LockInfo;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Pos {
    pub line: u64,
    #[serde(default)]
    pub column: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Range {
    pub filename: String,
    pub start: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Snippet {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub start_line: u64,
}

/// One Terraform diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Diagnostic {
    pub severity: String,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub range: Option<Range>,
    #[serde(default)]
    pub snippet: Option<Snippet>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    pub fn location(&self) -> Option<SourceLocation> {
        self.range.as_ref().map(|r| SourceLocation {
            file: r.filename.clone(),
            line: r.start.line,
        })
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location() {
            Some(loc) => write!(f, "{loc}: {}", self.summary)?,
            None => write!(f, "{}", self.summary)?,
        }
        if let Some(snippet) = &self.snippet {
            if !snippet.code.is_empty() {
                write!(
                    f,
                    "\n    {:>4} | {}",
                    snippet.start_line,
                    snippet.code.trim_end()
                )?;
            }
        }
        if !self.detail.is_empty() {
            write!(f, "\n    {}", self.detail.trim().replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// Parses the human diagnostics Terraform writes to stderr with `-no-color`:
///
/// ```text
/// ╷
/// │ Error: Unsupported block type
/// │
/// │   on main.tf line 3:
/// │    3: resourc "x" "y" {
/// │
/// │ Blocks of type "resourc" are not expected here.
/// ╵
/// ```
///
/// Older output has the same content without the box characters.
pub fn parse_text(text: &str) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut current: Option<(Diagnostic, Vec<String>)> = None;
    let finish = |cur: Option<(Diagnostic, Vec<String>)>, out: &mut Vec<Diagnostic>| {
        if let Some((mut d, detail)) = cur {
            d.detail = detail.join("\n").trim().to_string();
            out.push(d);
        }
    };
    for raw in text.lines() {
        let line = raw.strip_prefix('│').unwrap_or(raw);
        let line = line.strip_prefix(' ').unwrap_or(line);
        if raw.starts_with('╷') || raw.starts_with('╵') {
            continue;
        }
        let header = [("Error: ", "error"), ("Warning: ", "warning")]
            .iter()
            .find_map(|(p, sev)| line.strip_prefix(p).map(|rest| (rest, *sev)));
        if let Some((summary, severity)) = header {
            finish(current.take(), &mut diags);
            current = Some((
                Diagnostic {
                    severity: severity.to_string(),
                    summary: summary.trim().to_string(),
                    detail: String::new(),
                    address: None,
                    range: None,
                    snippet: None,
                },
                Vec::new(),
            ));
            continue;
        }
        let Some((diag, detail)) = current.as_mut() else {
            continue;
        };
        let trimmed = line.trim();
        if let Some(loc) = trimmed.strip_prefix("on ").and_then(parse_on_line) {
            if diag.range.is_none() {
                diag.range = Some(Range {
                    filename: loc.0,
                    start: Pos {
                        line: loc.1,
                        column: 0,
                    },
                });
                continue;
            }
        }
        if let Some(range) = &diag.range {
            let prefix = format!("{}:", range.start.line);
            if diag.snippet.is_none() && trimmed.starts_with(&prefix) {
                diag.snippet = Some(Snippet {
                    code: trimmed[prefix.len()..].trim().to_string(),
                    start_line: range.start.line,
                });
                continue;
            }
        }
        detail.push(line.to_string());
    }
    finish(current, &mut diags);
    diags
}

/// `main.tf line 3:` or `main.tf line 3, in resource "x" "y":`
fn parse_on_line(rest: &str) -> Option<(String, u64)> {
    let (file, after) = rest.split_once(" line ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    Some((file.to_string(), digits.parse().ok()?))
}

/// Turns a failed command's diagnostics into the most specific error.
pub fn classify(command: &str, code: i32, diags: Vec<Diagnostic>, stderr: &str) -> TerraformError {
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    for d in &errors {
        let summary = d.summary.as_str();
        let all_text = format!("{}\n{}", d.summary, d.detail);
        if summary.contains("Error acquiring the state lock")
            || summary.contains("Error locking state")
        {
            let lock = LockInfo::from_error_text(&d.detail)
                .or_else(|| LockInfo::from_error_text(stderr))
                .unwrap_or_default();
            return TerraformError::StateLocked {
                lock: Box::new(lock),
            };
        }
        if summary.contains("Saved plan is stale") {
            return TerraformError::StalePlan;
        }
        if summary.contains("No value for required variable") {
            return TerraformError::MissingVariable {
                name: quoted_name(&d.detail).unwrap_or_default(),
                location: d.location(),
            };
        }
        if summary.contains("Invalid value for variable") {
            return TerraformError::InvalidVariable {
                name: quoted_name(&d.detail)
                    .or_else(|| d.snippet.as_ref().and_then(|s| assigned_name(&s.code)))
                    .or_else(|| d.snippet.as_ref().and_then(|s| quoted_name(&s.code)))
                    .unwrap_or_default(),
                location: d.location(),
                message: d.detail.lines().last().unwrap_or("").trim().to_string(),
            };
        }
        // Terraform wraps the detail at 80 columns.
        let words = all_text.split_whitespace().collect::<Vec<_>>().join(" ");
        if words.contains("checksums previously recorded in the dependency lock file")
            || words.contains(
                "does not match any of the checksums recorded in the dependency lock file",
            )
        {
            return TerraformError::ProviderChecksumMismatch {
                detail: all_text.trim().to_string(),
            };
        }
        if summary.contains("Failed to query available provider packages")
            || summary.contains("Failed to install provider")
            || summary.contains("Incompatible provider version")
            || summary.contains("Failed to load plugin schemas")
        {
            return TerraformError::ProviderUnavailable {
                detail: all_text.trim().to_string(),
            };
        }
        if summary.contains("Backend initialization required")
            || summary.contains("Required plugins are not installed")
            || summary.contains("Could not load plugin")
            || summary.contains("Inconsistent dependency lock file")
            || summary.contains("Module not installed")
            || summary.contains("Backend configuration changed")
        {
            return TerraformError::NotInitialized {
                detail: format!("{}: {}", d.summary, d.detail.trim()),
            };
        }
    }
    if stderr.contains("Saved plan is stale") {
        return TerraformError::StalePlan;
    }
    if errors.is_empty() {
        return TerraformError::Failed {
            command: command.to_string(),
            code,
            stderr: stderr.trim().to_string(),
        };
    }
    TerraformError::Diagnostics(diags)
}

/// The first `"quoted"` word of a text: the variable name in Terraform's
/// "The root module input variable \"x\" is not set" detail.
/// `db_password` from a var-file snippet line `db_password = ...` (1.15 names
/// the variable nowhere else; the value may be masked).
fn assigned_name(code: &str) -> Option<String> {
    let (name, _) = code.trim_start().split_once('=')?;
    let name = name.trim();
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then(|| name.to_string())
}

fn quoted_name(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOXED: &str = "╷\n│ Error: Unsupported block type\n│ \n│   on main.tf line 3:\n│    3: resourc \"x\" \"y\" {\n│ \n│ Blocks of type \"resourc\" are not expected here.\n╵\n";

    #[test]
    fn parses_boxed_text_with_location_and_snippet() {
        let diags = parse_text(BOXED);
        assert_eq!(diags.len(), 1);
        let d = &diags[0];
        assert_eq!(d.summary, "Unsupported block type");
        assert_eq!(d.location().unwrap().to_string(), "main.tf:3");
        assert_eq!(d.snippet.as_ref().unwrap().code, "resourc \"x\" \"y\" {");
        assert_eq!(
            d.detail,
            "Blocks of type \"resourc\" are not expected here."
        );
    }

    #[test]
    fn classifies_missing_variable() {
        let text = "╷\n│ Error: No value for required variable\n│ \n│   on variables.tf line 1:\n│    1: variable \"region\" {\n│ \n│ The root module input variable \"region\" is not set, and has no default\n│ value.\n╵\n";
        match classify("plan", 1, parse_text(text), text) {
            TerraformError::MissingVariable { name, location } => {
                assert_eq!(name, "region");
                assert_eq!(location.unwrap().to_string(), "variables.tf:1");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classifies_lock_with_holder() {
        let text = "╷\n│ Error: Error acquiring the state lock\n│ \n│ Error message: resource temporarily unavailable\n│ Lock Info:\n│   ID:        abc-123\n│   Path:      terraform.tfstate\n│   Operation: OperationTypeApply\n│   Who:       bob@ci\n│   Version:   1.0.3\n│   Created:   2026-11-26 10:00:00 +0000 UTC\n│   Info:      \n│ \n│ Terraform acquires a state lock to protect the state from being written\n╵\n";
        match classify("plan", 1, parse_text(text), text) {
            TerraformError::StateLocked { lock } => {
                assert_eq!(lock.who, "bob@ci");
                assert_eq!(lock.id, "abc-123");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn classifies_stale_plan_and_provider() {
        let stale = "╷\n│ Error: Saved plan is stale\n│ \n│ The given plan file can no longer be applied.\n╵\n";
        assert!(matches!(
            classify("apply", 1, parse_text(stale), stale),
            TerraformError::StalePlan
        ));
        let provider = "╷\n│ Error: Failed to query available provider packages\n│ \n│ Could not retrieve the list of available versions for provider hashicorp/aws: no such host\n╵\n";
        assert!(matches!(
            classify("init", 1, parse_text(provider), provider),
            TerraformError::ProviderUnavailable { .. }
        ));
    }

    #[test]
    fn unclassified_failure_without_diagnostics_keeps_stderr() {
        match classify("state list", 1, vec![], "boom") {
            TerraformError::Failed { stderr, .. } => assert_eq!(stderr, "boom"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
