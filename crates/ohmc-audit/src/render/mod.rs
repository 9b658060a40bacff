//! Renderers: an [`AuditReport`] in, text out. Each is a pure function, so one run can
//! write every format (`--output-dir`) and tests can parse each back.

mod human;
mod junit;
mod markdown;
mod prometheus;
mod sarif;

pub use human::human;
pub use junit::junit;
pub use markdown::markdown;
pub use prometheus::{prometheus, PrometheusOptions, STATUS_METRIC};
pub use sarif::sarif;

use crate::model::AuditReport;

/// The JSON report: versioned schema (`schema_version`), findings in a deterministic
/// order. `--baseline` reads it back.
pub fn json(report: &AuditReport) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(report)?;
    s.push('\n');
    Ok(s)
}

/// The file names `--output-dir` writes, by format.
pub const FILE_NAMES: [(&str, &str); 6] = [
    ("human", "audit.txt"),
    ("json", "audit.json"),
    ("junit", "audit.junit.xml"),
    ("sarif", "audit.sarif"),
    ("prometheus", "ohmc_compliance.prom"),
    ("markdown", "audit.md"),
];
