//! The verify benchmark (ignored; `scripts/bench-verify` runs it).
//!
//! The question: on a seeded account of 500 DNS records, 20 certificates and 5 web ACLs,
//! is `verify` bounded by the emulator or by ohmc-infra? A probe of one cheap call does
//! not answer it (a 300-record `ListResourceRecordSets` page costs moto far more than a
//! `DescribeCertificate`), so the benchmark prices the very calls verify makes:
//!
//! 1. **What verify sends.** One run per area through the recording proxy: every HTTP
//!    request, retries included, tagged with its area. These runs also warm moto up (its
//!    first answer to an operation is slow), so every later timing is of a warm emulator.
//! 2. **What moto takes for them**, replayed raw ([`crate::harness::replay`]: the recorded
//!    bytes over a fresh connection, no SDK): each request alone (the median of several
//!    rounds; the sum is the set one at a time) and the whole set with several requests
//!    in flight (moto's ceiling for this mix of calls).
//! 3. **Verify itself**, straight against moto, as a user runs it: a fresh context each
//!    round (SDK clients, connections, the account-id lookup), the default retry and
//!    timeout settings. The median of several rounds, set-up shown apart.
//! 4. **The critical path**: the longest chain of calls in which each one started only
//!    after an earlier one of its area (or the account-id lookup) had answered, each
//!    priced at moto's one-at-a-time time. No client can finish before
//!    `max(moto's best time for the set, critical path)`: the bound the ratio is taken to.
//!
//! It also reports the CPU time of this process (the SDK and the checks) and of moto per
//! run, and with `OHMC_BENCH_TIMELINE=1` every call of the median run.

use super::*;
use crate::harness::replay::{self, RawRequest};
use ohmc_checks::CallSpan;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Fresh verify runs to take the median of.
const ROUNDS: usize = 7;
/// Rounds of the one-at-a-time replay (per request median).
const REPLAY_ROUNDS: usize = 7;
/// Requests in flight for moto's ceiling (the old probe's 8; moto is one Python process).
const IN_FLIGHT: usize = 8;
/// About how long to keep moto saturated per measurement.
const SATURATE_FOR: Duration = Duration::from_millis(1500);

/// The AWS areas the benchmark covers (monitoring is not AWS).
fn aws_areas() -> Vec<Area> {
    Area::ALL
        .into_iter()
        .filter(|area| *area != Area::Monitoring)
        .collect()
}
/// The areas whose resources are scaled up.
const SCALED: [Area; 3] = [Area::Dns, Area::Acm, Area::Waf];

/// What a user runs: the default retries, backoff and timeouts; only the target differs.
fn user_options(endpoint: &str) -> ContextOptions {
    ContextOptions {
        region: Some(REGION.into()),
        endpoint_url: Some(endpoint.into()),
        static_credentials: Some(creds()),
        ..Default::default()
    }
}

