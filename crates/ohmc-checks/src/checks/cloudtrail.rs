//! CloudTrail: the stack's trail is multi-region and logging management events
//! (CloudTrail.1), KMS-encrypted (CloudTrail.2), validates log files (CloudTrail.4),
//! delivers to CloudWatch Logs (CloudTrail.5), and its bucket blocks public access.

use super::{call_error, error_code, finding, judge, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};

pub(crate) const LOGGING: &str = "cloudtrail.multi_region_logging";
pub(crate) const KMS: &str = "cloudtrail.kms_encrypted";
pub(crate) const VALIDATION: &str = "cloudtrail.log_file_validation";
pub(crate) const CW: &str = "cloudtrail.cloudwatch_logs";
pub(crate) const BUCKET: &str = "cloudtrail.bucket_public_access_blocked";
/// The checks of one trail (the account-level CloudTrail.1 check is discovery's).
pub(crate) const TRAIL_CHECKS: [&str; 5] = [LOGGING, KMS, VALIDATION, CW, BUCKET];

/// A trail, reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrailFacts {
    pub arn: String,
    pub multi_region: bool,
    pub kms_key: Option<String>,
    pub validation: bool,
    pub log_group: Option<String>,
    pub bucket: Option<String>,
}

impl From<&aws_sdk_cloudtrail::types::Trail> for TrailFacts {
    fn from(t: &aws_sdk_cloudtrail::types::Trail) -> Self {
        TrailFacts {
            arn: t.trail_arn().unwrap_or("").to_string(),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            kms_key: t.kms_key_id().filter(|k| !k.is_empty()).map(str::to_string),
            validation: t.log_file_validation_enabled().unwrap_or(false),
            log_group: t
                .cloud_watch_logs_log_group_arn()
                .filter(|k| !k.is_empty())
                .map(str::to_string),
            bucket: t.s3_bucket_name().map(str::to_string),
        }
    }
}

/// Whether the event selectors include read and write management events. No selectors
/// at all is CloudTrail's default: all management events.
pub(crate) fn management_events(
    out: &aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput,
) -> bool {
    let basic = out.event_selectors();
    let advanced = out.advanced_event_selectors();
    if basic.is_empty() && advanced.is_empty() {
        return true;
    }
    let basic_ok = basic.iter().any(|s| {
        s.include_management_events().unwrap_or(true)
            && s.read_write_type()
                .map(|t| t.as_str() == "All")
                .unwrap_or(true)
    });
    let advanced_ok = advanced.iter().any(|s| {
        let fields = s.field_selectors();
        let management = fields
            .iter()
            .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management"));
        let read_only_filtered = fields.iter().any(|f| f.field() == "readOnly");
        management && !read_only_filtered
    });
    basic_ok || advanced_ok
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let name = match r.exp.output_str(outputs::CLOUDTRAIL_NAME) {
        Ok(name) => name,
        Err(e) => return unreadable_output(&[LOGGING, KMS, VALIDATION, CW, BUCKET], &e),
    };
    // Optional: without it the bucket is taken from the trail. A value of the wrong type
    // is still an error, for the one check that reads it.
    let output_bucket = r.exp.optional_output_str(outputs::CLOUDTRAIL_BUCKET_NAME);
    let fallback = format!(
        "arn:aws:cloudtrail:{}:{}:trail/{name}",
        r.region,
        r.account()
    );
    let trail_checks = [LOGGING, KMS, VALIDATION, CW];
    let client = r.ctx.cloudtrail(None);
    // When the stack names the bucket, its check needs nothing from the trail: it runs
    // beside DescribeTrails (every path below checks that bucket).
    let describe = async {
        let _p = r.permit("cloudtrail").await;
        client.describe_trails().trail_name_list(name).send().await
    };
    let named_bucket = async {
        match &output_bucket {
            _ if !r.wants(&[BUCKET]) => None,
            Ok(Some(b)) => Some(bucket_pab(r, b).await),
            Ok(None) => None,
            Err(e) => Some(super::unreadable_output_one(
                BUCKET,
                &format!("output:{}", e.output),
                e,
            )),
        }
    };
    let (got, named_bucket) = tokio::join!(describe, named_bucket);
    let trail = match got {
        Ok(o) => o
            .trail_list()
            .iter()
            .find(|t| t.name() == Some(name) || t.trail_arn() == Some(name))
            .map(TrailFacts::from),
        Err(e) => {
            let m = call_error("cloudtrail:DescribeTrails", &e);
            let mut out: Vec<Finding> = trail_checks
                .iter()
                .map(|id| super::error(id, &fallback, "", &m))
                .collect();
            // The bucket is still checked when the stack names it; otherwise it is unknown.
            out.push(match named_bucket {
                Some(f) => f,
                None => super::error(BUCKET, &fallback, "", &m),
            });
            return out;
        }
    };
    let Some(t) = trail else {
        let mut out: Vec<Finding> = trail_checks
            .iter()
            .map(|id| {
                finding(
                    id,
                    &fallback,
                    Outcome::Fail,
                    "the trail exists",
                    format!("no trail named {name}"),
                )
            })
            .collect();
        out.push(match named_bucket {
            Some(f) => f,
            None => finding(
                BUCKET,
                &fallback,
                Outcome::Fail,
                "the trail exists",
                format!("no trail named {name}"),
            ),
        });
        return out;
    };
    let arn = if t.arn.is_empty() {
        fallback.clone()
    } else {
        t.arn.clone()
    };
    judge_trail(r, &t, &arn, named_bucket).await
}

