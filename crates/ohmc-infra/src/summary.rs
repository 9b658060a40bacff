//! What a plan will do, in the shape a reviewer reads: counts, every
//! destructive address, drift, and output changes with sensitive values masked.

use ohmc_terraform::events::UiEvent;
use ohmc_terraform::plan::{Action, PlanDocument};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub address: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
                Action::NoOp | Action::Read => {}
            }
            if action.is_destructive() {
                s.destructive.push(rc.address.clone());
            }
            s.changes.push(ChangeLine {
                address: rc.address.clone(),
                action: action.as_str().into(),
                reason: rc.action_reason.clone(),
            });
        }
        let mut drift: Vec<ChangeLine> = doc
            .resource_drift
            .iter()
            .filter_map(|rc| {
                rc.change.action().map(|a| ChangeLine {
                    address: rc.address.clone(),
                    action: a.as_str().into(),
                    reason: None,
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

    pub fn has_resource_changes(&self) -> bool {
        self.create + self.update + self.replace + self.delete > 0
    }
}
