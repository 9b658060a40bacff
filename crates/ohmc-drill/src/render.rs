//! Renderers: pure functions from a report to text. JSON is deterministic
//! (struct field order, vectors in drill order) and carries `schema_version`.

use std::fmt::Write;

use crate::drill::fmt_ms;
use crate::report::*;

/// Pretty JSON of a drill report.
pub fn report_json(report: &DrillReport) -> String {
    serde_json::to_string_pretty(report).expect("report serializes") + "\n"
}

/// Pretty JSON of a cleanup report.
pub fn cleanup_json(report: &CleanupReport) -> String {
    serde_json::to_string_pretty(report).expect("report serializes") + "\n"
}

fn status_word(s: DrillStatus) -> &'static str {
    match s {
        DrillStatus::Met => "MET",
        DrillStatus::Breached => "BREACHED",
        DrillStatus::ValidationFailed => "VALIDATION FAILED",
        DrillStatus::Error => "ERROR",
        DrillStatus::Cancelled => "CANCELLED",
        DrillStatus::Planned => "DRY RUN",
    }
}

fn objective(o: &Objective) -> String {
    let measured = o.measured_ms.map(fmt_ms).unwrap_or_else(|| "not measured".into());
    let verdict = match o.met {
        Some(true) => "met",
        Some(false) => "BREACHED",
        None => "-",
    };
    format!("{measured} (target {}, {verdict}): {}", fmt_ms(o.target_ms), o.detail)
}

fn cleanup_word(o: CleanupOutcome) -> &'static str {
    match o {
        CleanupOutcome::Deleted => "deleted",
        CleanupOutcome::DeletionRequested => "deleting",
        CleanupOutcome::NotFound => "not found",
        CleanupOutcome::Refused => "REFUSED",
        CleanupOutcome::Failed => "FAILED",
        CleanupOutcome::Kept => "kept",
    }
}

fn validation_word(o: ValidationOutcome) -> &'static str {
    match o {
        ValidationOutcome::Passed => "ok",
        ValidationOutcome::Failed => "FAILED",
        ValidationOutcome::Unverified => "unverified",
    }
}

