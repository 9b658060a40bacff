//! DNS: the hosted zone holds the expected names, they alias this environment's ALB, and
//! no record points at a load balancer or bucket that no longer exists (takeover risk).

use super::{call_error, finding, judge, list_or_none, skipped, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};
use std::collections::BTreeSet;
use tokio::sync::oneshot;

pub(crate) const EXISTS: &str = "dns.expected_records_exist";
pub(crate) const ALIAS: &str = "dns.alias_targets_alb";
pub(crate) const DANGLING: &str = "dns.no_dangling_records";

/// One record set, reduced to what the checks look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub name: String,
    pub rtype: String,
    /// Alias target DNS name, or CNAME value.
    pub alias: Option<String>,
    pub cname: Option<String>,
}

impl From<&aws_sdk_route53::types::ResourceRecordSet> for Record {
    fn from(r: &aws_sdk_route53::types::ResourceRecordSet) -> Self {
        let rtype = r.r#type().as_str().to_string();
        let cname = if rtype == "CNAME" {
            r.resource_records().first().map(|v| v.value().to_string())
        } else {
            None
        };
        Record {
            name: normalise(r.name()),
            rtype,
            alias: r.alias_target().map(|a| a.dns_name().to_string()),
            cname,
        }
    }
}

/// Lower case, no trailing dot, no `dualstack.` prefix, `\052` as `*`.
pub(crate) fn normalise(name: &str) -> String {
    let n = name
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .replace("\\052", "*");
    n.strip_prefix("dualstack.")
        .map(str::to_string)
        .unwrap_or(n)
}

fn zone_id(raw: &str) -> String {
    raw.trim().trim_start_matches("/hostedzone/").to_string()
}

fn record_resource(zone: &str, name: &str) -> String {
    format!(
        "arn:aws:route53:::hostedzone/{zone}/recordset/{}",
        normalise(name)
    )
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let raw_zone = match r.exp.output_str(outputs::HOSTED_ZONE_ID) {
        Ok(z) => z,
        Err(e) => return unreadable_output(&[EXISTS, ALIAS, DANGLING], &e),
    };
    let zone = zone_id(raw_zone);
    let zone_arn = format!("arn:aws:route53:::hostedzone/{zone}");
    let domains: Vec<String> = r
        .exp
        .settings
        .domain_names
        .iter()
        .map(|d| normalise(d))
        .collect();

    // The load balancers (or buckets) a record may point at are listed as soon as the
    // first page naming one arrives, beside the remaining pages rather than after them;
    // when no record names one, they are not listed at all.
    let (want_lbs, lbs_wanted) = oneshot::channel::<()>();
    let (want_buckets, buckets_wanted) = oneshot::channel::<()>();
    let lbs = async {
        match lbs_wanted.await {
            Ok(()) => Some(list_load_balancers(r).await),
            Err(_) => None,
        }
    };
    let buckets = async {
        match buckets_wanted.await {
            Ok(()) => Some(list_buckets(r).await),
            Err(_) => None,
        }
    };
    let (records, lbs, buckets) = tokio::join!(
        list_records(r, &zone, Some(want_lbs), Some(want_buckets)),
        lbs,
        buckets
    );
    let records = match records {
        Ok(records) => records,
        Err(message) => {
            let mut out = Vec::new();
            for d in &domains {
                out.push(super::error(
                    EXISTS,
                    &record_resource(&zone, d),
                    "record exists",
                    &message,
                ));
                out.push(super::error(
                    ALIAS,
                    &record_resource(&zone, d),
                    "alias to the ALB",
                    &message,
                ));
            }
            out.push(super::error(
                DANGLING,
                &zone_arn,
                "no dangling records",
                &message,
            ));
            return out;
        }
    };

    let mut out = Vec::new();
    if domains.is_empty() {
        out.push(skipped(EXISTS, &zone_arn, "verify.domain_names is empty"));
        out.push(skipped(ALIAS, &zone_arn, "verify.domain_names is empty"));
    }
    let alb = r.exp.output_str(outputs::ALB_DNS_NAME).map(normalise);
    for d in &domains {
        let resource = record_resource(&zone, d);
        let found: Vec<&Record> = records
            .iter()
            .filter(|rec| &rec.name == d && matches!(rec.rtype.as_str(), "A" | "AAAA" | "CNAME"))
            .collect();
        let types: Vec<String> = found.iter().map(|r| r.rtype.clone()).collect();
        out.push(finding(
            EXISTS,
            &resource,
            judge(!found.is_empty()),
            format!("an A, AAAA or CNAME record for {d}"),
            if found.is_empty() {
                "no such record".to_string()
            } else {
                format!("records: {}", list_or_none(&types))
            },
        ));
        match &alb {
            Err(e) => out.push(super::unreadable_output_one(ALIAS, &resource, e)),
            Ok(alb) => {
                let targets: Vec<String> = found
                    .iter()
                    .map(|r| {
                        normalise(
                            r.alias
                                .as_deref()
                                .or(r.cname.as_deref())
                                .unwrap_or("(plain record)"),
                        )
                    })
                    .collect();
                let ok = !targets.is_empty() && targets.iter().all(|t| t == alb);
                out.push(finding(
                    ALIAS,
                    &resource,
                    judge(ok),
                    format!("alias to {alb}"),
                    format!("targets: {}", list_or_none(&targets)),
                ));
            }
        }
    }

    out.push(dangling(&zone_arn, &records, lbs, buckets));
    out
}

