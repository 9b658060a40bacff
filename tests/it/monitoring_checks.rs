//! The monitoring checks of `ohmc-infra verify` against a real Prometheus and Alertmanager
//! (`harness::prometheus`; one shared stack unless a test needs its own rules or
//! receivers): required scrape jobs up, rule groups loaded, Alertmanager
//! reachable with a receiver that sends somewhere. Through the library for each outcome,
//! and once through the binary with `--area monitoring`.

use ohmc_checks::monitoring::{self, MonitoringSettings};
use ohmc_checks::{Area, Finding, Outcome};

use crate::harness::fixture::Fixture;
use crate::harness::moto::free_port;
use crate::harness::prometheus::{MonitoringStack, StackOptions, DEFAULT_RULES, DOWN_JOB};

fn settings(stack: &MonitoringStack, jobs: &[&str], groups: &[&str]) -> MonitoringSettings {
    MonitoringSettings {
        prometheus_url: Some(stack.prometheus_url()),
        alertmanager_url: Some(stack.alertmanager_url()),
        required_jobs: jobs.iter().map(|s| s.to_string()).collect(),
        required_rule_groups: groups.iter().map(|s| s.to_string()).collect(),
        ..MonitoringSettings::default()
    }
}

/// `check_id resource outcome`, one line per finding, sorted.
fn lines(findings: &[Finding]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {} {}", f.check_id, f.resource, f.outcome.label()))
        .collect();
    v.sort();
    v
}

fn find<'a>(findings: &'a [Finding], check: &str, resource: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.check_id == check && f.resource == resource)
        .unwrap_or_else(|| panic!("no {check} {resource} in {findings:#?}"))
}

