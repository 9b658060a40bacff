//! `ohmc-infra bootstrap ENV`: the state bucket, its KMS key and the lock table
//! a new account's first apply needs, created through the AWS SDK from the
//! environment's backend configuration, as Terragrunt does for its remote state.
//!
//! Everything is read first and judged; only then, and only without `dry_run`,
//! is anything written. A refusal (a bucket in another account, one without
//! versioning or encryption, a lock table with the wrong key) therefore changes
//! nothing at all: an existing bucket's versioning and encryption are never
//! "fixed" behind the operator's back. Settings that only add protection to a
//! bucket or table of this account (public access block, object ownership, a
//! missing policy, point-in-time recovery) are set, and reported as updates.
//!
//! The resources match what `terraform/modules/state-bootstrap` declares, so the
//! `state-bootstrap` stack adopts them afterwards with `import` blocks.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, SseSpecification, SseType, TableStatus,
};
use aws_sdk_kms::types::KeyState;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ohmc_checks::{AwsContext, ChecksError};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::backend::{self, BackendConfig, BackendError};
use crate::environment::Environment;

/// The alias of the state key when the backend names none: the one
/// `modules/state-bootstrap` gives its key, so the stack can import it.
pub const DEFAULT_KEY_ALIAS: &str = "alias/terraform-state";

/// The description of a key bootstrap creates (as the module's).
const KEY_DESCRIPTION: &str = "Terraform state and lock table";

/// Terraform's S3 backend locks on this string hash key.
const LOCK_KEY: &str = "LockID";

/// How long a new lock table may take to become ACTIVE.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// AWS endpoint override (an emulator); `AWS_ENDPOINT_URL` is honoured by the SDK.
    pub endpoint_url: Option<String>,
    /// Read and judge only; no write call is made.
    pub dry_run: bool,
    pub progress: Option<mpsc::UnboundedSender<BootstrapProgress>>,
}

/// What bootstrap reports while it runs.
#[derive(Debug, Clone)]
pub enum BootstrapProgress {
    /// Reading a resource's current settings.
    Checking { kind: ResourceKind, name: String },
    /// About to make one write call (the SDK operation name).
    Writing {
        kind: ResourceKind,
        name: String,
        operation: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    KmsKey,
    S3Bucket,
    DynamodbTable,
}

impl ResourceKind {
    pub fn label(self) -> &'static str {
        match self {
            ResourceKind::KmsKey => "kms key",
            ResourceKind::S3Bucket => "s3 bucket",
            ResourceKind::DynamodbTable => "dynamodb table",
        }
    }
}

/// What bootstrap does (or, in a dry run, would do) to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    /// Exists, as required: nothing to do.
    Exists,
    /// Refused: it exists but is not what the backend needs; nothing was changed.
    Refuse,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceOutcome {
    pub kind: ResourceKind,
    pub name: String,
    pub action: Action,
    /// For create and update: each setting made (or, in a dry run, to be made).
    pub changes: Vec<String>,
    /// For a refusal: each gap, named.
    pub gaps: Vec<String>,
    /// The resource's ARN once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

/// How the backend locks its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LockKind {
    DynamodbTable {
        table: String,
    },
    /// `use_lockfile = true`: S3-native lock objects, no table.
    Lockfile,
    /// Neither: Terraform runs without a state lock.
    None,
}

/// The state backend bootstrap makes, from the environment's S3 stacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateBackend {
    pub bucket: String,
    pub region: String,
    /// `kms_key_id` from the backend, or [`DEFAULT_KEY_ALIAS`].
    pub kms_key: String,
    pub lock: LockKind,
    /// Stacks whose backend this is.
    pub stacks: Vec<String>,
    #[serde(skip)]
    profile: Option<String>,
    #[serde(skip)]
    role_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootstrapReport {
    pub environment: String,
    pub account_id: String,
    pub region: String,
    pub dry_run: bool,
    pub backend: StateBackend,
    pub resources: Vec<ResourceOutcome>,
    /// Every AWS call made, `service:Action -> count` (a dry run shows only reads).
    pub api_calls: BTreeMap<String, u64>,
}

impl BootstrapReport {
    pub fn refused(&self) -> bool {
        self.resources.iter().any(|r| r.action == Action::Refuse)
    }

    /// Whether anything was (or, in a dry run, would be) created or updated.
    pub fn changes(&self) -> bool {
        self.resources
            .iter()
            .any(|r| matches!(r.action, Action::Create | Action::Update))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("environment \"{env}\" has no stack with an S3 backend (`backend \"s3\" {{}}`); there is nothing to bootstrap")]
    NoS3Backend { env: String },
    #[error("stack \"{stack}\" has an S3 backend without `bucket` (set it in its backend config)")]
    NoBucket { stack: String },
    #[error("stacks \"{first}\" and \"{other}\" disagree on the backend's `{key}`; one bootstrap makes one bucket and lock: align their backend configs")]
    Inconsistent {
        first: String,
        other: String,
        key: &'static str,
    },
    #[error(transparent)]
    Aws(#[from] ChecksError),
    #[error("environment \"{env}\" belongs to account {expected}, but the AWS credentials are for account {actual}; nothing was changed")]
    WrongAccount {
        env: String,
        expected: String,
        actual: String,
    },
    #[error("{message}")]
    Call { message: String },
    #[error("{kind} {name}: {message}")]
    Incomplete {
        kind: &'static str,
        name: String,
        message: String,
    },
}

fn call_failed<E>(what: &str, err: &SdkError<E, HttpResponse>) -> BootstrapError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    BootstrapError::Call {
        message: ohmc_checks::call_error(what, err),
    }
}

