//! AWS Config: the recorder records everything including global resources and is on
//! (Config.1), a delivery channel exists, and the required rules exist and report
//! compliance.

use super::{call_error, error_code, finding, judge, list_or_none, skipped, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};
use std::collections::BTreeMap;

pub(crate) const RECORDER: &str = "config.recorder_all_resources";
pub(crate) const CHANNEL: &str = "config.delivery_channel";
pub(crate) const RULES: &str = "config.required_rules_exist";
pub(crate) const COMPLIANCE: &str = "config.rule_compliance_reported";

/// A recorder with its status, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecorderFacts {
    pub name: String,
    pub all_supported: bool,
    pub include_global: bool,
    pub recording: bool,
}

impl From<&aws_sdk_config::types::ConfigurationRecorder> for RecorderFacts {
    fn from(r: &aws_sdk_config::types::ConfigurationRecorder) -> Self {
        let group = r.recording_group();
        RecorderFacts {
            name: r.name().unwrap_or("").to_string(),
            all_supported: group.map(|g| g.all_supported()).unwrap_or(false),
            include_global: group
                .map(|g| g.include_global_resource_types())
                .unwrap_or(false),
            recording: false,
        }
    }
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let (a, b, c) = tokio::join!(
        super::when(r.wants(&[RECORDER]), recorder(r)),
        super::when(r.wants(&[CHANNEL]), channel(r)),
        super::when(r.wants(&[RULES, COMPLIANCE]), rules(r))
    );
    let mut out = a.unwrap_or_default();
    out.extend(b);
    out.extend(c.into_iter().flatten());
    out
}

fn recorder_arn(r: &Run<'_>, name: &str) -> String {
    format!(
        "arn:aws:config:{}:{}:configuration-recorder/{name}",
        r.region,
        r.account()
    )
}

async fn recorder(r: &Run<'_>) -> Vec<Finding> {
    let name = match r.exp.output_str(outputs::CONFIG_RECORDER_NAME) {
        Ok(name) => name,
        Err(e) => return super::unreadable_output(&[RECORDER], &e),
    };
    let resource = recorder_arn(r, name);
    let expected = "recording all supported resources including global types";
    let client = r.ctx.config(None);
    let got = {
        let _p = r.permit("config").await;
        client
            .describe_configuration_recorders()
            .configuration_recorder_names(name)
            .send()
            .await
    };
    let facts = match got {
        Ok(o) => match o.configuration_recorders().first() {
            Some(rec) => RecorderFacts::from(rec),
            None => {
                return vec![finding(
                    RECORDER,
                    &resource,
                    Outcome::Fail,
                    expected,
                    "no such recorder",
                )]
            }
        },
        Err(e) if error_code(&e) == Some("NoSuchConfigurationRecorderException") => {
            return vec![finding(
                RECORDER,
                &resource,
                Outcome::Fail,
                expected,
                "no such recorder",
            )]
        }
        Err(e) => {
            return vec![super::error(
                RECORDER,
                &resource,
                expected,
                &call_error("config:DescribeConfigurationRecorders", &e),
            )]
        }
    };
    judge_recorder(r, &resource, facts).await
}

/// Judges a described recorder, after asking whether it is recording. Discovery judges
/// each listed recorder here without describing it again.
pub(crate) async fn judge_recorder(
    r: &Run<'_>,
    resource: &str,
    mut facts: RecorderFacts,
) -> Vec<Finding> {
    let expected = "recording all supported resources including global types";
    let name = facts.name.clone();
    let got = {
        let _p = r.permit("config").await;
        r.ctx
            .config(None)
            .describe_configuration_recorder_status()
            .configuration_recorder_names(name)
            .send()
            .await
    };
    match got {
        Ok(o) => {
            facts.recording = o
                .configuration_recorders_status()
                .first()
                .map(|s| s.recording())
                .unwrap_or(false)
        }
        Err(e) => {
            return vec![super::error(
                RECORDER,
                resource,
                expected,
                &call_error("config:DescribeConfigurationRecorderStatus", &e),
            )]
        }
    }
    vec![finding(
        RECORDER,
        resource,
        judge(facts.all_supported && facts.include_global && facts.recording),
        expected,
        format!(
            "allSupported: {}, includeGlobalResourceTypes: {}, recording: {}",
            facts.all_supported, facts.include_global, facts.recording
        ),
    )]
}

