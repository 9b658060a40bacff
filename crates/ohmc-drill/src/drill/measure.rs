//! The verdict: status and reasons, RTO and RPO against their targets.

use super::{Ended, Run};
use crate::config::Unverifiable;
use crate::report::{DrillStatus, Objective, ValidationOutcome};

impl Run<'_> {
    pub(super) fn judge(&self, ended: &Ended) -> (DrillStatus, Vec<String>) {
        let mut reasons = Vec::new();
        let status = match ended {
            Ended::Cancelled => {
                reasons.push("cancelled before the drill finished".to_owned());
                DrillStatus::Cancelled
            }
            Ended::Failed(e) => {
                reasons.push(e.clone());
                DrillStatus::Error
            }
            Ended::TimedOut => {
                reasons.push(format!(
                    "timed out after {} before the restore was validated: RTO target {} breached",
                    fmt_ms(self.config.timeout.as_millis() as u64),
                    fmt_ms(self.config.rto_target.as_millis() as u64),
                ));
                DrillStatus::Breached
            }
            Ended::Done if self.config.dry_run => DrillStatus::Planned,
            Ended::Done => {
                let strict = self.config.unverifiable == Unverifiable::Fail;
                let mut failed = false;
                for v in &self.validations {
                    let bad = v.outcome == ValidationOutcome::Failed
                        || (strict && v.outcome == ValidationOutcome::Unverified);
                    if bad {
                        failed = true;
                        reasons.push(format!(
                            "validation {} of {} {}: expected {}, got {}{}",
                            v.check,
                            v.resource,
                            if v.outcome == ValidationOutcome::Failed {
                                "failed"
                            } else {
                                "could not be verified"
                            },
                            v.expected.as_deref().unwrap_or("-"),
                            v.actual.as_deref().unwrap_or("-"),
                            v.detail
                                .as_deref()
                                .map(|d| format!(" ({d})"))
                                .unwrap_or_default(),
                        ));
                    }
                }
                let mut breached = false;
                for (name, o) in [("RTO", self.rto()), ("RPO", self.rpo())] {
                    match o.met {
                        Some(false) => {
                            breached = true;
                            reasons.push(format!(
                                "{name} target breached: {} measured, target {} ({})",
                                fmt_ms(o.measured_ms.unwrap_or_default()),
                                fmt_ms(o.target_ms),
                                o.detail
                            ));
                        }
                        None if strict => {
                            failed = true;
                            reasons.push(format!("{name} could not be measured: {}", o.detail));
                        }
                        _ => {}
                    }
                }
                if failed {
                    DrillStatus::ValidationFailed
                } else if breached {
                    DrillStatus::Breached
                } else {
                    DrillStatus::Met
                }
            }
        };
        (status, reasons)
    }

    pub(super) fn rto(&self) -> Objective {
        let target_ms = self.config.rto_target.as_millis() as u64;
        match self.validated_at {
            Some(t) if !self.config.dry_run => {
                let ms = (t - self.started).num_milliseconds().max(0) as u64;
                Objective {
                    measured_ms: Some(ms),
                    target_ms,
                    met: Some(ms <= target_ms),
                    detail: "drill start to restore validated".into(),
                }
            }
            _ => Objective {
                measured_ms: None,
                target_ms,
                met: None,
                detail: if self.config.dry_run {
                    "not measured in a dry run".into()
                } else {
                    "the restore was not validated".into()
                },
            },
        }
    }

    pub(super) fn rpo(&self) -> Objective {
        let target_ms = self.config.rpo_target.as_millis() as u64;
        let unknown: Vec<&str> = self
            .recovery_points
            .iter()
            .filter(|p| p.created_at.is_none())
            .map(|p| p.identifier.as_str())
            .collect();
        let oldest = self
            .recovery_points
            .iter()
            .filter_map(|p| p.created_at.map(|t| (t, p)))
            .min_by_key(|(t, _)| *t);
        let strict = self.config.unverifiable == Unverifiable::Fail;
        let unknown_note = if unknown.is_empty() {
            String::new()
        } else {
            format!("creation time not reported for {}", unknown.join(", "))
        };
        match oldest {
            Some((t, p)) if unknown.is_empty() || !strict => {
                let ms = (self.started - t).num_milliseconds().max(0) as u64;
                let mut detail = format!(
                    "drill start minus creation of {} ({})",
                    p.identifier,
                    t.to_rfc3339()
                );
                if !unknown_note.is_empty() {
                    detail.push_str(&format!("; unverified: {unknown_note}"));
                }
                Objective {
                    measured_ms: Some(ms),
                    target_ms,
                    met: Some(ms <= target_ms),
                    detail,
                }
            }
            _ => Objective {
                measured_ms: None,
                target_ms,
                met: None,
                detail: if unknown_note.is_empty() {
                    "no recovery point was selected".into()
                } else {
                    unknown_note
                },
            },
        }
    }
}

/// A duration as the environment files write them: `250ms`, `1m 30s`, `24h`, `7d`.
pub(crate) fn fmt_ms(ms: u64) -> String {
    const DAY: u64 = 86_400_000;
    if ms >= 2 * DAY && ms / DAY * DAY == ms {
        return format!("{}d", ms / DAY);
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, rest) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(format!("{h}h"));
    }
    if m > 0 {
        parts.push(format!("{m}m"));
    }
    if s > 0 || rest > 0 {
        // Sub-second precision only matters for short durations.
        if h == 0 && m == 0 && rest > 0 {
            parts.push(format!(
                "{}s",
                format!("{s}.{rest:03}").trim_end_matches('0')
            ));
        } else if s > 0 {
            parts.push(format!("{s}s"));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::fmt_ms;

    #[test]
    fn durations_read_like_the_environment_files() {
        assert_eq!(fmt_ms(934), "934ms");
        assert_eq!(fmt_ms(1_500), "1.5s");
        assert_eq!(fmt_ms(90_000), "1m 30s");
        assert_eq!(fmt_ms(3_600_000), "1h");
        assert_eq!(fmt_ms(86_400_000), "24h");
        assert_eq!(fmt_ms(7 * 86_400_000), "7d");
        assert_eq!(fmt_ms(3_723_456), "1h 2m 3s");
    }
}
