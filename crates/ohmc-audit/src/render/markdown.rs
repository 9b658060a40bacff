//! Markdown for a CI step summary (`$GITHUB_STEP_SUMMARY`): totals per target, then
//! failures, waivers, errors, warnings and the baseline diff.

use std::fmt::Write;

use crate::model::{AuditReport, Status};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(report: &AuditReport) -> String {
    let mut out = String::new();
    let verdict = match report.verdict() {
        crate::model::Verdict::Pass => "✅ all checks pass",
        crate::model::Verdict::Fail => "❌ failures",
        crate::model::Verdict::Error => "⚠️ errors (some checks could not run)",
    };
    let _ = writeln!(out, "## Compliance audit: {verdict}\n");
    let _ = writeln!(
        out,
        "FSBP v{}, CIS AWS Foundations v{}. {}.\n",
        report.benchmarks.aws_fsbp,
        report.benchmarks.cis_aws_foundations.join(" / v"),
        report.summary
    );
    let _ = writeln!(
        out,
        "| environment | account | region | pass | fail | waived | error | skipped |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    );
    for t in &report.targets {
        let m = t.summary;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&t.environment),
            t.account_id,
            t.region,
            m.pass,
            m.fail,
            m.waived,
            m.error,
            m.skipped
        );
    }
    let section = |out: &mut String, title: &str, status: Status| {
        let rows: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.status == status)
            .collect();
        if rows.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n### {title}\n");
        let _ = writeln!(
            out,
            "| environment | region | check | controls | resource | detail |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
        for f in rows {
            let controls: Vec<String> = f.controls.iter().map(|c| c.display()).collect();
            let detail = match status {
                Status::Fail => f.message.clone().unwrap_or_else(|| {
                    format!(
                        "expected {}; observed {}",
                        f.evidence.expected, f.evidence.observed
                    )
                }),
                Status::Waived => f
                    .waiver
                    .as_ref()
                    .map(|w| format!("until {} by {}: {}", w.expires, w.owner, w.reason))
                    .unwrap_or_default(),
                _ => f.message.clone().unwrap_or_default(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | `{}` | {} |",
                cell(&f.environment),
                f.region,
                f.check_id,
                cell(&controls.join(", ")),
                cell(&f.resource_label()),
                cell(&detail)
            );
        }
    };
    section(&mut out, "Failures", Status::Fail);
    section(&mut out, "Errors", Status::Error);
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\n### Targets not audited\n");
        for e in &report.errors {
            let _ = writeln!(
                out,
                "- **{}** (account {}, {}): {}",
                cell(&e.environment),
                e.account_id,
                e.region,
                cell(&e.message)
            );
        }
    }
    section(&mut out, "Waived", Status::Waived);
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\n### Warnings\n");
        for w in &report.warnings {
            let _ = writeln!(out, "- {}: {}", cell(&w.environment), cell(&w.message));
        }
    }
    if let Some(b) = &report.baseline {
        let _ = writeln!(
            out,
            "\n### Against the baseline\n\n{} new, {} resolved, {} unchanged failures.\n",
            b.new.len(),
            b.resolved.len(),
            b.unchanged.len()
        );
        for k in &b.new {
            let _ = writeln!(out, "- 🆕 `{k}`");
        }
        for k in &b.resolved {
            let _ = writeln!(out, "- ✔️ resolved `{k}`");
        }
    }
    out
}
