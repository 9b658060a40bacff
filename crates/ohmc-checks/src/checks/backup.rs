//! Backup: the plan has a rule meeting the RPO frequency and minimum retention, its
//! selections cover the RDS instances, the vault is KMS-encrypted (and locked in
//! production), production copies to another region, and the newest recovery point of
//! each instance is within the RPO target.

use super::{
    call_error, error_code, finding, judge, list_or_none, to_chrono, unreadable_output, Run,
};
use crate::expectations::outputs;
use crate::expectations::OutputError;
use crate::model::{Finding, Outcome};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) const PLAN: &str = "backup.plan_rules";
pub(crate) const SELECTION: &str = "backup.selection_covers_rds";
pub(crate) const ENCRYPTED: &str = "backup.vault_encrypted";
pub(crate) const LOCK: &str = "backup.vault_lock";
pub(crate) const COPY: &str = "backup.cross_region_copy";
pub(crate) const RPO: &str = "backup.recovery_point_within_rpo";

/// A backup rule, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleFacts {
    pub name: String,
    pub schedule: String,
    pub delete_after_days: Option<i64>,
    pub copy_destinations: Vec<String>,
}

impl From<&aws_sdk_backup::types::BackupRule> for RuleFacts {
    fn from(r: &aws_sdk_backup::types::BackupRule) -> Self {
        RuleFacts {
            name: r.rule_name().to_string(),
            schedule: r.schedule_expression().unwrap_or("").to_string(),
            delete_after_days: r.lifecycle().and_then(|l| l.delete_after_days()),
            copy_destinations: r
                .copy_actions()
                .iter()
                .map(|c| c.destination_backup_vault_arn().to_string())
                .collect(),
        }
    }
}

/// The worst-case time between two runs of a schedule expression, or `None` when the
/// expression is not understood.
pub(crate) fn schedule_interval(expr: &str) -> Option<Duration> {
    let expr = expr.trim();
    if let Some(inner) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        let (n, unit) = inner.trim().split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        let secs = match unit.trim().trim_end_matches('s') {
            "minute" => 60,
            "hour" => 3600,
            "day" => 86400,
            _ => return None,
        };
        return Some(Duration::from_secs(n * secs));
    }
    let inner = expr.strip_prefix("cron(")?.strip_suffix(')')?;
    let f: Vec<&str> = inner.split_whitespace().collect();
    let [_min, hour, dom, month, dow, _year] = f.as_slice() else {
        return None;
    };
    let wild = |s: &str| s == "*" || s == "?";
    if !wild(month) {
        return Some(Duration::from_secs(366 * 86400));
    }
    let day_gap_h: u64 = if !wild(dom) {
        31 * 24
    } else if wild(dow) {
        24
    } else {
        let days = weekdays(dow)?;
        max_circular_gap(&days, 7)? * 24
    };
    let hour_gap_h: u64 = if *hour == "*" {
        1
    } else if let Some((_, step)) = hour.split_once('/') {
        step.parse().ok()?
    } else {
        let hours: Option<Vec<u64>> = hour.split(',').map(|h| h.parse().ok()).collect();
        let hours = hours?;
        if hours.iter().any(|h| *h > 23) {
            return None;
        }
        max_circular_gap(&hours, 24)?
    };
    Some(Duration::from_secs(
        if day_gap_h == 24 {
            hour_gap_h
        } else {
            day_gap_h
        } * 3600,
    ))
}

fn weekdays(field: &str) -> Option<Vec<u64>> {
    let day = |s: &str| -> Option<u64> {
        let names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Some(i as u64);
        }
        s.parse::<u64>()
            .ok()
            .filter(|d| (1..=7).contains(d))
            .map(|d| d - 1)
    };
    let mut out = Vec::new();
    for part in field.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(day(part.split('#').next()?)?),
        }
    }
    Some(out)
}

fn max_circular_gap(points: &[u64], period: u64) -> Option<u64> {
    let mut p = points.to_vec();
    p.sort_unstable();
    p.dedup();
    let first = *p.first()?;
    let mut gap = first + period - p[p.len() - 1];
    for w in p.windows(2) {
        gap = gap.max(w[1] - w[0]);
    }
    Some(gap)
}

