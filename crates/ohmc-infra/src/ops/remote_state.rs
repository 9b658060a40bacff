//! What the S3 backend holds for a stack, read with the AWS SDK the way
//! Terraform writes it:
//! - the lock: the DynamoDB item `<bucket>/<key>` whose `Info` is the lock
//!   info (`dynamodb_table`, 1.0 onwards), or the object `<key>.tflock`
//!   (`use_lockfile`, 1.10 onwards). After an interrupt the tool must say
//!   "released" or name the holder, never "unknown".
//! - the state's lineage and serial, which every plan records and every apply
//!   checks. `terraform state pull` would answer too, but it is a second
//!   Terraform process that initialises the backend again: on S3 that cost
//!   about 200 ms per command, four times the overhead budget.

use ohmc_terraform::commands::state::StateIdentity;
use ohmc_terraform::lock::{LockInfo, LockStatus};

use crate::backend::{backend_type, BackendConfig};
use crate::environment::{Environment, StackSpec};

/// The lock status of a stack whose state is not a local file.
pub async fn remote_lock_status(env: &Environment, stack: &StackSpec) -> LockStatus {
    match backend_type(&stack.dir).as_deref() {
        Some("s3") => {
            let status = match S3Backend::connect(env, stack).await {
                Ok(backend) => backend.lock_status().await,
                Err(reason) => Err(reason),
            };
            status.unwrap_or_else(|reason| LockStatus::Unknown { reason })
        }
        Some(other) => LockStatus::Unknown {
            reason: format!("the {other} backend keeps its lock where ohmc-infra does not read it"),
        },
        None => LockStatus::Unknown {
            reason: "no backend found in the stack's configuration".into(),
        },
    }
}

/// Lineage and serial of a stack's state in S3, or `None` when they must come
/// from Terraform instead: another backend, a workspace other than the
/// default, a customer-provided encryption key, or a read that failed (then
/// Terraform, with its own credential handling, is the authority).
pub async fn remote_state_identity(env: &Environment, stack: &StackSpec) -> Option<StateIdentity> {
    if backend_type(&stack.dir).as_deref() != Some("s3") {
        return None;
    }
    if std::env::var("TF_WORKSPACE").is_ok_and(|w| !w.is_empty() && w != "default") {
        return None;
    }
    let backend = S3Backend::connect(env, stack).await.ok()?;
    if backend.config.contains("sse_customer_key") {
        return None;
    }
    backend.state_identity().await.ok()
}

/// One SDK context per distinct backend account set-up, for the whole
/// process: building one loads the TLS trust roots and the credential chain,
/// which every stack of an environment (usually one bucket) would otherwise
/// pay again.
async fn shared_context(
    options: ohmc_checks::ContextOptions,
) -> Result<ohmc_checks::AwsContext, String> {
    static CONTEXTS: tokio::sync::Mutex<Vec<(String, ohmc_checks::AwsContext)>> =
        tokio::sync::Mutex::const_new(Vec::new());
    let key = [
        options.profile.as_deref(),
        options.region.as_deref(),
        options.endpoint_url.as_deref(),
        options.role_arn.as_deref(),
    ]
    .map(|part| part.unwrap_or("-"))
    .join("\0");
    // Held across the load, so stacks read at once share the first load.
    let mut contexts = CONTEXTS.lock().await;
    if let Some((_, aws)) = contexts.iter().find(|(k, _)| *k == key) {
        return Ok(aws.clone());
    }
    let aws = ohmc_checks::AwsContext::load(options)
        .await
        .map_err(|e| e.to_string())?;
    contexts.push((key, aws.clone()));
    Ok(aws)
}

/// A connection to one stack's S3 backend, configured from the same backend
/// settings Terraform is given.
struct S3Backend {
    aws: ohmc_checks::AwsContext,
    config: BackendConfig,
    bucket: String,
    key: String,
    path_style: bool,
}

impl S3Backend {
    async fn connect(env: &Environment, stack: &StackSpec) -> Result<Self, String> {
        let config = BackendConfig::for_stack(stack).map_err(|e| e.to_string())?;
        let text = |key: &str| config.string(key).ok().flatten();
        let flag = |key: &str| config.bool(key).ok().flatten().unwrap_or(false);
        let bucket = text("bucket").ok_or("the backend names no bucket")?;
        let key = text("key").ok_or("the backend names no key")?;
        // 1.6+ takes per-service endpoints in a block; 1.0 flat keys.
        let s3_endpoint = config
            .block_string("endpoints", "s3")
            .or_else(|| text("endpoint"));
        let dynamodb_endpoint = config
            .block_string("endpoints", "dynamodb")
            .or_else(|| text("dynamodb_endpoint"));
        let mut options = super::verify::context_options(env, s3_endpoint.or(dynamodb_endpoint));
        options.region = Some(text("region").unwrap_or_else(|| env.aws.region.clone()));
        options.profile = text("profile").or_else(|| env.aws.profile.clone());
        options.role_arn =
            text("role_arn").or_else(|| config.block_string("assume_role", "role_arn"));
        options.session_name = "ohmc-infra-backend".into();
        let aws = shared_context(options).await?;
        let path_style = flag("use_path_style") || flag("force_path_style");
        Ok(Self {
            aws,
            bucket,
            key,
            path_style,
            config,
        })
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        let s3 = self.aws.s3(None);
        aws_sdk_s3::Client::from_conf(
            s3.config()
                .to_builder()
                .force_path_style(self.path_style)
                .build(),
        )
    }

    /// The object's bytes, or `None` when it does not exist.
    async fn object(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let (bucket, what) = (&self.bucket, format!("s3://{}/{key}", self.bucket));
        match self.s3().get_object().bucket(bucket).key(key).send().await {
            Ok(object) => {
                let body = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| format!("reading {what}: {e}"))?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(format!(
                "reading {what}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )),
        }
    }

    async fn state_identity(&self) -> Result<StateIdentity, String> {
        match self.object(&self.key).await? {
            // No object yet is Terraform's empty state, as `state pull` says.
            None => Ok(StateIdentity {
                lineage: String::new(),
                serial: 0,
            }),
            // Only lineage and serial are read: the state holds resource
            // attributes, secrets included, and is dropped here.
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("s3://{}/{}: not a state: {e}", self.bucket, self.key)),
        }
    }

    async fn lock_status(&self) -> Result<LockStatus, String> {
        let (bucket, key) = (&self.bucket, &self.key);
        let use_lockfile = self
            .config
            .bool("use_lockfile")
            .ok()
            .flatten()
            .unwrap_or(false);
        let held = |json: &str| -> LockStatus {
            match serde_json::from_str::<LockInfo>(json) {
                Ok(info) => LockStatus::Held {
                    info,
                    force_unlock: None,
                },
                Err(_) => LockStatus::Held {
                    info: LockInfo {
                        path: format!("{bucket}/{key}"),
                        ..LockInfo::default()
                    },
                    force_unlock: None,
                },
            }
        };
        if let Some(table) = self.config.string("dynamodb_table").ok().flatten() {
            let item = self
                .aws
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
            if !use_lockfile {
                return Ok(LockStatus::Released);
            }
        }
        if use_lockfile {
            return Ok(match self.object(&format!("{key}.tflock")).await? {
                Some(bytes) => held(&String::from_utf8_lossy(&bytes)),
                None => LockStatus::Released,
            });
        }
        Err("the backend takes no lock (no dynamodb_table, no use_lockfile)".into())
    }
}
