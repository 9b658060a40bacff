//! A real Prometheus and Alertmanager (the Debian packages `scripts/install-tools` links
//! into `.tools/bin`) on free loopback ports, each with a temp data dir and a generated
//! configuration, for the monitoring checks. Both are killed when dropped.
//!
//! Prometheus scrapes itself as job `prometheus` and, as job [`DOWN_JOB`], a loopback port
//! nothing listens on, so one required job is up and one is down. Rule files are written
//! into a temp dir that `rule_files` globs. [`MonitoringStack::start`] returns only when
//! both answer `/-/ready`, every configured target has been scraped at least once and the
//! rule groups are loaded, so tests never race the first scrape. Tests that need only the
//! defaults share one stack through [`MonitoringStack::shared`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::http::{get, wait_ready};
use super::moto::free_port;
use super::tool;

/// The job whose only target is a closed port.
pub const DOWN_JOB: &str = "closed-port";

/// A privileged port: no test server can take it, so the target stays down (a free port
/// from `free_port` could be bound by a parallel test and turn the target up).
const CLOSED_PORT: u16 = 1;

/// Rule groups every stack loads unless the test passes its own.
pub const DEFAULT_RULES: &str = r#"groups:
  - name: ohmc.node
    rules:
      - alert: TargetDown
        expr: up == 0
        for: 5m
        labels: {severity: warning}
  - name: ohmc.application
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
"#;

/// An Alertmanager configuration with a webhook receiver on the root route and a null one.
pub const DEFAULT_ALERTMANAGER_CONFIG: &str = r#"route:
  receiver: team-webhook
  routes:
    - receiver: "null"
      matchers: [alertname = "Watchdog"]
receivers:
  - name: "null"
  - name: team-webhook
    webhook_configs:
      - url: http://127.0.0.1:9/hook
"#;

/// The stack [`MonitoringStack::shared`] hands out. A static is never dropped, so
/// [`release_shared`] lets go of it at exit.
static SHARED: Mutex<Option<Arc<MonitoringStack>>> = Mutex::new(None);

/// Run by `exit` once every test has finished: dropping the last reference
/// kills both servers and removes their temp dir, as for any other stack.
extern "C" fn release_shared() {
    drop(SHARED.lock().unwrap_or_else(PoisonError::into_inner).take());
}

/// What to start.
pub struct StackOptions {
    /// Rule files: (file name, YAML).
    pub rules: Vec<(String, String)>,
    pub alertmanager_config: String,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            rules: vec![("ohmc.yml".to_string(), DEFAULT_RULES.to_string())],
            alertmanager_config: DEFAULT_ALERTMANAGER_CONFIG.to_string(),
        }
    }
}

/// One running server process.
struct Server {
    name: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running Prometheus and Alertmanager.
pub struct MonitoringStack {
    prometheus: Server,
    alertmanager: Server,
    _dir: tempfile::TempDir,
}

impl MonitoringStack {
    /// Both servers with the default rules and receivers.
    pub fn start() -> Self {
        Self::start_with(StackOptions::default())
    }

    /// The default stack, started once per test run and shared: the tests
    /// that use it only read from it, and each start waits seconds for
    /// Prometheus's first scrapes. It is stopped when the test binary exits.
    pub fn shared() -> Arc<Self> {
        // Held while starting, so a second caller waits for this stack
        // instead of starting its own.
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stack) = shared.as_ref() {
            return stack.clone();
        }
        let stack = Arc::new(Self::start());
        *shared = Some(stack.clone());
        // SAFETY: registers a plain function; atexit has no other preconditions.
        unsafe { libc::atexit(release_shared) };
        stack
    }

    pub fn start_with(options: StackOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        for (name, yaml) in &options.rules {
            std::fs::write(rules.join(name), yaml).unwrap();
        }
        let expected_groups = options
            .rules
            .iter()
            .map(|(_, y)| y.matches("- name:").count())
            .sum::<usize>();
        let am_config = dir.path().join("alertmanager.yml");
        std::fs::write(&am_config, &options.alertmanager_config).unwrap();

        let alertmanager = start_server(
            "prometheus-alertmanager",
            &dir.path().join("alertmanager.log"),
            |port| {
                let mut cmd = Command::new(tool("prometheus-alertmanager"));
                cmd.arg(format!("--config.file={}", am_config.display()))
                    .arg(format!(
                        "--storage.path={}",
                        dir.path().join("alertmanager-data").display()
                    ))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    // No gossip: it would bind 9094 and collide with parallel tests.
                    .arg("--cluster.listen-address=");
                cmd
            },
        );
        let prometheus = start_server("prometheus", &dir.path().join("prometheus.log"), |port| {
            let config = dir.path().join(format!("prometheus-{port}.yml"));
            std::fs::write(
                &config,
                prometheus_config(port, CLOSED_PORT, &rules, alertmanager.port),
            )
            .unwrap();
            let mut cmd = Command::new(tool("prometheus"));
            cmd.arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join(format!("prometheus-data-{port}")).display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"));
            cmd
        });
        let stack = MonitoringStack {
            prometheus,
            alertmanager,
            _dir: dir,
        };
        stack.wait_scraped_and_loaded(expected_groups, Duration::from_secs(60));
        stack
    }

    /// `http://127.0.0.1:PORT` of Prometheus.
    pub fn prometheus_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.prometheus.port)
    }

    /// `http://127.0.0.1:PORT` of Alertmanager.
    pub fn alertmanager_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.alertmanager.port)
    }

    /// Both logs, for assertion messages.
    pub fn logs(&self) -> String {
        [&self.prometheus, &self.alertmanager]
            .iter()
            .map(|s| {
                format!(
                    "--- {} ---\n{}",
                    s.name,
                    std::fs::read_to_string(&s.log).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Prometheus discovers static targets a few seconds after start (its discovery
    /// manager batches updates); wait until both jobs have been scraped and every group
    /// is loaded.
    fn wait_scraped_and_loaded(&self, groups: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let targets = get(self.prometheus.port, "/api/v1/targets?state=active").ok();
            let rules = get(self.prometheus.port, "/api/v1/rules").ok();
            let scraped = targets.as_ref().is_some_and(|(s, b)| {
                *s == 200
                    && b.matches("\"health\":\"").count() == 2
                    && !b.contains("\"health\":\"unknown\"")
            });
            let loaded = rules
                .as_ref()
                .is_some_and(|(s, b)| *s == 200 && b.matches("\"file\":").count() == groups);
            if scraped && loaded {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus not scraped/loaded within {timeout:?}: targets {targets:?} rules {rules:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn prometheus_config(port: u16, closed_port: u16, rules: &Path, alertmanager_port: u16) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{alertmanager_port}"]
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{port}"]
  - job_name: {DOWN_JOB}
    static_configs:
      - targets: ["127.0.0.1:{closed_port}"]
"#,
        rules = rules.display()
    )
}

/// Starts a server on a free port, retrying with another port when it exits early (port
/// taken between the probe and the bind) or never becomes ready.
fn start_server(name: &'static str, log: &Path, command: impl Fn(u16) -> Command) -> Server {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let out = std::fs::File::create(log).unwrap();
        let child = command(port)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let mut server = Server {
            name,
            child,
            port,
            log: log.to_path_buf(),
        };
        match wait_ready(
            &mut server.child,
            name,
            port,
            "/-/ready",
            Duration::from_secs(30),
        ) {
            Ok(()) => return server,
            Err(e) => last = format!("{e}\n{}", std::fs::read_to_string(log).unwrap_or_default()),
        }
    }
    panic!("{name} did not come up: {last}");
}
