//! The audit report: plain, serialisable data in a deterministic order. Renderers
//! (`render::*`) and the baseline diff only ever see this, never the SDK.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ohmc_checks::{Evidence, Framework, Severity};
use serde::{Deserialize, Serialize};

/// The version of the JSON report's schema. Bumped on any incompatible change; the
/// baseline reader refuses other versions rather than misreading them.
pub const SCHEMA_VERSION: u32 = 1;

/// The status of one check on one resource after waivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// A failure covered by an active waiver: reported, not counted as a failure.
    Waived,
    /// The check could not be judged (a failed call, an unknown value). Never a pass.
    Error,
    /// Does not apply here (not production, a stack output missing).
    Skipped,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Waived => "waived",
            Status::Error => "error",
            Status::Skipped => "skipped",
        }
    }
}

/// A control a check maps to, as data (framework, benchmark version, id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ControlRef {
    /// `aws_fsbp`, `cis_aws_foundations` or `nist_800_53`.
    pub framework: String,
    pub version: String,
    pub id: String,
}

impl ControlRef {
    pub fn from_control(c: &ohmc_checks::Control) -> Self {
        let framework = match c.framework {
            Framework::AwsFsbp => "aws_fsbp",
            Framework::CisAwsFoundations => "cis_aws_foundations",
            Framework::Nist80053 => "nist_800_53",
        };
        ControlRef {
            framework: framework.into(),
            version: c.version.into(),
            id: c.id.into(),
        }
    }

    /// `CloudTrail.1`, `CIS 3.1 (v3.0.0)`, `WAF.11 (NIST 800-53 r5)`.
    pub fn display(&self) -> String {
        match self.framework.as_str() {
            "aws_fsbp" => self.id.clone(),
            "cis_aws_foundations" => format!("CIS {} (v{})", self.id, self.version),
            _ => format!("{} (NIST 800-53 r{})", self.id, self.version),
        }
    }
}

/// Where a waiver came from and why it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverRef {
    /// `environments/staging/waivers.hcl:12`
    pub source: String,
    pub check_id: String,
    pub resource_pattern: String,
    pub reason: String,
    pub owner: String,
    pub expires: chrono::NaiveDate,
}

/// One check applied to one resource in one environment, account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFinding {
    /// The environment name, or `account-<id>` for an account audited without one.
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub check_id: String,
    pub title: String,
    pub area: String,
    pub severity: Severity,
    pub resource: String,
    pub status: Status,
    /// The error message or the reason a check was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Every control the check evidences (FSBP, CIS with versions, NIST).
    pub controls: Vec<ControlRef>,
    pub evidence: Evidence,
    pub remediation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<WaiverRef>,
    /// Found by discovery in an account whose stack outputs do not name it: no stack
    /// owns the resource (`--discover` beside outputs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unmanaged: bool,
}

impl AuditFinding {
    /// The resource as text formats show it: `ARN (unmanaged)` for a resource no stack owns.
    pub fn resource_label(&self) -> String {
        if self.unmanaged {
            format!("{} (unmanaged)", self.resource)
        } else {
            self.resource.clone()
        }
    }

    /// The one control used where a single label is needed (Prometheus `control`):
    /// the FSBP id, else the first CIS id, else any other, else `none`.
    pub fn primary_control(&self) -> String {
        self.controls
            .iter()
            .find(|c| c.framework == "aws_fsbp")
            .or_else(|| self.controls.first())
            .map(|c| match c.framework.as_str() {
                "cis_aws_foundations" => format!("CIS {}", c.id),
                _ => c.id.clone(),
            })
            .unwrap_or_else(|| "none".to_string())
    }

    pub fn key(&self) -> FindingKey {
        FindingKey {
            environment: self.environment.clone(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            check_id: self.check_id.clone(),
            resource: self.resource.clone(),
        }
    }

    /// The deterministic order of findings in every format.
    pub fn sort_key(&self) -> (&str, &str, &str, &str, &str) {
        (
            &self.environment,
            &self.account_id,
            &self.region,
            &self.check_id,
            &self.resource,
        )
    }
}

/// What identifies a finding across runs (the baseline diff, SARIF fingerprints).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FindingKey {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub check_id: String,
    pub resource: String,
}

impl std::fmt::Display for FindingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.environment, self.account_id, self.region, self.check_id, self.resource
        )
    }
}