/// An environment.hcl `monitoring {}` block pointing at `stack`, requiring the
/// scrape jobs `jobs` (HCL list items) and the rule group `ohmc.node`.
fn monitoring_block(stack: &MonitoringStack, jobs: &str) -> String {
    format!(
        "\nmonitoring {{\n  prometheus_url       = \"{}\"\n  alertmanager_url     = \"{}\"\n  required_jobs        = [{jobs}]\n  required_rule_groups = [\"ohmc.node\"]\n}}\n",
        stack.prometheus_url(),
        stack.alertmanager_url()
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn monitoring_checks_pass_against_real_prometheus() {
    let stack = MonitoringStack::shared();
    let findings = rt().block_on(monitoring::run(&settings(
        &stack,
        &["prometheus"],
        &["ohmc.node", "ohmc.application"],
    )));
    let am = stack.alertmanager_url();
    assert_eq!(
        lines(&findings),
        [
            format!("monitoring.alertmanager_receivers {am} pass"),
            "monitoring.rule_groups_loaded prometheus-rule-group:ohmc.application pass".to_string(),
            "monitoring.rule_groups_loaded prometheus-rule-group:ohmc.node pass".to_string(),
            "monitoring.scrape_jobs_up prometheus-job:prometheus pass".to_string(),
        ],
        "{findings:#?}\n{}",
        stack.logs()
    );
    assert!(findings.iter().all(|f| f.area == Area::Monitoring));
    let job = find(
        &findings,
        "monitoring.scrape_jobs_up",
        "prometheus-job:prometheus",
    );
    assert_eq!(
        job.evidence.observed,
        format!(
            "1 target(s) up: {}",
            stack.prometheus_url().trim_start_matches("http://")
        )
    );
    let group = find(
        &findings,
        "monitoring.rule_groups_loaded",
        "prometheus-rule-group:ohmc.node",
    );
    assert!(
        group.evidence.observed.starts_with("loaded from ")
            && group.evidence.observed.ends_with("ohmc.yml with 1 rule(s)"),
        "{group:?}"
    );
    let receivers = find(&findings, "monitoring.alertmanager_receivers", &am);
    assert_eq!(
        receivers.evidence.observed,
        "cluster disabled; root route receiver team-webhook; receivers: null (no integration), team-webhook (webhook)"
    );
}

#[test]
fn required_job_down_fails_naming_job_and_target() {
    let stack = MonitoringStack::shared();
    let findings = rt().block_on(monitoring::run(&settings(
        &stack,
        &["prometheus", DOWN_JOB, "backend"],
        &["ohmc.node"],
    )));
    let down = find(
        &findings,
        "monitoring.scrape_jobs_up",
        &format!("prometheus-job:{DOWN_JOB}"),
    );
    assert_eq!(down.outcome, Outcome::Fail, "{down:#?}");
    assert!(
        down.evidence
            .observed
            .starts_with("1 of 1 target(s) not up: 127.0.0.1:1 down (")
            && down.evidence.observed.contains("connection refused"),
        "{down:#?}"
    );
    assert!(down.evidence.expected.contains(DOWN_JOB));
    let absent = find(
        &findings,
        "monitoring.scrape_jobs_up",
        "prometheus-job:backend",
    );
    assert_eq!(absent.outcome, Outcome::Fail);
    assert_eq!(
        absent.evidence.observed,
        format!("no active target has job=\"backend\" (jobs with targets: {DOWN_JOB}, prometheus)")
    );
    assert_eq!(
        find(
            &findings,
            "monitoring.scrape_jobs_up",
            "prometheus-job:prometheus"
        )
        .outcome,
        Outcome::Pass
    );
    assert!(!down.remediation.is_empty());
}

#[test]
fn missing_rule_group_fails_naming_it() {
    let stack = MonitoringStack::shared();
    let findings = rt().block_on(monitoring::run(&settings(
        &stack,
        &["prometheus"],
        &["ohmc.node", "ohmc.compliance"],
    )));
    let missing = find(
        &findings,
        "monitoring.rule_groups_loaded",
        "prometheus-rule-group:ohmc.compliance",
    );
    assert_eq!(missing.outcome, Outcome::Fail, "{missing:#?}");
    assert_eq!(
        missing.evidence.observed,
        "not loaded (groups loaded: ohmc.application, ohmc.node)"
    );
    assert!(missing.evidence.expected.contains("\"ohmc.compliance\""));
    assert_eq!(
        find(
            &findings,
            "monitoring.rule_groups_loaded",
            "prometheus-rule-group:ohmc.node"
        )
        .outcome,
        Outcome::Pass
    );
}

/// A rule that fails to evaluate (many-to-many match) fails its group, naming the rule;
/// an Alertmanager whose root route goes to a receiver without integrations fails.
#[test]
fn failing_rule_and_blackhole_receiver_fail() {
    let broken = "groups:\n  - name: ohmc.broken\n    rules:\n      - record: broken:up\n        expr: up * on() up\n";
    let stack = MonitoringStack::start_with(StackOptions {
        rules: vec![
            ("ohmc.yml".into(), DEFAULT_RULES.into()),
            ("broken.yml".into(), broken.into()),
        ],
        alertmanager_config: "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n"
            .into(),
    });
    // The first evaluation may not have happened when the group appears; retry briefly.
    let mut findings = Vec::new();
    for _ in 0..50 {
        findings = rt().block_on(monitoring::run(&settings(
            &stack,
            &["prometheus"],
            &["ohmc.broken"],
        )));
        if find(
            &findings,
            "monitoring.rule_groups_loaded",
            "prometheus-rule-group:ohmc.broken",
        )
        .outcome
            == Outcome::Fail
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let group = find(
        &findings,
        "monitoring.rule_groups_loaded",
        "prometheus-rule-group:ohmc.broken",
    );
    assert_eq!(group.outcome, Outcome::Fail, "{group:#?}");
    assert!(
        group
            .evidence
            .observed
            .contains("1 of 1 rule(s) failing: broken:up: ")
            && group.evidence.observed.contains("many-to-many"),
        "{group:#?}"
    );
    let am = find(
        &findings,
        "monitoring.alertmanager_receivers",
        &stack.alertmanager_url(),
    );
    assert_eq!(am.outcome, Outcome::Fail, "{am:#?}");
    assert_eq!(
        am.evidence.observed,
        "cluster disabled; root route receiver null; receivers: null (no integration)"
    );
}

/// A failed HTTP call is an Error for every check that needed it, never a Pass.
#[test]
fn unreachable_alertmanager_or_prometheus_is_an_error() {
    let stack = MonitoringStack::shared();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let mut s = settings(&stack, &["prometheus"], &["ohmc.node"]);
    s.alertmanager_url = Some(closed.clone());
    let findings = rt().block_on(monitoring::run(&s));
    let am = find(&findings, "monitoring.alertmanager_receivers", &closed);
    match &am.outcome {
        Outcome::Error { message } => assert!(
            message.starts_with(&format!("GET {closed}/api/v2/status: "))
                && message.contains("onnection refused"),
            "{message}"
        ),
        other => panic!("expected an Error, got {other:?}"),
    }
    assert_eq!(
        find(
            &findings,
            "monitoring.scrape_jobs_up",
            "prometheus-job:prometheus"
        )
        .outcome,
        Outcome::Pass
    );

    // Prometheus gone: both of its checks are Errors for every required item.
    let s = MonitoringSettings {
        prometheus_url: Some(closed.clone()),
        ..settings(&stack, &["prometheus", "backend"], &["ohmc.node"])
    };
    let findings = rt().block_on(monitoring::run(&s));
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Error { .. }))
        .map(|f| f.resource.as_str())
        .collect();
    assert_eq!(
        errors,
        [
            "prometheus-job:prometheus",
            "prometheus-job:backend",
            "prometheus-rule-group:ohmc.node"
        ],
        "{findings:#?}"
    );
    assert!(findings
        .iter()
        .all(|f| f.outcome != Outcome::Pass || f.check_id == "monitoring.alertmanager_receivers"));

    // A Prometheus that answers, but not the API (here: Alertmanager's port): an Error, never a Pass.
    let s = MonitoringSettings {
        prometheus_url: Some(stack.alertmanager_url()),
        ..settings(&stack, &["prometheus"], &[])
    };
    let findings = rt().block_on(monitoring::run(&s));
    let job = find(
        &findings,
        "monitoring.scrape_jobs_up",
        "prometheus-job:prometheus",
    );
    assert!(
        matches!(&job.outcome, Outcome::Error { message } if message.contains(": HTTP 4")),
        "{job:#?}"
    );
}

/// `ohmc-infra verify dev --area monitoring`: only the monitoring checks run (the AWS
/// endpoint is a closed port and no credentials are set, so any AWS call would show),
/// rendered under their own heading, with exit codes 0 (pass) and 3 (a job down).
#[test]
fn verify_cli_area_monitoring() {
    let stack = MonitoringStack::shared();
    let f = Fixture::new("basic");
    let outputs = f.root.join("outputs.json");
    std::fs::write(&outputs, "{}").unwrap();
    let env_file = f.path("environments/dev/environment.hcl");
    let base = std::fs::read_to_string(&env_file).unwrap();
    let with_monitoring = |jobs: &str| format!("{base}{}", monitoring_block(&stack, jobs));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "verify",
            "dev",
            "--area",
            "monitoring",
            "--outputs",
            outputs.to_str().unwrap(),
            "--endpoint-url",
            &closed,
        ];
        args.extend_from_slice(extra);
        let mut cmd = f.cmd(&args);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
        ] {
            cmd.env_remove(var);
        }
        f.finish(&args, cmd.output().unwrap())
    };
    let snapshot = |text: &str| {
        text.replace(&stack.alertmanager_url(), "[ALERTMANAGER]")
            .replace(
                &stack.prometheus_url().replace("http://", ""),
                "[PROMETHEUS]",
            )
    };

    std::fs::write(&env_file, with_monitoring("\"prometheus\"")).unwrap();
    let ok = run(&[]);
    assert_eq!(ok.code, 0, "stdout:\n{}\nstderr:\n{}", ok.stdout, ok.stderr);
    assert_eq!(
        snapshot(&ok.stdout),
        "Verify dev (account unknown, us-east-1): 3 pass, 0 fail, 0 error, 0 skipped\n\
         \n\
         Monitoring\n  \
           PASS   monitoring.alertmanager_receivers  [ALERTMANAGER]\n  \
           PASS   monitoring.rule_groups_loaded      prometheus-rule-group:ohmc.node\n  \
           PASS   monitoring.scrape_jobs_up          prometheus-job:prometheus\n"
    );

    std::fs::write(
        &env_file,
        with_monitoring(&format!("\"prometheus\", \"{DOWN_JOB}\"")),
    )
    .unwrap();
    let failed = run(&[]);
    assert_eq!(
        failed.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        failed.stdout, failed.stderr
    );
    let out = snapshot(&failed.stdout);
    assert!(
        out.starts_with(
            "Verify dev (account unknown, us-east-1): 3 pass, 1 fail, 0 error, 0 skipped\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  FAIL   monitoring.scrape_jobs_up          prometheus-job:{DOWN_JOB}\n"
        )),
        "{out}"
    );
    assert!(
        out.contains("         observed: 1 of 1 target(s) not up: 127.0.0.1:1 down ("),
        "{out}"
    );

    let json = run(&["--format", "json"]);
    assert_eq!(json.code, 3);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4, "{doc:#}");
    assert!(
        findings.iter().all(|f| f["area"] == "monitoring"),
        "{doc:#}"
    );
    let down = findings
        .iter()
        .find(|f| f["resource"] == format!("prometheus-job:{DOWN_JOB}"))
        .unwrap();
    assert_eq!(down["outcome"]["status"], "fail");
    assert_eq!(
        down["title"],
        "Every target of each required scrape job is up"
    );
    assert_eq!(
        doc["api_calls"],
        serde_json::json!({}),
        "no AWS call was made"
    );

    // Without a monitoring block, asking for the area says why nothing was checked, and
    // a run that judged nothing is an error, not a success.
    std::fs::write(&env_file, &base).unwrap();
    let none = run(&[]);
    assert_eq!(
        none.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        none.stdout, none.stderr
    );
    assert!(
        none.stdout.starts_with(
            "Verify dev (account unknown, us-east-1): 0 pass, 0 fail, 0 error, 3 skipped\n"
        ),
        "{}",
        none.stdout
    );
    assert!(
        none.stdout
            .contains("reason:   environment dev has no monitoring {} block"),
        "{}",
        none.stdout
    );
}