/// Every record of the zone. `want_lbs` / `want_buckets` are signalled on the first
/// record that targets a load balancer / bucket (and dropped at the end otherwise).
async fn list_records(
    r: &Run<'_>,
    zone: &str,
    mut want_lbs: Option<oneshot::Sender<()>>,
    mut want_buckets: Option<oneshot::Sender<()>>,
) -> Result<Vec<Record>, String> {
    let client = r.ctx.route53(None);
    let mut records = Vec::new();
    let mut next: Option<(String, aws_sdk_route53::types::RrType, Option<String>)> = None;
    // ListResourceRecordSets has no SDK paginator: follow NextRecordName/Type/Identifier.
    loop {
        let mut req = client.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, rtype, ident)) = next.take() {
            req = req
                .start_record_name(name)
                .start_record_type(rtype)
                .set_start_record_identifier(ident);
        }
        let page = {
            let _p = r.permit("route53").await;
            req.send()
                .await
                .map_err(|e| call_error("route53:ListResourceRecordSets", &e))?
        };
        let first = records.len();
        records.extend(page.resource_record_sets().iter().map(Record::from));
        for rec in &records[first..] {
            let want = match target_of(rec) {
                Some(Target::LoadBalancer(_)) => &mut want_lbs,
                Some(Target::Bucket(_)) => &mut want_buckets,
                None => continue,
            };
            if let Some(tx) = want.take() {
                let _ = tx.send(());
            }
        }
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(name), Some(rtype)) => {
                next = Some((
                    name.to_string(),
                    rtype.clone(),
                    page.next_record_identifier().map(str::to_string),
                ))
            }
            _ => break,
        }
    }
    Ok(records)
}

/// What a record points at that could dangle.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    LoadBalancer(String),
    Bucket(String),
}

/// Classifies a record's alias/CNAME target: an ELB host name or an S3 bucket.
pub(crate) fn target_of(rec: &Record) -> Option<Target> {
    let t = normalise(rec.alias.as_deref().or(rec.cname.as_deref())?);
    if t.ends_with(".elb.amazonaws.com") {
        return Some(Target::LoadBalancer(t));
    }
    if t.ends_with(".amazonaws.com") {
        // Alias to an S3 website endpoint: the bucket is named after the record.
        if t.starts_with("s3-website") {
            return Some(Target::Bucket(rec.name.clone()));
        }
        for marker in [".s3-website-", ".s3-website.", ".s3.", ".s3-"] {
            if let Some(i) = t.find(marker) {
                return Some(Target::Bucket(t[..i].to_string()));
            }
        }
    }
    None
}

/// Every load balancer's DNS name (normalised), every page.
async fn list_load_balancers(r: &Run<'_>) -> Result<BTreeSet<String>, String> {
    let client = r.ctx.elbv2(None);
    let mut pages = client.describe_load_balancers().into_paginator().send();
    let mut lbs = BTreeSet::new();
    loop {
        let page = {
            let _p = r.permit("elasticloadbalancing").await;
            pages.next().await
        };
        match page {
            None => return Ok(lbs),
            Some(Ok(p)) => lbs.extend(
                p.load_balancers()
                    .iter()
                    .filter_map(|lb| lb.dns_name())
                    .map(normalise),
            ),
            Some(Err(e)) => {
                return Err(call_error("elasticloadbalancing:DescribeLoadBalancers", &e))
            }
        }
    }
}

