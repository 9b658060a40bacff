//! Monitoring checks: the environment's Prometheus and Alertmanager, read through their
//! HTTP APIs. Not AWS, so they need no [`crate::AwsContext`]; `ohmc-infra verify` runs
//! [`run`] beside [`crate::run_checks`] and merges the findings.
//!
//! | check | API | judged |
//! | --- | --- | --- |
//! | `monitoring.scrape_jobs_up` | Prometheus `GET /api/v1/targets?state=active` | one finding per required job (matched on the target's `job` label, as `up{job="…"}` is): Pass when it has at least one active target and every one is `up` |
//! | `monitoring.rule_groups_loaded` | Prometheus `GET /api/v1/rules` | one finding per required group: Pass when a group of that name is loaded and none of its rules has health `err` |
//! | `monitoring.alertmanager_receivers` | Alertmanager `GET /api/v2/status` | Pass when it answers and both the root route's receiver and at least one receiver have an integration (`*_configs`) |
//!
//! As with the AWS checks, a call that fails (refused, timed out, non-2xx, a body that is
//! not the documented shape) is an **Error**, never a Pass; so is a target or rule health
//! value this version does not know. An unset URL or an empty list is **Skipped** with the
//! reason. The three fetches run concurrently, each under [`MonitoringSettings::timeout`].

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::checks::{error, finding, judge, list_or_none, skipped};
use crate::model::{Finding, Outcome};

pub const SCRAPE_JOBS_UP: &str = "monitoring.scrape_jobs_up";
pub const RULE_GROUPS_LOADED: &str = "monitoring.rule_groups_loaded";
pub const ALERTMANAGER_RECEIVERS: &str = "monitoring.alertmanager_receivers";

/// Responses larger than this are an Error rather than a memory problem.
const MAX_BODY_BYTES: usize = 64 << 20;

