//! The AWS context: one SDK configuration (credentials chain, optional assumed role,
//! endpoint, retries, timeouts) and the clients built from it, one per service and
//! region, created on first use and shared by every check of a run.
//!
//! Every client carries an [`ApiRecorder`] interceptor, so a run can report exactly
//! which IAM actions it used; the read-only test compares them with the shipped policy.

use crate::error::ChecksError;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How to reach and authenticate to the account. Mirrors the `aws {}` block of
/// `environment.hcl` plus the CLI's `--endpoint-url`.
#[derive(Debug, Clone)]
pub struct ContextOptions {
    /// Named profile from the shared config files; `None` uses the default chain.
    pub profile: Option<String>,
    /// Region; `None` takes it from the profile or the environment.
    pub region: Option<String>,
    /// Endpoint override (an emulator). `None` still honours `AWS_ENDPOINT_URL` through
    /// the SDK's own configuration chain.
    pub endpoint_url: Option<String>,
    /// Role to assume (STS AssumeRole) on top of the base credentials.
    pub role_arn: Option<String>,
    /// External id for the assumed role.
    pub external_id: Option<String>,
    /// Session name for the assumed role.
    pub session_name: String,
    /// Static credentials instead of the chain (emulators and tests only).
    pub static_credentials: Option<Credentials>,
    /// Attempts per call, including the first (standard retry mode with backoff).
    pub max_attempts: u32,
    /// First retry backoff; doubles with jitter up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Time allowed for one attempt of a call.
    pub attempt_timeout: Duration,
    /// Time allowed for a whole call, retries included.
    pub operation_timeout: Duration,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed between sending a request and the first byte of its answer. AWS
    /// answers reads in well under a second; an endpoint that accepts connections and
    /// never answers would otherwise hold each attempt for the whole attempt timeout.
    pub read_timeout: Duration,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            role_arn: None,
            external_id: None,
            session_name: "ohmc-infra".to_string(),
            static_credentials: None,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(90),
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
        }
    }
}

tokio::task_local! {
    /// The area whose checks are running in this task, for per-area call counts.
    pub(crate) static CURRENT_AREA: crate::model::Area;
}

/// How many attempts in a row to one host may go unanswered (timed out, or no
/// connection) before the host counts as dead for the rest of the run. A few, so one
/// slow answer from a live service does not condemn it; any answer resets the count.
const UNANSWERED_BEFORE_DEAD: u32 = 3;

/// Attempts to a host (`host:port`) that got no answer, in a row.
#[derive(Debug, Default)]
struct HostHealth(HashMap<String, u32>);

/// A call not sent because its host stopped answering earlier in the run. Without
/// this, every call of every check waits out its own timeouts and retries against an
/// endpoint that is gone, one after another where calls depend on each other: minutes
/// for a run that can only end in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUnreachable {
    pub host: String,
    pub unanswered: u32,
}

impl std::fmt::Display for EndpointUnreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not answering ({} attempts in a row timed out or could not connect); not called again in this run",
            self.host, self.unanswered
        )
    }
}

impl std::error::Error for EndpointUnreachable {}

#[derive(Debug, Default)]
struct Calls {
    total: BTreeMap<String, u64>,
    by_area: BTreeMap<(crate::model::Area, String), u64>,
    spans: Vec<CallSpan>,
}

/// One finished call as the SDK saw it, from the start of its execution to its end
/// (serialization, signing, every attempt, backoff sleeps and deserialization). The
/// benchmark uses these to tell the emulator's time from ours.
#[derive(Debug, Clone)]
pub struct CallSpan {
    /// `service:Action` (the IAM action).
    pub action: String,
    /// The SDK's operation name (`GetPublicAccessBlock` for `s3:GetBucketPublicAccessBlock`).
    pub operation: String,
    /// The area whose checks made the call (`None` outside a check, e.g. the account id).
    pub area: Option<crate::model::Area>,
    pub started: Instant,
    pub ended: Instant,
    /// Attempts made (1 unless retried).
    pub attempts: u32,
    /// Whether the call ended with an output rather than an error.
    pub ok: bool,
}

impl CallSpan {
    pub fn duration(&self) -> Duration {
        self.ended.saturating_duration_since(self.started)
    }
}

/// Per-execution state the interceptor keeps in the call's config bag.
#[derive(Debug, Clone)]
struct CallStart {
    at: Instant,
    attempts: u32,
}

impl Storable for CallStart {
    type Storer = StoreReplace<Self>;
}

/// The host an attempt was sent to, kept for `read_after_attempt`: by then the request
/// has been handed to the HTTP client and is no longer in the context.
#[derive(Debug, Clone)]
struct AttemptHost(String);

