//! The call bound at organisation scale: at most `--concurrency-per-service` AWS calls in
//! flight per account, region and service, across everything one audit sends there (an
//! environment and an `--account` audit of the same account, each with a stack run and
//! discovery), while other accounts go on at the same time. Measured where the calls
//! arrive: the test proxy delays every answer so calls sent together overlap, and counts
//! the calls in flight per (account, region, service).

use std::time::Duration;

use super::{json, write_outputs, Repo, OTHER_ACCOUNT};
use crate::harness::moto::{MotoServer, MOTO_ACCOUNT};
use crate::harness::proxy::FaultProxy;
use crate::harness::seed::{self, Flaws, SeedTarget};

const ROLE: &str = "ohmc-audit";

#[tokio::test(flavor = "multi_thread")]
async fn calls_in_flight_stay_within_the_bound_per_account_region_and_service() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint()).await;
    let repo = Repo::new(&[("staging", MOTO_ACCOUNT, None)]);
    let mine = SeedTarget::assume(&moto.endpoint(), "us-east-1", MOTO_ACCOUNT, ROLE).await;
    let outputs = seed::baseline(&mine, Flaws::default()).await;
    let other = SeedTarget::assume(&moto.endpoint(), "us-east-1", OTHER_ACCOUNT, ROLE).await;
    seed::baseline(&other, Flaws::default()).await;
    let file = write_outputs(&repo.root, "outputs.json", &outputs);
    // Three targets: staging (MOTO_ACCOUNT, base credentials), MOTO_ACCOUNT again through
    // its role, OTHER_ACCOUNT; each a stack run beside discovery.
    let audit = |bound: &str| {
        repo.audit(
            &proxy.endpoint(),
            &[
                "staging",
                "--account",
                MOTO_ACCOUNT,
                "--account",
                OTHER_ACCOUNT,
                "--role-name",
                ROLE,
                "--region",
                "us-east-1",
                "--outputs",
                file.to_str().unwrap(),
                "--discover",
                "--concurrency-per-service",
                bound,
                "--format",
                "json",
            ],
        )
    };
    proxy.set_delay(Duration::from_millis(60));

    for bound in [1usize, 3] {
        let out = audit(&bound.to_string());
        let doc = json(&out.stdout);
        assert_eq!(
            doc["targets"].as_array().unwrap().len(),
            3,
            "every target audited\n{out}"
        );
        assert!(doc["errors"].as_array().unwrap().is_empty(), "{out}");
        let peaks = proxy.max_in_flight();
        // STS is outside the checks: each target's identity lookup and role, one call
        // each, before any check runs.
        let over: Vec<_> = peaks
            .iter()
            .filter(|((_, _, service), n)| service != "sts" && **n > bound)
            .collect();
        assert!(
            over.is_empty(),
            "more than {bound} calls in flight: {over:?}\nall peaks: {peaks:?}"
        );
        let busiest = peaks
            .iter()
            .filter(|((a, _, s), _)| a == MOTO_ACCOUNT && s != "sts")
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        if bound > 1 {
            // Not vacuous: the same audit does send calls together when allowed to,
            // and the proxy sees them overlap.
            assert!(busiest > 1, "no call ever overlapped another: {peaks:?}");
        } else {
            assert_eq!(busiest, 1, "{peaks:?}");
        }
        // The bound is per account: both accounts had calls of one service in flight
        // at once.
        let accounts = proxy.max_accounts_in_flight();
        assert!(
            accounts
                .iter()
                .any(|((_, service), n)| service != "sts" && *n >= 2),
            "the accounts never ran side by side: {accounts:?}"
        );
        proxy.clear_peaks();
    }
}
