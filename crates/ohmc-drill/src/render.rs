//! Renderers: pure functions from a report to text. JSON is deterministic
//! (struct field order, vectors in drill order) and carries `schema_version`.

use std::fmt::Write;

use crate::drill::fmt_ms;
use crate::events::DrillEvent;
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
    let measured = o
        .measured_ms
        .map(fmt_ms)
        .unwrap_or_else(|| "not measured".into());
    let verdict = match o.met {
        Some(true) => "met",
        Some(false) => "BREACHED",
        None => "-",
    };
    format!(
        "{measured} (target {}, {verdict}): {}",
        fmt_ms(o.target_ms),
        o.detail
    )
}

pub(crate) fn cleanup_word(o: CleanupOutcome) -> &'static str {
    match o {
        CleanupOutcome::Deleted => "deleted",
        CleanupOutcome::DeletionRequested => "deleting",
        CleanupOutcome::NotFound => "not found",
        CleanupOutcome::Refused => "REFUSED",
        CleanupOutcome::Failed => "FAILED",
        CleanupOutcome::Kept => "kept",
    }
}

fn step_word(o: StepOutcome) -> &'static str {
    match o {
        StepOutcome::Ok => "ok",
        StepOutcome::Failed => "failed",
        StepOutcome::Cancelled => "cancelled",
    }
}

/// One progress line for an event, in words (never a Rust `Debug` form); `None` for
/// events that are only for machines (ledger bookkeeping, each validation, which the
/// report lists).
pub fn event_line(event: &DrillEvent) -> Option<String> {
    Some(match event {
        DrillEvent::Started {
            drill_id,
            ledger_path,
        } => match ledger_path {
            Some(p) => format!("drill {drill_id}: ledger {p}"),
            None => format!("drill {drill_id}: dry run, nothing will be created"),
        },
        DrillEvent::RecoveryPointSelected {
            source,
            identifier,
            created_at,
        } => format!(
            "{source}: newest recovery point {identifier}{}",
            created_at
                .map(|t| format!(" ({})", t.to_rfc3339()))
                .unwrap_or_default()
        ),
        DrillEvent::StepStarted { name, resource } => format!("{name} {resource}..."),
        DrillEvent::StepFinished {
            name,
            resource,
            outcome,
            detail,
        } => format!(
            "{name} {resource}: {}{}",
            step_word(*outcome),
            detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        DrillEvent::LedgerRecorded { .. } | DrillEvent::Validated { .. } => return None,
        DrillEvent::ResourceCreated {
            kind,
            identifier,
            region,
        } => format!("created {kind} {identifier} in {region}"),
        DrillEvent::Waiting {
            resource,
            status,
            elapsed,
            timeout,
        } => format!(
            "waiting for {resource}: {status} ({}s of {}s)",
            elapsed.as_secs(),
            timeout.as_secs()
        ),
        DrillEvent::CleanupStarted { drill_id, entries } => {
            format!("cleanup of {drill_id}: {entries} ledger entries")
        }
        DrillEvent::Cleaned { result } => format!(
            "cleanup: {} {} in {}: {}{}",
            result.kind,
            result.identifier,
            result.region,
            cleanup_word(result.outcome),
            result
                .detail
                .as_ref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        DrillEvent::Finished { status } => {
            format!("drill finished: {}", status_word(*status).to_lowercase())
        }
    })
}

fn validation_word(o: ValidationOutcome) -> &'static str {
    match o {
        ValidationOutcome::Passed => "ok",
        ValidationOutcome::Failed => "FAILED",
        ValidationOutcome::Unverified => "unverified",
    }
}

/// Rows as aligned columns, two spaces apart, indented; the last column is not padded.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (i, cell) in r.iter().enumerate() {
            line.push(' ');
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$} ", w = widths[i]);
            }
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

/// Long free text (a command line) cut for a table cell.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max - 1).collect::<String>() + "…"
    }
}

fn with_detail(head: String, detail: Option<&str>) -> String {
    match detail {
        Some(d) => format!("{head}: {}", d.replace('\n', " / ")),
        None => head,
    }
}