impl Storable for AttemptHost {
    type Storer = StoreReplace<Self>;
}

/// Records every AWS API call made through the context's clients as an IAM action
/// (`service:Action`), counted, overall and per check area. Attached to every client as an
/// interceptor; it sees each call once, before serialization (retries of a call are not
/// counted again).
#[derive(Debug, Clone, Default)]
pub struct ApiRecorder {
    calls: Arc<Mutex<Calls>>,
    health: Arc<Mutex<HostHealth>>,
}

impl ApiRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The interceptor to attach to a client of the service whose IAM prefix is given.
    pub fn interceptor(&self, iam_prefix: &'static str) -> RecordingInterceptor {
        RecordingInterceptor {
            prefix: iam_prefix,
            recorder: self.clone(),
        }
    }

    /// The recorded calls, locked (a panic elsewhere while holding the lock leaves the
    /// counts usable).
    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one call by hand (for callers that wrap their own clients).
    pub fn record(&self, iam_action: String) {
        let area = CURRENT_AREA.try_with(|a| *a).ok();
        let mut calls = self.calls();
        if let Some(area) = area {
            *calls.by_area.entry((area, iam_action.clone())).or_insert(0) += 1;
        }
        *calls.total.entry(iam_action).or_insert(0) += 1;
    }

    /// The calls so far, `service:Action -> count`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.calls().total.clone()
    }

    /// The calls so far made by checks, per area.
    pub fn snapshot_by_area(&self) -> BTreeMap<crate::model::Area, BTreeMap<String, u64>> {
        let calls = self.calls();
        let mut out: BTreeMap<crate::model::Area, BTreeMap<String, u64>> = BTreeMap::new();
        for ((area, action), n) in &calls.by_area {
            out.entry(*area).or_default().insert(action.clone(), *n);
        }
        out
    }

    /// Every finished call so far, in the order they ended.
    pub fn spans(&self) -> Vec<CallSpan> {
        self.calls().spans.clone()
    }

    fn record_span(&self, span: CallSpan) {
        self.calls().spans.push(span);
    }

    /// Forgets the calls so far.
    pub fn clear(&self) {
        *self.calls() = Calls::default();
    }

    fn health(&self) -> std::sync::MutexGuard<'_, HostHealth> {
        self.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An attempt to `host` got an answer (any HTTP status) or none.
    fn attempt_ended(&self, host: &str, answered: bool) {
        let mut health = self.health();
        let n = health.0.entry(host.to_string()).or_insert(0);
        *n = if answered { 0 } else { n.saturating_add(1) };
    }

    /// `Err` when `host` has stopped answering.
    fn check_host(&self, host: &str) -> Result<(), EndpointUnreachable> {
        match self.health().0.get(host) {
            Some(&n) if n >= UNANSWERED_BEFORE_DEAD => Err(EndpointUnreachable {
                host: host.to_string(),
                unanswered: n,
            }),
            _ => Ok(()),
        }
    }
}

/// The per-client interceptor of an [`ApiRecorder`]. Attach it with the service config
/// builder's `.interceptor(...)` (the tests do so on mocked clients).
#[derive(Debug, Clone)]
pub struct RecordingInterceptor {
    prefix: &'static str,
    recorder: ApiRecorder,
}

/// `host:port` of a request URI (the port when given), the unit an endpoint is judged
/// alive or dead by.
fn host_of(uri: &str) -> Option<String> {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let authority = rest.split(['/', '?']).next()?;
    let authority = authority.rsplit('@').next()?;
    (!authority.is_empty()).then(|| authority.to_ascii_lowercase())
}

/// The SDK's name of the operation a config bag belongs to.
fn operation_name(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map_or("UnknownOperation", |m| m.name())
        .to_string()
}