/// Benchmark (run by hand: `scripts/bench-verify`, or `cargo test -p ohmc-cli --test it
/// verify_benchmark -- --ignored --nocapture`). Prints lines starting `bench: `.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by hand with --ignored --nocapture"]
#[allow(clippy::print_stderr)] // the benchmark's report
async fn verify_benchmark() {
    let moto = MotoServer::start();
    let seeder = Seeder::new(&moto.endpoint()).await;
    let st = seeder.staging(&moto).await;
    seed_scaled(&seeder, &st).await;
    let exp = expectations(&st, false);

    // 1. What verify sends, area by area (and moto warmed up).
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let mut sent: Vec<(Option<Area>, RawRequest)> = Vec::new();
    for area in aws_areas() {
        let ctx = AwsContext::load(user_options(&proxy.endpoint()))
            .await
            .expect("context");
        proxy.clear_calls();
        let only = RunOptions {
            areas: Some([area].into()),
            ..Default::default()
        };
        run_checks(&ctx, &exp, &only).await;
        for req in proxy.requests() {
            // The account-id lookup is the run's, not the area's: keep one.
            if req.service == "sts" {
                if !sent.iter().any(|(a, _)| a.is_none()) {
                    sent.push((None, req));
                }
            } else {
                sent.push((Some(area), req));
            }
        }
    }
    drop(proxy);

    // 2. What moto takes for them, each alone.
    let endpoint = moto.endpoint();
    let reqs: Vec<RawRequest> = sent.iter().map(|(_, r)| r.clone()).collect();
    let alone = replay::one_at_a_time(&endpoint, &reqs, REPLAY_ROUNDS);
    let mut cost: HashMap<(Option<Area>, String), Vec<Duration>> = HashMap::new();
    for ((area, req), t) in sent.iter().zip(&alone) {
        cost.entry((*area, req.action.clone()))
            .or_default()
            .push(*t);
    }
    let moto_alone = |areas: &[Area]| -> Duration {
        sent.iter()
            .zip(&alone)
            .filter(|((a, _), _)| a.is_none_or(|a| areas.contains(&a)))
            .map(|(_, t)| *t)
            .sum()
    };

    eprintln!(
        "bench: moto {} seeded with 500 DNS records, 20 certificates, 5 web ACLs; {}",
        moto_version(),
        load_average()
    );
    eprintln!("bench: medians of {ROUNDS} fresh runs (new context, default retries) after a warm-up; moto replayed raw: each request alone ({REPLAY_ROUNDS} rounds), and at its ceiling ({IN_FLIGHT} in flight)");
    let all_aws = aws_areas();
    for (title, areas) in [
        ("every check", &all_aws[..]),
        ("DNS + ACM + WAF (the scaled resources)", &SCALED[..]),
    ] {
        // 3. Verify itself.
        let opts = RunOptions {
            areas: (areas.len() < all_aws.len()).then(|| areas.iter().copied().collect()),
            ..Default::default()
        };
        let mut runs = Vec::new();
        let (ours_before, moto_before) = (own_cpu_time(), moto.cpu_time());
        for _ in 0..ROUNDS {
            runs.push(timed_run(&endpoint, &exp, &opts).await);
        }
        // CPU per run, over all rounds (moto's clock is in 10 ms ticks).
        let ours_cpu = own_cpu_time().saturating_sub(ours_before) / ROUNDS as u32;
        let moto_cpu = moto
            .cpu_time()
            .zip(moto_before)
            .map(|(after, before)| after.saturating_sub(before) / ROUNDS as u32);
        let mean_total = runs.iter().map(|r| r.total).sum::<Duration>() / ROUNDS as u32;
        runs.sort_by_key(|r| r.total);
        let median_run = &runs[runs.len() / 2];
        let med = |f: fn(&Timed) -> Duration| replay::median(runs.iter().map(f).collect());

        // 2 (cont.). moto's ceiling for this set of requests.
        let set: Vec<RawRequest> = sent
            .iter()
            .filter(|(a, _)| a.is_none_or(|a| areas.contains(&a)))
            .map(|(_, r)| r.clone())
            .collect();
        let one = moto_alone(areas);
        let sets = (SATURATE_FOR.as_secs_f64() / one.as_secs_f64().max(1e-3)).ceil() as usize;
        let ceiling = replay::saturated(&endpoint, &set, IN_FLIGHT, sets.max(IN_FLIGHT));

        // 4. The critical path, from the median run's call order.
        let critical = critical_path(&median_run.spans, &cost, None);
        // moto's best for these calls: with 8 in flight or one at a time, whichever is
        // faster (one Python process: concurrency buys it little). No client can finish
        // before that, nor before the chain of calls that wait for an answer.
        let best = ceiling.min(one);
        let bound = best.max(critical);
        let total = med(|r| r.total);
        let calls = median_run.spans.len();
        let attempts: u32 = median_run.spans.iter().map(|s| s.attempts).sum();
        eprintln!("bench: == {title}");
        eprintln!(
            "bench: verify      {calls} calls ({attempts} HTTP requests, {} retried) in {}: set-up {} (context {}, account id {}), checks {}",
            median_run.spans.iter().filter(|s| s.attempts > 1).count(),
            ms(total),
            ms(med(|r| r.load + r.account)),
            ms(med(|r| r.load)),
            ms(med(|r| r.account)),
            ms(med(|r| r.total - r.load - r.account)),
        );
        eprintln!(
            "bench: cpu         per run: this process (SDK, checks) {}, moto {}{}",
            ms(ours_cpu),
            moto_cpu.map(ms).unwrap_or_else(|| "(unknown)".into()),
            // The emulator's share of verify's wall time: near 100% means it was busy
            // the whole run, i.e. verify waited on it, not on ohmc-infra.
            moto_cpu
                .map(|c| format!(
                    " = {:.0}% of verify's mean wall time ({})",
                    100.0 * c.as_secs_f64() / mean_total.as_secs_f64(),
                    ms(mean_total)
                ))
                .unwrap_or_default()
        );
        eprintln!(
            "bench: moto        the same {} requests: {} one at a time, {} at its ceiling ({:.0} calls/s); critical path {}",
            set.len(),
            ms(one),
            ms(ceiling),
            set.len() as f64 / ceiling.as_secs_f64(),
            ms(critical),
        );
        eprintln!(
            "bench: ratio       verify / moto at its ceiling {:.2}; verify / moto one at a time {:.2}; verify / the bound {:.2} (bound {}: the greater of moto's best for these calls and the critical path)",
            total.as_secs_f64() / ceiling.as_secs_f64(),
            total.as_secs_f64() / one.as_secs_f64(),
            total.as_secs_f64() / bound.as_secs_f64(),
            ms(bound),
        );
        eprintln!("bench: area        calls  verify (first call to last answer)  moto alone  critical path  calls");
        for area in areas {
            let spans: Vec<&CallSpan> = median_run
                .spans
                .iter()
                .filter(|s| s.area == Some(*area))
                .collect();
            let (Some(first), Some(last)) = (
                spans.iter().map(|s| s.started).min(),
                spans.iter().map(|s| s.ended).max(),
            ) else {
                continue;
            };
            let mut list: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
            for s in &spans {
                let e = list.entry(s.action.as_str()).or_default();
                e.0 += 1;
                e.1 += s.attempts;
            }
            let list: Vec<String> = list
                .iter()
                .map(|(a, (n, tries))| match tries > n {
                    true => format!("{a} x{n} ({tries} attempts)"),
                    false => format!("{a} x{n}"),
                })
                .collect();
            eprintln!(
                "bench:   {:<10} {:>5}  {:>33}  {:>10}  {:>13}  {}",
                area.name(),
                spans.len(),
                ms(last - first),
                ms(moto_alone(&[*area]) - moto_alone(&[])),
                ms(critical_path(&median_run.spans, &cost, Some(*area))),
                list.join(", ")
            );
        }
        if std::env::var_os("OHMC_BENCH_TIMELINE").is_some() {
            print_timeline(median_run, &cost);
        }
        assert_eq!(
            median_run.report.summary.fail, 0,
            "the seeded account is compliant"
        );
    }
}