/// HTTP status of a service error, if the call got a response.
fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    match err {
        SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
        _ => None,
    }
}

/// Reads the backend of every S3 stack of the environment, refusing static
/// credentials in any stack, and checks that the S3 stacks agree.
pub fn state_backend(env: &Environment) -> Result<StateBackend, BootstrapError> {
    let mut found: Option<(String, StateBackend)> = None;
    for stack in &env.stacks {
        let config = BackendConfig::for_stack(stack)?;
        config.check_no_static_credentials()?;
        if backend::backend_type(&stack.dir).as_deref() != Some("s3") {
            continue;
        }
        let this = backend_of(env, &stack.name, &config)?;
        match &mut found {
            None => found = Some((stack.name.clone(), this)),
            Some((first, b)) => {
                let differs = |key: &'static str| BootstrapError::Inconsistent {
                    first: first.clone(),
                    other: stack.name.clone(),
                    key,
                };
                if b.bucket != this.bucket {
                    return Err(differs("bucket"));
                }
                if b.region != this.region {
                    return Err(differs("region"));
                }
                if b.kms_key != this.kms_key {
                    return Err(differs("kms_key_id"));
                }
                if b.lock != this.lock {
                    return Err(differs("dynamodb_table / use_lockfile"));
                }
                b.stacks.push(stack.name.clone());
            }
        }
    }
    found
        .map(|(_, b)| b)
        .ok_or_else(|| BootstrapError::NoS3Backend {
            env: env.name.clone(),
        })
}

fn backend_of(
    env: &Environment,
    stack: &str,
    config: &BackendConfig,
) -> Result<StateBackend, BootstrapError> {
    let bucket = config
        .string("bucket")?
        .ok_or_else(|| BootstrapError::NoBucket {
            stack: stack.to_string(),
        })?;
    let lock = match (
        config.string("dynamodb_table")?,
        config.bool("use_lockfile")?.unwrap_or(false),
    ) {
        // Both set is Terraform's migration mode: it locks in both, so the table is needed.
        (Some(table), _) => LockKind::DynamodbTable { table },
        (None, true) => LockKind::Lockfile,
        (None, false) => LockKind::None,
    };
    let role_arn = match config.string("role_arn") {
        Ok(Some(r)) => Some(r),
        _ => config.block_string("assume_role", "role_arn"),
    };
    Ok(StateBackend {
        bucket,
        region: config
            .string("region")?
            .unwrap_or_else(|| env.aws.region.clone()),
        kms_key: config
            .string("kms_key_id")?
            .unwrap_or_else(|| DEFAULT_KEY_ALIAS.to_string()),
        lock,
        stacks: vec![stack.to_string()],
        profile: config
            .string("profile")?
            .or_else(|| env.aws.profile.clone()),
        role_arn,
    })
}

/// The SDK context bootstrap writes with: the backend's region, profile and
/// role as Terraform's S3 backend would use them, else the environment's
/// profile, loaded the way `verify` loads its own. Not the environment's
/// `role_arn`: that is the read-only audit role verify assumes, and bootstrap
/// writes.
async fn aws_context(
    env: &Environment,
    backend: &StateBackend,
    endpoint_url: Option<String>,
) -> Result<AwsContext, BootstrapError> {
    let mut options = super::verify::context_options(env, endpoint_url);
    options.region = Some(backend.region.clone());
    options.profile = backend.profile.clone();
    options.role_arn = backend.role_arn.clone();
    options.session_name = "ohmc-infra-bootstrap".into();
    Ok(AwsContext::load(options).await?)
}

struct Run<'a> {
    aws: AwsContext,
    backend: &'a StateBackend,
    account: String,
    partition: String,
    progress: Option<mpsc::UnboundedSender<BootstrapProgress>>,
}

impl Run<'_> {
    fn checking(&self, kind: ResourceKind, name: &str) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(BootstrapProgress::Checking {
                kind,
                name: name.to_string(),
            });
        }
    }

    fn writing(&self, kind: ResourceKind, name: &str, operation: &'static str) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(BootstrapProgress::Writing {
                kind,
                name: name.to_string(),
                operation,
            });
        }
    }
}

