//! One module per subcommand: each turns its arguments into an options struct,
//! calls one operation, and renders the result. No logic that another command
//! could need lives here.

pub mod apply;
pub mod audit;
pub mod bootstrap;
pub mod drift;
pub mod drill;
pub mod envs;
pub mod output;
pub mod plan;
pub mod verify;

use ohmc_terraform::lock::LockStatus;

/// A short human sentence about a stack's lock after an interrupted run.
pub fn describe_lock(lock: &LockStatus) -> String {
    match lock {
        LockStatus::Released => "state lock released".into(),
        LockStatus::Held { info, force_unlock } => format!(
            "state lock STILL HELD by {} (ID {}, operation {}, created {}); if that process is gone, release it with: {}",
            info.who,
            info.id,
            info.operation,
            info.created,
            force_unlock
                .clone()
                .unwrap_or_else(|| format!("terraform force-unlock -force {}", info.id))
        ),
        LockStatus::Unknown { reason } => format!("state lock status unknown: {reason}"),
    }
}

pub fn lock_json(lock: &LockStatus) -> serde_json::Value {
    serde_json::to_value(lock).unwrap_or(serde_json::Value::Null)
}

/// The schema version of every `--format json` document this binary prints.
pub const JSON_SCHEMA_VERSION: u32 = 1;