/// Every bucket name (lower case), every page.
async fn list_buckets(r: &Run<'_>) -> Result<BTreeSet<String>, String> {
    let client = r.ctx.s3(None);
    let mut pages = client.list_buckets().into_paginator().send();
    let mut buckets = BTreeSet::new();
    loop {
        let page = {
            let _p = r.permit("s3").await;
            pages.next().await
        };
        match page {
            None => return Ok(buckets),
            Some(Ok(p)) => buckets.extend(
                p.buckets()
                    .iter()
                    .filter_map(|b| b.name())
                    .map(|n| n.to_ascii_lowercase()),
            ),
            Some(Err(e)) => return Err(call_error("s3:ListBuckets", &e)),
        }
    }
}

/// Judges the records' ELB/S3 targets against the listings (`None`: not listed, because
/// no record needed it).
fn dangling(
    zone_arn: &str,
    records: &[Record],
    lbs: Option<Result<BTreeSet<String>, String>>,
    buckets: Option<Result<BTreeSet<String>, String>>,
) -> Finding {
    let targets: Vec<(&Record, Target)> = records
        .iter()
        .filter_map(|rec| target_of(rec).map(|t| (rec, t)))
        .collect();
    let expected = "every ELB/S3 alias or CNAME target exists in this account";
    let lbs = match lbs.unwrap_or(Ok(BTreeSet::new())) {
        Ok(lbs) => lbs,
        Err(m) => return super::error(DANGLING, zone_arn, expected, &m),
    };
    let buckets = match buckets.unwrap_or(Ok(BTreeSet::new())) {
        Ok(b) => b,
        Err(m) => return super::error(DANGLING, zone_arn, expected, &m),
    };
    let mut dangling: Vec<String> = targets
        .iter()
        .filter(|(_, t)| match t {
            Target::LoadBalancer(h) => !lbs.contains(h),
            Target::Bucket(b) => !buckets.contains(b),
        })
        .map(|(rec, t)| match t {
            Target::LoadBalancer(h) => format!("{} {} -> load balancer {h}", rec.name, rec.rtype),
            Target::Bucket(b) => format!("{} {} -> bucket {b}", rec.name, rec.rtype),
        })
        .collect();
    dangling.sort();
    let observed = if dangling.is_empty() {
        format!("{} ELB/S3 targets, all present", targets.len())
    } else {
        format!("dangling: {}", dangling.join("; "))
    };
    finding(
        DANGLING,
        zone_arn,
        if dangling.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        expected,
        observed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, alias: Option<&str>, cname: Option<&str>) -> Record {
        Record {
            name: normalise(name),
            rtype: "A".into(),
            alias: alias.map(Into::into),
            cname: cname.map(Into::into),
        }
    }

    #[test]
    fn normalises_case_dot_and_dualstack() {
        assert_eq!(
            normalise("DualStack.My-ALB-1.us-east-1.ELB.amazonaws.com."),
            "my-alb-1.us-east-1.elb.amazonaws.com"
        );
        assert_eq!(normalise("\\052.example.com."), "*.example.com");
    }

    #[test]
    fn classifies_targets() {
        assert_eq!(
            target_of(&rec(
                "a.example.com",
                Some("dualstack.x-1.us-east-1.elb.amazonaws.com."),
                None
            )),
            Some(Target::LoadBalancer(
                "x-1.us-east-1.elb.amazonaws.com".into()
            ))
        );
        assert_eq!(
            target_of(&rec(
                "static.example.com",
                Some("s3-website-us-east-1.amazonaws.com."),
                None
            )),
            Some(Target::Bucket("static.example.com".into()))
        );
        assert_eq!(
            target_of(&rec(
                "cdn.example.com",
                None,
                Some("old-assets.s3.amazonaws.com")
            )),
            Some(Target::Bucket("old-assets".into()))
        );
        assert_eq!(
            target_of(&rec(
                "w.example.com",
                None,
                Some("my-site.s3-website.eu-west-1.amazonaws.com")
            )),
            Some(Target::Bucket("my-site".into()))
        );
        assert_eq!(
            target_of(&rec("x.example.com", None, Some("example.org"))),
            None
        );
    }
}