/// What the environment's `monitoring {}` block expects.
#[derive(Debug, Clone)]
pub struct MonitoringSettings {
    /// Base URL of the Prometheus HTTP API (`http://prometheus.monitoring:9090`); a path
    /// prefix such as `https://host/prometheus` is kept.
    pub prometheus_url: Option<String>,
    /// Base URL of Alertmanager.
    pub alertmanager_url: Option<String>,
    /// Scrape jobs (the `job` label) whose targets must all be up.
    pub required_jobs: Vec<String>,
    /// Rule group names that must be loaded.
    pub required_rule_groups: Vec<String>,
    /// Per request: connect, send and read the whole body.
    pub timeout: Duration,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        MonitoringSettings {
            prometheus_url: None,
            alertmanager_url: None,
            required_jobs: Vec::new(),
            required_rule_groups: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Runs the three monitoring checks. Never fails: what could not be fetched is an Error
/// finding of each check that needed it.
pub async fn run(settings: &MonitoringSettings) -> Vec<Finding> {
    let http = Http::new(settings.timeout);
    let prometheus = settings.prometheus_url.as_deref().map(base);
    let alertmanager = settings.alertmanager_url.as_deref().map(base);

    let targets = async {
        match &prometheus {
            Some(p) if !settings.required_jobs.is_empty() => Some(
                http.get_prometheus::<TargetsData>(&format!("{p}/api/v1/targets?state=active"))
                    .await,
            ),
            _ => None,
        }
    };
    let rules = async {
        match &prometheus {
            Some(p) if !settings.required_rule_groups.is_empty() => Some(
                http.get_prometheus::<RulesData>(&format!("{p}/api/v1/rules"))
                    .await,
            ),
            _ => None,
        }
    };
    let status = async {
        match &alertmanager {
            Some(a) => Some(
                http.get_json::<AlertmanagerStatus>(&format!("{a}/api/v2/status"))
                    .await,
            ),
            None => None,
        }
    };
    let (targets, rules, status) = tokio::join!(targets, rules, status);

    let mut findings = Vec::new();
    let prom_resource = prometheus
        .clone()
        .unwrap_or_else(|| "prometheus".to_string());
    match targets {
        None if prometheus.is_none() => {
            findings.push(skipped(SCRAPE_JOBS_UP, &prom_resource, NO_PROMETHEUS_URL))
        }
        None => findings.push(skipped(
            SCRAPE_JOBS_UP,
            &prom_resource,
            "the monitoring block lists no required_jobs",
        )),
        Some(Err(message)) => findings.extend(settings.required_jobs.iter().map(|job| {
            error(
                SCRAPE_JOBS_UP,
                &job_resource(job),
                job_expected(job),
                &message,
            )
        })),
        Some(Ok(data)) => {
            findings.extend(judge_jobs(&settings.required_jobs, &data.active_targets))
        }
    }
    match rules {
        None if prometheus.is_none() => findings.push(skipped(
            RULE_GROUPS_LOADED,
            &prom_resource,
            NO_PROMETHEUS_URL,
        )),
        None => findings.push(skipped(
            RULE_GROUPS_LOADED,
            &prom_resource,
            "the monitoring block lists no required_rule_groups",
        )),
        Some(Err(message)) => findings.extend(settings.required_rule_groups.iter().map(|group| {
            error(
                RULE_GROUPS_LOADED,
                &group_resource(group),
                group_expected(group),
                &message,
            )
        })),
        Some(Ok(data)) => findings.extend(judge_rule_groups(
            &settings.required_rule_groups,
            &data.groups,
        )),
    }
    match (status, &alertmanager) {
        (Some(result), Some(url)) => findings.push(judge_alertmanager(url, result)),
        _ => findings.push(skipped(
            ALERTMANAGER_RECEIVERS,
            "alertmanager",
            "the monitoring block sets no alertmanager_url",
        )),
    }
    findings
}

const NO_PROMETHEUS_URL: &str = "the monitoring block sets no prometheus_url";

fn base(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

fn job_resource(job: &str) -> String {
    format!("prometheus-job:{job}")
}

fn group_resource(group: &str) -> String {
    format!("prometheus-rule-group:{group}")
}

fn job_expected(job: &str) -> String {
    format!("job \"{job}\" has at least one active target and every target is up")
}

fn group_expected(group: &str) -> String {
    format!("rule group \"{group}\" is loaded and no rule in it fails to evaluate")
}

// ---- Judging (pure) ----

fn judge_jobs(required: &[String], targets: &[ApiTarget]) -> Vec<Finding> {
    let mut seen: Vec<&str> = targets
        .iter()
        .filter_map(|t| t.labels.get("job").map(String::as_str))
        .collect();
    seen.sort_unstable();
    seen.dedup();
    required
        .iter()
        .map(|job| {
            let resource = job_resource(job);
            let of_job: Vec<&ApiTarget> = targets.iter().filter(|t| t.labels.get("job") == Some(job)).collect();
            if of_job.is_empty() {
                let observed = format!("no active target has job=\"{job}\" (jobs with targets: {})", list_or_none(&seen));
                return finding(SCRAPE_JOBS_UP, resource, Outcome::Fail, job_expected(job), observed);
            }
            if let Some(bad) = of_job.iter().find(|t| !matches!(t.health.as_str(), "up" | "down" | "unknown")) {
                let message = format!("target {} of job \"{job}\" has health \"{}\", which this version does not know", bad.name(), bad.health);
                return error(SCRAPE_JOBS_UP, &resource, job_expected(job), &message);
            }
            let not_up: Vec<String> = of_job
                .iter()
                .filter(|t| t.health != "up")
                .map(|t| match (t.health.as_str(), t.last_error.trim()) {
                    ("unknown", _) => format!("{} not scraped yet", t.name()),
                    (health, "") => format!("{} {health}", t.name()),
                    (health, err) => format!("{} {health} ({err})", t.name()),
                })
                .collect();
            let observed = if not_up.is_empty() {
                let names: Vec<String> = of_job.iter().map(|t| t.name()).collect();
                format!("{} target(s) up: {}", of_job.len(), names.join(", "))
            } else {
                format!("{} of {} target(s) not up: {}", not_up.len(), of_job.len(), not_up.join("; "))
            };
            finding(SCRAPE_JOBS_UP, resource, judge(not_up.is_empty()), job_expected(job), observed)
        })
        .collect()
}

fn judge_rule_groups(required: &[String], groups: &[ApiGroup]) -> Vec<Finding> {
    let mut loaded: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    loaded.sort_unstable();
    loaded.dedup();
    required
        .iter()
        .map(|name| {
            let resource = group_resource(name);
            let matching: Vec<&ApiGroup> = groups.iter().filter(|g| &g.name == name).collect();
            if matching.is_empty() {
                let observed = format!("not loaded (groups loaded: {})", list_or_none(&loaded));
                return finding(RULE_GROUPS_LOADED, resource, Outcome::Fail, group_expected(name), observed);
            }
            let rules: Vec<&ApiRule> = matching.iter().flat_map(|g| g.rules.iter()).collect();
            if let Some(bad) = rules.iter().find(|r| !matches!(r.health.as_str(), "ok" | "err" | "unknown")) {
                let message = format!("rule {} of group \"{name}\" has health \"{}\", which this version does not know", bad.name, bad.health);
                return error(RULE_GROUPS_LOADED, &resource, group_expected(name), &message);
            }
            let failing: Vec<String> = rules
                .iter()
                .filter(|r| r.health == "err")
                .map(|r| match r.last_error.as_deref().map(str::trim) {
                    Some(e) if !e.is_empty() => format!("{}: {e}", r.name),
                    _ => r.name.clone(),
                })
                .collect();
            let files: Vec<&str> = matching.iter().map(|g| g.file.as_str()).collect();
            let observed = if failing.is_empty() {
                format!("loaded from {} with {} rule(s)", files.join(", "), rules.len())
            } else {
                format!("loaded from {}; {} of {} rule(s) failing: {}", files.join(", "), failing.len(), rules.len(), failing.join("; "))
            };
            finding(RULE_GROUPS_LOADED, resource, judge(failing.is_empty()), group_expected(name), observed)
        })
        .collect()
}

const ALERTMANAGER_EXPECTED: &str =
    "Alertmanager answers /api/v2/status; the root route's receiver and at least one receiver have an integration";

fn judge_alertmanager(url: &str, status: Result<AlertmanagerStatus, String>) -> Finding {
    let fail =
        |message: String| error(ALERTMANAGER_RECEIVERS, url, ALERTMANAGER_EXPECTED, &message);
    let status = match status {
        Ok(s) => s,
        Err(message) => return fail(message),
    };
    let config = match AlertmanagerConfig::parse(&status.config.original) {
        Ok(c) => c,
        Err(e) => {
            return fail(format!(
                "the configuration in /api/v2/status is not readable YAML: {e}"
            ))
        }
    };
    let described: Vec<String> = config
        .receivers
        .iter()
        .map(|r| match r.integrations.is_empty() {
            true => format!("{} (no integration)", r.name),
            false => format!("{} ({})", r.name, r.integrations.join(", ")),
        })
        .collect();
    let integrations_of = |name: &str| {
        config
            .receivers
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.integrations.len())
    };
    let default_ok = config
        .default_receiver
        .as_deref()
        .and_then(integrations_of)
        .is_some_and(|n| n > 0);
    let any_ok = config.receivers.iter().any(|r| !r.integrations.is_empty());
    let observed = format!(
        "cluster {}; root route receiver {}; receivers: {}",
        status.cluster.status,
        config.default_receiver.as_deref().unwrap_or("(none)"),
        list_or_none(&described)
    );
    finding(
        ALERTMANAGER_RECEIVERS,
        url,
        judge(default_ok && any_ok),
        ALERTMANAGER_EXPECTED,
        observed,
    )
}

// ---- API shapes ----

/// Prometheus wraps every answer: `{"status": "success", "data": …}` or
/// `{"status": "error", "errorType": …, "error": …}`.
#[derive(Debug, Deserialize)]
struct PrometheusEnvelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TargetsData {
    #[serde(rename = "activeTargets")]
    active_targets: Vec<ApiTarget>,
}

#[derive(Debug, Deserialize)]
struct ApiTarget {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(rename = "scrapeUrl", default)]
    scrape_url: String,
    health: String,
    #[serde(rename = "lastError", default)]
    last_error: String,
}

impl ApiTarget {
    /// The `instance` label, else the scrape URL.
    fn name(&self) -> String {
        self.labels
            .get("instance")
            .cloned()
            .unwrap_or_else(|| self.scrape_url.clone())
    }
}

#[derive(Debug, Deserialize)]
struct RulesData {
    groups: Vec<ApiGroup>,
}

#[derive(Debug, Deserialize)]
struct ApiGroup {
    name: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    rules: Vec<ApiRule>,
}

#[derive(Debug, Deserialize)]
struct ApiRule {
    name: String,
    health: String,
    #[serde(rename = "lastError")]
    last_error: Option<String>,
}

/// Alertmanager's `GET /api/v2/status` (the parts the check reads).
#[derive(Debug, Deserialize)]
struct AlertmanagerStatus {
    cluster: ClusterStatus,
    config: ConfigStatus,
}

#[derive(Debug, Deserialize)]
struct ClusterStatus {
    status: String,
}

#[derive(Debug, Deserialize)]
struct ConfigStatus {
    /// The loaded configuration as YAML, secrets masked.
    original: String,
}

/// What the check needs from Alertmanager's configuration.
#[derive(Debug, PartialEq)]
struct AlertmanagerConfig {
    default_receiver: Option<String>,
    receivers: Vec<Receiver>,
}

#[derive(Debug, PartialEq)]
struct Receiver {
    name: String,
    /// `slack`, `email`, `webhook`… : each non-empty `*_configs` list, sorted.
    integrations: Vec<String>,
}

impl AlertmanagerConfig {
    fn parse(yaml: &str) -> Result<Self, serde_yaml::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            route: Option<RawRoute>,
            #[serde(default)]
            receivers: Vec<serde_yaml::Mapping>,
        }
        #[derive(Deserialize)]
        struct RawRoute {
            receiver: Option<String>,
        }
        let raw: Raw = serde_yaml::from_str(yaml)?;
        let receivers = raw
            .receivers
            .iter()
            .map(|m| {
                let name = m
                    .get("name")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string();
                let mut integrations: Vec<String> = m
                    .iter()
                    .filter_map(|(k, v)| {
                        let kind = k.as_str()?.strip_suffix("_configs")?;
                        v.as_sequence()
                            .is_some_and(|s| !s.is_empty())
                            .then(|| kind.to_string())
                    })
                    .collect();
                integrations.sort();
                Receiver { name, integrations }
            })
            .collect();
        Ok(AlertmanagerConfig {
            default_receiver: raw.route.and_then(|r| r.receiver),
            receivers,
        })
    }
}