/// Creates (or, with `dry_run`, describes creating) the environment's state
/// bucket, key and lock table. A refusal is a report whose resources say
/// [`Action::Refuse`]; nothing was written then. Errors are failed calls and
/// bad configuration.
pub async fn bootstrap(
    env: &Environment,
    options: BootstrapOptions,
) -> Result<BootstrapReport, BootstrapError> {
    let backend = state_backend(env)?;
    let aws = aws_context(env, &backend, options.endpoint_url.clone()).await?;
    let who = aws
        .sts(None)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| call_failed("sts:GetCallerIdentity", &e))?;
    let account = who.account().unwrap_or_default().to_string();
    if account != env.aws.account_id {
        return Err(BootstrapError::WrongAccount {
            env: env.name.clone(),
            expected: env.aws.account_id.clone(),
            actual: account,
        });
    }
    let partition = who
        .arn()
        .and_then(|a| a.split(':').nth(1))
        .unwrap_or("aws")
        .to_string();
    let run = Run {
        aws,
        backend: &backend,
        account,
        partition,
        progress: options.progress.clone(),
    };

    let key = plan_key(&run).await?;
    let bucket = plan_bucket(&run, key.arn.as_deref()).await?;
    let table = match &backend.lock {
        LockKind::DynamodbTable { table } => Some(plan_table(&run, table).await?),
        _ => None,
    };
    let mut resources = vec![key, bucket];
    resources.extend(table);

    let refused = resources.iter().any(|r| r.action == Action::Refuse);
    if !refused && !options.dry_run {
        apply(&run, &mut resources).await?;
    }
    Ok(BootstrapReport {
        environment: env.name.clone(),
        account_id: run.account.clone(),
        region: backend.region.clone(),
        dry_run: options.dry_run,
        api_calls: run.aws.recorder().snapshot(),
        backend: backend.clone(),
        resources,
    })
}

// --- KMS key ---------------------------------------------------------------------

/// `alias/NAME` for an alias name or alias ARN; `None` for a key id or key ARN.
fn alias_name(key: &str) -> Option<String> {
    if key.starts_with("alias/") {
        Some(key.to_string())
    } else {
        key.split_once(":alias/").map(|(_, n)| format!("alias/{n}"))
    }
}

/// The account an ARN names (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').nth(3)
}

async fn plan_key(run: &Run<'_>) -> Result<ResourceOutcome, BootstrapError> {
    let name = run.backend.kms_key.clone();
    run.checking(ResourceKind::KmsKey, &name);
    let mut out = ResourceOutcome {
        kind: ResourceKind::KmsKey,
        name: name.clone(),
        action: Action::Exists,
        changes: vec![],
        gaps: vec![],
        arn: None,
    };
    if let Some(owner) = arn_account(&name) {
        if owner != run.account {
            out.action = Action::Refuse;
            out.gaps.push(format!(
                "kms_key_id names account {owner}, not this account {}",
                run.account
            ));
            return Ok(out);
        }
    }
    match run.aws.kms(None).describe_key().key_id(&name).send().await {
        Ok(found) => {
            let meta = found.key_metadata();
            out.arn = meta.and_then(|m| m.arn()).map(str::to_string);
            let state = meta.and_then(|m| m.key_state());
            if state != Some(&KeyState::Enabled) {
                out.gaps.push(format!(
                    "the key is {}, not Enabled",
                    state.map(|s| s.as_str()).unwrap_or("in an unknown state")
                ));
            }
            if let Some(owner) = meta.map(|m| m.aws_account_id().unwrap_or_default()) {
                if !owner.is_empty() && owner != run.account {
                    out.gaps.push(format!(
                        "the key belongs to account {owner}, not {}",
                        run.account
                    ));
                }
            }
            if !out.gaps.is_empty() {
                out.action = Action::Refuse;
            }
        }
        Err(e) if e.code() == Some("NotFoundException") => match alias_name(&name) {
            Some(alias) => {
                out.action = Action::Create;
                out.changes = vec![
                    "customer-managed symmetric key".into(),
                    "automatic rotation on".into(),
                    format!("alias {alias}"),
                ];
            }
            None => {
                out.action = Action::Refuse;
                out.gaps.push(
                    "no such key; bootstrap creates a key only under an alias (kms_key_id = \"alias/NAME\")"
                        .into(),
                );
            }
        },
        Err(e) => return Err(call_failed("kms:DescribeKey", &e)),
    }
    Ok(out)
}

// --- S3 bucket -------------------------------------------------------------------

fn bucket_arn(run: &Run<'_>) -> String {
    format!("arn:{}:s3:::{}", run.partition, run.backend.bucket)
}

/// TLS-only and this-account-only: the two statements the state bucket's policy
/// must hold.
fn bucket_policy(run: &Run<'_>) -> Value {
    let arn = bucket_arn(run);
    let resources = json!([arn, format!("{arn}/*")]);
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            },
            {
                "Sid": "DenyOtherAccounts",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": run.account}}
            }
        ]
    })
}

