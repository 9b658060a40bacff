//! Read-only checks of a live AWS account against what the platform's stack says should
//! be there: DNS, ACM, WAF, Backup, Config, GuardDuty, CloudTrail, RDS and ElastiCache.
//!
//! The library never prints or exits; it returns data. How it fits together:
//!
//! - [`context`]: [`AwsContext`] loads the SDK configuration from the normal credential
//!   chain with an optional profile, region, endpoint (`--endpoint-url` or
//!   `AWS_ENDPOINT_URL`) and role to assume, sets standard retries with backoff and a
//!   timeout on every call, and hands out one cached client per service and region, all
//!   over one shared HTTP client. Every client carries an [`ApiRecorder`] interceptor
//!   recording each call as an IAM action, with its timing ([`CallSpan`]).
//! - [`expectations`]: [`Expectations`] are the stack's merged Terraform outputs plus the
//!   environment's `verify {}` block ([`VerifySettings`]) and whether it is production.
//! - [`model`]: [`Check`] (id, title, area, severity, [`Control`]s), [`Finding`]
//!   (resource, [`Outcome`], [`Evidence`], remediation) and [`Report`].
//! - [`catalog()`]: every check and the FSBP/CIS controls (with benchmark versions) it maps to.
//! - `checks::*` (private): one module per area. Each fetches once, paginating, under a
//!   per-service concurrency limit, converts SDK shapes to its own facts types, and
//!   judges. A failed call is always [`Outcome::Error`], never a pass; an SDK enum value
//!   this version does not know is an Error naming the unknown value.
//! - `checks::discovery`: [`discover_and_check`] judges an account and region without
//!   stack outputs (or the resources none names): every kind enumerated, each resource
//!   judged by its area's own logic, plus the account-level controls.
//! - [`monitoring`]: the Prometheus and Alertmanager checks (scrape jobs up, rule groups
//!   loaded, receivers configured) over their HTTP APIs; [`run_checks`] leaves them out.
//! - [`iam`]: operation to IAM action mapping, used by the recorder and the policy test.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ohmc_checks::ChecksError> {
//! use ohmc_checks::*;
//! let ctx = AwsContext::load(ContextOptions { region: Some("us-east-1".into()), ..Default::default() }).await?;
//! let exp = Expectations::new(serde_json::Map::new(), VerifySettings::default(), false);
//! let report = run_checks(&ctx, &exp, &RunOptions::default()).await;
//! assert!(report.findings.iter().all(|f| !f.check_id.is_empty()));
//! # Ok(()) }
//! ```

mod budget;
mod catalog;
mod checks;
pub mod context;
mod error;
pub mod expectations;
pub mod iam;
pub mod model;
pub mod monitoring;

pub use budget::CallBudget;
pub use catalog::{catalog, check};
pub use checks::discovery::{DiscoverOptions, Discovered, Scope as DiscoveryScope};
/// How a failed AWS call is described, and its error code: shared with the
/// operations that make AWS calls outside the checks (`ohmc-infra bootstrap`).
pub use checks::{call_error, error_code};
pub use context::{
    ApiRecorder, AwsContext, CallSpan, ClientOverride, ContextOptions, RecordingInterceptor,
};
pub use error::{error_chain, ChecksError};
pub use expectations::{Expectations, OutputError, OutputProblem, VerifySettings};
pub use model::{
    Area, Check, Control, Evidence, Finding, Framework, Outcome, Report, Severity, Summary,
    CIS_VERSIONS, FSBP_VERSION,
};

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// How to run the checks.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Calls in flight per service at once, when no shared `budget` is given.
    pub concurrency_per_service: usize,
    /// The run's bound on calls in flight per account, region and service, shared with
    /// other runs reaching the same account and region (`None`: one of this run's own,
    /// of `concurrency_per_service`).
    pub budget: Option<CallBudget>,
    /// The account the context reaches, when the caller knows it: the budget's key.
    /// `None` keys by region alone, right for a run that reaches one account.
    pub account: Option<String>,
    /// Only these areas (`None`: all).
    pub areas: Option<BTreeSet<Area>>,
    /// Only these check ids (`None`: every check of the selected areas). Calls that
    /// serve only unselected checks are not made, and their findings not produced.
    pub checks: Option<BTreeSet<String>>,
    /// The time to judge ages and expiry against (`None`: now). Tests pin it.
    pub now: Option<DateTime<Utc>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency_per_service: 4,
            budget: None,
            account: None,
            areas: None,
            checks: None,
            now: None,
        }
    }
}

