//! `--baseline PREVIOUS.json`: which failures are new, which were resolved and which are
//! unchanged since a previous JSON report. A finding is identified by environment,
//! account, region, check id and resource; "failing" means status `fail` (waived and
//! errored findings are neither new nor resolved failures).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::model::{AuditReport, BaselineDiff, FindingKey, Status, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("reading the baseline {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the baseline {} is not an audit JSON report: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("the baseline {} has schema version {found}; this version reads {SCHEMA_VERSION}", path.display())]
    Version { path: PathBuf, found: u64 },
}

/// Reads a previous report written by `--format json` or `--output-dir`.
pub fn load(path: &Path) -> Result<AuditReport, BaselineError> {
    let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| BaselineError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let found = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(BaselineError::Version {
            path: path.to_path_buf(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|e| BaselineError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn failing(report: &AuditReport) -> BTreeSet<FindingKey> {
    report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.key())
        .collect()
}

/// Compares the current report's failures with the previous one's (sorted lists).
pub fn diff(previous: &AuditReport, current: &AuditReport) -> BaselineDiff {
    let before = failing(previous);
    let now = failing(current);
    BaselineDiff {
        baseline_started_at: Some(previous.started_at),
        new: now.difference(&before).cloned().collect(),
        resolved: before.difference(&now).cloned().collect(),
        unchanged: now.intersection(&before).cloned().collect(),
    }
}
