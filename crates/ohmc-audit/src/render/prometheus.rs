//! Prometheus exposition (prometheus-client's text encoder), for the node exporter's
//! textfile collector or a Pushgateway:
//!
//! - `ohmc_compliance_check_status{check_id, resource, environment, control, account,
//!   region}`: 0 pass (or waived), 1 fail, 2 error. The alert rules `ComplianceCheckFailing`
//!   (== 1) and `ComplianceCheckErroring` (== 2) in deploy/monitoring use it. `control` is
//!   the FSBP id, else the CIS id, else `none`. Skipped checks have no series. A target
//!   that could not be audited is one series with `check_id="audit.target"`, value 2.
//! - `ohmc_compliance_findings{environment, status}`: counts, waived included.
//! - `ohmc_compliance_audit_duration_seconds`: wall time of the run.
//! - `ohmc_compliance_audit_last_success_timestamp_seconds`: when a run last finished
//!   without errors. A run with errors carries the previous value forward (from the old
//!   textfile) or leaves it out, so a Pushgateway POST keeps the last one.
//!
//! Classic text format (no OpenMetrics `# EOF`), which both consumers read.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode_registry;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::model::{AuditReport, Status, Verdict};

/// The metric the alert rules read. Do not rename.
pub const STATUS_METRIC: &str = "ohmc_compliance_check_status";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    check_id: String,
    resource: String,
    environment: String,
    control: String,
    account: String,
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CountLabels {
    environment: String,
    status: String,
}

/// What the exposition cannot know from the report alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrometheusOptions {
    /// The last-success timestamp of an earlier run, carried forward when this run had errors.
    pub previous_last_success: Option<f64>,
}

impl PrometheusOptions {
    /// Reads the last-success value from an earlier textfile, if any.
    pub fn from_previous_textfile(text: &str) -> Self {
        let previous_last_success = text
            .lines()
            .find(|l| l.starts_with("ohmc_compliance_audit_last_success_timestamp_seconds "))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok());
        PrometheusOptions {
            previous_last_success,
        }
    }
}

pub fn prometheus(
    report: &AuditReport,
    opts: PrometheusOptions,
) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    let status = Family::<StatusLabels, Gauge>::default();
    registry.register(
        STATUS_METRIC,
        "Compliance check result per resource: 0 pass or waived, 1 fail, 2 error",
        status.clone(),
    );
    for f in &report.findings {
        let value = match f.status {
            Status::Pass | Status::Waived => 0,
            Status::Fail => 1,
            Status::Error => 2,
            Status::Skipped => continue,
        };
        let labels = StatusLabels {
            check_id: f.check_id.clone(),
            resource: f.resource.clone(),
            environment: f.environment.clone(),
            control: f.primary_control(),
            account: f.account_id.clone(),
            region: f.region.clone(),
        };
        // Two findings with the same labels (cannot happen today) keep the worst.
        let g = status.get_or_create(&labels);
        if g.get() < value {
            g.set(value);
        }
    }
    for e in &report.errors {
        status
            .get_or_create(&StatusLabels {
                check_id: "audit.target".into(),
                resource: format!("account:{}", e.account_id),
                environment: e.environment.clone(),
                control: "none".into(),
                account: e.account_id.clone(),
                region: e.region.clone(),
            })
            .set(2);
    }
    let counts = Family::<CountLabels, Gauge>::default();
    registry.register(
        "ohmc_compliance_findings",
        "Findings of the last audit run by environment and status",
        counts.clone(),
    );
    for f in &report.findings {
        counts
            .get_or_create(&CountLabels {
                environment: f.environment.clone(),
                status: f.status.label().into(),
            })
            .inc();
    }
    let duration = Gauge::<f64, AtomicU64>::default();
    duration.set(report.duration_ms as f64 / 1000.0);
    registry.register(
        "ohmc_compliance_audit_duration_seconds",
        "Wall time of the last audit run",
        duration,
    );
    let last_success = match report.verdict() {
        Verdict::Error => opts.previous_last_success,
        _ => Some(report.started_at.timestamp() as f64 + report.duration_ms as f64 / 1000.0),
    };
    if let Some(ts) = last_success {
        let g = Gauge::<f64, AtomicU64>::default();
        g.set(ts);
        registry.register(
            "ohmc_compliance_audit_last_success_timestamp_seconds",
            "Unix time the audit last finished without errors",
            g,
        );
    }
    let mut out = String::new();
    encode_registry(&mut out, &registry)?;
    Ok(sorted_samples(&out))
}

/// The encoder keeps a family's series in a hash map; sorting the sample lines of each
/// family (comments stay first) makes the file deterministic, so runs diff cleanly.
fn sorted_samples(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut samples: Vec<&str> = Vec::new();
    let flush = |out: &mut String, samples: &mut Vec<&str>| {
        samples.sort_unstable();
        for l in samples.drain(..) {
            out.push_str(l);
            out.push('\n');
        }
    };
    for line in text.lines() {
        if line.starts_with('#') {
            flush(&mut out, &mut samples);
            out.push_str(line);
            out.push('\n');
        } else if !line.is_empty() {
            samples.push(line);
        }
    }
    flush(&mut out, &mut samples);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn samples_are_sorted_within_their_family() {
        let text = "# HELP a x\n# TYPE a gauge\na{k=\"2\"} 1\na{k=\"1\"} 0\n# HELP b y\n# TYPE b gauge\nb 3\n";
        assert_eq!(
            super::sorted_samples(text),
            "# HELP a x\n# TYPE a gauge\na{k=\"1\"} 0\na{k=\"2\"} 1\n# HELP b y\n# TYPE b gauge\nb 3\n"
        );
    }
}