/// A target (environment or account, in one region) that could not be audited at all:
/// no credentials, a role that cannot be assumed, the wrong account, unreadable outputs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TargetError {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub message: String,
}

/// Something the reader should look at that is neither a failure nor an error (a
/// waiver that matches nothing).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Warning {
    pub environment: String,
    pub message: String,
}

/// One audited (environment or account, region) pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSummary {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub summary: Summary,
    pub api_calls: BTreeMap<String, u64>,
    pub elapsed_ms: u64,
}

/// Counts per status. `error` includes targets that could not be audited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub waived: usize,
    pub error: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a AuditFinding>) -> Self {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Waived => s.waived += 1,
                Status::Error => s.error += 1,
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }
}

/// `3 pass, 1 fail, 0 waived, 0 error, 2 skipped`, as every text format words it.
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pass, {} fail, {} waived, {} error, {} skipped",
            self.pass, self.fail, self.waived, self.error, self.skipped
        )
    }
}

/// The benchmark versions the controls are mapped against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benchmarks {
    /// AWS Foundational Security Best Practices.
    pub aws_fsbp: String,
    /// CIS AWS Foundations Benchmark versions.
    pub cis_aws_foundations: Vec<String>,
}

impl Default for Benchmarks {
    fn default() -> Self {
        Benchmarks {
            aws_fsbp: ohmc_checks::FSBP_VERSION.to_string(),
            cis_aws_foundations: ohmc_checks::CIS_VERSIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// New, resolved and unchanged failures against a previous report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineDiff {
    /// The previous report's start time.
    pub baseline_started_at: Option<DateTime<Utc>>,
    pub new: Vec<FindingKey>,
    pub resolved: Vec<FindingKey>,
    pub unchanged: Vec<FindingKey>,
}

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

/// The result of an audit run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub benchmarks: Benchmarks,
    pub summary: Summary,
    /// Sorted by environment, account, region.
    pub targets: Vec<TargetSummary>,
    /// Sorted by environment, account, region, check id, resource.
    pub findings: Vec<AuditFinding>,
    /// Targets that could not be audited at all (error findings stay in `findings`).
    pub errors: Vec<TargetError>,
    pub warnings: Vec<Warning>,
    /// Every AWS API call of the run, as IAM action and count.
    pub api_calls: BTreeMap<String, u64>,
    /// API calls per check area (the checks of an area share their fetches).
    pub api_calls_by_area: BTreeMap<String, BTreeMap<String, u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineDiff>,
}

impl AuditReport {
    /// Sorts everything and recounts the summary; call after changing findings.
    pub fn normalise(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.targets.sort_by(|a, b| {
            (&a.environment, &a.account_id, &a.region).cmp(&(
                &b.environment,
                &b.account_id,
                &b.region,
            ))
        });
        self.errors.sort();
        self.warnings.sort();
        let mut s = Summary::of(&self.findings);
        s.error += self.errors.len();
        self.summary = s;
    }

    /// Any error: a failed target or an error finding.
    pub fn has_errors(&self) -> bool {
        self.summary.error > 0
    }

    /// Any failure not covered by a waiver (expired waivers included).
    pub fn has_failures(&self) -> bool {
        self.summary.fail > 0
    }

    /// How many checks were judged: passed, failed or waived (a waiver covers a judged
    /// failure). Skipped and errored checks were not.
    pub fn judged(&self) -> usize {
        self.summary.pass + self.summary.fail + self.summary.waived
    }

    /// Findings that are errors, for the separate "Errors" section of the renderers.
    pub fn error_findings(&self) -> impl Iterator<Item = &AuditFinding> {
        self.findings.iter().filter(|f| f.status == Status::Error)
    }
}

/// How the run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed or was waived (skipped checks listed, not failed).
    Pass,
    /// At least one failure (an expired waiver counts), no errors.
    Fail,
    /// At least one error, or no check judged at all. Takes precedence over failures: a
    /// run that could not look everywhere has not shown that the rest passes, and a run
    /// that judged nothing has shown nothing.
    Error,
}

impl AuditReport {
    pub fn verdict(&self) -> Verdict {
        if self.has_errors() || self.judged() == 0 {
            Verdict::Error
        } else if self.has_failures() {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }
}