/// With an AWS area and the monitoring area, both run in one report: the AWS findings
/// (against moto) and the monitoring findings merged, sorted by area, summary recounted.
#[test]
fn verify_cli_merges_monitoring_with_aws_checks() {
    let moto = crate::harness::moto::MotoServer::start();
    let stack = MonitoringStack::shared();
    let f = Fixture::new("basic");
    let outputs = f.root.join("outputs.json");
    std::fs::write(&outputs, r#"{"cloudtrail_name": "ohmc-trail"}"#).unwrap();
    let env_file = f.path("environments/dev/environment.hcl");
    let mut text = std::fs::read_to_string(&env_file).unwrap();
    text.push_str(&monitoring_block(&stack, "\"prometheus\""));
    std::fs::write(&env_file, text).unwrap();
    let endpoint = moto.endpoint();
    let args = [
        "verify",
        "dev",
        "--area",
        "cloudtrail",
        "--area",
        "monitoring",
        "--outputs",
        outputs.to_str().unwrap(),
        "--endpoint-url",
        &endpoint,
        "--format",
        "json",
    ];
    let mut cmd = f.cmd(&args);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    let run = f.finish(&args, cmd.output().unwrap());
    assert_eq!(
        run.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["account_id"], "123456789012");
    let findings = doc["findings"].as_array().unwrap();
    let areas: Vec<&str> = findings
        .iter()
        .map(|f| f["area"].as_str().unwrap())
        .collect();
    let first_monitoring = areas
        .iter()
        .position(|a| *a == "monitoring")
        .expect("monitoring findings");
    assert!(
        first_monitoring > 0
            && areas[..first_monitoring]
                .iter()
                .all(|a| *a == "cloud_trail"),
        "{areas:?}"
    );
    assert!(
        areas[first_monitoring..].iter().all(|a| *a == "monitoring"),
        "{areas:?}"
    );
    assert_eq!(areas.len() - first_monitoring, 3);
    let s = &doc["summary"];
    let total: u64 = ["pass", "fail", "error", "skipped"]
        .iter()
        .map(|k| s[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        findings.len(),
        "summary recounted over the merged findings: {s}"
    );
    assert!(
        s["pass"].as_u64().unwrap() >= 3 && s["fail"].as_u64().unwrap() >= 1,
        "{s}"
    );
    assert!(
        doc["api_calls"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("cloudtrail:")),
        "{}",
        doc["api_calls"]
    );
}
