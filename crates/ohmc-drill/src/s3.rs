//! S3 calls for cross-region Redis drills: ElastiCache cannot copy a snapshot
//! to another region, so the snapshot is exported to an S3 bucket in the
//! source region, copied to a bucket in the target region, and the new
//! replication group is seeded from the `.rdb` objects there.

use aws_sdk_s3::types::{Tag, Tagging, TaggingDirective};
use aws_sdk_s3::Client;

use crate::error::AwsFailure;
use crate::id::drill_tags;

const SVC: &str = "s3";

fn fail<E, R>(op: &str, res: &str, e: &aws_sdk_s3::error::SdkError<E, R>) -> AwsFailure
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    AwsFailure::from_sdk(SVC, op, res, e)
}

/// `s3://bucket/key` into its parts.
pub(crate) fn split_url(url: &str) -> Option<(&str, &str)> {
    url.strip_prefix("s3://")?.split_once('/')
}

/// Keys under `prefix`, sorted.
pub(crate) async fn list_prefix(
    c: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, AwsFailure> {
    let mut keys = Vec::new();
    let mut pages = c
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| fail("ListObjectsV2", &format!("s3://{bucket}/{prefix}"), &e))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key())
                .map(str::to_owned),
        );
    }
    keys.sort();
    Ok(keys)
}

fn drill_tagging(drill_id: &str, source: &str) -> Result<Tagging, AwsFailure> {
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let build_err = |e: aws_sdk_s3::error::BuildError| AwsFailure {
        service: SVC.into(),
        operation: "Tagging".into(),
        resource: drill_id.into(),
        code: None,
        message: e.to_string(),
    };
    let tags = drill_tags(drill_id, source)
        .into_iter()
        .map(|(k, v)| tag(k, v).map_err(build_err))
        .collect::<Result<Vec<_>, _>>()?;
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .map_err(build_err)
}

/// Tag an object ElastiCache exported, so cleanup can prove it is the drill's.
pub(crate) async fn tag_object(
    c: &Client,
    bucket: &str,
    key: &str,
    drill_id: &str,
    source: &str,
) -> Result<(), AwsFailure> {
    c.put_object_tagging()
        .bucket(bucket)
        .key(key)
        .tagging(drill_tagging(drill_id, source)?)
        .send()
        .await
        .map_err(|e| fail("PutObjectTagging", &format!("s3://{bucket}/{key}"), &e))?;
    Ok(())
}

/// Copy an object into a bucket of the client's region, with the drill's tags.
pub(crate) async fn copy_object(
    c: &Client,
    from_bucket: &str,
    key: &str,
    to_bucket: &str,
    drill_id: &str,
    source: &str,
) -> Result<Option<String>, AwsFailure> {
    let tagging = drill_tags(drill_id, source)
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .join("&");
    c.copy_object()
        .copy_source(format!("{from_bucket}/{}", enc_path(key)))
        .bucket(to_bucket)
        .key(key)
        .tagging_directive(TaggingDirective::Replace)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| fail("CopyObject", &format!("s3://{to_bucket}/{key}"), &e))?;
    Ok(Some(format!("arn:aws:s3:::{to_bucket}/{key}")))
}

/// Whether the object exists (`HeadObject` 404 is `false`).
pub(crate) async fn exists(c: &Client, bucket: &str, key: &str) -> Result<bool, AwsFailure> {
    match c.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let f = fail("HeadObject", &format!("s3://{bucket}/{key}"), &e);
            let not_found = e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
            if not_found {
                Ok(false)
            } else {
                Err(f)
            }
        }
    }
}

pub(crate) async fn tags(
    c: &Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<(String, String)>, AwsFailure> {
    let out = c
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| fail("GetObjectTagging", &format!("s3://{bucket}/{key}"), &e))?;
    Ok(out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}

pub(crate) async fn delete(c: &Client, bucket: &str, key: &str) -> Result<(), AwsFailure> {
    c.delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| fail("DeleteObject", &format!("s3://{bucket}/{key}"), &e))?;
    Ok(())
}

/// Percent-encoding for a tagging query string.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encoding for a copy source key (slashes kept).
fn enc_path(key: &str) -> String {
    key.split('/').map(enc).collect::<Vec<_>>().join("/")
}
