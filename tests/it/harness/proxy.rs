//! A fault-injecting HTTP proxy between the AWS SDK and moto, for any test module.
//!
//! Point the SDK's `endpoint_url` at [`FaultProxy::endpoint`]. Every request is recorded
//! as (service, action): the service from the SigV4 credential scope, the action from
//! `X-Amz-Target` (JSON protocols), `Action=` (query protocol, in the query string or
//! the form body) or the REST method and path (Route 53, S3, Backup, GuardDuty). Rules
//! inject throttling or 500s, with the error shape of the request's protocol, on a
//! deterministic share of the matching calls or on every one:
//!
//! ```ignore
//! let proxy = FaultProxy::start(&moto.endpoint()).await;
//! proxy.add_rule(FaultRule::all(Fault::Throttle).share(30));          // 30% of all calls
//! proxy.add_rule(FaultRule::service("rds", Fault::ServerError));      // every RDS call
//! proxy.add_rule(FaultRule::action("RestoreDBInstanceFromDBSnapshot", Fault::ServerError));
//! ```
//!
//! It also keeps every request whole ([`FaultProxy::requests`]), so a benchmark can send
//! exactly the same calls again without the SDK ([`super::replay`]).
//!
//! With [`FaultProxy::set_delay`] every answer waits, so calls a client sends together
//! overlap here; [`FaultProxy::max_in_flight`] is then the most calls that were in flight
//! at once per (account, region, service). The account of an assumed role's keys is
//! learnt from the AssumeRole answers that pass through; other keys are moto's default
//! account.

use super::replay::RawRequest;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};

/// What to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Throttling in the protocol's shape (JSON 400 ThrottlingException, query/Route 53
    /// 400 Throttling, REST-JSON 429, S3 503 SlowDown): retryable.
    Throttle,
    /// HTTP 500 InternalFailure.
    ServerError,
    /// A refusal in the protocol's shape (query/REST 403 AccessDenied, JSON 400
    /// AccessDeniedException): not retryable, as IAM denials are.
    AccessDenied,
}

/// Which calls a rule applies to, and how often.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// SigV4 service name (`rds`, `acm`, `elasticloadbalancing`, ...); `None`: any.
    pub service: Option<String>,
    /// Action name (`DescribeDBInstances`); `None`: any.
    pub action: Option<String>,
    pub fault: Fault,
    /// Percentage of matching calls to fault, spread evenly and deterministically (100: all).
    pub percent: u32,
    /// Shifts which calls are hit, for a different deterministic pattern.
    pub offset: u64,
    /// Only requests whose query string or body contains this (an account id in an
    /// AssumeRole RoleArn, say); `None`: any.
    pub body_contains: Option<String>,
    matched: u64,
}

impl FaultRule {
    pub fn all(fault: Fault) -> Self {
        FaultRule {
            service: None,
            action: None,
            fault,
            percent: 100,
            offset: 0,
            body_contains: None,
            matched: 0,
        }
    }
    pub fn service(service: &str, fault: Fault) -> Self {
        FaultRule {
            service: Some(service.to_string()),
            ..Self::all(fault)
        }
    }
    pub fn action(action: &str, fault: Fault) -> Self {
        FaultRule {
            action: Some(action.to_string()),
            ..Self::all(fault)
        }
    }
    /// Fault only this percentage of the matching calls.
    pub fn share(mut self, percent: u32) -> Self {
        self.percent = percent.min(100);
        self
    }
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }
    /// Only requests whose query string or body contains `needle` (URL-encoded as sent).
    pub fn body_contains(mut self, needle: &str) -> Self {
        self.body_contains = Some(needle.to_string());
        self
    }

    fn hits(&mut self, service: &str, action: &str, request: &str) -> bool {
        if self.service.as_deref().is_some_and(|s| s != service)
            || self.action.as_deref().is_some_and(|a| a != action)
            || self
                .body_contains
                .as_deref()
                .is_some_and(|n| !request.contains(n))
        {
            return false;
        }
        let n = self.matched + self.offset;
        self.matched += 1;
        // Evenly spread: fault call n when floor((n+1)p/100) > floor(n p/100).
        let p = self.percent as u64;
        (n + 1) * p / 100 > n * p / 100
    }
}

