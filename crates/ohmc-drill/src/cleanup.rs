//! Cleanup from the ledger.
//!
//! A resource is deleted only when it is listed in the drill's ledger AND,
//! read back from AWS at cleanup time, carries `ohmc:drill-id=<that drill id>`.
//! A resource with the right name but no tag, or another drill's tag, is
//! refused and reported; nothing outside the ledger is ever looked at.

use std::path::Path;

use chrono::Utc;

use crate::aws::DrillClients;
use crate::error::{AwsFailure, DrillError};
use crate::events::{DrillEvent, EventSink};
use crate::id::DRILL_TAG_KEY;
use crate::ledger::{EntryState, Ledger, LedgerEntry, ResourceKind};
use crate::report::{CleanupOutcome, CleanupReport, CleanupResult};
use crate::{rds, redis, s3};

/// Finish (or redo) the cleanup of drill `drill_id` from its ledger under
/// `state_dir`. Safe to run any number of times; ignores `keep_for`.
pub async fn cleanup(
    clients: &DrillClients,
    state_dir: &Path,
    drill_id: &str,
    events: EventSink<'_>,
) -> Result<CleanupReport, DrillError> {
    let started_at = Utc::now();
    let mut ledger = Ledger::open(state_dir, drill_id)?;
    let results = cleanup_ledger(clients, &mut ledger, events).await?;
    Ok(CleanupReport {
        drill_id: drill_id.to_owned(),
        started_at,
        ended_at: Utc::now(),
        results,
    })
}

/// Drills whose ledgers still list resources that may exist, oldest first:
/// what `ohmc-infra dr-drill cleanup` without an id should offer.
pub fn pending_drills(state_dir: &Path) -> Result<Vec<Ledger>, DrillError> {
    Ok(Ledger::list(state_dir)?
        .into_iter()
        .filter(Ledger::has_pending)
        .collect())
}

pub(crate) async fn cleanup_ledger(
    clients: &DrillClients,
    ledger: &mut Ledger,
    events: EventSink<'_>,
) -> Result<Vec<CleanupResult>, DrillError> {
    let drill_id = ledger.drill_id().to_owned();
    events(&DrillEvent::CleanupStarted {
        drill_id: drill_id.clone(),
        entries: ledger.entries().len(),
    });
    let mut results = Vec::new();
    // Newest first: instances go before the snapshot copies they came from.
    for index in (0..ledger.entries().len()).rev() {
        let entry = ledger.entries()[index].clone();
        let (outcome, detail) = match clean_one(clients, &drill_id, &entry).await {
            Ok(x) => x,
            Err(f) => (CleanupOutcome::Failed, Some(f.to_string())),
        };
        let state = match outcome {
            CleanupOutcome::Deleted | CleanupOutcome::NotFound => Some(EntryState::Deleted),
            CleanupOutcome::DeletionRequested => Some(EntryState::DeletionRequested),
            CleanupOutcome::Refused => Some(EntryState::Refused),
            CleanupOutcome::Failed | CleanupOutcome::Kept => None,
        };
        if let Some(state) = state {
            ledger.set_state(index, state, None)?;
        }
        let result = CleanupResult {
            kind: entry.kind,
            identifier: entry.identifier.clone(),
            region: entry.region.clone(),
            outcome,
            detail,
        };
        events(&DrillEvent::Cleaned {
            result: result.clone(),
        });
        results.push(result);
    }
    Ok(results)
}

/// Why a resource is not ours, or `None` when its tags say it is.
fn refusal(drill_id: &str, tags: &[(String, String)]) -> Option<String> {
    match tags.iter().find(|(k, _)| k == DRILL_TAG_KEY) {
        Some((_, v)) if v == drill_id => None,
        Some((_, v)) => Some(format!(
            "tag {DRILL_TAG_KEY} is {v:?}, not {drill_id:?}: not this drill's resource"
        )),
        None => Some(format!(
            "no {DRILL_TAG_KEY} tag: not a drill resource, left alone"
        )),
    }
}

type Outcome = (CleanupOutcome, Option<String>);