/// Every call of a run, from the context load: start, end, SDK time, moto's time alone.
#[allow(clippy::print_stderr)] // the benchmark's report
fn print_timeline(run: &Timed, cost: &HashMap<(Option<Area>, String), Vec<Duration>>) {
    let mut spans: Vec<&CallSpan> = run.spans.iter().collect();
    spans.sort_by_key(|s| s.started);
    let mut used: HashMap<(Option<Area>, &str), usize> = HashMap::new();
    eprintln!("bench: timeline    start     end       call      moto alone");
    for s in spans {
        let k = used.entry((s.area, s.operation.as_str())).or_default();
        let alone: Duration = cost
            .get(&(s.area, s.operation.clone()))
            .map(|v| v.iter().skip(*k).take(s.attempts as usize).sum())
            .unwrap_or_default();
        *k += s.attempts as usize;
        eprintln!(
            "bench:   {:>9} {:>9} {:>9} {:>9}  {} {} x{}",
            ms(s.started - run.started),
            ms(s.ended - run.started),
            ms(s.duration()),
            ms(alone),
            s.area.map(Area::name).unwrap_or("set-up"),
            s.action,
            s.attempts
        );
    }
}

/// One fresh verify run.
struct Timed {
    started: Instant,
    /// Context load to report.
    total: Duration,
    /// `AwsContext::load`.
    load: Duration,
    /// The account-id lookup (STS), when the checks waited for it.
    account: Duration,
    spans: Vec<CallSpan>,
    report: Report,
}