/// `*` wildcard match, as AWS Backup selections use them.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(idx) => rest = &rest[idx + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let db_arns: Result<Vec<String>, OutputError> =
        r.exp.output_list(outputs::RDS_INSTANCE_IDS).map(|ids| {
            ids.iter()
                .map(|id| format!("arn:aws:rds:{}:{}:db:{id}", r.region, r.account()))
                .collect()
        });

    // Plan: rules, selections, cross-region copy.
    match r.exp.output_str(outputs::BACKUP_PLAN_ID) {
        Err(e) => out.extend(unreadable_output(&[PLAN, SELECTION, COPY], &e)),
        Ok(plan_id) => {
            let (plan, sel) = tokio::join!(
                super::when(r.wants(&[PLAN, COPY]), plan_findings(r, plan_id)),
                super::when(
                    r.wants(&[SELECTION]),
                    selections(r, plan_id, db_arns.as_deref())
                )
            );
            out.extend(plan.into_iter().flatten());
            out.extend(sel.into_iter().flatten());
        }
    }
    // Vault: encryption, lock, recovery points.
    match r.exp.output_str(outputs::BACKUP_VAULT_NAME) {
        Err(e) => out.extend(unreadable_output(&[ENCRYPTED, LOCK, RPO], &e)),
        Ok(vault) => {
            let (v, p) = tokio::join!(
                super::when(r.wants(&[ENCRYPTED, LOCK]), vault_findings(r, vault)),
                super::when(
                    r.wants(&[RPO]),
                    recovery_points(r, vault, db_arns.as_deref())
                )
            );
            out.extend(v.into_iter().flatten());
            out.extend(p.into_iter().flatten());
        }
    }
    out
}

/// The plan and the vault each back two checks, the second of them production-only.
/// When the object cannot be read, both checks say why: Fail when it does not exist,
/// Error when the call failed.
struct Unread {
    action: &'static str,
    expected: &'static str,
    missing: &'static str,
}

impl Unread {
    fn findings<E>(
        &self,
        r: &Run<'_>,
        resource: &str,
        [always, production]: [&str; 2],
        err: &SdkError<E, HttpResponse>,
    ) -> Vec<Finding>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let one = |id| {
            if error_code(err) == Some("ResourceNotFoundException") {
                finding(id, resource, Outcome::Fail, self.expected, self.missing)
            } else {
                super::error(id, resource, "", &call_error(self.action, err))
            }
        };
        vec![
            one(always),
            r.production_only(production, resource, || one(production)),
        ]
    }
}

async fn plan_findings(r: &Run<'_>, plan_id: &str) -> Vec<Finding> {
    let resource = format!(
        "arn:aws:backup:{}:{}:backup-plan:{plan_id}",
        r.region,
        r.account()
    );
    let got = {
        let _p = r.permit("backup").await;
        r.ctx
            .backup(None)
            .get_backup_plan()
            .backup_plan_id(plan_id)
            .send()
            .await
    };
    let out = match got {
        Ok(o) => o,
        Err(e) => {
            let unread = Unread {
                action: "backup:GetBackupPlan",
                expected: "the backup plan exists",
                missing: "no such backup plan",
            };
            return unread.findings(r, &resource, [PLAN, COPY], &e);
        }
    };
    let resource = out.backup_plan_arn().unwrap_or(&resource).to_string();
    let rules: Vec<RuleFacts> = out
        .backup_plan()
        .map(|p| p.rules().iter().map(RuleFacts::from).collect())
        .unwrap_or_default();
    let rpo = r.exp.settings.rpo_target;
    let min_days = r.exp.settings.min_backup_retention_days as i64;

    let mut unknown = Vec::new();
    let mut described = Vec::new();
    let mut ok = false;
    for rule in &rules {
        let interval = schedule_interval(&rule.schedule);
        if interval.is_none() {
            unknown.push(format!("{}: {:?}", rule.name, rule.schedule));
        }
        let keep_ok = rule
            .delete_after_days
            .map(|d| d >= min_days)
            .unwrap_or(true);
        let freq_ok = interval.map(|i| i <= rpo).unwrap_or(false);
        ok |= keep_ok && freq_ok;
        described.push(format!(
            "{}: {} (every {}), keep {}",
            rule.name,
            rule.schedule,
            interval
                .map(|i| format!("{}h", i.as_secs() / 3600))
                .unwrap_or_else(|| "?".into()),
            rule.delete_after_days
                .map(|d| format!("{d}d"))
                .unwrap_or_else(|| "forever".into())
        ));
    }
    let expected = format!(
        "a rule running at least every {}h and keeping at least {min_days}d",
        rpo.as_secs() / 3600
    );
    let outcome = if !ok && !unknown.is_empty() {
        Outcome::Error {
            message: format!(
                "unknown value for ScheduleExpression: {}",
                unknown.join(", ")
            ),
        }
    } else {
        judge(ok)
    };
    let plan = finding(
        PLAN,
        &resource,
        outcome,
        expected,
        format!("rules: {}", list_or_none(&described)),
    );
    let copy = r.production_only(COPY, &resource, || {
        let dests: Vec<&String> = rules
            .iter()
            .flat_map(|r| r.copy_destinations.iter())
            .collect();
        let other: Vec<&&String> = dests
            .iter()
            .filter(|d| region_of(d).is_some_and(|reg| reg != r.region))
            .collect();
        finding(
            COPY,
            &resource,
            judge(!other.is_empty()),
            format!("a copy action to a vault outside {}", r.region),
            format!("copy destinations: {}", list_or_none(&dests)),
        )
    });
    vec![plan, copy]
}

