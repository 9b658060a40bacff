//! Who holds a stack's lock on the S3 backend, read the way Terraform writes
//! it: the DynamoDB item `<bucket>/<key>` whose `Info` is the lock info (the
//! `dynamodb_table` locking of 1.0 onwards), or the object `<key>.tflock`
//! (`use_lockfile`, 1.10 onwards). After an interrupt the tool must say
//! "released" or name the holder, never "unknown", on the backend both
//! environments use.

use ohmc_terraform::lock::{LockInfo, LockStatus};

use crate::backend::{backend_type, BackendConfig};
use crate::environment::{Environment, StackSpec};

/// The lock status of a stack whose state is not a local file.
pub async fn remote_lock_status(env: &Environment, stack: &StackSpec) -> LockStatus {
    match backend_type(&stack.dir).as_deref() {
        Some("s3") => match s3_lock(env, stack).await {
            Ok(status) => status,
            Err(reason) => LockStatus::Unknown { reason },
        },
        Some(other) => LockStatus::Unknown {
            reason: format!("the {other} backend keeps its lock where ohmc-infra does not read it"),
        },
        None => LockStatus::Unknown {
            reason: "no backend found in the stack's configuration".into(),
        },
    }
}

async fn s3_lock(env: &Environment, stack: &StackSpec) -> Result<LockStatus, String> {
    let config = BackendConfig::for_stack(stack).map_err(|e| e.to_string())?;
    let text = |key: &str| config.string(key).ok().flatten();
    let bucket = text("bucket").ok_or("the backend names no bucket")?;
    let key = text("key").ok_or("the backend names no key")?;
    // 1.6+ takes per-service endpoints in a block; 1.0 flat keys.
    let s3_endpoint = config
        .block_string("endpoints", "s3")
        .or_else(|| text("endpoint"));
    let dynamodb_endpoint = config
        .block_string("endpoints", "dynamodb")
        .or_else(|| text("dynamodb_endpoint"));
    let mut options =
        super::verify::context_options(env, s3_endpoint.clone().or(dynamodb_endpoint.clone()));
    options.region = Some(text("region").unwrap_or_else(|| env.aws.region.clone()));
    options.profile = text("profile").or_else(|| env.aws.profile.clone());
    options.role_arn = text("role_arn").or_else(|| config.block_string("assume_role", "role_arn"));
    options.session_name = "ohmc-infra-lock-status".into();
    let aws = ohmc_checks::AwsContext::load(options)
        .await
        .map_err(|e| e.to_string())?;
    let path_style = config
        .bool("use_path_style")
        .ok()
        .flatten()
        .unwrap_or(false)
        || config
            .bool("force_path_style")
            .ok()
            .flatten()
            .unwrap_or(false);
    let held = |json: &str| -> LockStatus {
        match serde_json::from_str::<LockInfo>(json) {
            Ok(info) => LockStatus::Held { info },
            Err(_) => LockStatus::Held {
                info: LockInfo {
                    path: format!("{bucket}/{key}"),
                    ..LockInfo::default()
                },
            },
        }
    };
    if let Some(table) = text("dynamodb_table") {
        let item = aws
            .dynamodb(None)
            .get_item()
            .table_name(&table)
            .key(
                "LockID",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("{bucket}/{key}")),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "reading lock table {table}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                )
            })?;
        if let Some(info) = item
            .item()
            .and_then(|i| i.get("Info"))
            .and_then(|v| v.as_s().ok())
        {
            return Ok(held(info));
        }
        if !config.bool("use_lockfile").ok().flatten().unwrap_or(false) {
            return Ok(LockStatus::Released);
        }
    }
    if config.bool("use_lockfile").ok().flatten().unwrap_or(false) {
        let s3 = aws.s3(None);
        let s3 = aws_sdk_s3::Client::from_conf(
            s3.config()
                .to_builder()
                .force_path_style(path_style)
                .build(),
        );
        return match s3
            .get_object()
            .bucket(&bucket)
            .key(format!("{key}.tflock"))
            .send()
            .await
        {
            Ok(object) => {
                let body = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| format!("reading s3://{bucket}/{key}.tflock: {e}"))?;
                Ok(held(&String::from_utf8_lossy(&body.into_bytes())))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Ok(LockStatus::Released)
            }
            Err(e) => Err(format!(
                "reading s3://{bucket}/{key}.tflock: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )),
        };
    }
    Err("the backend takes no lock (no dynamodb_table, no use_lockfile)".into())
}