impl Intercept for RecordingInterceptor {
    fn name(&self) -> &'static str {
        "ohmc-checks::ApiRecorder"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(CallStart {
            at: Instant::now(),
            attempts: 0,
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(mut start) = cfg.load::<CallStart>().cloned() {
            start.attempts += 1;
            cfg.interceptor_state().store_put(start);
        }
        Ok(())
    }

    // The endpoint is applied to the request after `read_before_attempt`: its host is
    // known here, just before sending.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(host) = host_of(context.request().uri()) {
            self.recorder.check_host(&host)?;
            cfg.interceptor_state().store_put(AttemptHost(host));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(AttemptHost(host)) = cfg.load::<AttemptHost>().cloned() else {
            return Ok(());
        };
        if context.response().is_some() {
            self.recorder.attempt_ended(&host, true);
        } else if let Some(Err(e)) = context.output_or_error() {
            // Only silence counts: a timeout, or no connection at all. An attempt this
            // interceptor refused is not a new observation of the host.
            let silent = e.is_timeout_error()
                || e.as_connector_error()
                    .is_some_and(|c| c.is_timeout() || c.is_io());
            if silent {
                self.recorder.attempt_ended(&host, false);
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let ended = Instant::now();
        let Some(start) = cfg.load::<CallStart>() else {
            return Ok(());
        };
        let operation = operation_name(cfg);
        self.recorder.record_span(CallSpan {
            action: crate::iam::iam_action(self.prefix, &operation),
            operation,
            area: CURRENT_AREA.try_with(|a| *a).ok(),
            started: start.at,
            ended,
            attempts: start.attempts,
            ok: matches!(context.output_or_error(), Some(Ok(_))),
        });
        Ok(())
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Operation metadata is in the bag once the operation's config is applied, which
        // is after `read_before_execution`; serialization happens once per call.
        let operation = operation_name(cfg);
        self.recorder
            .record(crate::iam::iam_action(self.prefix, &operation));
        Ok(())
    }
}

/// The HTTP client of a context, shared by every service client and the credential
/// providers: the SDK's own default (hyper 1, rustls with aws-lc, proxy settings from the
/// environment), built once. Left to itself the SDK builds one per service client, each
/// with its own TLS set-up (trust roots loaded again) and its own connection pool.
fn shared_http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    use aws_smithy_http_client::{proxy::ProxyConfig, Builder, ConnectorBuilder};
    // As aws-smithy-runtime's `default_https_client` does it.
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut conn =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// Retry classifier of clients pointed at an emulator: an HTTP 500 whose body is an HTML
/// page is not an AWS error at all but the emulator's unhandled-exception page, which is
/// how moto answers an operation it does not implement, on every attempt. Retrying it
/// only adds backoff (seconds with the default settings), so it is not retried; the call
/// still fails and its checks are Error. AWS-shaped 500s (an XML or JSON error, as the
/// fault-injection tests send) and every other status keep the standard retries, and
/// clients of real AWS endpoints never get this classifier.
#[derive(Debug, Clone, Copy)]
pub struct EmulatorErrorPage;

impl EmulatorErrorPage {
    /// Whether a response is an emulator's error page (500, `text/html`).
    pub fn matches(status: u16, content_type: Option<&str>) -> bool {
        status == 500
            && content_type.is_some_and(|c| {
                c.trim_start()
                    .get(..9)
                    .is_some_and(|p| p.eq_ignore_ascii_case("text/html"))
            })
    }
}

impl ClassifyRetry for EmulatorErrorPage {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(r) if Self::matches(r.status().as_u16(), r.headers().get("content-type")) => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ohmc-checks::EmulatorErrorPage"
    }

    fn priority(&self) -> RetryClassifierPriority {
        // After the SDK's own classifiers, so the verdict on a 500 can be overridden.
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// moto 5.2.5 answers S3 GetBucketVersioning with the root element
/// `GetBucketVersioningResponse` where S3 sends `VersioningConfiguration`; the SDK's
/// deserializer rejects that, so no versioning status could be read from the emulator.
/// On clients of emulated endpoints only, a failed GetBucketVersioning whose body has
/// that root is read here instead (its `Status` and `MfaDelete`). S3 never sends that
/// root, and clients of real AWS endpoints never get this interceptor.
#[derive(Debug, Clone, Copy)]
pub struct EmulatorVersioningRoot;

impl EmulatorVersioningRoot {
    /// `(Status, MfaDelete)` of a moto-shaped GetBucketVersioning body, `None` for any
    /// other body.
    pub fn parse(body: &str) -> Option<(Option<String>, Option<String>)> {
        if !body.contains("<GetBucketVersioningResponse") {
            return None;
        }
        let element = |name: &str| {
            let open = format!("<{name}>");
            let start = body.find(&open)? + open.len();
            let end = body[start..].find(&format!("</{name}>"))? + start;
            Some(body[start..end].trim().to_string())
        };
        Some((element("Status"), element("MfaDelete")))
    }
}

impl Intercept for EmulatorVersioningRoot {
    fn name(&self) -> &'static str {
        "ohmc-checks::EmulatorVersioningRoot"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation_name(cfg) != "GetBucketVersioning"
            || !matches!(context.output_or_error(), Some(Err(_)))
        {
            return Ok(());
        }
        let parsed = context
            .response()
            .and_then(|r| r.body().bytes())
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(Self::parse);
        let Some((status, mfa_delete)) = parsed else {
            return Ok(());
        };
        let output =
            aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput::builder()
                .set_status(
                    status.map(|s| aws_sdk_s3::types::BucketVersioningStatus::from(s.as_str())),
                )
                .set_mfa_delete(
                    mfa_delete.map(|s| aws_sdk_s3::types::MfaDeleteStatus::from(s.as_str())),
                )
                .build();
        if let Some(slot) = context.output_or_error_mut() {
            *slot =
                Ok(aws_smithy_runtime_api::client::interceptors::context::Output::erase(output));
        }
        Ok(())
    }
}

macro_rules! service_clients {
    ($( $field:ident / $variant:ident : $krate:ident = $prefix:literal ),* $(,)?) => {
        /// The clients of one region, created on first use.
        #[derive(Default)]
        struct RegionClients {
            $( $field: OnceLock<$krate::Client>, )*
        }

        /// A client supplied from outside (an `aws-smithy-mocks` client in tests), used
        /// instead of building one from the SDK config.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum ClientOverride {
            $( $variant($krate::Client), )*
        }

        impl AwsContext {
            /// Replaces the client of one service in the home region (before the run).
            pub fn with_client(self, client: ClientOverride) -> Self {
                let clients = self.region_clients(None);
                match client {
                    $( ClientOverride::$variant(c) => { let _ = clients.$field.set(c); } )*
                }
                self
            }

            $(
                #[doc = concat!("The shared `", stringify!($krate), "` client for a region (`None`: the home region).")]
                pub fn $field(&self, region: Option<&str>) -> $krate::Client {
                    let clients = self.region_clients(region);
                    clients.$field.get_or_init(|| {
                        let sdk = self.sdk_config_for(region);
                        let mut builder = $krate::config::Builder::from(&sdk)
                            .interceptor(self.inner.recorder.interceptor($prefix));
                        if self.emulated() {
                            builder = builder.retry_classifier(EmulatorErrorPage);
                        }
                        builder = service_clients!(@tweak $field, builder, self);
                        $krate::Client::from_conf(builder.build())
                    }).clone()
                }
            )*
        }
    };
    (@tweak s3, $b:ident, $self:ident) => {{
        // An emulator endpoint cannot serve virtual-hosted bucket names.
        let b = $b.force_path_style($self.emulated());
        if $self.emulated() {
            b.interceptor(EmulatorVersioningRoot)
        } else {
            b
        }
    }};
    (@tweak $other:ident, $b:ident, $self:ident) => { $b };
}

service_clients! {
    sts / Sts: aws_sdk_sts = "sts",
    route53 / Route53: aws_sdk_route53 = "route53",
    acm / Acm: aws_sdk_acm = "acm",
    wafv2 / Wafv2: aws_sdk_wafv2 = "wafv2",
    elbv2 / Elbv2: aws_sdk_elasticloadbalancingv2 = "elasticloadbalancing",
    backup / Backup: aws_sdk_backup = "backup",
    config / Config: aws_sdk_config = "config",
    guardduty / GuardDuty: aws_sdk_guardduty = "guardduty",
    cloudtrail / CloudTrail: aws_sdk_cloudtrail = "cloudtrail",
    s3 / S3: aws_sdk_s3 = "s3",
    rds / Rds: aws_sdk_rds = "rds",
    elasticache / Elasticache: aws_sdk_elasticache = "elasticache",
    kms / Kms: aws_sdk_kms = "kms",
    dynamodb / DynamoDb: aws_sdk_dynamodb = "dynamodb",
}

struct Inner {
    sdk: SdkConfig,
    options: ContextOptions,
    region: String,
    recorder: ApiRecorder,
    clients: Mutex<HashMap<String, Arc<RegionClients>>>,
    account_id: tokio::sync::OnceCell<Option<String>>,
}

/// The AWS account and region the checks run against, with its shared clients.
/// Cheap to clone; clones share clients and the recorder.
#[derive(Clone)]
pub struct AwsContext {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AwsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsContext")
            .field("region", &self.inner.region)
            .field("endpoint_url", &self.inner.options.endpoint_url)
            .field("role_arn", &self.inner.options.role_arn)
            .finish()
    }
}