/// Short aligned plain text for a terminal or a log.
pub fn report_text(r: &DrillReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "drill {}  {}  ({})",
        r.drill_id,
        status_word(r.status),
        r.environment
    );
    let region = match &r.target_region {
        Some(t) => format!("{} -> {t}", r.region),
        None => r.region.clone(),
    };
    s.push_str(&table(&[
        vec!["region".into(), region],
        vec!["RTO".into(), objective(&r.rto)],
        vec!["RPO".into(), objective(&r.rpo)],
    ]));
    for why in &r.reasons {
        let _ = writeln!(s, "  ! {why}");
    }
    if !r.recovery_points.is_empty() {
        let _ = writeln!(s, "recovery points");
        let rows: Vec<Vec<String>> = r
            .recovery_points
            .iter()
            .map(|p| {
                let copied = p
                    .copied_to
                    .as_ref()
                    .map(|c| format!(" -> {} ({})", c.identifier, c.region))
                    .unwrap_or_default();
                vec![
                    p.source.clone(),
                    p.identifier.clone(),
                    p.snapshot_type.clone(),
                    p.created_at
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "creation time unknown".into())
                        + &copied,
                ]
            })
            .collect();
        s.push_str(&table(&rows));
    }
    if !r.plan.is_empty() {
        let _ = writeln!(s, "planned actions (nothing was created)");
        let rows: Vec<Vec<String>> = r
            .plan
            .iter()
            .map(|a| {
                vec![
                    a.action.clone(),
                    short(&a.resource, 60),
                    a.region.clone(),
                    a.detail.clone(),
                ]
            })
            .collect();
        s.push_str(&table(&rows));
    }
    if !r.steps.is_empty() {
        let _ = writeln!(s, "steps");
        let rows: Vec<Vec<String>> = r
            .steps
            .iter()
            .map(|st| {
                let ms = (st.ended_at - st.started_at).num_milliseconds().max(0) as u64;
                vec![
                    st.name.clone(),
                    short(&st.resource, 60),
                    fmt_ms(ms),
                    with_detail(step_word(st.outcome).to_owned(), st.detail.as_deref()),
                ]
            })
            .collect();
        s.push_str(&table(&rows));
    }
    if !r.validations.is_empty() {
        let _ = writeln!(s, "validations");
        let rows: Vec<Vec<String>> = r
            .validations
            .iter()
            .map(|v| {
                vec![
                    validation_word(v.outcome).to_owned(),
                    v.check.clone(),
                    short(&v.resource, 60),
                    with_detail(
                        format!(
                            "expected {}, got {}",
                            v.expected.as_deref().unwrap_or("-"),
                            v.actual.as_deref().unwrap_or("-")
                        ),
                        v.detail.as_deref(),
                    ),
                ]
            })
            .collect();
        s.push_str(&table(&rows));
    }
    if !r.cleanup.is_empty() {
        let _ = writeln!(s, "cleanup");
        s.push_str(&cleanup_rows(&r.cleanup));
    }
    if let Some(p) = &r.ledger_path {
        let _ = writeln!(s, "ledger {p}");
    }
    s
}