// ---- HTTP ----

/// One pooled HTTP/1.1 client for http and https URLs (native root certificates).
struct Http {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
}

impl Http {
    fn new(timeout: Duration) -> Self {
        use hyper_rustls::ConfigBuilderExt;
        let builder = || {
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
        };
        // Without native roots (a bare container) https URLs fail verification, which is
        // an Error finding; plain http still works.
        let tls = match builder().with_native_roots() {
            Ok(b) => b.with_no_client_auth(),
            Err(_) => builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(https);
        Http { client, timeout }
    }

    /// `GET url`, a 2xx answer, and its body parsed as `T`.
    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let (status, body) = self.get(url).await?;
        if !status.is_success() {
            return Err(format!(
                "GET {url}: HTTP {}: {}",
                status.as_u16(),
                snippet(&body)
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| format!("GET {url}: unexpected response ({e}): {}", snippet(&body)))
    }

    /// A Prometheus API call: the envelope must say success and carry data.
    async fn get_prometheus<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let (status, body) = self.get(url).await?;
        let envelope: Result<PrometheusEnvelope<T>, _> = serde_json::from_slice(&body);
        match envelope {
            Ok(PrometheusEnvelope {
                status: s,
                data: Some(data),
                ..
            }) if s == "success" && status.is_success() => Ok(data),
            Ok(e) if e.status == "error" => Err(format!(
                "GET {url}: HTTP {}: {} {}",
                status.as_u16(),
                e.error_type.unwrap_or_default(),
                e.error.unwrap_or_default()
            )),
            Ok(_) => Err(format!(
                "GET {url}: HTTP {}: no data in the answer: {}",
                status.as_u16(),
                snippet(&body)
            )),
            Err(e) if status.is_success() => Err(format!(
                "GET {url}: unexpected response ({e}): {}",
                snippet(&body)
            )),
            Err(_) => Err(format!(
                "GET {url}: HTTP {}: {}",
                status.as_u16(),
                snippet(&body)
            )),
        }
    }

    async fn get(&self, url: &str) -> Result<(hyper::StatusCode, Bytes), String> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| format!("GET {url}: not a valid URL: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(format!("GET {url}: only http and https URLs are supported"));
        }
        let request = hyper::Request::get(uri)
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("ohmc-infra/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("GET {url}: {e}"))?;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("GET {url}: {}", chain(&e)))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| format!("GET {url}: reading the body: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(format!("GET {url}: timed out after {:?}", self.timeout)))
    }
}

