//! `audit merge REPORT.json...`: the JSON reports of `--shard K/N` runs combined into the
//! one report an unsharded run would have written, which every renderer then formats.
//!
//! Targets, findings, target errors and API calls are disjoint between shards and are
//! concatenated (a target in two reports is refused: the shards overlap). Two things are
//! per environment rather than per target, and are reconciled:
//! - an expired waiver's finding is written by every shard holding the environment, and
//!   kept once;
//! - "waiver matches nothing" is only true of the whole run if every shard holding the
//!   environment said so: a waiver that matched a failure in one shard is in use.
//!
//! The run's start is the earliest shard's, its duration runs to the latest shard's end.
//! A shard's baseline diff is dropped: the diff is recomputed over the merged report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::model::{AuditReport, Warning, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: no reports given")]
    Empty,
    #[error("reading {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not an audit JSON report: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{} has schema version {found}; this version reads {SCHEMA_VERSION}", path.display())]
    SchemaVersion { path: PathBuf, found: u64 },
    #[error("{first} and {second} were written by different tool versions ({first_version} and {second_version}); merge shards of one run")]
    Version {
        first: String,
        second: String,
        first_version: String,
        second_version: String,
    },
    #[error("{environment} (account {account}, {region}) is in both {first} and {second}: the shards overlap (same --shard twice, or different N?)")]
    Overlap {
        environment: String,
        account: String,
        region: String,
        first: String,
        second: String,
    },
}

const NO_RESOURCE: &str = "matches no resource";
const NOT_FAILING: &str = "matches only findings that are not failing";