/// Short aligned plain text for a terminal or a log.
pub fn report_text(r: &DrillReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "drill {}  {}  ({})", r.drill_id, status_word(r.status), r.environment);
    let region = match &r.target_region {
        Some(t) => format!("{} -> {t}", r.region),
        None => r.region.clone(),
    };
    let _ = writeln!(s, "  region     {region}");
    let _ = writeln!(s, "  RTO        {}", objective(&r.rto));
    let _ = writeln!(s, "  RPO        {}", objective(&r.rpo));
    for why in &r.reasons {
        let _ = writeln!(s, "  !          {why}");
    }
    if !r.recovery_points.is_empty() {
        let _ = writeln!(s, "recovery points");
        for p in &r.recovery_points {
            let created = p.created_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "creation time unknown".into());
            let copied = p.copied_to.as_ref().map(|c| format!(" -> {} ({})", c.identifier, c.region)).unwrap_or_default();
            let _ = writeln!(s, "  {:<28} {} [{}] {created}{copied}", p.source, p.identifier, p.snapshot_type);
        }
    }
    if !r.plan.is_empty() {
        let _ = writeln!(s, "planned actions (nothing was created)");
        for a in &r.plan {
            let _ = writeln!(s, "  {:<40} {:<44} {}  {}", a.action, a.resource, a.region, a.detail);
        }
    }
    if !r.steps.is_empty() {
        let _ = writeln!(s, "steps");
        for st in &r.steps {
            let secs = (st.ended_at - st.started_at).num_milliseconds().max(0) as u64;
            let _ = writeln!(
                s,
                "  {:<28} {:<44} {:>10}  {:?}{}",
                st.name,
                st.resource,
                fmt_ms(secs),
                st.outcome,
                st.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
            );
        }
    }
    if !r.validations.is_empty() {
        let _ = writeln!(s, "validations");
        for v in &r.validations {
            let _ = writeln!(
                s,
                "  {:<10} {:<22} {:<44} expected {} got {}",
                validation_word(v.outcome),
                v.check,
                v.resource,
                v.expected.as_deref().unwrap_or("-"),
                v.actual.as_deref().unwrap_or("-"),
            );
        }
    }
    if !r.cleanup.is_empty() {
        let _ = writeln!(s, "cleanup");
        for c in &r.cleanup {
            let _ = writeln!(
                s,
                "  {:<10} {:<24} {} ({}){}",
                cleanup_word(c.outcome),
                c.kind.to_string(),
                c.identifier,
                c.region,
                c.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
            );
        }
    }
    if let Some(p) = &r.ledger_path {
        let _ = writeln!(s, "ledger {p}");
    }
    s
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// Markdown for a ticket or the DR evidence folder.
pub fn report_markdown(r: &DrillReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# DR drill `{}`: {}\n", r.drill_id, status_word(r.status));
    let _ = writeln!(s, "- Environment: `{}`", r.environment);
    let _ = writeln!(s, "- Region: `{}`{}", r.region, r.target_region.as_deref().map(|t| format!(" → `{t}`")).unwrap_or_default());
    let _ = writeln!(s, "- Started: {}  Ended: {}", r.started_at.to_rfc3339(), r.ended_at.to_rfc3339());
    let _ = writeln!(s, "- Exit code: {}\n", r.exit_code());
    let _ = writeln!(s, "| Objective | Measured | Target | Result | How |\n| --- | --- | --- | --- | --- |");
    for (name, o) in [("RTO", &r.rto), ("RPO", &r.rpo)] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            o.measured_ms.map(fmt_ms).unwrap_or_else(|| "not measured".into()),
            fmt_ms(o.target_ms),
            match o.met {
                Some(true) => "met",
                Some(false) => "**breached**",
                None => "-",
            },
            md_cell(&o.detail)
        );
    }
    if !r.reasons.is_empty() {
        let _ = writeln!(s, "\n## Findings\n");
        for why in &r.reasons {
            let _ = writeln!(s, "- {}", why);
        }
    }
    let _ = writeln!(s, "\n## Recovery points\n\n| Source | Recovery point | Type | Created | Copied to |\n| --- | --- | --- | --- | --- |");
    for p in &r.recovery_points {
        let _ = writeln!(
            s,
            "| `{}` | `{}` | {} | {} | {} |",
            p.source,
            p.identifier,
            p.snapshot_type,
            p.created_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "unknown".into()),
            p.copied_to.as_ref().map(|c| format!("`{}` ({})", c.identifier, c.region)).unwrap_or_else(|| "-".into())
        );
    }
    if !r.plan.is_empty() {
        let _ = writeln!(s, "\n## Planned actions (dry run)\n\n| Action | Resource | Region | Detail |\n| --- | --- | --- | --- |");
        for a in &r.plan {
            let _ = writeln!(s, "| `{}` | `{}` | {} | {} |", a.action, md_cell(&a.resource), a.region, md_cell(&a.detail));
        }
    }
    if !r.steps.is_empty() {
        let _ = writeln!(s, "\n## Steps\n\n| Step | Resource | Start | End | Outcome |\n| --- | --- | --- | --- | --- |");
        for st in &r.steps {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {:?}{} |",
                st.name,
                md_cell(&st.resource),
                st.started_at.format("%H:%M:%S%.3f"),
                st.ended_at.format("%H:%M:%S%.3f"),
                st.outcome,
                st.detail.as_deref().map(|d| format!(": {}", md_cell(d))).unwrap_or_default()
            );
        }
    }
    if !r.validations.is_empty() {
        let _ = writeln!(s, "\n## Validations\n\n| Resource | Check | Expected | Actual | Result |\n| --- | --- | --- | --- | --- |");
        for v in &r.validations {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} |",
                md_cell(&v.resource),
                v.check,
                v.expected.as_deref().map(md_cell).unwrap_or_else(|| "-".into()),
                v.actual.as_deref().map(md_cell).unwrap_or_else(|| "-".into()),
                validation_word(v.outcome)
            );
        }
    }
    if !r.cleanup.is_empty() {
        let _ = writeln!(s, "\n## Cleanup\n\n| Resource | Kind | Region | Result |\n| --- | --- | --- | --- |");
        for c in &r.cleanup {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {}{} |",
                c.identifier,
                c.kind,
                c.region,
                cleanup_word(c.outcome),
                c.detail.as_deref().map(|d| format!(": {}", md_cell(d))).unwrap_or_default()
            );
        }
    }
    s
}

/// Plain text for `cleanup`.
pub fn cleanup_text(r: &CleanupReport) -> String {
    let mut s = format!("cleanup of {}: {}\n", r.drill_id, if r.is_clean() { "clean" } else { "INCOMPLETE" });
    for c in &r.results {
        let _ = writeln!(
            s,
            "  {:<10} {:<24} {} ({}){}",
            cleanup_word(c.outcome),
            c.kind.to_string(),
            c.identifier,
            c.region,
            c.detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
        );
    }
    s
}
