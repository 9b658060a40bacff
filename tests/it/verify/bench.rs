//! The verify benchmark (ignored; run by hand).

use super::*;

/// Benchmark (run by hand: `cargo test -p ohmc-cli --test it verify_benchmark -- --ignored
/// --nocapture`): an account of 500 DNS records, 20 certificates and 5 web ACLs. Prints the
/// API calls per area and the wall time against moto's measured calls-per-second ceiling.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by hand with --ignored --nocapture"]
#[allow(clippy::print_stderr)] // the benchmark's report
async fn verify_benchmark() {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    // 500 records in the zone (CNAMEs to the ALB), 20 certificates, 5 web ACLs.
    for batch in 0..5 {
        let changes: Vec<Change> = (0..100)
            .map(|i| {
                Change::builder()
                    .action(ChangeAction::Create)
                    .resource_record_set(Seeder::cname(
                        &format!("svc{}.staging.ohmycoins.io", batch * 100 + i),
                        &st.alb_dns,
                    ))
                    .build()
                    .unwrap()
            })
            .collect();
        seeder
            .r53
            .change_resource_record_sets()
            .hosted_zone_id(&st.zone_id)
            .change_batch(
                ChangeBatch::builder()
                    .set_changes(Some(changes))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    for i in 0..19 {
        seeder
            .request_cert(&[&format!("c{i}.staging.ohmycoins.io")])
            .await;
    }
    for i in 0..4 {
        seeder
            .waf
            .create_web_acl()
            .name(format!("extra-{i}"))
            .scope(aws_sdk_wafv2::types::Scope::Regional)
            .default_action(
                aws_sdk_wafv2::types::DefaultAction::builder()
                    .allow(aws_sdk_wafv2::types::AllowAction::builder().build())
                    .build(),
            )
            .set_rules(Some(Seeder::waf_rules(&MANAGED_GROUPS, true, true)))
            .visibility_config(visibility("extra", true))
            .send()
            .await
            .unwrap();
    }

    // The emulator's ceiling: cheap reads, 8 in flight.
    let probe = std::time::Instant::now();
    let n = 400;
    let acm = seeder.acm.clone();
    let cert = st.cert_arn.clone();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (acm, cert) = (acm.clone(), cert.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n / 8 {
                acm.describe_certificate()
                    .certificate_arn(&cert)
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let ceiling = n as f64 / probe.elapsed().as_secs_f64();
    // The same call one at a time: the emulator's latency, which bounds calls
    // that must wait for an earlier answer (a listener after its load balancer).
    let probe = std::time::Instant::now();
    let m = 100;
    for _ in 0..m {
        acm.describe_certificate()
            .certificate_arn(&cert)
            .send()
            .await
            .unwrap();
    }
    let one_at_a_time = m as f64 / probe.elapsed().as_secs_f64();

    let ctx = context(&moto.endpoint()).await;
    let report = run(&ctx, &expectations(&st, false)).await;
    let total: u64 = report.api_calls.values().sum();
    let wall = report.elapsed_ms as f64 / 1000.0;
    let floor = total as f64 / ceiling;
    eprintln!("moto ceiling: {ceiling:.0} calls/s ({n} DescribeCertificate, 8 in flight); {one_at_a_time:.0} calls/s one at a time");
    eprintln!("verify: {total} calls in {wall:.2}s = {:.0} calls/s; {floor:.2}s at the ceiling; ratio {:.2}", total as f64 / wall, wall / floor);
    for (area, calls) in &report.api_calls_by_area {
        let list: Vec<String> = calls.iter().map(|(a, n)| format!("{a} x{n}")).collect();
        eprintln!(
            "  {:<10} {:>3} calls: {}",
            area.name(),
            calls.values().sum::<u64>(),
            list.join(", ")
        );
    }
    assert_eq!(report.summary.fail, 0, "the seeded account is compliant");

    // The scaled resources (records, certificates, web ACLs) live in areas moto
    // implements; without the SDK's retries of moto's unimplemented APIs the run
    // is measured against the ceiling alone.
    let scaled = RunOptions {
        areas: Some([Area::Dns, Area::Acm, Area::Waf].into()),
        ..Default::default()
    };
    let report = run_checks(&ctx, &expectations(&st, false), &scaled).await;
    let total: u64 = report.api_calls.values().sum();
    let wall = report.elapsed_ms as f64 / 1000.0;
    let floor = total as f64 / ceiling;
    let serial = total as f64 / one_at_a_time;
    eprintln!(
        "verify DNS+ACM+WAF: {total} calls in {wall:.2}s = {:.0} calls/s; {floor:.2}s at the ceiling (ratio {:.2}); {serial:.2}s one at a time (ratio {:.2})",
        total as f64 / wall,
        wall / floor,
        wall / serial
    );
}
