//! Validation of restored resources against their sources, and the
//! environment's optional validation command.

use std::process::Stdio;

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
use aws_sdk_rds::types::DbInstance;

use crate::config::DrillConfig;
use crate::report::{Validation, ValidationOutcome};

/// Environment variables given to the validation command.
pub mod env {
    pub const ID: &str = "DRILL_ID";
    pub const ENVIRONMENT: &str = "DRILL_ENVIRONMENT";
    pub const REGION: &str = "DRILL_REGION";
    /// First restored RDS instance.
    pub const RDS_INSTANCE: &str = "DRILL_RDS_INSTANCE";
    pub const RDS_HOST: &str = "DRILL_RDS_HOST";
    pub const RDS_PORT: &str = "DRILL_RDS_PORT";
    pub const RDS_ENGINE: &str = "DRILL_RDS_ENGINE";
    /// Every restored instance: space-separated `id=host:port`.
    pub const RDS_INSTANCES: &str = "DRILL_RDS_INSTANCES";
    pub const REDIS_REPLICATION_GROUP: &str = "DRILL_REDIS_REPLICATION_GROUP";
    pub const REDIS_HOST: &str = "DRILL_REDIS_HOST";
    pub const REDIS_PORT: &str = "DRILL_REDIS_PORT";
    /// `true` when the group requires TLS.
    pub const REDIS_TLS: &str = "DRILL_REDIS_TLS";
}

fn check(resource: &str, name: &str, expected: Option<&str>, actual: Option<&str>) -> Validation {
    let outcome = match (expected, actual) {
        (Some(e), Some(a)) if e == a => ValidationOutcome::Passed,
        (Some(_), Some(_)) => ValidationOutcome::Failed,
        _ => ValidationOutcome::Unverified,
    };
    let detail = match (expected, actual) {
        (None, _) => Some("the source does not report it".to_owned()),
        (_, None) => Some("the restored resource does not report it".to_owned()),
        _ => None,
    };
    Validation {
        resource: resource.to_owned(),
        check: name.to_owned(),
        expected: expected.map(str::to_owned),
        actual: actual.map(str::to_owned),
        outcome,
        detail,
    }
}

fn b(v: Option<bool>) -> Option<String> {
    v.map(|v| v.to_string())
}

pub(crate) fn rds(id: &str, source: &DbInstance, restored: &DbInstance) -> Vec<Validation> {
    let pg = |i: &DbInstance| {
        i.db_parameter_groups()
            .first()
            .and_then(|p| p.db_parameter_group_name())
            .map(str::to_owned)
    };
    vec![
        check(
            id,
            "available",
            Some("available"),
            restored.db_instance_status(),
        ),
        check(
            id,
            "encrypted",
            Some("true"),
            b(restored.storage_encrypted()).as_deref(),
        ),
        check(id, "engine", source.engine(), restored.engine()),
        check(
            id,
            "engine_version",
            source.engine_version(),
            restored.engine_version(),
        ),
        check(
            id,
            "parameter_group",
            pg(source).as_deref(),
            pg(restored).as_deref(),
        ),
        check(
            id,
            "deletion_protection",
            Some("false"),
            b(restored.deletion_protection()).as_deref(),
        ),
    ]
}

pub(crate) fn redis(
    id: &str,
    source: &ReplicationGroup,
    restored: &ReplicationGroup,
    member: Option<&CacheCluster>,
    expected_version: Option<&str>,
    expected_parameter_group: Option<&str>,
) -> Vec<Validation> {
    let mut out = vec![
        check(id, "available", Some("available"), restored.status()),
        check(
            id,
            "encrypted_at_rest",
            Some("true"),
            b(restored.at_rest_encryption_enabled()).as_deref(),
        ),
        check(
            id,
            "encrypted_in_transit",
            b(source.transit_encryption_enabled()).as_deref(),
            b(restored.transit_encryption_enabled()).as_deref(),
        ),
        check(
            id,
            "engine_version",
            expected_version,
            member.and_then(|m| m.engine_version()),
        ),
        check(
            id,
            "parameter_group",
            expected_parameter_group,
            member
                .and_then(|m| m.cache_parameter_group())
                .and_then(|p| p.cache_parameter_group_name()),
        ),
    ];
    if member.is_none() {
        let first = restored
            .member_clusters()
            .first()
            .map(String::as_str)
            .unwrap_or("(none listed)");
        for v in out
            .iter_mut()
            .filter(|v| v.check == "engine_version" || v.check == "parameter_group")
        {
            v.detail = Some(format!(
                "DescribeCacheClusters did not return member cluster {first}"
            ));
        }
    }
    out
}