/// A JSON policy value equal to `want`, as a string or a one-element list.
fn value_is(v: Option<&Value>, want: &str) -> bool {
    match v {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
        Some(Value::Bool(b)) => b.to_string() == want,
        Some(Value::Array(a)) => a.len() == 1 && value_is(a.first(), want),
        _ => false,
    }
}

/// Which of the two required statements an existing policy lacks.
pub fn policy_gaps(policy: &str, account: &str) -> Vec<String> {
    let doc: Value = match serde_json::from_str(policy) {
        Ok(d) => d,
        Err(_) => return vec!["the bucket policy is not valid JSON".into()],
    };
    let statements: Vec<&Value> = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => vec![],
    };
    let denies_all = |s: &Value| {
        s["Effect"] == "Deny"
            && (value_is(s.get("Action"), "s3:*") || value_is(s.get("Action"), "*"))
            && (s["Principal"] == "*" || value_is(s["Principal"].get("AWS"), "*"))
    };
    let tls = statements.iter().any(|s| {
        denies_all(s) && value_is(s["Condition"]["Bool"].get("aws:SecureTransport"), "false")
    });
    let same_account = statements.iter().any(|s| {
        denies_all(s)
            && value_is(
                s["Condition"]["StringNotEquals"].get("aws:PrincipalAccount"),
                account,
            )
    });
    let mut gaps = vec![];
    if !tls {
        gaps.push(
            "the bucket policy does not deny requests without TLS (aws:SecureTransport)".into(),
        );
    }
    if !same_account {
        gaps.push(format!(
            "the bucket policy does not deny principals outside account {account} (aws:PrincipalAccount)"
        ));
    }
    gaps
}

const BUCKET_CHANGES: [&str; 5] = [
    "versioning enabled",
    "default encryption SSE-KMS with the state key (bucket key on)",
    "all public access blocked",
    "object ownership BucketOwnerEnforced (ACLs off)",
    "bucket policy: TLS only, this account only",
];

async fn plan_bucket(
    run: &Run<'_>,
    key_arn: Option<&str>,
) -> Result<ResourceOutcome, BootstrapError> {
    let name = run.backend.bucket.clone();
    run.checking(ResourceKind::S3Bucket, &name);
    let s3 = run.aws.s3(None);
    let mut out = ResourceOutcome {
        kind: ResourceKind::S3Bucket,
        name: name.clone(),
        action: Action::Exists,
        changes: vec![],
        gaps: vec![],
        arn: Some(bucket_arn(run)),
    };
    let refuse = |mut out: ResourceOutcome, gap: String| {
        out.action = Action::Refuse;
        out.gaps.push(gap);
        Ok(out)
    };
    // Real S3 answers 403 when the bucket's owner is not the expected one.
    match s3
        .head_bucket()
        .bucket(&name)
        .expected_bucket_owner(&run.account)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if status(&e) == Some(404) => {
            out.action = Action::Create;
            out.changes = BUCKET_CHANGES.iter().map(|c| c.to_string()).collect();
            return Ok(out);
        }
        Err(e) if status(&e) == Some(403) => {
            return refuse(
                out,
                format!(
                    "the bucket exists and is not owned by account {} (or this account may not read it)",
                    run.account
                ),
            )
        }
        Err(e) if status(&e) == Some(301) => {
            return refuse(
                out,
                format!("the bucket exists in another region than {}", run.backend.region),
            )
        }
        Err(e) => return Err(call_failed("s3:HeadBucket", &e)),
    }
    // HeadBucket succeeds for a readable bucket of another account where the
    // expected-owner check is not enforced; the account's own bucket list says.
    if !owns_bucket(run, &name).await? {
        return refuse(
            out,
            format!(
                "the bucket exists in another account (it is not among account {}'s buckets)",
                run.account
            ),
        );
    }

    let versioning = s3
        .get_bucket_versioning()
        .bucket(&name)
        .expected_bucket_owner(&run.account)
        .send()
        .await
        .map_err(|e| call_failed("s3:GetBucketVersioning", &e))?;
    match versioning.status() {
        Some(BucketVersioningStatus::Enabled) => {}
        Some(other) => out.gaps.push(format!(
            "versioning is {}, not Enabled: a bad apply could not be undone",
            other.as_str()
        )),
        None => out
            .gaps
            .push("versioning was never enabled: a bad apply could not be undone".into()),
    }

    match s3
        .get_bucket_encryption()
        .bucket(&name)
        .expected_bucket_owner(&run.account)
        .send()
        .await
    {
        Ok(enc) => {
            let default = enc
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default());
            match default {
                Some(d) if d.sse_algorithm() == &ServerSideEncryption::AwsKms => {
                    let used = d.kms_master_key_id().unwrap_or_default();
                    if !same_key(run, used, key_arn).await? {
                        out.gaps.push(format!(
                            "default encryption uses KMS key {}, not the backend's {}",
                            if used.is_empty() { "aws/s3" } else { used },
                            run.backend.kms_key
                        ));
                    }
                }
                Some(d) => out.gaps.push(format!(
                    "default encryption is {}, not SSE-KMS",
                    d.sse_algorithm().as_str()
                )),
                None => out.gaps.push("no default encryption".into()),
            }
        }
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            out.gaps.push("no default encryption".into())
        }
        Err(e) => return Err(call_failed("s3:GetBucketEncryption", &e)),
    }

    match s3
        .get_public_access_block()
        .bucket(&name)
        .expected_bucket_owner(&run.account)
        .send()
        .await
    {
        Ok(pab) => {
            let c = pab.public_access_block_configuration();
            let all = c.is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
            if !all {
                out.changes.push(BUCKET_CHANGES[2].into());
            }
        }
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => {
            out.changes.push(BUCKET_CHANGES[2].into())
        }
        Err(e) => return Err(call_failed("s3:GetBucketPublicAccessBlock", &e)),
    }

    match s3
        .get_bucket_ownership_controls()
        .bucket(&name)
        .expected_bucket_owner(&run.account)
        .send()
        .await
    {
        Ok(o) => {
            let enforced = o.ownership_controls().map(|c| c.rules()).is_some_and(|r| {
                r.iter()
                    .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
            });
            if !enforced {
                out.changes.push(BUCKET_CHANGES[3].into());
            }
        }
        Err(e) if e.code() == Some("OwnershipControlsNotFoundError") => {
            out.changes.push(BUCKET_CHANGES[3].into())
        }
        Err(e) => return Err(call_failed("s3:GetBucketOwnershipControls", &e)),
    }

    match s3
        .get_bucket_policy()
        .bucket(&name)
        .expected_bucket_owner(&run.account)
        .send()
        .await
    {
        // Someone's policy is never overwritten: what it lacks is a gap.
        Ok(p) => out
            .gaps
            .extend(policy_gaps(p.policy().unwrap_or_default(), &run.account)),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => {
            out.changes.push(BUCKET_CHANGES[4].into())
        }
        Err(e) => return Err(call_failed("s3:GetBucketPolicy", &e)),
    }

    out.action = if !out.gaps.is_empty() {
        Action::Refuse
    } else if !out.changes.is_empty() {
        Action::Update
    } else {
        Action::Exists
    };
    Ok(out)
}

