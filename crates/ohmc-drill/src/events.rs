//! Progress events. The drill reports what it is doing through a callback so
//! the CLI can draw progress bars on a TTY or plain lines otherwise; the
//! library itself never prints.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ledger::ResourceKind;
use crate::report::{CleanupResult, DrillStatus, StepOutcome, Validation};

/// Something that happened during a drill or cleanup, in order. Serializes
/// as `{"event": "step_started", ...}` for JSON-lines progress.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DrillEvent {
    /// The drill has an id (and, unless dry run, a ledger).
    Started {
        drill_id: String,
        ledger_path: Option<String>,
    },
    /// The recovery point chosen for one source.
    RecoveryPointSelected {
        source: String,
        identifier: String,
        created_at: Option<DateTime<Utc>>,
    },
    StepStarted {
        name: String,
        resource: String,
    },
    StepFinished {
        name: String,
        resource: String,
        outcome: StepOutcome,
        detail: Option<String>,
    },
    /// Written to the ledger; the create call comes next.
    LedgerRecorded {
        kind: ResourceKind,
        identifier: String,
        region: String,
    },
    /// The create call for a ledger entry returned.
    ResourceCreated {
        kind: ResourceKind,
        identifier: String,
        region: String,
    },
    /// One poll of a resource that is not available yet.
    Waiting {
        resource: String,
        status: String,
        #[serde(serialize_with = "millis")]
        elapsed: Duration,
        #[serde(serialize_with = "millis")]
        timeout: Duration,
    },
    Validated {
        validation: Validation,
    },
    CleanupStarted {
        drill_id: String,
        entries: usize,
    },
    Cleaned {
        result: CleanupResult,
    },
    Finished {
        status: DrillStatus,
    },
}

/// The callback type: called in order, from the drill's task. Keep it quick;
/// forward to a channel if rendering is slow.
pub type EventSink<'a> = &'a (dyn Fn(&DrillEvent) + Send + Sync);

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// A sink that drops every event.
pub fn no_events(_: &DrillEvent) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_as_tagged_json_lines() {
        let e = DrillEvent::Waiting {
            resource: "drill-x-pg".into(),
            status: "creating".into(),
            elapsed: Duration::from_millis(1500),
            timeout: Duration::from_secs(7200),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"event":"waiting","resource":"drill-x-pg","status":"creating","elapsed":1500,"timeout":7200000}"#
        );
    }
}