async fn timed_run(endpoint: &str, exp: &Expectations, opts: &RunOptions) -> Timed {
    let started = Instant::now();
    let ctx = AwsContext::load(user_options(endpoint))
        .await
        .expect("context");
    let load = started.elapsed();
    let report = run_checks(&ctx, exp, opts).await;
    let total = started.elapsed();
    let spans = ctx.recorder().spans();
    // Set-up only if the checks waited for it: the first area call began after it ended.
    let first_check = spans
        .iter()
        .filter(|s| s.area.is_some())
        .map(|s| s.started)
        .min();
    let account = spans
        .iter()
        .filter(|s| s.area.is_none())
        .filter(|s| first_check.is_none_or(|f| f >= s.ended))
        .map(|s| s.duration())
        .sum();
    Timed {
        started,
        total,
        load,
        account,
        spans,
        report,
    }
}

/// The longest chain of calls (of `only`'s area, or of the whole run) in which each call
/// started after an earlier call of its own area, or the account-id lookup, had
/// answered; each call priced at moto's one-at-a-time time for its requests (its
/// attempts, in the order the proxy saw them).
fn critical_path(
    spans: &[CallSpan],
    cost: &HashMap<(Option<Area>, String), Vec<Duration>>,
    only: Option<Area>,
) -> Duration {
    let mut spans: Vec<&CallSpan> = spans
        .iter()
        .filter(|s| only.is_none() || s.area == only || s.area.is_none())
        .collect();
    spans.sort_by_key(|s| s.started);
    let mut used: HashMap<(Option<Area>, &str), usize> = HashMap::new();
    let mut chain: Vec<Duration> = Vec::with_capacity(spans.len());
    for (i, s) in spans.iter().enumerate() {
        let k = used.entry((s.area, s.operation.as_str())).or_default();
        let prices = cost
            .get(&(s.area, s.operation.clone()))
            .map(|v| v.as_slice())
            .unwrap_or(&[]);
        let own: Duration = prices.iter().skip(*k).take(s.attempts as usize).sum();
        *k += s.attempts as usize;
        let before = spans[..i]
            .iter()
            .zip(&chain)
            .filter(|(d, _)| d.ended <= s.started && (d.area == s.area || d.area.is_none()))
            .map(|(_, c)| *c)
            .max()
            .unwrap_or_default();
        chain.push(before + own);
    }
    chain.into_iter().max().unwrap_or_default()
}

/// CPU time of this process so far, user plus system, every thread.
fn own_cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn moto_version() -> String {
    let python = crate::harness::tools_bin().join("../venv/bin/python");
    std::process::Command::new(python)
        .args(["-c", "import moto; print(moto.__version__)"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "(version unknown)".into())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .map(|l| format!("load average {l} on {} cores", num_cores()))
        .unwrap_or_default()
}

fn num_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// 500 records in the zone (CNAMEs to the ALB), 20 certificates, 5 web ACLs.
async fn seed_scaled(seeder: &Seeder, st: &Staging) {
    use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
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
            .set_rules(Some(waf_rules(&MANAGED_GROUPS, true, true)))
            .visibility_config(visibility("extra", true))
            .send()
            .await
            .unwrap();
    }
}