/// Whether the bucket is among the caller account's own buckets.
async fn owns_bucket(run: &Run<'_>, name: &str) -> Result<bool, BootstrapError> {
    let s3 = run.aws.s3(None);
    let mut token = None;
    loop {
        let page = s3
            .list_buckets()
            .prefix(name)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| call_failed("s3:ListAllMyBuckets", &e))?;
        if page.buckets().iter().any(|b| b.name() == Some(name)) {
            return Ok(true);
        }
        match page.continuation_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(false),
        }
    }
}

/// Whether the key a bucket encrypts with is the backend's key (`wanted`, its
/// ARN when it exists): both are resolved through KMS, since either may be an
/// alias, an id or an ARN.
async fn same_key(run: &Run<'_>, used: &str, wanted: Option<&str>) -> Result<bool, BootstrapError> {
    let Some(wanted) = wanted else {
        return Ok(false);
    };
    if used.is_empty() {
        return Ok(false);
    }
    if used == wanted {
        return Ok(true);
    }
    match run.aws.kms(None).describe_key().key_id(used).send().await {
        Ok(k) => Ok(k.key_metadata().and_then(|m| m.arn()) == Some(wanted)),
        Err(e) if e.code() == Some("NotFoundException") => Ok(false),
        Err(e) => Err(call_failed("kms:DescribeKey", &e)),
    }
}

// --- DynamoDB lock table -----------------------------------------------------------