impl AwsContext {
    /// Loads the SDK configuration from the normal chain (environment, profile, SSO, web
    /// identity, IMDS) with the overrides in `options`, and assumes the role if one is given.
    /// Makes no AWS call (credentials are resolved lazily, on the first call).
    pub async fn load(options: ContextOptions) -> Result<Self, ChecksError> {
        if let Some(url) = &options.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ChecksError::InvalidEndpoint {
                    url: url.clone(),
                    reason: "expected an http:// or https:// URL".into(),
                });
            }
        }
        if let Some(arn) = &options.role_arn {
            if !(arn.starts_with("arn:") && arn.contains(":iam::") && arn.contains(":role/")) {
                return Err(ChecksError::InvalidRoleArn { arn: arn.clone() });
            }
        }
        let base = Self::loader(&options).load().await;
        let region = base
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| ChecksError::NoRegion {
                profile: options.profile.clone(),
            })?;
        let sdk = match &options.role_arn {
            None => base,
            Some(role) => {
                let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name(options.session_name.clone())
                    .configure(&base);
                if let Some(id) = &options.external_id {
                    provider = provider.external_id(id.clone());
                }
                let provider = provider.build().await;
                base.into_builder()
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                    )
                    .build()
            }
        };
        Ok(Self::from_sdk_config(sdk, options, region))
    }

    fn loader(options: &ContextOptions) -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(shared_http_client())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(options.max_attempts.max(1))
                    .with_initial_backoff(options.initial_backoff)
                    .with_max_backoff(options.max_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(options.operation_timeout)
                    .operation_attempt_timeout(options.attempt_timeout)
                    .connect_timeout(options.connect_timeout)
                    .read_timeout(options.read_timeout)
                    .build(),
            );
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(creds) = &options.static_credentials {
            loader = loader.credentials_provider(creds.clone());
        }
        loader
    }

    /// Wraps an already loaded SDK configuration (retry and timeout settings are the
    /// caller's). `region` is the home region of the checks.
    pub fn from_sdk_config(sdk: SdkConfig, options: ContextOptions, region: String) -> Self {
        AwsContext {
            inner: Arc::new(Inner {
                sdk,
                options,
                region,
                recorder: ApiRecorder::new(),
                clients: Mutex::new(HashMap::new()),
                account_id: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Whether the endpoint is overridden (`--endpoint-url` or `AWS_ENDPOINT_URL`), i.e.
    /// an emulator rather than AWS.
    fn emulated(&self) -> bool {
        self.inner.options.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some()
    }

    /// The home region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The recorder of every API call made through this context.
    pub fn recorder(&self) -> &ApiRecorder {
        &self.inner.recorder
    }

    /// The underlying SDK configuration (for callers that need other services).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.inner.sdk
    }

    fn sdk_config_for(&self, region: Option<&str>) -> SdkConfig {
        match region {
            Some(r) if r != self.inner.region => self
                .inner
                .sdk
                .clone()
                .into_builder()
                .region(Region::new(r.to_string()))
                .build(),
            _ => self.inner.sdk.clone(),
        }
    }

    fn region_clients(&self, region: Option<&str>) -> Arc<RegionClients> {
        let key = region.unwrap_or(&self.inner.region).to_string();
        let mut map = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(key).or_default().clone()
    }

    /// The account id (STS GetCallerIdentity, once per context); `None` if STS failed.
    pub async fn account_id(&self) -> Option<String> {
        self.inner
            .account_id
            .get_or_init(|| async {
                self.sts(None)
                    .get_caller_identity()
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.account)
            })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::{EmulatorErrorPage, EmulatorVersioningRoot};

    #[test]
    fn only_a_moto_shaped_versioning_body_is_read_by_the_shim() {
        let moto = r#"<?xml version="1.0" encoding="utf-8"?>
<GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
        assert_eq!(
            EmulatorVersioningRoot::parse(moto),
            Some((Some("Enabled".into()), None))
        );
        let never =
            r#"<GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#;
        assert_eq!(EmulatorVersioningRoot::parse(never), Some((None, None)));
        // S3's own shape is left to the SDK.
        let s3 = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status></VersioningConfiguration>"#;
        assert_eq!(EmulatorVersioningRoot::parse(s3), None);
    }

    #[test]
    fn only_an_html_500_is_an_emulator_error_page() {
        assert!(EmulatorErrorPage::matches(
            500,
            Some("text/html; charset=utf-8")
        ));
        assert!(EmulatorErrorPage::matches(500, Some("TEXT/HTML")));
        // AWS-shaped errors and other statuses keep the standard retries.
        assert!(!EmulatorErrorPage::matches(500, Some("text/xml")));
        assert!(!EmulatorErrorPage::matches(
            500,
            Some("application/x-amz-json-1.1")
        ));
        assert!(!EmulatorErrorPage::matches(500, None));
        assert!(!EmulatorErrorPage::matches(503, Some("text/html")));
        assert!(!EmulatorErrorPage::matches(502, Some("text/html")));
    }
}
