//! What a plan will do, in the shape a reviewer reads: counts, every
//! destructive address, drift, and output changes with sensitive values masked.

use ohmc_terraform::events::UiEvent;
use ohmc_terraform::plan::{Action, PlanDocument, ResourceChange, KNOWN_AFTER_APPLY};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub address: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The address a `moved` block takes the object from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// The id an `import` block imports (`"(known after apply)"` when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputLine {
    pub name: String,
    pub action: String,
    /// Redacted by the plan's sensitivity masks.
    pub value: serde_json::Value,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub changes: Vec<ChangeLine>,
    pub destructive: Vec<String>,
    pub drift: Vec<ChangeLine>,
    pub outputs: Vec<OutputLine>,
    /// Changes Terraform put off to a later plan; `reason` says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<ChangeLine>,
    /// What the streaming UI reported as a change in a shape this version
    /// cannot read (a newer Terraform): shown, never dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecognised: Vec<String>,
}

impl ChangeLine {
    fn of(rc: &ResourceChange, action: &str) -> ChangeLine {
        ChangeLine {
            address: rc.address.clone(),
            action: action.into(),
            reason: rc.action_reason.clone(),
            moved_from: rc.previous_address.clone(),
            import_id: rc.change.importing.as_ref().map(|i| {
                i.id.clone()
                    .filter(|_| !i.unknown)
                    .unwrap_or_else(|| KNOWN_AFTER_APPLY.into())
            }),
        }
    }
}

impl PlanSummary {
    /// Builds the summary from the saved plan and the streaming events of the
    /// plan run (Terraform 1.0.3 reports drift only in the stream).
    pub fn from_plan(doc: &PlanDocument, events: &[UiEvent]) -> PlanSummary {
        let mut s = PlanSummary::default();
        for (rc, action) in doc.effective_changes() {
            match action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::NoOp | Action::Read | Action::Forget => {}
            }
            if action.is_destructive() {
                s.destructive.push(rc.address.clone());
            }
            s.changes.push(ChangeLine::of(rc, action.as_str()));
        }
        // A move or an import with nothing else to do is a no-op to Terraform,
        // but it changes what state tracks: a reviewer sees it.
        for rc in &doc.resource_changes {
            if rc.change.action() == Some(Action::NoOp)
                && (rc.previous_address.is_some() || rc.change.importing.is_some())
            {
                let action = if rc.change.importing.is_some() {
                    "import"
                } else {
                    "move"
                };
                s.changes.push(ChangeLine::of(rc, action));
            }
        }
        s.changes.sort_by(|a, b| a.address.cmp(&b.address));
        s.deferred = doc
            .deferred_changes
            .iter()
            .map(|d| {
                let mut line = ChangeLine::of(
                    &d.resource_change,
                    d.resource_change
                        .change
                        .action()
                        .map_or("unknown", Action::as_str),
                );
                line.reason = Some(d.reason.clone());
                line
            })
            .collect();
        for e in events {
            match e {
                UiEvent::DeferredChange { change, reason }
                    if !s.deferred.iter().any(|d| d.address == change.resource.addr) =>
                {
                    s.deferred.push(ChangeLine {
                        address: change.resource.addr.clone(),
                        action: change.action.clone(),
                        reason: Some(reason.clone()),
                        moved_from: None,
                        import_id: None,
                    })
                }
                UiEvent::Unrecognised { kind, addr } => s.unrecognised.push(match addr {
                    Some(addr) => format!("{kind}: {addr}"),
                    None => kind.clone(),
                }),
                _ => {}
            }
        }
        let mut drift: Vec<ChangeLine> = doc
            .resource_drift
            .iter()
            .filter_map(|rc| {
                rc.change.action().map(|a| ChangeLine {
                    reason: None,
                    ..ChangeLine::of(rc, a.as_str())
                })
            })
            .collect();
        for e in events {
            if let UiEvent::ResourceDrift(c) = e {
                if !drift.iter().any(|d| d.address == c.resource.addr) {
                    drift.push(ChangeLine {
                        address: c.resource.addr.clone(),
                        action: c.action.clone(),
                        reason: None,
                        moved_from: None,
                        import_id: None,
                    });
                }
            }
        }
        drift.sort_by(|a, b| a.address.cmp(&b.address));
        s.drift = drift;
        for (name, change) in &doc.output_changes {
            let Some(action) = change.action() else {
                continue;
            };
            if matches!(action, Action::NoOp) {
                continue;
            }
            s.outputs.push(OutputLine {
                name: name.clone(),
                action: action.as_str().into(),
                value: change.redacted_after(),
                sensitive: change.is_sensitive(),
            });
        }
        s
    }

    /// Whether a reviewer has something beyond outputs to look at.
    pub fn has_resource_changes(&self) -> bool {
        self.create + self.update + self.replace + self.delete > 0
    }
}
