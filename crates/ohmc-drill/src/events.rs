//! Progress events. The drill reports what it is doing through a callback so
//! the CLI can draw progress bars on a TTY or plain lines otherwise; the
//! library itself never prints.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::ledger::ResourceKind;
use crate::report::{CleanupResult, DrillStatus, StepOutcome, Validation};

/// Something that happened during a drill or cleanup, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillEvent {
    /// The drill has an id (and, unless dry run, a ledger).
    Started { drill_id: String, ledger_path: Option<String> },
    /// The recovery point chosen for one source.
    RecoveryPointSelected { source: String, identifier: String, created_at: Option<DateTime<Utc>> },
    StepStarted { name: String, resource: String },
    StepFinished { name: String, resource: String, outcome: StepOutcome, detail: Option<String> },
    /// Written to the ledger; the create call comes next.
    LedgerRecorded { kind: ResourceKind, identifier: String, region: String },
    /// The create call for a ledger entry returned.
    ResourceCreated { kind: ResourceKind, identifier: String, region: String },
    /// One poll of a resource that is not available yet.
    Waiting { resource: String, status: String, elapsed: Duration, timeout: Duration },
    Validated(Validation),
    CleanupStarted { drill_id: String, entries: usize },
    Cleaned(CleanupResult),
    Finished { status: DrillStatus },
}

/// The callback type: called in order, from the drill's task. Keep it quick;
/// forward to a channel if rendering is slow.
pub type EventSink<'a> = &'a (dyn Fn(&DrillEvent) + Send + Sync);

/// A sink that drops every event.
pub fn no_events(_: &DrillEvent) {}
