//! `ohmc-infra verify` through the binary: rendering, JSON and exit codes,
//! against a real moto server (and the fault proxy for errors).

use std::process::Command;

use crate::harness::fixture::Fixture;
use crate::harness::moto::MotoServer;
use crate::harness::proxy::{Fault, FaultProxy, FaultRule};

fn verify_cmd(f: &Fixture, endpoint: &str, outputs: &std::path::Path, extra: &[&str]) -> Command {
    let mut args = vec![
        "verify",
        "dev",
        "--outputs",
        outputs.to_str().unwrap(),
        "--endpoint-url",
        endpoint,
    ];
    args.extend_from_slice(extra);
    let mut cmd = f.cmd(&args);
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL");
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_check_exits_3_with_evidence_and_json() {
    let moto = MotoServer::start();
    let f = Fixture::new("basic");
    let outputs = f.root.join("outputs.json");
    std::fs::write(
        &outputs,
        r#"{"cloudtrail_name": {"value": "ohmc-trail", "sensitive": false}}"#,
    )
    .unwrap();
    let endpoint = moto.endpoint();
    let run = f.finish(
        &["verify"],
        verify_cmd(&f, &endpoint, &outputs, &["--area", "cloudtrail"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        run.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .starts_with("Verify dev (account 123456789012, us-east-1): "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("\nCloudTrail\n  FAIL   cloudtrail."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("  FAIL   cloudtrail.multi_region_logging"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("         expected: "),
        "failures carry evidence: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("PASS"), "{}", run.stdout);

    let json = f.finish(
        &["verify"],
        verify_cmd(
            &f,
            &endpoint,
            &outputs,
            &["--area", "cloudtrail", "--format", "json"],
        )
        .output()
        .unwrap(),
    );
    assert_eq!(json.code, 3);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "verify");
    let trail = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == "cloudtrail.multi_region_logging")
        .unwrap();
    assert_eq!(trail["outcome"]["status"], "fail", "{trail}");
    assert!(
        trail["controls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("CloudTrail.1")),
        "{trail}"
    );

    let bad = f.finish(
        &["verify"],
        verify_cmd(&f, &endpoint, &outputs, &["--area", "nosuch"])
            .output()
            .unwrap(),
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("unknown area \"nosuch\"; areas: "),
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn service_returning_500_is_an_error_never_a_pass() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    proxy.add_rule(FaultRule::service("cloudtrail", Fault::ServerError));
    let f = Fixture::new("basic");
    let outputs = f.root.join("outputs.json");
    std::fs::write(&outputs, r#"{"cloudtrail_name": "ohmc-trail"}"#).unwrap();
    let endpoint = proxy.endpoint();
    let mut cmd = verify_cmd(&f, &endpoint, &outputs, &["--area", "cloudtrail"]);
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let run = f.finish(&["verify"], output);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .contains("ERROR  cloudtrail.multi_region_logging"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("PASS "), "{}", run.stdout);
    assert!(proxy.injected() > 0);
}