async fn plan_table(run: &Run<'_>, name: &str) -> Result<ResourceOutcome, BootstrapError> {
    run.checking(ResourceKind::DynamodbTable, name);
    let ddb = run.aws.dynamodb(None);
    let mut out = ResourceOutcome {
        kind: ResourceKind::DynamodbTable,
        name: name.to_string(),
        action: Action::Exists,
        changes: vec![],
        gaps: vec![],
        arn: None,
    };
    let table = match ddb.describe_table().table_name(name).send().await {
        Ok(t) => t.table,
        Err(e) if e.code() == Some("ResourceNotFoundException") => {
            out.action = Action::Create;
            out.changes = vec![
                format!("hash key {LOCK_KEY} (string), on-demand capacity"),
                "encryption with the state key".into(),
                "point-in-time recovery on".into(),
                "deletion protection on".into(),
            ];
            return Ok(out);
        }
        Err(e) => return Err(call_failed("dynamodb:DescribeTable", &e)),
    };
    let Some(table) = table else {
        return Err(BootstrapError::Incomplete {
            kind: "dynamodb table",
            name: name.to_string(),
            message: "DescribeTable returned no table".into(),
        });
    };
    out.arn = table.table_arn().map(str::to_string);
    let keys: Vec<(&str, &KeyType)> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type()))
        .collect();
    let lock_type = table
        .attribute_definitions()
        .iter()
        .find(|a| a.attribute_name() == LOCK_KEY)
        .map(|a| a.attribute_type().clone());
    if keys != [(LOCK_KEY, &KeyType::Hash)] || lock_type != Some(ScalarAttributeType::S) {
        out.gaps.push(format!(
            "its key is {}; Terraform's lock table needs {LOCK_KEY} (string) as its only key",
            keys.iter()
                .map(|(n, t)| format!("{n} ({})", t.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let sse = table.sse_description();
    let kms = sse.is_some_and(|s| {
        s.status().map(|s| s.as_str()) == Some("ENABLED") && s.sse_type() == Some(&SseType::Kms)
    });
    if !kms {
        out.gaps
            .push("not encrypted with a KMS key (only the AWS-owned default key)".into());
    }
    let backups = ddb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| call_failed("dynamodb:DescribeContinuousBackups", &e))?;
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str() == "ENABLED")
        .unwrap_or(false);
    if !pitr {
        out.changes.push("point-in-time recovery on".into());
    }
    out.action = if !out.gaps.is_empty() {
        Action::Refuse
    } else if !out.changes.is_empty() {
        Action::Update
    } else {
        Action::Exists
    };
    Ok(out)
}

// --- Writing -------------------------------------------------------------------------

async fn apply(run: &Run<'_>, resources: &mut [ResourceOutcome]) -> Result<(), BootstrapError> {
    let mut key_arn: Option<String> = None;
    for r in resources.iter_mut() {
        match (r.kind, r.action) {
            (_, Action::Exists | Action::Refuse) => {}
            (ResourceKind::KmsKey, _) => {
                r.arn = Some(create_key(run, &r.name).await?);
            }
            (ResourceKind::S3Bucket, action) => {
                let key = key_arn.clone().ok_or_else(|| BootstrapError::Incomplete {
                    kind: "s3 bucket",
                    name: r.name.clone(),
                    message: "the state key's ARN is unknown".into(),
                })?;
                write_bucket(run, r, action == Action::Create, &key).await?;
            }
            (ResourceKind::DynamodbTable, Action::Create) => {
                let key = key_arn.clone().unwrap_or_default();
                r.arn = Some(create_table(run, &r.name, &key).await?);
            }
            (ResourceKind::DynamodbTable, _) => enable_pitr(run, &r.name).await?,
        }
        if r.kind == ResourceKind::KmsKey {
            key_arn = r.arn.clone();
        }
    }
    Ok(())
}

async fn create_key(run: &Run<'_>, name: &str) -> Result<String, BootstrapError> {
    let kms = run.aws.kms(None);
    let alias = alias_name(name).unwrap_or_else(|| DEFAULT_KEY_ALIAS.to_string());
    run.writing(ResourceKind::KmsKey, name, "CreateKey");
    let created = kms
        .create_key()
        .description(KEY_DESCRIPTION)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("ManagedBy")
                .tag_value("ohmc-infra bootstrap")
                .build()
                .map_err(|e| BootstrapError::Call {
                    message: e.to_string(),
                })?,
        )
        .send()
        .await
        .map_err(|e| call_failed("kms:CreateKey", &e))?;
    let meta = created.key_metadata();
    let (Some(id), Some(arn)) = (meta.map(|m| m.key_id()), meta.and_then(|m| m.arn())) else {
        return Err(BootstrapError::Incomplete {
            kind: "kms key",
            name: name.to_string(),
            message: "CreateKey returned no key id".into(),
        });
    };
    let incomplete = |message: String| BootstrapError::Incomplete {
        kind: "kms key",
        name: name.to_string(),
        message: format!(
            "key {arn} was created, but {message}; finish by hand or delete the key and run again"
        ),
    };
    run.writing(ResourceKind::KmsKey, name, "EnableKeyRotation");
    kms.enable_key_rotation()
        .key_id(id)
        .send()
        .await
        .map_err(|e| incomplete(ohmc_checks::call_error("kms:EnableKeyRotation", &e)))?;
    run.writing(ResourceKind::KmsKey, name, "CreateAlias");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(id)
        .send()
        .await
        .map_err(|e| incomplete(ohmc_checks::call_error("kms:CreateAlias", &e)))?;
    Ok(arn.to_string())
}

async fn write_bucket(
    run: &Run<'_>,
    r: &ResourceOutcome,
    create: bool,
    key_arn: &str,
) -> Result<(), BootstrapError> {
    let s3 = run.aws.s3(None);
    let name = &r.name;
    let kind = ResourceKind::S3Bucket;
    let wants = |change: &str| create || r.changes.iter().any(|c| c == change);
    let incomplete = |message: String| BootstrapError::Incomplete {
        kind: "s3 bucket",
        name: name.clone(),
        message: format!("{message}; run bootstrap again to finish"),
    };
    let owner = run.account.as_str();
    if create {
        run.writing(kind, name, "CreateBucket");
        let mut req = s3.create_bucket().bucket(name);
        // us-east-1 is the one region that takes no location constraint.
        if run.backend.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(
                        run.backend.region.as_str(),
                    ))
                    .build(),
            );
        }
        req.send()
            .await
            .map_err(|e| call_failed("s3:CreateBucket", &e))?;
        run.writing(kind, name, "PutBucketVersioning");
        s3.put_bucket_versioning()
            .bucket(name)
            .expected_bucket_owner(owner)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| incomplete(ohmc_checks::call_error("s3:PutBucketVersioning", &e)))?;
        run.writing(kind, name, "PutBucketEncryption");
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key_arn)
            .build()
            .map_err(|e| incomplete(e.to_string()))?;
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .bucket_key_enabled(true)
                    .build(),
            )
            .build()
            .map_err(|e| incomplete(e.to_string()))?;
        s3.put_bucket_encryption()
            .bucket(name)
            .expected_bucket_owner(owner)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .map_err(|e| {
                incomplete(ohmc_checks::call_error("s3:PutEncryptionConfiguration", &e))
            })?;
    }
    if wants(BUCKET_CHANGES[2]) {
        run.writing(kind, name, "PutPublicAccessBlock");
        s3.put_public_access_block()
            .bucket(name)
            .expected_bucket_owner(owner)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                incomplete(ohmc_checks::call_error("s3:PutBucketPublicAccessBlock", &e))
            })?;
    }
    if wants(BUCKET_CHANGES[3]) {
        run.writing(kind, name, "PutBucketOwnershipControls");
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            .build()
            .map_err(|e| incomplete(e.to_string()))?;
        s3.put_bucket_ownership_controls()
            .bucket(name)
            .expected_bucket_owner(owner)
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(rule)
                    .build()
                    .map_err(|e| incomplete(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| {
                incomplete(ohmc_checks::call_error("s3:PutBucketOwnershipControls", &e))
            })?;
    }
    if wants(BUCKET_CHANGES[4]) {
        run.writing(kind, name, "PutBucketPolicy");
        s3.put_bucket_policy()
            .bucket(name)
            .expected_bucket_owner(owner)
            .policy(bucket_policy(run).to_string())
            .send()
            .await
            .map_err(|e| incomplete(ohmc_checks::call_error("s3:PutBucketPolicy", &e)))?;
    }
    Ok(())
}

