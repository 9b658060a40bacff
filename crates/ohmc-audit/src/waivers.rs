//! Waivers: `environments/<env>/waivers.hcl`, one `waiver {}` block per accepted risk.
//!
//! ```hcl
//! waiver {
//!   check    = "cloudtrail.cloudwatch_logs"                          # a catalog check id
//!   resource = "arn:aws:cloudtrail:*:123456789012:trail/ohmc-staging" # glob; * also crosses '/'
//!   reason   = "CloudWatch delivery replaced by the SIEM's S3 reader"
//!   owner    = "security@ohmycoins.io"
//!   expires  = "2027-03-31"                                         # YYYY-MM-DD, last valid day
//! }
//! ```
//!
//! Applied after the checks ran: an active waiver turns matching failures into
//! `waived`; an expired one is a failure of its own (and waives nothing); a waiver that
//! matches no failing finding is a warning, so stale waivers get removed. Errors are never
//! waived: an error means nobody looked.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use globset::{Glob, GlobMatcher};
use hcl::edit::Span;

use crate::model::{AuditFinding, ControlRef, Status, WaiverRef, Warning};

/// The waivers file name in an environment's folder.
pub const WAIVERS_FILE: &str = "waivers.hcl";

/// The check id of the finding an expired waiver produces.
pub const EXPIRED_WAIVER_CHECK: &str = "audit.waiver_expired";

#[derive(Debug, thiserror::Error)]
pub enum WaiverError {
    #[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("reading {}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// One waiver, parsed and validated.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// `environments/staging/waivers.hcl:12`, for reports.
    pub source: String,
    pub check_id: String,
    pub resource_pattern: String,
    pub reason: String,
    pub owner: String,
    pub expires: NaiveDate,
    matcher: GlobMatcher,
}

impl Waiver {
    /// True on and before the expiry date.
    pub fn is_active(&self, today: NaiveDate) -> bool {
        today <= self.expires
    }

    pub fn matches(&self, f: &AuditFinding) -> bool {
        f.check_id == self.check_id && self.matcher.is_match(&f.resource)
    }

    fn reference(&self) -> WaiverRef {
        WaiverRef {
            source: self.source.clone(),
            check_id: self.check_id.clone(),
            resource_pattern: self.resource_pattern.clone(),
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            expires: self.expires,
        }
    }
}

/// Reads a waivers file; a missing file is no waivers. `display` is the path shown in
/// reports (relative to the repository root).
pub fn load(file: &Path, display: &str) -> Result<Vec<Waiver>, WaiverError> {
    match std::fs::read_to_string(file) {
        Ok(text) => parse(&text, file, display),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(WaiverError::Io {
            file: file.to_path_buf(),
            source,
        }),
    }
}

/// Parses waivers text. Unknown check ids, bad globs, bad dates and missing fields are
/// errors naming the file and line.
pub fn parse(text: &str, file: &Path, display: &str) -> Result<Vec<Waiver>, WaiverError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let invalid = |line: Option<usize>, message: String| WaiverError::Invalid {
        file: file.to_path_buf(),
        line,
        message,
    };
    let body = hcl::edit::parser::parse_body(text)
        .map_err(|e| invalid(Some(e.location().line()), e.message().to_string()))?;
    let mut out = Vec::new();
    for structure in body.iter() {
        let line = structure.span().map(|s| line_of(s.start));
        let Some(block) = structure.as_block() else {
            return Err(invalid(
                line,
                "only `waiver { ... }` blocks are allowed here".into(),
            ));
        };
        if block.ident.as_str() != "waiver" {
            return Err(invalid(
                line,
                format!(
                    "unknown block `{}`; expected `waiver`",
                    block.ident.as_str()
                ),
            ));
        }
        let mut fields = std::collections::BTreeMap::new();
        for s in block.body.iter() {
            let at = s.span().map(|sp| line_of(sp.start)).or(line);
            let Some(attr) = s.as_attribute() else {
                return Err(invalid(at, "a waiver holds attributes only".into()));
            };
            let key = attr.key.as_str();
            if !["check", "resource", "reason", "owner", "expires"].contains(&key) {
                return Err(invalid(at, format!("unknown attribute `{key}`; expected check, resource, reason, owner, expires")));
            }
            let value = attr
                .value
                .as_str()
                .ok_or_else(|| invalid(at, format!("`{key}` must be a string")))?;
            fields.insert(key.to_string(), value.trim().to_string());
        }
        let get = |k: &str| -> Result<String, WaiverError> {
            fields
                .get(k)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| invalid(line, format!("the waiver needs a non-empty `{k}`")))
        };
        let check_id = get("check")?;
        if ohmc_checks::check(&check_id).is_none() {
            return Err(invalid(
                line,
                format!("unknown check id \"{check_id}\" (see the catalog)"),
            ));
        }
        let resource_pattern = get("resource")?;
        let matcher = Glob::new(&resource_pattern)
            .map_err(|e| {
                invalid(
                    line,
                    format!("resource pattern \"{resource_pattern}\": {e}"),
                )
            })?
            .compile_matcher();
        let expires_text = get("expires")?;
        let expires = NaiveDate::parse_from_str(&expires_text, "%Y-%m-%d").map_err(|e| {
            invalid(
                line,
                format!("expires \"{expires_text}\" is not a YYYY-MM-DD date: {e}"),
            )
        })?;
        out.push(Waiver {
            source: format!("{display}:{}", line.unwrap_or(0)),
            check_id,
            resource_pattern,
            reason: get("reason")?,
            owner: get("owner")?,
            expires,
            matcher,
        });
    }
    Ok(out)
}