/// A selection's resources, reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SelectionFacts {
    pub name: String,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub tag_based: bool,
}

impl From<&aws_sdk_backup::types::BackupSelection> for SelectionFacts {
    fn from(s: &aws_sdk_backup::types::BackupSelection) -> Self {
        SelectionFacts {
            name: s.selection_name().to_string(),
            resources: s.resources().to_vec(),
            not_resources: s.not_resources().to_vec(),
            tag_based: !s.list_of_tags().is_empty() || s.conditions().is_some(),
        }
    }
}

async fn selections(
    r: &Run<'_>,
    plan_id: &str,
    db_arns: Result<&[String], &OutputError>,
) -> Vec<Finding> {
    let db_arns = match db_arns {
        Ok(arns) => arns,
        Err(e) => return unreadable_output(&[SELECTION], e),
    };
    let fail_all = |m: String| {
        db_arns
            .iter()
            .map(|a| super::error(SELECTION, a, "", &m))
            .collect::<Vec<_>>()
    };
    let client = r.ctx.backup(None);
    let mut ids = Vec::new();
    let mut pages = client
        .list_backup_selections()
        .backup_plan_id(plan_id)
        .into_paginator()
        .send();
    loop {
        let page = {
            let _p = r.permit("backup").await;
            pages.next().await
        };
        match page {
            None => break,
            Some(Ok(p)) => ids.extend(
                p.backup_selections_list()
                    .iter()
                    .filter_map(|s| s.selection_id())
                    .map(str::to_string),
            ),
            Some(Err(e)) => return fail_all(call_error("backup:ListBackupSelections", &e)),
        }
    }
    let mut sels = Vec::new();
    for id in ids {
        let got = {
            let _p = r.permit("backup").await;
            client
                .get_backup_selection()
                .backup_plan_id(plan_id)
                .selection_id(&id)
                .send()
                .await
        };
        match got {
            Ok(o) => sels.push(
                o.backup_selection()
                    .map(SelectionFacts::from)
                    .unwrap_or_default(),
            ),
            Err(e) => return fail_all(call_error("backup:GetBackupSelection", &e)),
        }
    }
    let names: Vec<String> = sels.iter().map(|s| s.name.clone()).collect();
    db_arns
        .iter()
        .map(|db| {
            let covering: Vec<&String> = sels
                .iter()
                .filter(|s| {
                    s.resources.iter().any(|p| glob(p, db))
                        && !s.not_resources.iter().any(|p| glob(p, db))
                })
                .map(|s| &s.name)
                .collect();
            let tag_note = if covering.is_empty() && sels.iter().any(|s| s.tag_based) {
                " (tag-based selections are not evaluated)"
            } else {
                ""
            };
            finding(
                SELECTION,
                db,
                judge(!covering.is_empty()),
                format!("a selection of plan {plan_id} lists {db} (or a matching wildcard)"),
                format!(
                    "selections: {}; covering: {}{tag_note}",
                    list_or_none(&names),
                    list_or_none(&covering)
                ),
            )
        })
        .collect()
}

async fn vault_findings(r: &Run<'_>, vault: &str) -> Vec<Finding> {
    let resource = format!(
        "arn:aws:backup:{}:{}:backup-vault:{vault}",
        r.region,
        r.account()
    );
    let got = {
        let _p = r.permit("backup").await;
        r.ctx
            .backup(None)
            .describe_backup_vault()
            .backup_vault_name(vault)
            .send()
            .await
    };
    let v = match got {
        Ok(v) => v,
        Err(e) => {
            let unread = Unread {
                action: "backup:DescribeBackupVault",
                expected: "the vault exists",
                missing: "no such vault",
            };
            return unread.findings(r, &resource, [ENCRYPTED, LOCK], &e);
        }
    };
    let resource = v.backup_vault_arn().unwrap_or(&resource).to_string();
    let key = v.encryption_key_arn();
    let encrypted = finding(
        ENCRYPTED,
        &resource,
        judge(key.is_some_and(|k| k.starts_with("arn:") && k.contains(":kms:"))),
        "encrypted with a KMS key",
        format!("EncryptionKeyArn: {}", key.unwrap_or("(none)")),
    );
    let lock = r.production_only(LOCK, &resource, || {
        let locked = v.locked().unwrap_or(false);
        finding(
            LOCK,
            &resource,
            judge(locked),
            "vault lock on",
            format!(
                "Locked: {locked}, MinRetentionDays: {}",
                v.min_retention_days()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "(none)".into())
            ),
        )
    });
    vec![encrypted, lock]
}