/// Reads one shard's JSON report, refusing another schema version.
pub fn load(path: &Path) -> Result<AuditReport, MergeError> {
    let text = std::fs::read_to_string(path).map_err(|source| MergeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| MergeError::Invalid {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let found = value["schema_version"].as_u64().unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(MergeError::SchemaVersion {
            path: path.to_path_buf(),
            found,
        });
    }
    serde_json::from_value(value).map_err(|e| MergeError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Merges shard reports, each with the name it is reported by (its path).
pub fn merge(reports: Vec<(String, AuditReport)>) -> Result<AuditReport, MergeError> {
    let mut it = reports.into_iter();
    let (first_name, first) = it.next().ok_or(MergeError::Empty)?;
    let mut shards = vec![(first_name, first)];
    shards.extend(it);

    let (name0, r0) = &shards[0];
    for (name, r) in &shards[1..] {
        if r.tool != r0.tool {
            return Err(MergeError::Version {
                first: name0.clone(),
                second: name.clone(),
                first_version: r0.tool.version.clone(),
                second_version: r.tool.version.clone(),
            });
        }
    }

    let mut owner: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for (name, r) in &shards {
        let keys = r
            .targets
            .iter()
            .map(|t| {
                (
                    t.environment.clone(),
                    t.account_id.clone(),
                    t.region.clone(),
                )
            })
            .chain(r.errors.iter().map(|e| {
                (
                    e.environment.clone(),
                    e.account_id.clone(),
                    e.region.clone(),
                )
            }))
            .collect::<BTreeSet<_>>();
        for key in keys {
            if let Some(first) = owner.insert(key.clone(), name.clone()) {
                return Err(MergeError::Overlap {
                    environment: key.0,
                    account: key.1,
                    region: key.2,
                    first,
                    second: name.clone(),
                });
            }
        }
    }

    let started_at = shards.iter().map(|(_, r)| r.started_at).min().unwrap();
    let ended = shards
        .iter()
        .map(|(_, r)| r.started_at + chrono::Duration::milliseconds(r.duration_ms as i64))
        .max()
        .unwrap();
    let warnings = merged_warnings(&shards);
    let mut out = AuditReport {
        schema_version: r0.schema_version,
        tool: r0.tool.clone(),
        started_at,
        duration_ms: (ended - started_at).num_milliseconds().max(0) as u64,
        benchmarks: r0.benchmarks.clone(),
        summary: Default::default(),
        targets: Vec::new(),
        findings: Vec::new(),
        errors: Vec::new(),
        warnings,
        api_calls: BTreeMap::new(),
        api_calls_by_area: BTreeMap::new(),
        baseline: None,
    };
    for (_, r) in shards {
        out.targets.extend(r.targets);
        for f in r.findings {
            // Findings of a target are in one shard only; an environment's own findings
            // (expired waivers, no region) are in each shard holding it.
            if f.region.is_empty() && out.findings.contains(&f) {
                continue;
            }
            out.findings.push(f);
        }
        out.errors.extend(r.errors);
        for (action, n) in r.api_calls {
            *out.api_calls.entry(action).or_insert(0) += n;
        }
        for (area, calls) in r.api_calls_by_area {
            let slot = out.api_calls_by_area.entry(area).or_default();
            for (action, n) in calls {
                *slot.entry(action).or_insert(0) += n;
            }
        }
    }
    out.normalise();
    Ok(out)
}

/// A waiver warning survives when every shard holding its environment gave it.
fn merged_warnings(shards: &[(String, AuditReport)]) -> Vec<Warning> {
    // The warning with its "how it matched nothing" wording taken out: shards can see
    // the same stale waiver differently (no resource here, only passing ones there).
    let key = |w: &Warning| {
        (
            w.environment.clone(),
            w.message.replace(NOT_FAILING, NO_RESOURCE),
        )
    };
    let holding = |env: &str| {
        shards
            .iter()
            .filter(|(_, r)| {
                r.targets.iter().any(|t| t.environment == env)
                    || r.errors.iter().any(|e| e.environment == env)
            })
            .count()
    };
    let mut seen: BTreeMap<(String, String), (usize, bool)> = BTreeMap::new();
    for (_, r) in shards {
        let mine: BTreeSet<_> = r.warnings.iter().collect();
        for w in mine {
            let e = seen.entry(key(w)).or_insert((0, false));
            e.0 += 1;
            e.1 |= w.message.contains(NOT_FAILING);
        }
    }
    seen.into_iter()
        .filter(|((env, _), (n, _))| *n >= holding(env).max(1))
        .map(|((environment, message), (_, not_failing))| Warning {
            environment,
            message: if not_failing {
                message.replace(NO_RESOURCE, NOT_FAILING)
            } else {
                message
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn report(targets: &[(&str, &str)], warnings: &[&str]) -> AuditReport {
        let mut r = AuditReport {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "ohmc-infra".into(),
                version: "1".into(),
            },
            started_at: chrono::DateTime::from_timestamp(1_000, 0).unwrap(),
            duration_ms: 500,
            benchmarks: Benchmarks::default(),
            summary: Summary::default(),
            targets: targets
                .iter()
                .map(|(a, region)| TargetSummary {
                    environment: "staging".into(),
                    account_id: a.to_string(),
                    region: region.to_string(),
                    role_arn: None,
                    summary: Summary::default(),
                    api_calls: BTreeMap::new(),
                    elapsed_ms: 1,
                })
                .collect(),
            findings: Vec::new(),
            errors: Vec::new(),
            warnings: warnings
                .iter()
                .map(|m| Warning {
                    environment: "staging".into(),
                    message: m.to_string(),
                })
                .collect(),
            api_calls: [("sts:GetCallerIdentity".to_string(), 1)].into(),
            api_calls_by_area: BTreeMap::new(),
            baseline: None,
        };
        r.normalise();
        r
    }

    const W: &str =
        "waiver at w.hcl:1 (rds.x arn:*) matches no resource; remove it if the risk is gone";

    #[test]
    fn a_waiver_warning_needs_every_holding_shard() {
        let a = report(&[("1", "us-east-1")], &[W]);
        let b = report(&[("1", "eu-west-1")], &[]);
        let m = merge(vec![("a".into(), a.clone()), ("b".into(), b)]).unwrap();
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let b = report(
            &[("1", "eu-west-1")],
            &[&W.replace(NO_RESOURCE, NOT_FAILING)],
        );
        let m = merge(vec![("a".into(), a), ("b".into(), b)]).unwrap();
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].message.contains(NOT_FAILING));
        assert_eq!(m.api_calls["sts:GetCallerIdentity"], 2);
        assert_eq!(m.targets.len(), 2);
    }

    #[test]
    fn overlapping_shards_are_refused() {
        let a = report(&[("1", "us-east-1")], &[]);
        let err = merge(vec![("a".into(), a.clone()), ("b".into(), a)]).unwrap_err();
        assert!(err.to_string().contains("the shards overlap"), "{err}");
        assert!(matches!(merge(vec![]), Err(MergeError::Empty)));
    }
}