fn cleanup_rows(results: &[CleanupResult]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|c| {
            vec![
                cleanup_word(c.outcome).to_owned(),
                c.kind.to_string(),
                c.region.clone(),
                with_detail(c.identifier.clone(), c.detail.as_deref()),
            ]
        })
        .collect();
    table(&rows)
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// Markdown for a ticket or the DR evidence folder.
pub fn report_markdown(r: &DrillReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# DR drill `{}`: {}\n",
        r.drill_id,
        status_word(r.status)
    );
    let _ = writeln!(s, "- Environment: `{}`", r.environment);
    let _ = writeln!(
        s,
        "- Region: `{}`{}",
        r.region,
        r.target_region
            .as_deref()
            .map(|t| format!(" → `{t}`"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "- Started: {}  Ended: {}",
        r.started_at.to_rfc3339(),
        r.ended_at.to_rfc3339()
    );
    let _ = writeln!(s, "- Exit code: {}\n", r.exit_code());
    let _ = writeln!(
        s,
        "| Objective | Measured | Target | Result | How |\n| --- | --- | --- | --- | --- |"
    );
    for (name, o) in [("RTO", &r.rto), ("RPO", &r.rpo)] {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} |",
            o.measured_ms
                .map(fmt_ms)
                .unwrap_or_else(|| "not measured".into()),
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
            p.created_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "unknown".into()),
            p.copied_to
                .as_ref()
                .map(|c| format!("`{}` ({})", c.identifier, c.region))
                .unwrap_or_else(|| "-".into())
        );
    }
    if !r.plan.is_empty() {
        let _ = writeln!(s, "\n## Planned actions (dry run)\n\n| Action | Resource | Region | Detail |\n| --- | --- | --- | --- |");
        for a in &r.plan {
            let _ = writeln!(
                s,
                "| `{}` | `{}` | {} | {} |",
                a.action,
                md_cell(&a.resource),
                a.region,
                md_cell(&a.detail)
            );
        }
    }
    if !r.steps.is_empty() {
        let _ = writeln!(s, "\n## Steps\n\n| Step | Resource | Start | End | Outcome |\n| --- | --- | --- | --- | --- |");
        for st in &r.steps {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {}{} |",
                st.name,
                md_cell(&st.resource),
                st.started_at.format("%H:%M:%S%.3f"),
                st.ended_at.format("%H:%M:%S%.3f"),
                step_word(st.outcome),
                st.detail
                    .as_deref()
                    .map(|d| format!(": {}", md_cell(d)))
                    .unwrap_or_default()
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
                v.expected
                    .as_deref()
                    .map(md_cell)
                    .unwrap_or_else(|| "-".into()),
                v.actual
                    .as_deref()
                    .map(md_cell)
                    .unwrap_or_else(|| "-".into()),
                validation_word(v.outcome)
            );
        }
    }
    if !r.cleanup.is_empty() {
        let _ = writeln!(
            s,
            "\n## Cleanup\n\n| Resource | Kind | Region | Result |\n| --- | --- | --- | --- |"
        );
        for c in &r.cleanup {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {}{} |",
                c.identifier,
                c.kind,
                c.region,
                cleanup_word(c.outcome),
                c.detail
                    .as_deref()
                    .map(|d| format!(": {}", md_cell(d)))
                    .unwrap_or_default()
            );
        }
    }
    s
}

/// Plain text for `cleanup`.
pub fn cleanup_text(r: &CleanupReport) -> String {
    let mut s = format!(
        "cleanup of {}: {}\n",
        r.drill_id,
        if r.is_clean() { "clean" } else { "INCOMPLETE" }
    );
    s.push_str(&cleanup_rows(&r.results));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::ResourceKind;

    /// The lines `dr-drill` printed as `cleanup: CleanupResult { kind: ... }` and
    /// `drill finished: ValidationFailed`: words now, never a Debug form.
    #[test]
    fn progress_lines_are_words_not_debug_forms() {
        let cleaned = DrillEvent::Cleaned {
            result: CleanupResult {
                kind: ResourceKind::RedisReplicationGroup,
                identifier: "drill-x-redis".into(),
                region: "us-east-1".into(),
                outcome: CleanupOutcome::DeletionRequested,
                detail: None,
            },
        };
        assert_eq!(
            event_line(&cleaned).unwrap(),
            "cleanup: redis replication group drill-x-redis in us-east-1: deleting"
        );
        assert_eq!(
            event_line(&DrillEvent::Finished {
                status: DrillStatus::ValidationFailed
            })
            .unwrap(),
            "drill finished: validation failed"
        );
        let step = DrillEvent::StepFinished {
            name: "restore".into(),
            resource: "drill-x-pg".into(),
            outcome: StepOutcome::Failed,
            detail: Some("denied".into()),
        };
        assert_eq!(
            event_line(&step).unwrap(),
            "restore drill-x-pg: failed (denied)"
        );
        let created = DrillEvent::ResourceCreated {
            kind: ResourceKind::RdsInstance,
            identifier: "drill-x-pg".into(),
            region: "us-east-1".into(),
        };
        assert_eq!(
            event_line(&created).unwrap(),
            "created rds instance drill-x-pg in us-east-1"
        );
    }
}
