//! Fault injection through the proxy, and the read-only/IAM policy check.

use super::*;

/// What moto answers for the run (the comparison key): everything but the text of Error
/// messages, whose last transient error may differ between runs with retries.
fn comparable(report: &Report) -> Vec<(String, String, String, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.check_id.clone(),
                f.resource.clone(),
                f.outcome.label().to_string(),
                f.evidence.expected.clone(),
                f.evidence.observed.clone(),
            )
        })
        .collect()
}

/// 30% throttling is ridden out by retries; a service answering 500 to everything makes
/// its checks Error (never Pass) and leaves the others alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_fault_injection() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    let exp = expectations(&st, false);

    let clean = run(&context(&moto.endpoint()).await, &exp).await;
    assert_snapshot("fault-free", &snapshot(&clean, &st), BASELINE);

    let proxy = FaultProxy::start(&moto.endpoint()).await;
    proxy.add_rule(FaultRule::all(Fault::Throttle).share(30));
    let throttled = run(&context(&proxy.endpoint()).await, &exp).await;
    let calls = proxy.calls();
    let injected = proxy.injected();
    assert!(
        injected * 100 >= calls.len() * 25,
        "expected ~30% throttled, got {injected} of {}",
        calls.len()
    );
    assert_eq!(
        comparable(&throttled),
        comparable(&clean),
        "30% throttling changed the result"
    );

    for (service, area) in [
        ("rds", Area::Rds),
        ("wafv2", Area::Waf),
        ("cloudtrail", Area::CloudTrail),
    ] {
        proxy.clear_rules();
        proxy.add_rule(FaultRule::service(service, Fault::ServerError));
        let broken_ctx = context(&proxy.endpoint()).await;
        let broken = run(&broken_ctx, &exp).await;
        // An AWS-shaped 500 is retried to the last attempt before it becomes an Error.
        let prefix = format!("{service}:");
        let calls: Vec<_> = broken_ctx
            .recorder()
            .spans()
            .into_iter()
            .filter(|s| s.action.starts_with(&prefix))
            .collect();
        assert!(!calls.is_empty());
        for s in &calls {
            assert_eq!(
                (s.attempts, s.ok),
                (options(&proxy.endpoint()).max_attempts, false),
                "{s:?}"
            );
        }
        // The checks that call the broken service: the area's, except the CloudTrail bucket
        // check, which reads S3 (the stack output names the bucket).
        let uses =
            |f: &Finding| f.area == area && f.check_id != "cloudtrail.bucket_public_access_blocked";
        let (mine, others): (Vec<&Finding>, Vec<&Finding>) =
            broken.findings.iter().partition(|f| uses(f));
        assert!(!mine.is_empty());
        for f in &mine {
            assert!(
                matches!(&f.outcome, Outcome::Error { message } if message.contains("HTTP 500 InternalFailure"))
                    || matches!(f.outcome, Outcome::Skipped { .. }),
                "{service} down: {} {} is {:?}",
                f.check_id,
                f.resource,
                f.outcome
            );
        }
        assert!(mine
            .iter()
            .any(|f| matches!(f.outcome, Outcome::Error { .. })));
        assert!(
            broken.has_errors(),
            "a run with errors must say so (the CLI exits 1)"
        );
        let clean_others: Vec<&Finding> = clean.findings.iter().filter(|f| !uses(f)).collect();
        let strip = |v: &[&Finding]| {
            v.iter()
                .map(|f| (f.check_id.clone(), f.resource.clone(), f.outcome.label()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(&others),
            strip(&clean_others),
            "{service} down changed other areas"
        );
    }
}

/// Every AWS call of a run is a read granted by the shipped least-privilege policy, and
/// the library's recorder saw every call the proxy saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_is_read_only_and_within_policy() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    // Add a dangling CNAME to an S3 bucket so the S3 and ELB listing calls are made too.
    seeder
        .record(
            &st.zone_id,
            aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname(
                "assets.staging.ohmycoins.io",
                "ohmc-old-assets.s3.amazonaws.com",
            ),
        )
        .await;
    seeder
        .record(
            &st.zone_id,
            aws_sdk_route53::types::ChangeAction::Create,
            Seeder::cname(
                "old.staging.ohmycoins.io",
                "gone-1.us-east-1.elb.amazonaws.com",
            ),
        )
        .await;
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let ctx = context(&proxy.endpoint()).await;
    let report = run(&ctx, &expectations(&st, true)).await;

    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::harness::repo_root().join("deploy/iam/audit-readonly-policy.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut granted = BTreeSet::new();
    for stmt in policy["Statement"].as_array().unwrap() {
        assert_eq!(stmt["Effect"], "Allow");
        for a in stmt["Action"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(
                !a.ends_with(":*") && a != "*",
                "wildcard action {a} in the policy"
            );
            assert!(
                ohmc_checks::iam::is_read_action(a),
                "non-read action {a} in the policy"
            );
            granted.insert(a.to_string());
        }
    }

    let recorded: BTreeSet<String> = report.api_calls.keys().cloned().collect();
    assert!(
        recorded.len() >= 20,
        "too few recorded actions: {recorded:?}"
    );
    for action in &recorded {
        assert!(
            ohmc_checks::iam::is_read_action(action),
            "{action} is not a read"
        );
        assert!(
            granted.contains(action),
            "{action} is not granted by deploy/iam/audit-readonly-policy.json"
        );
    }
    // The policy grants nothing the checks do not use (least privilege), except calls
    // made only when moto-missing data exists (GuardDuty findings, Backup selections).
    let unused: Vec<&String> = granted.difference(&recorded).collect();
    let allowed_unused: BTreeSet<&str> = ["guardduty:GetFindings", "backup:GetBackupSelection"]
        .into_iter()
        // Audit discovery's listings: tests/it/audit/discovery.rs checks them.
        .chain(crate::audit::DISCOVERY_ACTIONS)
        .collect();
    for a in &unused {
        assert!(
            allowed_unused.contains(a.as_str()),
            "policy grants {a}, which no check calls"
        );
    }

    // Cross-check at the HTTP level: everything the proxy saw is a read and was recorded.
    let iam_name = |service: &str, action: &str| ohmc_checks::iam::iam_action(service, action);
    for call in proxy.calls() {
        let action = iam_name(&call.service, &call.action);
        assert!(
            ohmc_checks::iam::is_read_action(&action),
            "proxy saw a non-read call: {call:?}"
        );
        assert!(
            recorded.contains(&action),
            "proxy saw {action}, the recorder did not: {call:?}"
        );
    }
}