/// What the validation command is told about the restore.
#[derive(Debug, Default)]
pub(crate) struct CommandTarget {
    pub rds: Vec<(String, DbInstance)>,
    pub redis: Option<(String, ReplicationGroup)>,
}

pub(crate) fn command_env(
    drill_id: &str,
    config: &DrillConfig,
    region: &str,
    t: &CommandTarget,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        (env::ID, drill_id.to_owned()),
        (env::ENVIRONMENT, config.environment.clone()),
        (env::REGION, region.to_owned()),
    ];
    let endpoint = |i: &DbInstance| {
        let e = i.endpoint();
        (
            e.and_then(|e| e.address()).unwrap_or_default().to_owned(),
            e.and_then(|e| e.port()).unwrap_or_default(),
        )
    };
    if let Some((id, inst)) = t.rds.first() {
        let (host, port) = endpoint(inst);
        vars.push((env::RDS_INSTANCE, id.clone()));
        vars.push((env::RDS_HOST, host));
        vars.push((env::RDS_PORT, port.to_string()));
        vars.push((
            env::RDS_ENGINE,
            inst.engine().unwrap_or_default().to_owned(),
        ));
    }
    if !t.rds.is_empty() {
        let all: Vec<String> = t
            .rds
            .iter()
            .map(|(id, i)| {
                let (h, p) = endpoint(i);
                format!("{id}={h}:{p}")
            })
            .collect();
        vars.push((env::RDS_INSTANCES, all.join(" ")));
    }
    if let Some((id, g)) = &t.redis {
        let ep = g
            .configuration_endpoint()
            .or_else(|| g.node_groups().first().and_then(|n| n.primary_endpoint()));
        vars.push((env::REDIS_REPLICATION_GROUP, id.clone()));
        vars.push((
            env::REDIS_HOST,
            ep.and_then(|e| e.address()).unwrap_or_default().to_owned(),
        ));
        vars.push((
            env::REDIS_PORT,
            ep.and_then(|e| e.port()).unwrap_or_default().to_string(),
        ));
        vars.push((
            env::REDIS_TLS,
            g.transit_encryption_enabled().unwrap_or(false).to_string(),
        ));
    }
    vars
}

/// Run `sh -c <cmd>` with the `DRILL_*` variables; exit 0 passes. Output is
/// drained concurrently and the tail kept. The command runs in its own
/// process group; if the drill is cancelled or times out (this future is
/// dropped) the whole group is killed, so a probe's children do not outlive
/// the drill. SIGKILL at once is fine here: a read-only probe holds no locks.
pub(crate) async fn run_command(
    cmd: &str,
    drill_id: &str,
    config: &DrillConfig,
    region: &str,
    target: &CommandTarget,
) -> Validation {
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(cmd)
        .envs(command_env(drill_id, config, region, target))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let output = match command.spawn() {
        Ok(child) => {
            let mut group = GroupGuard(child.id());
            let out = child.wait_with_output().await;
            group.0 = None; // finished on its own
            out
        }
        Err(e) => Err(e),
    };
    let (outcome, actual, detail) = match output {
        Ok(out) => {
            let tail = tail(&out.stderr).or_else(|| tail(&out.stdout));
            let code = out
                .status
                .code()
                .map(|c| format!("exit {c}"))
                .unwrap_or_else(|| "killed by a signal".into());
            let outcome = if out.status.success() {
                ValidationOutcome::Passed
            } else {
                ValidationOutcome::Failed
            };
            (outcome, Some(code), tail)
        }
        Err(e) => (
            ValidationOutcome::Failed,
            None,
            Some(format!("could not run sh: {e}")),
        ),
    };
    Validation {
        resource: cmd.to_owned(),
        check: "validation_command".to_owned(),
        expected: Some("exit 0".to_owned()),
        actual,
        outcome,
        detail,
    }
}

/// Kills the process group it names when dropped before being disarmed.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self
            .0
            .and_then(|p| i32::try_from(p).ok())
            .filter(|p| *p > 1)
        {
            // SAFETY: killpg only sends a signal; an already-gone group is ESRCH, ignored.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

fn tail(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    (!lines.is_empty()).then(|| lines[lines.len().saturating_sub(10)..].join("\n"))
}