/// One request seen by the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyCall {
    pub service: String,
    pub action: String,
    pub method: String,
    pub path: String,
    pub injected: Option<Fault>,
}

/// (account, region, service).
pub type CallKey = (String, String, String);

#[derive(Default)]
struct State {
    rules: Vec<FaultRule>,
    calls: Vec<ProxyCall>,
    requests: Vec<RawRequest>,
    delay: std::time::Duration,
    /// Access key id -> account, from AssumeRole answers.
    accounts: std::collections::HashMap<String, String>,
    in_flight: std::collections::BTreeMap<CallKey, usize>,
    max_in_flight: std::collections::BTreeMap<CallKey, usize>,
    /// (region, service) -> the most accounts that had such a call in flight at once.
    max_accounts: std::collections::BTreeMap<(String, String), usize>,
}

/// The proxy; stops accepting when dropped.
pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        let state: Arc<Mutex<State>> = Arc::default();
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        handle(req, st.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        FaultProxy { port, state, task }
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn add_rule(&self, rule: FaultRule) {
        self.state.lock().unwrap().rules.push(rule);
    }

    pub fn clear_rules(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Every request so far, in arrival order.
    pub fn calls(&self) -> Vec<ProxyCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Every request so far as it arrived (headers and body), in arrival order, for
    /// [`super::replay`] to send again without the SDK.
    pub fn requests(&self) -> Vec<RawRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn clear_calls(&self) {
        let mut st = self.state.lock().unwrap();
        st.calls.clear();
        st.requests.clear();
    }

    /// Every answer waits this long before it is forwarded (0 by default).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// The most calls in flight at once per (account, region, service).
    pub fn max_in_flight(&self) -> std::collections::BTreeMap<CallKey, usize> {
        self.state.lock().unwrap().max_in_flight.clone()
    }

    /// Forgets the peaks measured so far (calls in flight are still counted).
    pub fn clear_peaks(&self) {
        let mut st = self.state.lock().unwrap();
        st.max_in_flight.clear();
        st.max_accounts.clear();
    }

    /// Per (region, service): the most accounts that had a call in flight at once.
    pub fn max_accounts_in_flight(&self) -> std::collections::BTreeMap<(String, String), usize> {
        self.state.lock().unwrap().max_accounts.clone()
    }

    /// How many requests had a fault injected.
    pub fn injected(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.injected.is_some())
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Resp = Response<Full<Bytes>>;

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    upstream: String,
) -> Result<Resp, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let service = service_of(&parts.headers);
    let action = action_of(&service, &parts.method, &parts.uri, &parts.headers, &body);
    let request = format!(
        "{}\n{}",
        parts.uri.query().unwrap_or(""),
        String::from_utf8_lossy(&body)
    );
    let (key_id, region) = credential_of(&parts.headers);
    let (key, delay) = {
        let mut st = state.lock().unwrap();
        let account = st
            .accounts
            .get(&key_id)
            .cloned()
            .unwrap_or_else(|| super::moto::MOTO_ACCOUNT.to_string());
        let key: CallKey = (account, region, service.clone());
        let now = {
            let n = st.in_flight.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let peak = st.max_in_flight.entry(key.clone()).or_insert(0);
        *peak = (*peak).max(now);
        let accounts = st
            .in_flight
            .iter()
            .filter(|((_, r, s), n)| *r == key.1 && *s == key.2 && **n > 0)
            .count();
        let peak = st
            .max_accounts
            .entry((key.1.clone(), key.2.clone()))
            .or_insert(0);
        *peak = (*peak).max(accounts);
        (key, st.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = answer(parts, body, &service, &action, &request, &state, &upstream).await;
    if let Some(n) = state.lock().unwrap().in_flight.get_mut(&key) {
        *n -= 1;
    }
    answer
}

/// The access key id and region of the SigV4 credential scope.
fn credential_of(headers: &hyper::HeaderMap) -> (String, String) {
    let scope: Vec<&str> = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| c.split(['/', ',']).collect())
        .unwrap_or_default();
    (
        scope.first().unwrap_or(&"").to_string(),
        scope.get(2).unwrap_or(&"").to_string(),
    )
}

async fn answer(
    parts: hyper::http::request::Parts,
    body: Bytes,
    service: &str,
    action: &str,
    request: &str,
    state: &Arc<Mutex<State>>,
    upstream: &str,
) -> Result<Resp, hyper::Error> {
    let (service, action) = (service.to_string(), action.to_string());
    let injected = {
        let mut st = state.lock().unwrap();
        let fault = st
            .rules
            .iter_mut()
            .find_map(|r| r.hits(&service, &action, request).then_some(r.fault));
        st.requests.push(RawRequest {
            service: service.clone(),
            action: action.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
        });
        st.calls.push(ProxyCall {
            service: service.clone(),
            action: action.clone(),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            injected: fault,
        });
        fault
    };
    if let Some(fault) = injected {
        return Ok(fault_response(
            fault,
            protocol_of(&service, &parts.headers, &parts.uri, &body),
        ));
    }
    let assumed = (action == "AssumeRole")
        .then(|| {
            let re = regex::Regex::new(r"RoleArn=arn%3Aaws%3Aiam%3A%3A(\d{12})%3A").unwrap();
            re.captures(request).map(|c| c[1].to_string())
        })
        .flatten();
    match forward(upstream, parts, body).await {
        Ok((parts, body)) => {
            if let Some(account) = assumed {
                let re = regex::Regex::new(r"<AccessKeyId>([^<]+)</AccessKeyId>").unwrap();
                if let Some(c) = re.captures(&String::from_utf8_lossy(&body)) {
                    state
                        .lock()
                        .unwrap()
                        .accounts
                        .insert(c[1].to_string(), account);
                }
            }
            Ok(Response::from_parts(parts, Full::new(body)))
        }
        Err(e) => Ok(Response::builder()
            .status(502)
            .body(Full::new(Bytes::from(format!("proxy: {e}"))))
            .unwrap()),
    }
}

async fn forward(
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<(hyper::http::response::Parts, Bytes), String> {
    let stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::from_parts(parts, Full::new(body));
    req.headers_mut().remove(hyper::header::TRANSFER_ENCODING);
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (mut parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
    parts.headers.remove(hyper::header::TRANSFER_ENCODING);
    parts.headers.remove(hyper::header::CONNECTION);
    parts
        .headers
        .insert(hyper::header::CONTENT_LENGTH, body.len().into());
    Ok((parts, body))
}

/// The SigV4 service: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`.
fn service_of(headers: &hyper::HeaderMap) -> String {
    headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(['/', ',']).nth(3))
        .unwrap_or("unknown")
        .to_string()
}

fn form_action(s: &str) -> Option<String> {
    s.split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
}

fn action_of(
    service: &str,
    method: &hyper::Method,
    uri: &hyper::Uri,
    headers: &hyper::HeaderMap,
    body: &[u8],
) -> String {
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    if let Some(a) = uri.query().and_then(form_action) {
        return a;
    }
    if let Some(a) = std::str::from_utf8(body).ok().and_then(form_action) {
        return a;
    }
    rest_action(
        service,
        method.as_str(),
        uri.path(),
        uri.query().unwrap_or(""),
    )
}

/// REST operations the tests use, by method and path; others as `METHOD /path`.
fn rest_action(service: &str, method: &str, path: &str, query: &str) -> String {
    let seg: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let name = match (service, method, seg.as_slice()) {
        ("route53", "GET", [_, "hostedzone"]) => "ListHostedZones",
        ("route53", "POST", [_, "hostedzone"]) => "CreateHostedZone",
        ("route53", "GET", [_, "hostedzone", _]) => "GetHostedZone",
        ("route53", "GET", [_, "hostedzone", _, "rrset"]) => "ListResourceRecordSets",
        ("route53", "POST", [_, "hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        ("s3", "GET", []) => "ListBuckets",
        ("s3", "PUT", [_]) if query.contains("publicAccessBlock") => "PutPublicAccessBlock",
        ("s3", "GET", [_]) if query.contains("publicAccessBlock") => "GetPublicAccessBlock",
        ("s3", "PUT", [_]) if query.is_empty() || query.starts_with("x-id") => "CreateBucket",
        ("s3", "PUT", [_]) if query.contains("policy") => "PutBucketPolicy",
        ("backup", "GET", ["backup", "plans", _]) => "GetBackupPlan",
        ("backup", "PUT", ["backup", "plans"]) => "CreateBackupPlan",
        ("backup", "GET", ["backup", "plans", _, "selections"]) => "ListBackupSelections",
        ("backup", "GET", ["backup", "plans", _, "selections", _]) => "GetBackupSelection",
        ("backup", "GET", ["backup-vaults", _]) => "DescribeBackupVault",
        ("backup", "PUT", ["backup-vaults", _]) => "CreateBackupVault",
        ("backup", "PUT", ["backup-vaults", _, "vault-lock"]) => "PutBackupVaultLockConfiguration",
        ("backup", "GET", ["backup-vaults", _, "recovery-points"]) => {
            "ListRecoveryPointsByBackupVault"
        }
        ("guardduty", "POST", ["detector"]) => "CreateDetector",
        ("guardduty", "GET", ["detector", _]) => "GetDetector",
        ("guardduty", "POST", ["detector", _, "findings"]) => "ListFindings",
        ("guardduty", "POST", ["detector", _, "findings", "get"]) => "GetFindings",
        _ => return format!("{method} {path}"),
    };
    name.to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Json,
    Query,
    RestXmlRoute53,
    S3,
    RestJson,
}

fn protocol_of(
    service: &str,
    headers: &hyper::HeaderMap,
    uri: &hyper::Uri,
    body: &[u8],
) -> Protocol {
    if headers.contains_key("x-amz-target") {
        Protocol::Json
    } else if uri.query().and_then(form_action).is_some()
        || std::str::from_utf8(body)
            .ok()
            .and_then(form_action)
            .is_some()
    {
        Protocol::Query
    } else if service == "s3" {
        Protocol::S3
    } else if service == "route53" {
        Protocol::RestXmlRoute53
    } else {
        Protocol::RestJson
    }
}

fn fault_response(fault: Fault, protocol: Protocol) -> Resp {
    let (code, message) = match fault {
        Fault::Throttle => ("ThrottlingException", "Rate exceeded"),
        Fault::ServerError => ("InternalFailure", "injected by the test proxy"),
        Fault::AccessDenied => ("AccessDenied", "denied by the test proxy"),
    };
    let xml_error = |status: u16, code: &str| {
        let body = format!(
            "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>",
            if status >= 500 { "Receiver" } else { "Sender" }
        );
        Response::builder()
            .status(status)
            .header("content-type", "text/xml")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    match (protocol, fault) {
        (Protocol::Json, Fault::AccessDenied) => Response::builder()
            .status(400)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-errortype", "AccessDeniedException")
            .body(Full::new(Bytes::from(format!(
                r#"{{"__type":"AccessDeniedException","message":"{message}"}}"#
            ))))
            .unwrap(),
        (Protocol::Query | Protocol::RestXmlRoute53, Fault::AccessDenied) => {
            xml_error(403, "AccessDenied")
        }
        (Protocol::Json, _) => {
            let status = if fault == Fault::Throttle { 400 } else { 500 };
            let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#);
            Response::builder()
                .status(status)
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amzn-errortype", code)
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        }
        (Protocol::RestJson, _) => {
            let status = match fault {
                Fault::Throttle => 429,
                Fault::AccessDenied => 403,
                Fault::ServerError => 500,
            };
            let body = format!(r#"{{"message":"{message}"}}"#);
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .header("x-amzn-errortype", code)
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        }
        (Protocol::Query | Protocol::RestXmlRoute53, Fault::Throttle) => {
            xml_error(400, "Throttling")
        }
        (Protocol::Query | Protocol::RestXmlRoute53, Fault::ServerError) => {
            xml_error(500, "InternalFailure")
        }
        (Protocol::S3, _) => {
            let (status, code) = match fault {
                Fault::Throttle => (503, "SlowDown"),
                Fault::AccessDenied => (403, "AccessDenied"),
                Fault::ServerError => (500, "InternalError"),
            };
            let body = format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>");
            Response::builder()
                .status(status)
                .header("content-type", "application/xml")
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        }
    }
}
