//! GuardDuty: the detector is enabled with the expected finding frequency (GuardDuty.1),
//! EKS audit-log and RDS login protection are on (GuardDuty.5, GuardDuty.9), and there
//! are no active HIGH findings.

use super::{call_error, error_code, finding, judge, list_or_none, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};
use std::collections::BTreeMap;

pub(crate) const ENABLED: &str = "guardduty.detector_enabled";
pub(crate) const FEATURES: &str = "guardduty.protection_features";
pub(crate) const HIGH: &str = "guardduty.no_high_findings";

/// A detector, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DetectorFacts {
    pub status: String,
    pub frequency: Option<String>,
    /// Feature name -> status (`ENABLED`/`DISABLED`).
    pub features: BTreeMap<String, String>,
}

impl From<&aws_sdk_guardduty::operation::get_detector::GetDetectorOutput> for DetectorFacts {
    fn from(d: &aws_sdk_guardduty::operation::get_detector::GetDetectorOutput) -> Self {
        let mut features = BTreeMap::new();
        // The features list is authoritative (the DataSources field is deprecated).
        for f in d.features() {
            if let (Some(n), Some(s)) = (f.name(), f.status()) {
                features.insert(n.as_str().to_string(), s.as_str().to_string());
            }
        }
        DetectorFacts {
            status: d
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            frequency: d
                .finding_publishing_frequency()
                .map(|f| f.as_str().to_string()),
            features,
        }
    }
}

/// Features the platform needs: EKS audit logs (GuardDuty.5) and RDS login events (GuardDuty.9).
pub(crate) const REQUIRED_FEATURES: [&str; 2] = ["EKS_AUDIT_LOGS", "RDS_LOGIN_EVENTS"];

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let id = match r.exp.output_str(outputs::GUARDDUTY_DETECTOR_ID) {
        Ok(id) => id,
        Err(e) => return unreadable_output(&[ENABLED, FEATURES, HIGH], &e),
    };
    let resource = format!(
        "arn:aws:guardduty:{}:{}:detector/{id}",
        r.region,
        r.account()
    );
    let (d, h) = tokio::join!(
        super::when(r.wants(&[ENABLED, FEATURES]), detector(r, id, &resource)),
        super::when(r.wants(&[HIGH]), high_findings(r, id, &resource))
    );
    let mut out = d.unwrap_or_default();
    out.extend(h);
    out
}

async fn detector(r: &Run<'_>, id: &str, resource: &str) -> Vec<Finding> {
    let got = {
        let _p = r.permit("guardduty").await;
        r.ctx
            .guardduty(None)
            .get_detector()
            .detector_id(id)
            .send()
            .await
    };
    let d = match got {
        Ok(o) => DetectorFacts::from(&o),
        Err(e)
            if matches!(error_code(&e), Some("BadRequestException"))
                && e.raw_response().is_some_and(|r| r.status().as_u16() == 400) =>
        {
            // GuardDuty answers an unknown detector id with 400 BadRequestException.
            return vec![
                finding(
                    ENABLED,
                    resource,
                    Outcome::Fail,
                    "the detector exists",
                    format!("detector {id} not found"),
                ),
                finding(
                    FEATURES,
                    resource,
                    Outcome::Fail,
                    "the detector exists",
                    format!("detector {id} not found"),
                ),
            ];
        }
        Err(e) => {
            let m = call_error("guardduty:GetDetector", &e);
            return vec![
                super::error(ENABLED, resource, "", &m),
                super::error(FEATURES, resource, "", &m),
            ];
        }
    };
    let want = r.exp.settings.guardduty_finding_frequency.as_deref();
    let known = ["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];
    let freq = d.frequency.clone().unwrap_or_else(|| "(none)".into());
    let expected = format!(
        "ENABLED{}",
        want.map(|w| format!(", publishing every {w}"))
            .unwrap_or_default()
    );
    let observed = format!("{}, frequency {freq}", d.status);
    let enabled = if !["ENABLED", "DISABLED"].contains(&d.status.as_str()) {
        super::error(
            ENABLED,
            resource,
            expected,
            &format!("unknown value {:?} for detector Status", d.status),
        )
    } else if d.frequency.as_deref().is_some_and(|f| !known.contains(&f)) {
        super::error(
            ENABLED,
            resource,
            expected,
            &format!("unknown value {freq:?} for FindingPublishingFrequency"),
        )
    } else {
        finding(
            ENABLED,
            resource,
            judge(d.status == "ENABLED" && (want.is_none() || want == d.frequency.as_deref())),
            expected,
            observed,
        )
    };
    let states: Vec<String> = REQUIRED_FEATURES
        .iter()
        .map(|f| {
            format!(
                "{f}={}",
                d.features.get(*f).map(String::as_str).unwrap_or("absent")
            )
        })
        .collect();
    let off: Vec<&str> = REQUIRED_FEATURES
        .iter()
        .copied()
        .filter(|f| d.features.get(*f).map(String::as_str) != Some("ENABLED"))
        .collect();
    let features = finding(
        FEATURES,
        resource,
        judge(off.is_empty()),
        format!("{} ENABLED", REQUIRED_FEATURES.join(" and ")),
        states.join(", "),
    );
    vec![enabled, features]
}

async fn high_findings(r: &Run<'_>, id: &str, resource: &str) -> Finding {
    use aws_sdk_guardduty::types::{Condition, FindingCriteria};
    let expected = "no active (unarchived) finding with severity >= 7";
    let criteria = FindingCriteria::builder()
        .criterion(
            "severity",
            Condition::builder().greater_than_or_equal(7).build(),
        )
        .criterion(
            "service.archived",
            Condition::builder().equals("false").build(),
        )
        .build();
    let client = r.ctx.guardduty(None);
    let mut ids = Vec::new();
    let mut pages = client
        .list_findings()
        .detector_id(id)
        .finding_criteria(criteria)
        .into_paginator()
        .send();
    loop {
        let page = {
            let _p = r.permit("guardduty").await;
            pages.next().await
        };
        match page {
            None => break,
            Some(Ok(p)) => ids.extend(p.finding_ids().iter().cloned()),
            Some(Err(e)) => {
                return super::error(
                    HIGH,
                    resource,
                    expected,
                    &call_error("guardduty:ListFindings", &e),
                )
            }
        }
    }
    if ids.is_empty() {
        return finding(HIGH, resource, Outcome::Pass, expected, "0 findings");
    }
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    for chunk in ids.chunks(50) {
        let got = {
            let _p = r.permit("guardduty").await;
            client
                .get_findings()
                .detector_id(id)
                .set_finding_ids(Some(chunk.to_vec()))
                .send()
                .await
        };
        match got {
            Ok(o) => {
                for f in o.findings() {
                    *types
                        .entry(f.r#type().unwrap_or("(unknown type)").to_string())
                        .or_insert(0) += 1;
                }
            }
            Err(e) => {
                return super::error(
                    HIGH,
                    resource,
                    expected,
                    &call_error("guardduty:GetFindings", &e),
                )
            }
        }
    }
    let list: Vec<String> = types.iter().map(|(t, n)| format!("{t} x{n}")).collect();
    finding(
        HIGH,
        resource,
        Outcome::Fail,
        expected,
        format!("{} findings: {}", ids.len(), list_or_none(&list)),
    )
}
