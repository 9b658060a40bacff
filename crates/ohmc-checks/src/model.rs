//! The check model: what a check is ([`Check`]), what it found ([`Finding`]) and the
//! result of a run ([`Report`]). Everything here is plain, serialisable data with a
//! deterministic order, so renderers (table, JSON, JUnit) never need the SDK.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The part of the platform a check looks at. The order is the display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Dns,
    Acm,
    Waf,
    Backup,
    Config,
    GuardDuty,
    CloudTrail,
    Rds,
    /// ElastiCache (Redis OSS) replication groups.
    Elasticache,
    /// Prometheus and Alertmanager, through their HTTP APIs (not AWS).
    Monitoring,
}

impl Area {
    /// Every area, in display order.
    pub const ALL: [Area; 10] = [
        Area::Dns,
        Area::Acm,
        Area::Waf,
        Area::Backup,
        Area::Config,
        Area::GuardDuty,
        Area::CloudTrail,
        Area::Rds,
        Area::Elasticache,
        Area::Monitoring,
    ];

    /// A short human name ("GuardDuty").
    pub fn name(self) -> &'static str {
        match self {
            Area::Dns => "DNS",
            Area::Acm => "ACM",
            Area::Waf => "WAF",
            Area::Backup => "Backup",
            Area::Config => "Config",
            Area::GuardDuty => "GuardDuty",
            Area::CloudTrail => "CloudTrail",
            Area::Rds => "RDS",
            Area::Elasticache => "ElastiCache",
            Area::Monitoring => "Monitoring",
        }
    }
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How bad a failure of the check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// A compliance framework a control id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// AWS Foundational Security Best Practices (Security Hub control ids such as `CloudTrail.1`).
    AwsFsbp,
    /// CIS Amazon Web Services Foundations Benchmark (recommendation numbers such as `3.1`).
    CisAwsFoundations,
    /// NIST SP 800-53 Rev. 5 as mapped by Security Hub (for controls outside FSBP, e.g. `WAF.11`).
    Nist80053,
}

/// One control a check maps to, with the version of the benchmark it was mapped against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Control {
    pub framework: Framework,
    /// The benchmark version the id is taken from ("1.0.0", "3.0.0", "5").
    pub version: &'static str,
    /// The control id in that framework ("CloudTrail.1", "3.1").
    pub id: &'static str,
}

impl Control {
    /// An FSBP (Security Hub) control id.
    pub const fn fsbp(id: &'static str) -> Self {
        Control {
            framework: Framework::AwsFsbp,
            version: FSBP_VERSION,
            id,
        }
    }
    /// A CIS AWS Foundations recommendation in the benchmark version given.
    pub const fn cis(version: &'static str, id: &'static str) -> Self {
        Control {
            framework: Framework::CisAwsFoundations,
            version,
            id,
        }
    }
    /// A Security Hub control that is mapped in NIST 800-53 r5 but not in FSBP.
    pub const fn nist(id: &'static str) -> Self {
        Control {
            framework: Framework::Nist80053,
            version: "5",
            id,
        }
    }
}

impl std::fmt::Display for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.framework {
            Framework::AwsFsbp => write!(f, "{}", self.id),
            Framework::CisAwsFoundations => write!(f, "CIS {} (v{})", self.id, self.version),
            Framework::Nist80053 => write!(f, "{} (NIST 800-53 r{})", self.id, self.version),
        }
    }
}

/// The FSBP standard version the control ids are mapped against.
pub const FSBP_VERSION: &str = "1.0.0";
/// The CIS AWS Foundations Benchmark versions the CIS ids are mapped against.
pub const CIS_VERSIONS: [&str; 2] = ["1.4.0", "3.0.0"];

/// A check: stable id, what it checks and which controls it evidences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable id, `area.snake_case_name` (for example `cloudtrail.multi_region_logging`).
    pub id: &'static str,
    pub title: &'static str,
    pub area: Area,
    pub severity: Severity,
    pub controls: Vec<Control>,
    /// Only judged in production; in other environments the check is Skipped.
    pub production_only: bool,
    /// The Terraform outputs the check needs; when one cannot be read the check is an Error.
    pub outputs: &'static [&'static str],
}

/// The outcome of one check on one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The check could not be judged: an AWS call failed (throttled past retries, not
    /// supported, 4xx/5xx) or returned a value this version does not know. Never a pass.
    Error {
        message: String,
    },
    /// The check does not apply here (a production-only check outside production, or an
    /// expectation the environment leaves empty). A stack output that cannot be read is an
    /// Error, not this.
    Skipped {
        reason: String,
    },
}

impl Outcome {
    /// A one-word label: pass, fail, error, skipped.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error { .. } => "error",
            Outcome::Skipped { .. } => "skipped",
        }
    }
}

/// What was expected and what was seen, in words a reviewer can check.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Evidence {
    pub expected: String,
    pub observed: String,
}

/// One result: a check applied to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check_id: String,
    pub area: Area,
    pub severity: Severity,
    /// The resource's ARN where it has one; otherwise a stable identifier such as
    /// `arn:aws:route53:::hostedzone/Z1/recordset/api.example.com` or `config-rule:NAME`.
    pub resource: String,
    pub outcome: Outcome,
    pub evidence: Evidence,
    /// What to do when the outcome is not Pass.
    pub remediation: String,
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
}

/// The result of [`crate::run_checks`]: findings sorted by area, check id and resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The account the checks ran in, when STS could tell.
    pub account_id: Option<String>,
    pub region: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// Every AWS API call made by the run, as IAM action (`service:Action`) and count.
    pub api_calls: BTreeMap<String, u64>,
    /// The same calls per area (the checks of an area share their fetches).
    pub api_calls_by_area: BTreeMap<Area, BTreeMap<String, u64>>,
    /// Wall time of the run, in milliseconds (the one non-deterministic field; renderers
    /// that promise byte-stable output should leave it out).
    pub elapsed_ms: u64,
}

impl Report {
    /// Builds a report, sorting the findings and counting outcomes.
    pub fn new(
        account_id: Option<String>,
        region: String,
        mut findings: Vec<Finding>,
        api_calls: BTreeMap<String, u64>,
    ) -> Self {
        findings.sort_by(|a, b| {
            (a.area, &a.check_id, &a.resource).cmp(&(b.area, &b.check_id, &b.resource))
        });
        let mut summary = Summary::default();
        for f in &findings {
            match f.outcome {
                Outcome::Pass => summary.pass += 1,
                Outcome::Fail => summary.fail += 1,
                Outcome::Error { .. } => summary.error += 1,
                Outcome::Skipped { .. } => summary.skipped += 1,
            }
        }
        Report {
            account_id,
            region,
            findings,
            summary,
            api_calls,
            api_calls_by_area: BTreeMap::new(),
            elapsed_ms: 0,
        }
    }

    /// True when any finding failed.
    pub fn has_failures(&self) -> bool {
        self.summary.fail > 0
    }

    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.summary.error > 0
    }

    /// How many checks were judged (passed or failed). A run that judged none has shown
    /// nothing, whatever it skipped: callers treat it as an error, not a success.
    pub fn judged(&self) -> usize {
        self.summary.pass + self.summary.fail
    }
}