async fn channel(r: &Run<'_>) -> Finding {
    let resource = format!(
        "arn:aws:config:{}:{}:delivery-channel",
        r.region,
        r.account()
    );
    let expected = "a delivery channel";
    let got = {
        let _p = r.permit("config").await;
        r.ctx.config(None).describe_delivery_channels().send().await
    };
    match got {
        Ok(o) => {
            let names: Vec<String> = o
                .delivery_channels()
                .iter()
                .filter_map(|c| c.name())
                .map(str::to_string)
                .collect();
            let buckets: Vec<String> = o
                .delivery_channels()
                .iter()
                .filter_map(|c| c.s3_bucket_name())
                .map(str::to_string)
                .collect();
            finding(
                CHANNEL,
                &resource,
                judge(!names.is_empty()),
                expected,
                format!(
                    "channels: {}; buckets: {}",
                    list_or_none(&names),
                    list_or_none(&buckets)
                ),
            )
        }
        Err(e) => super::error(
            CHANNEL,
            &resource,
            expected,
            &call_error("config:DescribeDeliveryChannels", &e),
        ),
    }
}

fn rule_resource(r: &Run<'_>, name: &str) -> String {
    format!(
        "arn:aws:config:{}:{}:config-rule/{name}",
        r.region,
        r.account()
    )
}

async fn rules(r: &Run<'_>) -> Vec<Finding> {
    let required = &r.exp.settings.required_config_rules;
    let acct = format!("arn:aws:config:{}:{}:config-rule", r.region, r.account());
    if required.is_empty() {
        return vec![
            skipped(RULES, &acct, "verify.required_config_rules is empty"),
            skipped(COMPLIANCE, &acct, "verify.required_config_rules is empty"),
        ];
    }
    let client = r.ctx.config(None);
    let mut existing: BTreeMap<String, String> = BTreeMap::new();
    let mut pages = client.describe_config_rules().into_paginator().send();
    loop {
        let page = {
            let _p = r.permit("config").await;
            pages.next().await
        };
        match page {
            None => break,
            Some(Ok(p)) => {
                for rule in p.config_rules() {
                    if let Some(n) = rule.config_rule_name() {
                        existing.insert(
                            n.to_string(),
                            rule.config_rule_arn().unwrap_or("").to_string(),
                        );
                    }
                }
            }
            Some(Err(e)) => {
                let m = call_error("config:DescribeConfigRules", &e);
                return required
                    .iter()
                    .flat_map(|n| {
                        let res = rule_resource(r, n);
                        [
                            super::error(RULES, &res, "", &m),
                            super::error(COMPLIANCE, &res, "", &m),
                        ]
                    })
                    .collect();
            }
        }
    }
    let mut out = Vec::new();
    let present: Vec<String> = required
        .iter()
        .filter(|n| existing.contains_key(*n))
        .cloned()
        .collect();
    for name in required {
        out.push(finding(
            RULES,
            rule_resource(r, name),
            judge(existing.contains_key(name)),
            format!("Config rule {name} exists"),
            if existing.contains_key(name) {
                "present".to_string()
            } else {
                "no such rule".to_string()
            },
        ));
    }
    for name in required.iter().filter(|n| !existing.contains_key(*n)) {
        out.push(skipped(
            COMPLIANCE,
            &rule_resource(r, name),
            "the rule does not exist (see config.required_rules_exist)",
        ));
    }
    if present.is_empty() {
        return out;
    }
    let mut compliance: BTreeMap<String, String> = BTreeMap::new();
    let mut pages = client
        .describe_compliance_by_config_rule()
        .set_config_rule_names(Some(present.clone()))
        .into_paginator()
        .send();
    loop {
        let page = {
            let _p = r.permit("config").await;
            pages.next().await
        };
        match page {
            None => break,
            Some(Ok(p)) => {
                for c in p.compliance_by_config_rules() {
                    let kind = c
                        .compliance()
                        .and_then(|c| c.compliance_type())
                        .map(|t| t.as_str().to_string());
                    if let (Some(n), Some(k)) = (c.config_rule_name(), kind) {
                        compliance.insert(n.to_string(), k);
                    }
                }
            }
            Some(Err(e)) => {
                let m = call_error("config:DescribeComplianceByConfigRule", &e);
                out.extend(
                    present
                        .iter()
                        .map(|n| super::error(COMPLIANCE, &rule_resource(r, n), "", &m)),
                );
                return out;
            }
        }
    }
    for name in &present {
        let expected = "compliance reported as COMPLIANT";
        let res = rule_resource(r, name);
        let f = match compliance.get(name).map(String::as_str) {
            Some("COMPLIANT") => finding(COMPLIANCE, res, Outcome::Pass, expected, "COMPLIANT"),
            Some(k @ ("NON_COMPLIANT" | "INSUFFICIENT_DATA" | "NOT_APPLICABLE")) => {
                finding(COMPLIANCE, res, Outcome::Fail, expected, k)
            }
            Some(other) => super::error(
                COMPLIANCE,
                &res,
                expected,
                &format!("unknown value {other:?} for ComplianceType"),
            ),
            None => finding(
                COMPLIANCE,
                res,
                Outcome::Fail,
                expected,
                "no compliance reported",
            ),
        };
        out.push(f);
    }
    out
}