async fn create_table(run: &Run<'_>, name: &str, key_arn: &str) -> Result<String, BootstrapError> {
    let ddb = run.aws.dynamodb(None);
    let kind = ResourceKind::DynamodbTable;
    let build_err = |e: aws_sdk_dynamodb::error::BuildError| BootstrapError::Call {
        message: e.to_string(),
    };
    run.writing(kind, name, "CreateTable");
    let created = ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(LOCK_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_err)?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(LOCK_KEY)
                .key_type(KeyType::Hash)
                .build()
                .map_err(build_err)?,
        )
        .sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .kms_master_key_id(key_arn)
                .build(),
        )
        .deletion_protection_enabled(true)
        .send()
        .await
        .map_err(|e| call_failed("dynamodb:CreateTable", &e))?;
    let arn = created
        .table_description()
        .and_then(|t| t.table_arn())
        .unwrap_or_default()
        .to_string();
    // PITR can only be turned on once the table is ACTIVE.
    let deadline = tokio::time::Instant::now() + TABLE_ACTIVE_TIMEOUT;
    loop {
        let t = ddb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| call_failed("dynamodb:DescribeTable", &e))?;
        if t.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(BootstrapError::Incomplete {
                kind: "dynamodb table",
                name: name.to_string(),
                message: format!(
                    "created, but not ACTIVE after {}; run bootstrap again to turn on point-in-time recovery",
                    humantime::format_duration(TABLE_ACTIVE_TIMEOUT)
                ),
            });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    enable_pitr(run, name).await?;
    Ok(arn)
}

