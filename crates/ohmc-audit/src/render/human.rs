//! The human table: failures, waivers and errors first, aligned; passes counted (listed
//! with `verbose`). Plain text; the binary decides about colour.

use std::fmt::Write;

use crate::model::{AuditReport, Status};

pub fn human(report: &AuditReport, verbose: bool) -> String {
    let mut out = String::new();
    for t in &report.targets {
        let _ = writeln!(
            out,
            "{} (account {}, {}): {}",
            t.environment, t.account_id, t.region, t.summary
        );
        let rows: Vec<_> = report
            .findings
            .iter()
            .filter(|f| {
                f.environment == t.environment
                    && f.account_id == t.account_id
                    && f.region == t.region
            })
            .filter(|f| verbose || !matches!(f.status, Status::Pass | Status::Skipped))
            .collect();
        let w_check = rows.iter().map(|f| f.check_id.len()).max().unwrap_or(0);
        for f in rows {
            let controls: Vec<String> = f.controls.iter().map(|c| c.display()).collect();
            let _ = writeln!(
                out,
                "  {:7} {:w_check$}  {}{}",
                f.status.label().to_uppercase(),
                f.check_id,
                f.resource_label(),
                if controls.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", controls.join(", "))
                }
            );
            match f.status {
                Status::Fail => {
                    let _ = writeln!(
                        out,
                        "          expected {}; observed {}",
                        f.evidence.expected, f.evidence.observed
                    );
                    let _ = writeln!(out, "          fix: {}", f.remediation);
                }
                Status::Waived => {
                    if let Some(w) = &f.waiver {
                        let _ = writeln!(
                            out,
                            "          waived until {} by {} ({}): {}",
                            w.expires, w.owner, w.source, w.reason
                        );
                    }
                }
                Status::Skipped => {
                    let _ = writeln!(out, "          {}", f.message.as_deref().unwrap_or(""));
                }
                _ => {}
            }
        }
    }
    // Audit-level findings (expired waivers) have no region.
    for f in report.findings.iter().filter(|f| f.region.is_empty()) {
        let _ = writeln!(
            out,
            "{}: FAIL {} {}: {}",
            f.environment,
            f.check_id,
            f.resource,
            f.message.as_deref().unwrap_or("")
        );
    }
    let errors: Vec<_> = report.error_findings().collect();
    if !errors.is_empty() || !report.errors.is_empty() {
        let _ = writeln!(out, "\nErrors (could not be judged; never a pass):");
        for e in &report.errors {
            let _ = writeln!(
                out,
                "  {} (account {}, {}): {}",
                e.environment, e.account_id, e.region, e.message
            );
        }
        for f in errors {
            let _ = writeln!(
                out,
                "  {} {} {} {}: {}",
                f.environment,
                f.region,
                f.check_id,
                f.resource_label(),
                f.message.as_deref().unwrap_or("")
            );
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &report.warnings {
            let _ = writeln!(out, "  {}: {}", w.environment, w.message);
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\nAgainst the baseline: {} new, {} resolved, {} unchanged failures",
            b.new.len(),
            b.resolved.len(),
            b.unchanged.len()
        );
        for k in &b.new {
            let _ = writeln!(out, "  NEW      {k}");
        }
        for k in &b.resolved {
            let _ = writeln!(out, "  RESOLVED {k}");
        }
    }
    let calls: u64 = report.api_calls.values().sum();
    let _ = writeln!(
        out,
        "\n{} targets: {}; {} API calls in {:.1}s (FSBP v{}, CIS v{})",
        report.targets.len(),
        report.summary,
        calls,
        report.duration_ms as f64 / 1000.0,
        report.benchmarks.aws_fsbp,
        report.benchmarks.cis_aws_foundations.join(", v"),
    );
    out
}