/// Applies an environment's waivers to its findings (findings of other environments are
/// left alone). Returns the expired-waiver findings to add and the warnings.
pub fn apply(
    environment: &str,
    account_id: &str,
    waivers: &[Waiver],
    findings: &mut [AuditFinding],
    today: NaiveDate,
) -> (Vec<AuditFinding>, Vec<Warning>) {
    let mut extra = Vec::new();
    let mut warnings = Vec::new();
    for w in waivers {
        if !w.is_active(today) {
            extra.push(AuditFinding {
                environment: environment.to_string(),
                account_id: account_id.to_string(),
                region: String::new(),
                check_id: EXPIRED_WAIVER_CHECK.to_string(),
                title: "Every waiver is within its expiry date".to_string(),
                area: "audit".to_string(),
                severity: ohmc_checks::Severity::Medium,
                resource: format!("waiver:{}", w.source),
                status: Status::Fail,
                message: Some(format!(
                    "the waiver of {} for {} expired on {} (owner {}); it no longer waives anything",
                    w.check_id, w.resource_pattern, w.expires, w.owner
                )),
                controls: Vec::<ControlRef>::new(),
                evidence: ohmc_checks::Evidence {
                    expected: format!("expires on or after {today}"),
                    observed: format!("expired {}", w.expires),
                },
                remediation: "Fix the waived finding and delete the waiver, or have its owner renew it with a new date and reason.".to_string(),
                waiver: Some(w.reference()),
                unmanaged: false,
            });
            continue;
        }
        let mut matched_failing = 0;
        let mut matched_any = 0;
        for f in findings
            .iter_mut()
            .filter(|f| f.environment == environment && w.matches(f))
        {
            matched_any += 1;
            if f.status == Status::Fail {
                f.status = Status::Waived;
                f.waiver = Some(w.reference());
                matched_failing += 1;
            } else if f.status == Status::Waived {
                matched_failing += 1; // already waived by an earlier waiver
            }
        }
        if matched_failing == 0 {
            let what = if matched_any == 0 {
                "matches no resource"
            } else {
                "matches only findings that are not failing"
            };
            warnings.push(Warning {
                environment: environment.to_string(),
                message: format!(
                    "waiver at {} ({} {}) {what}; remove it if the risk is gone",
                    w.source, w.check_id, w.resource_pattern
                ),
            });
        }
    }
    (extra, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(check: &str, resource: &str, status: Status) -> AuditFinding {
        AuditFinding {
            environment: "staging".into(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            check_id: check.into(),
            title: String::new(),
            area: "cloudtrail".into(),
            severity: ohmc_checks::Severity::High,
            resource: resource.into(),
            status,
            message: None,
            controls: vec![],
            evidence: Default::default(),
            remediation: String::new(),
            waiver: None,
            unmanaged: false,
        }
    }

    const TEXT: &str = r#"
waiver {
  check    = "cloudtrail.cloudwatch_logs"
  resource = "arn:aws:cloudtrail:*:123456789012:trail/*"
  reason   = "SIEM reads S3"
  owner    = "security@ohmycoins.io"
  expires  = "2030-01-01"
}
waiver {
  check    = "rds.backup_retention"
  resource = "arn:aws:rds:*"
  reason   = "old"
  owner    = "dba"
  expires  = "2020-01-01"
}
waiver {
  check    = "waf.logging_enabled"
  resource = "nothing-*"
  reason   = "stale"
  owner    = "web"
  expires  = "2030-01-01"
}
"#;

    #[test]
    fn honoured_expired_and_unmatched() {
        let ws = parse(TEXT, Path::new("w.hcl"), "w.hcl").unwrap();
        assert_eq!(ws.len(), 3);
        assert_eq!(ws[0].source, "w.hcl:2");
        let mut fs = vec![
            finding(
                "cloudtrail.cloudwatch_logs",
                "arn:aws:cloudtrail:us-east-1:123456789012:trail/ohmc",
                Status::Fail,
            ),
            finding(
                "rds.backup_retention",
                "arn:aws:rds:us-east-1:123456789012:db:x",
                Status::Fail,
            ),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let (extra, warnings) = apply("staging", "123456789012", &ws, &mut fs, today);
        assert_eq!(fs[0].status, Status::Waived);
        assert_eq!(
            fs[1].status,
            Status::Fail,
            "an expired waiver waives nothing"
        );
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].check_id, EXPIRED_WAIVER_CHECK);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].message.contains("matches no resource"),
            "{warnings:?}"
        );
    }

    #[test]
    fn invalid_waivers_name_the_line() {
        let bad = "waiver {\n  check = \"no.such_check\"\n  resource = \"*\"\n  reason = \"r\"\n  owner = \"o\"\n  expires = \"2030-01-01\"\n}\n";
        let e = parse(bad, Path::new("w.hcl"), "w.hcl")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("w.hcl:1") && e.contains("unknown check id"),
            "{e}"
        );
        let bad = TEXT.replace("2030-01-01", "next year");
        let e = parse(&bad, Path::new("w.hcl"), "w.hcl")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a YYYY-MM-DD date"), "{e}");
    }
}
