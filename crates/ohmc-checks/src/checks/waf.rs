//! WAF: the stack's web ACL is associated with the ALB (ELB.16), has rules (WAF.10), the
//! required AWS managed rule groups and a rate-based rule, CloudWatch metrics (WAF.12) and
//! logging. Discovery judges the association from the other side: every application load
//! balancer it finds must be protected by some web ACL.

use super::{
    call_error, error_code, finding, judge, list_or_none, skipped, unreadable_output, Run,
};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};

pub(crate) const ASSOCIATED: &str = "waf.web_acl_associated";
pub(crate) const HAS_RULES: &str = "waf.web_acl_has_rules";
pub(crate) const MANAGED: &str = "waf.managed_rule_groups";
pub(crate) const RATE: &str = "waf.rate_based_rule";
pub(crate) const METRICS: &str = "waf.cloudwatch_metrics";
pub(crate) const LOGGING: &str = "waf.logging_enabled";

/// The parts of a WAFv2 web ACL ARN needed to call GetWebACL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AclId {
    pub scope: aws_sdk_wafv2::types::Scope,
    pub name: String,
    pub id: String,
}

/// Parses `arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID` (or `global/...`).
pub(crate) fn parse_acl_arn(arn: &str) -> Option<AclId> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let parts: Vec<&str> = resource.split('/').collect();
    match parts.as_slice() {
        [scope, "webacl", name, id] => Some(AclId {
            scope: match *scope {
                "regional" => aws_sdk_wafv2::types::Scope::Regional,
                "global" => aws_sdk_wafv2::types::Scope::Cloudfront,
                _ => return None,
            },
            name: name.to_string(),
            id: id.to_string(),
        }),
        _ => None,
    }
}

/// A rule, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleFacts {
    pub name: String,
    pub managed_group: Option<(String, String)>,
    pub rate_based: bool,
    pub metrics: bool,
}

/// A web ACL, reduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AclFacts {
    pub rules: Vec<RuleFacts>,
    pub metrics: bool,
}

impl From<&aws_sdk_wafv2::types::Rule> for RuleFacts {
    fn from(rule: &aws_sdk_wafv2::types::Rule) -> Self {
        let st = rule.statement();
        RuleFacts {
            name: rule.name().to_string(),
            managed_group: st
                .and_then(|s| s.managed_rule_group_statement())
                .map(|m| (m.vendor_name().to_string(), m.name().to_string())),
            rate_based: st
                .map(|s| s.rate_based_statement().is_some())
                .unwrap_or(false),
            metrics: rule
                .visibility_config()
                .map(|v| v.cloud_watch_metrics_enabled())
                .unwrap_or(false),
        }
    }
}

impl From<&aws_sdk_wafv2::types::WebAcl> for AclFacts {
    fn from(acl: &aws_sdk_wafv2::types::WebAcl) -> Self {
        AclFacts {
            rules: acl.rules().iter().map(RuleFacts::from).collect(),
            metrics: acl
                .visibility_config()
                .map(|v| v.cloud_watch_metrics_enabled())
                .unwrap_or(false),
        }
    }
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let all = [ASSOCIATED, HAS_RULES, MANAGED, RATE, METRICS, LOGGING];
    let arn = match r.exp.output_str(outputs::WEB_ACL_ARN) {
        Ok(arn) => arn,
        Err(e) => return unreadable_output(&all, &e),
    };
    let Some(id) = parse_acl_arn(arn) else {
        let m = format!("unknown value {arn:?} for the web ACL ARN (expected arn:aws:wafv2:REGION:ACCOUNT:regional/webacl/NAME/ID)");
        let mut out = vec![associated(r, arn).await];
        out.extend(all[1..].iter().map(|id| super::error(id, arn, "", &m)));
        return out;
    };
    // The association, the ACL and its logging configuration need only the ARN: all
    // three in flight at once rather than one after another.
    let get_acl = async {
        let _p = r.permit("wafv2").await;
        r.ctx
            .wafv2(None)
            .get_web_acl()
            .scope(id.scope.clone())
            .name(&id.name)
            .id(&id.id)
            .send()
            .await
    };
    let (assoc, got, log) = tokio::join!(
        super::when(r.wants(&[ASSOCIATED]), associated(r, arn)),
        super::when(r.wants(&[HAS_RULES, MANAGED, RATE, METRICS]), get_acl),
        super::when(r.wants(&[LOGGING]), logging(r, arn))
    );
    let mut out: Vec<Finding> = assoc.into_iter().collect();
    let Some(got) = got else {
        out.extend(log);
        return out;
    };
    let acl =
        match got {
            Ok(o) => match o.web_acl() {
                Some(acl) => AclFacts::from(acl),
                None => {
                    out.extend(all[1..5].iter().map(|id| {
                        super::error(id, arn, "", "wafv2:GetWebACL returned no web ACL")
                    }));
                    out.extend(log);
                    return out;
                }
            },
            Err(e) => {
                if error_code(&e) == Some("WAFNonexistentItemException") {
                    // No such ACL: every check says so, logging included (its answer is moot).
                    out.extend(all[1..].iter().map(|id| {
                        finding(
                            id,
                            arn,
                            Outcome::Fail,
                            "the web ACL exists",
                            "no such web ACL",
                        )
                    }));
                    return out;
                }
                let m = call_error("wafv2:GetWebACL", &e);
                out.extend(all[1..5].iter().map(|id| super::error(id, arn, "", &m)));
                out.extend(log);
                return out;
            }
        };