/// Judges a described trail: its facts, its status and event selectors (only when
/// `cloudtrail.multi_region_logging` is selected) and its bucket (the stack's, when
/// `named_bucket` holds its finding, else the trail's). Discovery judges each listed
/// trail here without describing it again.
pub(crate) async fn judge_trail(
    r: &Run<'_>,
    t: &TrailFacts,
    arn: &str,
    named_bucket: Option<Finding>,
) -> Vec<Finding> {
    let client = r.ctx.cloudtrail(None);
    let mut out = Vec::new();

    // Multi-region and logging management events (CloudTrail.1).
    // The bucket: from the stack output (checked above), else from the trail, beside the
    // status calls.
    let trail_bucket = async {
        Some(match (named_bucket, &t.bucket) {
            _ if !r.wants(&[BUCKET]) => return None,
            (Some(f), _) => f,
            (None, Some(b)) => bucket_pab(r, b).await,
            // Neither the stack nor the trail names the bucket: nothing to judge.
            (None, None) => super::error(
                BUCKET,
                arn,
                "",
                &format!(
                    "the trail names no bucket and stack output `{}` is missing",
                    outputs::CLOUDTRAIL_BUCKET_NAME
                ),
            ),
        })
    };
    // One permit per call: two calls under one permit would exceed the bound.
    let status_and_selectors = async {
        if !r.wants(&[LOGGING]) {
            return None;
        }
        Some(tokio::join!(
            async {
                let _p = r.permit("cloudtrail").await;
                client.get_trail_status().name(arn).send().await
            },
            async {
                let _p = r.permit("cloudtrail").await;
                client.get_event_selectors().trail_name(arn).send().await
            }
        ))
    };
    let (status_and_selectors, bucket) = tokio::join!(status_and_selectors, trail_bucket);
    let expected = "multi-region, logging, read/write management events";
    out.extend(status_and_selectors.map(|got| match got {
        (Err(e), _) => super::error(
            LOGGING,
            arn,
            expected,
            &call_error("cloudtrail:GetTrailStatus", &e),
        ),
        (_, Err(e)) => super::error(
            LOGGING,
            arn,
            expected,
            &call_error("cloudtrail:GetEventSelectors", &e),
        ),
        (Ok(s), Ok(sel)) => {
            let logging = s.is_logging().unwrap_or(false);
            let mgmt = management_events(&sel);
            finding(
                LOGGING,
                arn,
                judge(t.multi_region && logging && mgmt),
                expected,
                format!(
                    "multi-region: {}, logging: {logging}, management events: {mgmt}",
                    t.multi_region
                ),
            )
        }
    }));

    out.push(finding(
        KMS,
        arn,
        judge(t.kms_key.is_some()),
        "KmsKeyId set",
        format!("KmsKeyId: {}", t.kms_key.as_deref().unwrap_or("(none)")),
    ));
    out.push(finding(
        VALIDATION,
        arn,
        judge(t.validation),
        "LogFileValidationEnabled",
        format!("LogFileValidationEnabled: {}", t.validation),
    ));
    out.push(finding(
        CW,
        arn,
        judge(t.log_group.is_some()),
        "CloudWatchLogsLogGroupArn set",
        format!(
            "CloudWatchLogsLogGroupArn: {}",
            t.log_group.as_deref().unwrap_or("(none)")
        ),
    ));

    out.extend(bucket);
    out
}

async fn bucket_pab(r: &Run<'_>, bucket: &str) -> Finding {
    let resource = format!("arn:aws:s3:::{bucket}");
    let expected =
        "BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets all true";
    let got = {
        let _p = r.permit("s3").await;
        r.ctx
            .s3(None)
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
    };
    match got {
        Ok(o) => {
            let c = o.public_access_block_configuration();
            let flags = [
                ("BlockPublicAcls", c.and_then(|c| c.block_public_acls())),
                ("IgnorePublicAcls", c.and_then(|c| c.ignore_public_acls())),
                ("BlockPublicPolicy", c.and_then(|c| c.block_public_policy())),
                (
                    "RestrictPublicBuckets",
                    c.and_then(|c| c.restrict_public_buckets()),
                ),
            ];
            let observed: Vec<String> = flags
                .iter()
                .map(|(n, v)| format!("{n}: {}", v.unwrap_or(false)))
                .collect();
            finding(
                BUCKET,
                resource,
                judge(flags.iter().all(|(_, v)| *v == Some(true))),
                expected,
                observed.join(", "),
            )
        }
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => finding(
            BUCKET,
            resource,
            Outcome::Fail,
            expected,
            "no public access block configuration",
        ),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => {
            finding(BUCKET, resource, Outcome::Fail, expected, "no such bucket")
        }
        Err(e) => super::error(
            BUCKET,
            &resource,
            expected,
            &call_error("s3:GetPublicAccessBlock", &e),
        ),
    }
}