async fn clean_one(
    clients: &DrillClients,
    drill_id: &str,
    e: &LedgerEntry,
) -> Result<Outcome, AwsFailure> {
    if e.drill_id != drill_id {
        return Ok((
            CleanupOutcome::Refused,
            Some(format!("ledger entry belongs to drill {}", e.drill_id)),
        ));
    }
    let id = e.identifier.as_str();
    match e.kind {
        ResourceKind::RdsInstance => {
            let c = clients.rds_in(&e.region);
            let Some(inst) = rds::describe_instance(c, id).await? else {
                return Ok((CleanupOutcome::NotFound, None));
            };
            let arn = inst.db_instance_arn().unwrap_or_default();
            if let Some(why) = refusal(drill_id, &rds::list_tags(c, arn).await?) {
                return Ok((CleanupOutcome::Refused, Some(why)));
            }
            if inst.db_instance_status() != Some("deleting") {
                if inst.deletion_protection() == Some(true) {
                    rds::disable_deletion_protection(c, id).await?;
                }
                rds::delete_instance(c, id).await?;
            }
            Ok(gone_or_going(
                rds::describe_instance(c, id).await?.is_none(),
            ))
        }
        ResourceKind::RdsSnapshot => {
            let c = clients.rds_in(&e.region);
            let Some(snap) = rds::describe_snapshot(c, id).await? else {
                return Ok((CleanupOutcome::NotFound, None));
            };
            let arn = snap.db_snapshot_arn().unwrap_or_default();
            if let Some(why) = refusal(drill_id, &rds::list_tags(c, arn).await?) {
                return Ok((CleanupOutcome::Refused, Some(why)));
            }
            if snap.status() != Some("deleting") {
                rds::delete_snapshot(c, id).await?;
            }
            Ok(gone_or_going(
                rds::describe_snapshot(c, id).await?.is_none(),
            ))
        }
        ResourceKind::RedisReplicationGroup => {
            let c = clients.elasticache_in(&e.region);
            let Some(group) = redis::describe_group(c, id).await? else {
                return Ok((CleanupOutcome::NotFound, None));
            };
            let arn = group.arn().unwrap_or_default();
            if let Some(why) = refusal(drill_id, &redis::list_tags(c, arn).await?) {
                return Ok((CleanupOutcome::Refused, Some(why)));
            }
            if group.status() != Some("deleting") {
                redis::delete_group(c, id).await?;
            }
            Ok(gone_or_going(redis::describe_group(c, id).await?.is_none()))
        }
        ResourceKind::S3Object => {
            let c = clients.s3_in(&e.region);
            let Some((bucket, key)) = s3::split_url(id) else {
                return Ok(bad_url(id));
            };
            if !s3::exists(c, bucket, key).await? {
                return Ok((CleanupOutcome::NotFound, None));
            }
            if let Some(why) = refusal(drill_id, &s3::tags(c, bucket, key).await?) {
                return Ok((CleanupOutcome::Refused, Some(why)));
            }
            s3::delete(c, bucket, key).await?;
            Ok(gone_or_going(!s3::exists(c, bucket, key).await?))
        }
        ResourceKind::RedisExport => {
            // ElastiCache chose the object names under the drill's unique
            // prefix; each one is still deleted only if it carries the tag.
            let c = clients.s3_in(&e.region);
            let Some((bucket, prefix)) = s3::split_url(id) else {
                return Ok(bad_url(id));
            };
            let keys = s3::list_prefix(c, bucket, prefix).await?;
            if keys.is_empty() {
                return Ok((CleanupOutcome::NotFound, None));
            }
            let mut refused = Vec::new();
            for key in &keys {
                match refusal(drill_id, &s3::tags(c, bucket, key).await?) {
                    Some(why) => refused.push(format!("{key}: {why}")),
                    None => s3::delete(c, bucket, key).await?,
                }
            }
            if refused.is_empty() {
                Ok((
                    CleanupOutcome::Deleted,
                    Some(format!("{} object(s)", keys.len())),
                ))
            } else {
                Ok((CleanupOutcome::Refused, Some(refused.join("; "))))
            }
        }
    }
}

fn bad_url(id: &str) -> Outcome {
    (
        CleanupOutcome::Failed,
        Some(format!("{id:?} is not an s3://bucket/key location")),
    )
}

fn gone_or_going(gone: bool) -> Outcome {
    if gone {
        (CleanupOutcome::Deleted, None)
    } else {
        (
            CleanupOutcome::DeletionRequested,
            Some("delete accepted; the service is still removing it".to_owned()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn only_the_exact_drill_tag_is_ours() {
        let t = |v: &str| vec![("ohmc:drill-id".to_owned(), v.to_owned())];
        assert!(refusal("drill-a-1", &t("drill-a-1")).is_none());
        assert!(refusal("drill-a-1", &t("drill-a-10")).is_some());
        assert!(refusal("drill-a-1", &t("")).is_some());
        assert!(refusal("drill-a-1", &[("Name".into(), "drill-a-1".into())]).is_some());
    }
}