    let names: Vec<String> = acl.rules.iter().map(|r| r.name.clone()).collect();
    out.push(finding(
        HAS_RULES,
        arn,
        judge(!acl.rules.is_empty()),
        "at least one rule",
        format!("rules: {}", list_or_none(&names)),
    ));

    let required = &r.exp.settings.required_waf_rule_groups;
    if required.is_empty() {
        out.push(skipped(
            MANAGED,
            arn,
            "verify.required_waf_rule_groups is empty",
        ));
    } else {
        let present: Vec<String> = acl
            .rules
            .iter()
            .filter_map(|r| r.managed_group.as_ref())
            .filter(|(vendor, _)| vendor == "AWS")
            .map(|(_, name)| name.clone())
            .collect();
        let missing: Vec<&String> = required.iter().filter(|g| !present.contains(g)).collect();
        out.push(finding(
            MANAGED,
            arn,
            judge(missing.is_empty()),
            format!("AWS managed groups {}", list_or_none(required)),
            format!(
                "present: {}; missing: {}",
                list_or_none(&present),
                list_or_none(&missing)
            ),
        ));
    }

    let rate: Vec<String> = acl
        .rules
        .iter()
        .filter(|r| r.rate_based)
        .map(|r| r.name.clone())
        .collect();
    out.push(finding(
        RATE,
        arn,
        judge(!rate.is_empty()),
        "a rate-based rule",
        format!("rate-based rules: {}", list_or_none(&rate)),
    ));

    let without: Vec<String> = acl
        .rules
        .iter()
        .filter(|r| !r.metrics)
        .map(|r| r.name.clone())
        .collect();
    out.push(finding(
        METRICS,
        arn,
        judge(acl.metrics && without.is_empty()),
        "CloudWatch metrics on the web ACL and every rule",
        format!(
            "web ACL metrics {}; rules without metrics: {}",
            if acl.metrics { "on" } else { "off" },
            list_or_none(&without)
        ),
    ));

    out.extend(log);
    out
}

async fn associated(r: &Run<'_>, arn: &str) -> Finding {
    let alb = match r.exp.output_str(outputs::ALB_ARN) {
        Ok(alb) => alb,
        Err(e) => return super::unreadable_output_one(ASSOCIATED, arn, &e),
    };
    association(r, alb, Some(arn), arn).await
}

/// Whether a load balancer is protected by a web ACL: by `expected` (the stack's ACL),
/// or with `None` (a load balancer discovery found, whose ACL no stack names) by any.
/// The finding names `resource`: the stack's ACL, or the discovered load balancer.
pub(crate) async fn association(
    r: &Run<'_>,
    alb: &str,
    expected_acl: Option<&str>,
    resource: &str,
) -> Finding {
    let expected = match expected_acl {
        Some(acl) => format!("{alb} is protected by {acl}"),
        None => format!("{alb} is protected by a web ACL"),
    };
    let got = {
        let _p = r.permit("wafv2").await;
        r.ctx
            .wafv2(None)
            .get_web_acl_for_resource()
            .resource_arn(alb)
            .send()
            .await
    };
    match got {
        Ok(o) => {
            let actual = o.web_acl().map(|a| a.arn().to_string());
            let ok = match expected_acl {
                Some(acl) => actual.as_deref() == Some(acl),
                None => actual.is_some(),
            };
            finding(
                ASSOCIATED,
                resource,
                judge(ok),
                expected,
                match actual {
                    Some(a) => format!("associated web ACL: {a}"),
                    None => "no web ACL associated".into(),
                },
            )
        }
        Err(e) if error_code(&e) == Some("WAFNonexistentItemException") => finding(
            ASSOCIATED,
            resource,
            Outcome::Fail,
            expected,
            "no web ACL associated (or no such load balancer)",
        ),
        Err(e) => super::error(
            ASSOCIATED,
            resource,
            expected,
            &call_error("wafv2:GetWebACLForResource", &e),
        ),
    }
}

async fn logging(r: &Run<'_>, arn: &str) -> Finding {
    let expected = "a logging configuration with a destination";
    let got = {
        let _p = r.permit("wafv2").await;
        r.ctx
            .wafv2(None)
            .get_logging_configuration()
            .resource_arn(arn)
            .send()
            .await
    };
    match got {
        Ok(o) => {
            let dest: Vec<String> = o
                .logging_configuration()
                .map(|l| l.log_destination_configs().to_vec())
                .unwrap_or_default();
            finding(
                LOGGING,
                arn,
                judge(!dest.is_empty()),
                expected,
                format!("destinations: {}", list_or_none(&dest)),
            )
        }
        // The one error that means "not configured" rather than "could not tell".
        Err(e) if error_code(&e) == Some("WAFNonexistentItemException") => finding(
            LOGGING,
            arn,
            Outcome::Fail,
            expected,
            "no logging configuration",
        ),
        Err(e) => super::error(
            LOGGING,
            arn,
            expected,
            &call_error("wafv2:GetLoggingConfiguration", &e),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_acl_arns() {
        let id = parse_acl_arn("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/ohmc/abc-123")
            .unwrap();
        assert_eq!(id.name, "ohmc");
        assert_eq!(id.id, "abc-123");
        assert_eq!(id.scope, aws_sdk_wafv2::types::Scope::Regional);
        assert!(parse_acl_arn("arn:aws:wafv2:us-east-1:1:regional/ipset/x/y").is_none());
    }
}