/// An error and its causes, "client error (Connect): tcp connect error: Connection refused".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The first 200 characters of a body, on one line.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(job: &str, instance: &str, health: &str, err: &str) -> ApiTarget {
        ApiTarget {
            labels: [
                ("job".to_string(), job.to_string()),
                ("instance".to_string(), instance.to_string()),
            ]
            .into(),
            scrape_url: format!("http://{instance}/metrics"),
            health: health.into(),
            last_error: err.into(),
        }
    }

    #[test]
    fn jobs_pass_only_when_every_target_is_up() {
        let targets = [
            target("node", "a:9100", "up", ""),
            target("node", "b:9100", "down", "connection refused"),
            target("api", "c:80", "up", ""),
            target("new", "d:80", "unknown", ""),
        ];
        let required = ["node", "api", "absent", "new"].map(String::from);
        let got: Vec<(String, String, String)> = judge_jobs(&required, &targets)
            .into_iter()
            .map(|f| {
                (
                    f.resource,
                    f.outcome.label().to_string(),
                    f.evidence.observed,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "prometheus-job:node",
                    "fail",
                    "1 of 2 target(s) not up: b:9100 down (connection refused)"
                ),
                ("prometheus-job:api", "pass", "1 target(s) up: c:80"),
                (
                    "prometheus-job:absent",
                    "fail",
                    "no active target has job=\"absent\" (jobs with targets: api, new, node)"
                ),
                (
                    "prometheus-job:new",
                    "fail",
                    "1 of 1 target(s) not up: d:80 not scraped yet"
                ),
            ]
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
    }

    #[test]
    fn unknown_health_is_an_error() {
        let f = judge_jobs(&["x".into()], &[target("x", "a", "sideways", "")]);
        assert!(
            matches!(&f[0].outcome, Outcome::Error { message } if message.contains("\"sideways\"")),
            "{f:?}"
        );
    }

    #[test]
    fn rule_groups_missing_or_failing_fail() {
        let groups = vec![
            ApiGroup {
                name: "ok".into(),
                file: "/r/a.yml".into(),
                rules: vec![ApiRule {
                    name: "A".into(),
                    health: "ok".into(),
                    last_error: None,
                }],
            },
            ApiGroup {
                name: "broken".into(),
                file: "/r/b.yml".into(),
                rules: vec![ApiRule {
                    name: "B".into(),
                    health: "err".into(),
                    last_error: Some("many-to-many".into()),
                }],
            },
        ];
        let f = judge_rule_groups(&["ok", "broken", "gone"].map(String::from), &groups);
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.outcome.label(), f.evidence.observed.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("pass", "loaded from /r/a.yml with 1 rule(s)"),
                (
                    "fail",
                    "loaded from /r/b.yml; 1 of 1 rule(s) failing: B: many-to-many"
                ),
                ("fail", "not loaded (groups loaded: broken, ok)"),
            ]
        );
    }

    #[test]
    fn alertmanager_config_integrations() {
        let yaml = "route:\n  receiver: team\nreceivers:\n- name: \"null\"\n- name: team\n  slack_configs:\n  - channel: x\n  email_configs:\n  - to: a@b\n  webhook_configs: []\n";
        let c = AlertmanagerConfig::parse(yaml).unwrap();
        assert_eq!(c.default_receiver.as_deref(), Some("team"));
        assert_eq!(
            c.receivers[0],
            Receiver {
                name: "null".into(),
                integrations: vec![]
            }
        );
        assert_eq!(c.receivers[1].integrations, ["email", "slack"]);

        let status = |yaml: &str| AlertmanagerStatus {
            cluster: ClusterStatus {
                status: "ready".into(),
            },
            config: ConfigStatus {
                original: yaml.into(),
            },
        };
        let pass = judge_alertmanager("http://am", Ok(status(yaml)));
        assert_eq!(pass.outcome, Outcome::Pass);
        assert_eq!(pass.evidence.observed, "cluster ready; root route receiver team; receivers: null (no integration), team (email, slack)");
        let blackhole = judge_alertmanager(
            "http://am",
            Ok(status(
                "route:\n  receiver: \"null\"\nreceivers:\n- name: \"null\"\n",
            )),
        );
        assert_eq!(blackhole.outcome, Outcome::Fail);
        let err = judge_alertmanager(
            "http://am",
            Err("GET http://am/api/v2/status: refused".into()),
        );
        assert!(matches!(err.outcome, Outcome::Error { .. }));
    }

    #[tokio::test]
    async fn nothing_configured_is_skipped_and_bad_urls_are_errors() {
        let f = run(&MonitoringSettings::default()).await;
        assert_eq!(f.len(), 3);
        assert!(
            f.iter()
                .all(|f| matches!(f.outcome, Outcome::Skipped { .. })),
            "{f:?}"
        );

        let settings = MonitoringSettings {
            prometheus_url: Some("ftp://example".into()),
            alertmanager_url: Some("not a url".into()),
            required_jobs: vec!["a".into()],
            required_rule_groups: vec!["g".into()],
            ..Default::default()
        };
        let f = run(&settings).await;
        assert_eq!(f.len(), 3);
        assert!(
            f.iter().all(|f| matches!(f.outcome, Outcome::Error { .. })),
            "{f:?}"
        );
    }
}