/// Runs every check (or the selected areas) concurrently and returns the sorted report.
/// Never fails: a call that fails becomes an Error finding of the checks that needed it.
pub async fn run_checks(ctx: &AwsContext, exp: &Expectations, opts: &RunOptions) -> Report {
    use context::CURRENT_AREA;
    let started = std::time::Instant::now();
    let before = ctx.recorder().snapshot();
    let before_by_area = ctx.recorder().snapshot_by_area();
    let now = opts.now.unwrap_or_else(Utc::now);
    let limits = limits(ctx, opts);
    let limits = &limits;
    type AreaFuture<'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Vec<Finding>> + Send + 'a>>;
    let area_future = |area: Area| -> AreaFuture<'_> {
        let fut = async move {
            // The account-id lookup runs beside the checks; only areas that put the
            // account id in ARNs wait for it.
            let account = match checks::needs_account(area) {
                true => Some(ctx.account_id().await.unwrap_or_default()),
                false => None,
            };
            let run = checks::Run::new(ctx, exp, now, account, limits, opts.checks.as_ref());
            match area {
                Area::Dns => checks::dns::run(&run).await,
                Area::Acm => checks::acm::run(&run).await,
                Area::Waf => checks::waf::run(&run).await,
                Area::Backup => checks::backup::run(&run).await,
                Area::Config => checks::config::run(&run).await,
                Area::GuardDuty => checks::guardduty::run(&run).await,
                Area::CloudTrail => checks::cloudtrail::run(&run).await,
                Area::Rds => checks::rds::run(&run).await,
                Area::Elasticache => checks::elasticache::run(&run).await,
                // Not AWS: `monitoring::run` needs the environment's `monitoring {}` block,
                // not this context; `ohmc-infra verify` runs it beside this function.
                Area::Monitoring => Vec::new(),
            }
        };
        Box::pin(CURRENT_AREA.scope(area, fut))
    };
    let futures: Vec<AreaFuture<'_>> = Area::ALL
        .into_iter()
        .filter(|a| opts.areas.as_ref().is_none_or(|s| s.contains(a)))
        .map(area_future)
        .collect();
    // The lookup is polled first, so its call goes out first; the areas that need it
    // share that one call.
    let (account, findings) =
        futures::future::join(ctx.account_id(), futures::future::join_all(futures)).await;
    let findings: Vec<Finding> = findings.into_iter().flatten().collect();

    let diff = |after: std::collections::BTreeMap<String, u64>,
                before: &std::collections::BTreeMap<String, u64>| {
        after
            .into_iter()
            .filter_map(|(k, v)| {
                let d = v - before.get(&k).copied().unwrap_or(0);
                (d > 0).then_some((k, d))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let calls = diff(ctx.recorder().snapshot(), &before);
    let empty = std::collections::BTreeMap::new();
    let by_area = ctx
        .recorder()
        .snapshot_by_area()
        .into_iter()
        .map(|(area, after)| {
            (
                area,
                diff(after, before_by_area.get(&area).unwrap_or(&empty)),
            )
        })
        .filter(|(_, m)| !m.is_empty())
        .collect();
    let mut report = Report::new(account, ctx.region().to_string(), findings, calls);
    report.api_calls_by_area = by_area;
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    report
}

/// Discovery: enumerates each checked kind in the context's account and region and judges
/// every resource with the same checks as [`run_checks`], plus the account-level controls
/// (see `checks::discovery`). Never fails: a failed enumeration is an Error finding.
pub async fn discover_and_check(
    ctx: &AwsContext,
    exp: &Expectations,
    opts: &RunOptions,
    discover: &DiscoverOptions,
) -> Discovered {
    let limits = limits(ctx, opts);
    let now = opts.now.unwrap_or_else(Utc::now);
    let mut d = checks::discovery::run(
        ctx,
        exp,
        now,
        &limits,
        opts.areas.as_ref(),
        opts.checks.as_ref(),
        discover,
    )
    .await;
    let key = |f: &Finding| (f.area, f.check_id.clone(), f.resource.clone());
    d.findings.sort_by_key(key);
    d.unmanaged.sort_by_key(key);
    d
}

/// This run's view of the call budget: its account and region.
fn limits(ctx: &AwsContext, opts: &RunOptions) -> checks::Limits {
    let budget = opts
        .budget
        .clone()
        .unwrap_or_else(|| CallBudget::new(opts.concurrency_per_service));
    checks::Limits::new(budget, opts.account.as_deref().unwrap_or(""), ctx.region())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_unique_and_namespaced() {
        let cat = catalog();
        let ids: BTreeSet<&str> = cat.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), cat.len());
        for c in &cat {
            let prefix = c.id.split('.').next().unwrap();
            assert_eq!(prefix, c.area.name().to_ascii_lowercase(), "{}", c.id);
        }
    }
}