async fn enable_pitr(run: &Run<'_>, name: &str) -> Result<(), BootstrapError> {
    run.writing(ResourceKind::DynamodbTable, name, "UpdateContinuousBackups");
    run.aws
        .dynamodb(None)
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .map_err(|e| BootstrapError::Call {
                    message: e.to_string(),
                })?,
        )
        .send()
        .await
        .map_err(|e| BootstrapError::Incomplete {
            kind: "dynamodb table",
            name: name.to_string(),
            message: format!(
                "{}; run bootstrap again to finish",
                ohmc_checks::call_error("dynamodb:UpdateContinuousBackups", &e)
            ),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment with two S3 stacks (`a`, `b`) and one local stack, each S3
    /// stack with its own backend file.
    fn env_with(a: &str, b: &str) -> (tempfile::TempDir, Result<StateBackend, BootstrapError>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (name, backend) in [("a", "s3"), ("b", "s3"), ("l", "local")] {
            std::fs::create_dir_all(root.join("stacks").join(name)).unwrap();
            std::fs::write(
                root.join("stacks").join(name).join("main.tf"),
                format!("terraform {{\n  backend \"{backend}\" {{}}\n}}\n"),
            )
            .unwrap();
        }
        let env_dir = root.join("environments/dev");
        std::fs::create_dir_all(&env_dir).unwrap();
        std::fs::write(env_dir.join("a.hcl"), a).unwrap();
        std::fs::write(env_dir.join("b.hcl"), b).unwrap();
        std::fs::write(env_dir.join("l.hcl"), "path = \"x.tfstate\"\n").unwrap();
        std::fs::write(
            env_dir.join("environment.hcl"),
            r#"
aws {
  account_id = "123456789012"
  region     = "eu-west-1"
  profile    = "dev"
}
stack "a" {
  dir            = "../../stacks/a"
  backend_config = "a.hcl"
}
stack "b" {
  dir            = "../../stacks/b"
  backend_config = "b.hcl"
}
stack "l" {
  dir            = "../../stacks/l"
  backend_config = "l.hcl"
}
"#,
        )
        .unwrap();
        let env = crate::environment::load(&root.join("environments"), "dev").unwrap();
        let backend = state_backend(&env);
        (dir, backend)
    }

    #[test]
    fn the_s3_stacks_make_one_backend_with_environment_defaults() {
        let (_d, b) = env_with(
            "bucket = \"st\"\ndynamodb_table = \"lk\"\n",
            "bucket = \"st\"\ndynamodb_table = \"lk\"\nuse_lockfile = true\n",
        );
        // Both set is Terraform's migration mode: the table is what counts.
        assert_eq!(
            b.unwrap().lock,
            LockKind::DynamodbTable { table: "lk".into() }
        );
        let (_d, b) = env_with("bucket = \"st\"\n", "bucket = \"st\"\n");
        let b = b.unwrap();
        assert_eq!(b.stacks, vec!["a", "b"]);
        assert_eq!(b.region, "eu-west-1");
        assert_eq!(b.kms_key, DEFAULT_KEY_ALIAS);
        assert_eq!(b.lock, LockKind::None);
        assert_eq!(b.profile.as_deref(), Some("dev"));
        let (_d, b) = env_with(
            "bucket = \"st\"\nuse_lockfile = true\nregion = \"us-west-2\"\n",
            "bucket = \"st\"\nuse_lockfile = true\nregion = \"us-west-2\"\n",
        );
        let b = b.unwrap();
        assert_eq!(
            (b.lock, b.region.as_str()),
            (LockKind::Lockfile, "us-west-2")
        );
    }

    #[test]
    fn disagreeing_stacks_and_static_keys_are_refused() {
        let (_d, b) = env_with("bucket = \"one\"\n", "bucket = \"two\"\n");
        assert_eq!(
            b.unwrap_err().to_string(),
            "stacks \"a\" and \"b\" disagree on the backend's `bucket`; one bootstrap makes one bucket and lock: align their backend configs"
        );
        let (_d, b) = env_with("bucket = \"st\"\n", "bucket = \"st\"\ntoken = \"t0k\"\n");
        let err = b.unwrap_err().to_string();
        assert!(err.ends_with("b.hcl:2: `token` is a static AWS credential in the backend configuration; remove it: credentials for the state come from the AWS chain (environment, profile, SSO, instance role)"), "{err}");
        let (_d, b) = env_with("region = \"x\"\n", "bucket = \"st\"\n");
        assert_eq!(
            b.unwrap_err().to_string(),
            "stack \"a\" has an S3 backend without `bucket` (set it in its backend config)"
        );
    }

    #[test]
    fn alias_names_from_names_and_arns() {
        assert_eq!(alias_name("alias/x").as_deref(), Some("alias/x"));
        assert_eq!(
            alias_name("arn:aws:kms:us-east-1:123456789012:alias/terraform-state").as_deref(),
            Some("alias/terraform-state")
        );
        assert_eq!(alias_name("arn:aws:kms:us-east-1:1:key/abcd"), None);
        assert_eq!(alias_name("abcd-ef"), None);
        assert_eq!(
            arn_account("arn:aws:kms:us-east-1:234567890123:alias/x"),
            Some("234567890123")
        );
    }

    #[test]
    fn policy_gaps_name_each_missing_statement() {
        let full = r#"{"Statement":[
            {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["a"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},
            {"Effect":"Deny","Principal":{"AWS":"*"},"Action":["s3:*"],"Resource":["a"],"Condition":{"StringNotEquals":{"aws:PrincipalAccount":["111122223333"]}}}
        ]}"#;
        assert!(policy_gaps(full, "111122223333").is_empty());
        let gaps = policy_gaps(full, "999999999999");
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(gaps[0].contains("outside account 999999999999"));
        // An Allow with the same condition is not a denial.
        let allow = full.replace("\"Deny\"", "\"Allow\"");
        assert_eq!(policy_gaps(&allow, "111122223333").len(), 2);
        assert_eq!(policy_gaps("not json", "1").len(), 1);
    }
}