async fn recovery_points(
    r: &Run<'_>,
    vault: &str,
    db_arns: Result<&[String], &OutputError>,
) -> Vec<Finding> {
    let db_arns = match db_arns {
        Ok(arns) => arns,
        Err(e) => return unreadable_output(&[RPO], e),
    };
    let mut newest: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut unknown_status = Vec::new();
    let client = r.ctx.backup(None);
    let mut pages = client
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .by_resource_type("RDS")
        .into_paginator()
        .send();
    loop {
        let page = {
            let _p = r.permit("backup").await;
            pages.next().await
        };
        match page {
            None => break,
            Some(Ok(p)) => {
                for rp in p.recovery_points() {
                    let status = rp.status().map(|s| s.as_str()).unwrap_or("");
                    if ![
                        "COMPLETED",
                        "PARTIAL",
                        "DELETING",
                        "EXPIRED",
                        "AVAILABLE",
                        "STOPPED",
                        "CREATING",
                    ]
                    .contains(&status)
                    {
                        unknown_status.push(status.to_string());
                        continue;
                    }
                    if !matches!(status, "COMPLETED" | "AVAILABLE") {
                        continue;
                    }
                    let (Some(arn), Some(created)) =
                        (rp.resource_arn(), rp.creation_date().and_then(to_chrono))
                    else {
                        continue;
                    };
                    let e = newest.entry(arn.to_string()).or_insert(created);
                    if created > *e {
                        *e = created;
                    }
                }
            }
            Some(Err(e)) => {
                let m = call_error("backup:ListRecoveryPointsByBackupVault", &e);
                return db_arns
                    .iter()
                    .map(|a| super::error(RPO, a, "", &m))
                    .collect();
            }
        }
    }
    let rpo = r.exp.settings.rpo_target;
    db_arns
        .iter()
        .map(|db| {
            let suffix = db
                .rsplit_once(":db:")
                .map(|(_, id)| format!(":db:{id}"))
                .unwrap_or_default();
            let latest = newest
                .iter()
                .filter(|(arn, _)| arn.ends_with(&suffix))
                .map(|(_, t)| *t)
                .max();
            let expected = format!(
                "a completed recovery point in {vault} younger than {}h",
                rpo.as_secs() / 3600
            );
            match latest {
                None if !unknown_status.is_empty() => super::error(
                    RPO,
                    db,
                    expected,
                    &format!(
                        "unknown value for recovery point Status: {}",
                        unknown_status.join(", ")
                    ),
                ),
                None => finding(
                    RPO,
                    db,
                    Outcome::Fail,
                    expected,
                    "no completed recovery point",
                ),
                Some(t) => {
                    let age = r.now - t;
                    let ok = age.to_std().map(|a| a <= rpo).unwrap_or(true);
                    finding(
                        RPO,
                        db,
                        judge(ok),
                        expected,
                        format!(
                            "newest {} ({}h old)",
                            t.format("%Y-%m-%dT%H:%M:%SZ"),
                            age.num_hours()
                        ),
                    )
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_intervals() {
        let h = |e: &str| schedule_interval(e).map(|d| d.as_secs() / 3600);
        assert_eq!(h("cron(0 5 ? * * *)"), Some(24));
        assert_eq!(h("cron(0 */4 * * ? *)"), Some(4));
        assert_eq!(h("cron(0 1,13 * * ? *)"), Some(12));
        assert_eq!(h("cron(0 5 ? * SUN *)"), Some(168));
        assert_eq!(h("cron(0 5 ? * MON-FRI *)"), Some(72));
        assert_eq!(h("cron(0 5 1 * ? *)"), Some(744));
        assert_eq!(h("rate(12 hours)"), Some(12));
        assert_eq!(h("every day"), None);
    }

    #[test]
    fn globs() {
        assert!(glob("arn:aws:rds:*:*:db:*", "arn:aws:rds:us-east-1:1:db:x"));
        assert!(glob("*", "anything"));
        assert!(!glob(
            "arn:aws:rds:*:*:cluster:*",
            "arn:aws:rds:us-east-1:1:db:x"
        ));
        assert!(glob(
            "arn:aws:rds:us-east-1:1:db:x",
            "arn:aws:rds:us-east-1:1:db:x"
        ));
    }
}
