//! Running the audit: every target (an environment or account in one region) at once,
//! up to a bound, each with its own SDK context; at most `concurrency_per_service` calls
//! in flight per account, region and service across all of them (one
//! [`ohmc_checks::CallBudget`] per run, as AWS throttles); then waivers, then sorting.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use futures::StreamExt;
use globset::{Glob, GlobSet, GlobSetBuilder};
use ohmc_checks::{Area, AwsContext, ContextOptions, Expectations, Outcome, RunOptions};

use crate::model::*;
use crate::waivers::{self, Waiver};

/// One account and region to audit, with what it should contain.
#[derive(Debug)]
pub struct AuditTarget {
    /// The environment name, or `account-<id>` when auditing an account directly.
    pub environment: String,
    /// The account the credentials must reach (STS GetCallerIdentity is compared before
    /// any check runs: auditing the wrong account is an error, not a pass).
    pub expected_account: Option<String>,
    pub region: String,
    /// How to reach the account; `region` is set from the target.
    pub options: ContextOptions,
    /// What the account should contain, or why that could not be read (a target error).
    pub expectations: Result<Expectations, String>,
    /// The environment's `monitoring {}` expectations (Prometheus, Alertmanager), judged
    /// with this target's findings. Set on one target per environment (its home region):
    /// monitoring belongs to the environment, not to an account and region.
    pub monitoring: Option<ohmc_checks::monitoring::MonitoringSettings>,
    /// Enumerate and judge what the outputs do not name (`--discover`). A target whose
    /// outputs are empty is always discovered: there is nothing else to judge it by.
    pub discover: bool,
    /// This target judges the account's global resources (Route 53 zones): one region
    /// per account, so a zone is judged once.
    pub include_global: bool,
}

/// The waivers of one environment.
#[derive(Debug)]
pub struct EnvironmentWaivers {
    pub environment: String,
    pub account_id: String,
    pub waivers: Vec<Waiver>,
}

/// Which checks run: glob patterns over check ids (`cloudtrail.*`).
#[derive(Debug, Clone)]
pub struct CheckSelection {
    set: Option<GlobSet>,
    /// The areas holding a selected check, known once the patterns are.
    areas: Option<BTreeSet<Area>>,
}

impl CheckSelection {
    /// Every check.
    pub fn all() -> Self {
        CheckSelection {
            set: None,
            areas: None,
        }
    }

    /// Only the checks matching one of the patterns; a pattern that matches no check in
    /// the catalog is an error (a typo would otherwise audit nothing and pass).
    pub fn patterns(patterns: &[String]) -> Result<Self, String> {
        if patterns.is_empty() {
            return Ok(Self::all());
        }
        let mut b = GlobSetBuilder::new();
        let catalog = ohmc_checks::catalog();
        for p in patterns {
            let g = Glob::new(p).map_err(|e| format!("--check {p}: {e}"))?;
            let m = g.compile_matcher();
            if !catalog.iter().any(|c| m.is_match(c.id)) {
                return Err(format!("--check {p} matches no check in the catalog"));
            }
            b.add(g);
        }
        let set = b.build().map_err(|e| e.to_string())?;
        let areas = catalog
            .iter()
            .filter(|c| set.is_match(c.id))
            .map(|c| c.area)
            .collect();
        Ok(CheckSelection {
            set: Some(set),
            areas: Some(areas),
        })
    }

    pub fn includes(&self, check_id: &str) -> bool {
        self.set.as_ref().is_none_or(|s| s.is_match(check_id))
    }

    /// The areas holding a selected check (`None`: all).
    pub fn areas(&self) -> Option<&BTreeSet<Area>> {
        self.areas.as_ref()
    }

    /// The selected check ids (`None`: all), so the checks skip the calls that serve
    /// only unselected ones.
    pub fn ids(&self) -> Option<BTreeSet<String>> {
        self.set.as_ref().map(|set| {
            ohmc_checks::catalog()
                .iter()
                .filter(|c| set.is_match(c.id))
                .map(|c| c.id.to_string())
                .collect()
        })
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub checks: CheckSelection,
    /// Calls in flight per service, per account and region, across every target of the
    /// run (an environment and an account audit of the same account share it).
    pub concurrency_per_service: usize,
    /// Targets audited at once.
    pub max_concurrent_targets: usize,
    /// Waiver expiry is judged against this day (UTC today unless a test pins it).
    pub today: NaiveDate,
    /// The version written into the report.
    pub tool_version: String,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            checks: CheckSelection::all(),
            concurrency_per_service: 4,
            max_concurrent_targets: 8,
            today: Utc::now().date_naive(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

struct TargetResult {
    summary: TargetSummary,
    findings: Vec<AuditFinding>,
    error: Option<TargetError>,
    by_area: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Audits every target concurrently and applies the waivers. Never fails: what could
/// not be audited is a [`TargetError`] in the report.
pub async fn run_audit(
    targets: Vec<AuditTarget>,
    waivers: &[EnvironmentWaivers],
    opts: &AuditOptions,
) -> AuditReport {
    let started_at = Utc::now();
    let started = Instant::now();
    let budget = ohmc_checks::CallBudget::new(opts.concurrency_per_service);
    let results: Vec<TargetResult> =
        futures::stream::iter(targets.into_iter().map(|t| audit_target(t, opts, &budget)))
            .buffer_unordered(opts.max_concurrent_targets.max(1))
            .collect()
            .await;

    let mut report = AuditReport {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "ohmc-infra".into(),
            version: opts.tool_version.clone(),
        },
        started_at,
        duration_ms: 0,
        benchmarks: Benchmarks::default(),
        summary: Summary::default(),
        targets: Vec::new(),
        findings: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        api_calls: BTreeMap::new(),
        api_calls_by_area: BTreeMap::new(),
        baseline: None,
    };
    for r in results {
        for (action, n) in &r.summary.api_calls {
            *report.api_calls.entry(action.clone()).or_insert(0) += n;
        }
        for (area, calls) in r.by_area {
            let slot = report.api_calls_by_area.entry(area).or_default();
            for (action, n) in calls {
                *slot.entry(action).or_insert(0) += n;
            }
        }
        report.targets.push(r.summary);
        report.findings.extend(r.findings);
        report.errors.extend(r.error);
    }
    for w in waivers {
        let (extra, warnings) = waivers::apply(
            &w.environment,
            &w.account_id,
            &w.waivers,
            &mut report.findings,
            opts.today,
        );
        report.findings.extend(extra);
        report.warnings.extend(warnings);
    }
    // Per-target counts after waivers.
    for t in &mut report.targets {
        t.summary = Summary::of(report.findings.iter().filter(|f| {
            f.environment == t.environment && f.account_id == t.account_id && f.region == t.region
        }));
    }
    for e in &report.errors {
        if let Some(t) = report.targets.iter_mut().find(|t| {
            t.environment == e.environment && t.account_id == e.account_id && t.region == e.region
        }) {
            t.summary.error += 1;
        }
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.normalise();
    report
}

async fn audit_target(
    t: AuditTarget,
    opts: &AuditOptions,
    budget: &ohmc_checks::CallBudget,
) -> TargetResult {
    let started = Instant::now();
    let label_account = t.expected_account.clone().unwrap_or_default();
    let mut summary = TargetSummary {
        environment: t.environment.clone(),
        account_id: label_account.clone(),
        region: t.region.clone(),
        role_arn: t.options.role_arn.clone(),
        summary: Summary::default(),
        api_calls: BTreeMap::new(),
        elapsed_ms: 0,
    };
    let fail = |summary: TargetSummary, message: String| TargetResult {
        error: Some(TargetError {
            environment: summary.environment.clone(),
            account_id: summary.account_id.clone(),
            region: summary.region.clone(),
            message,
        }),
        summary,
        findings: Vec::new(),
        by_area: BTreeMap::new(),
    };
    let exp = match t.expectations {
        Ok(e) => e,
        Err(message) => return fail(summary, message),
    };
    let mut options = t.options;
    options.region = Some(t.region.clone());
    let ctx = match AwsContext::load(options).await {
        Ok(ctx) => ctx,
        Err(e) => return fail(summary, format!("setting up AWS access: {e}")),
    };
    let account = ctx.account_id().await;
    summary.api_calls = ctx.recorder().snapshot();
    let Some(account) = account else {
        // The cached lookup keeps no error; one more call says why (a denied
        // AssumeRole, a region not enabled, throttling past the retries).
        let why = match ctx.sts(None).get_caller_identity().send().await {
            Err(e) => error_chain(&e),
            Ok(_) => "the answer named no account".to_string(),
        };
        summary.api_calls = ctx.recorder().snapshot();
        return fail(
            summary,
            format!("could not identify the account: STS GetCallerIdentity failed (credentials, or the role to assume?): {why}"),
        );
    };
    if let Some(expected) = &t.expected_account {
        if expected != &account {
            return fail(
                summary,
                format!(
                    "the credentials reach account {account}, but the target is account {expected}"
                ),
            );
        }
    }
    summary.account_id = account.clone();
    let run = RunOptions {
        concurrency_per_service: opts.concurrency_per_service,
        // The stack run and discovery of this target, and every other target reaching
        // this account and region, share one bound per service.
        budget: Some(budget.clone()),
        account: Some(account.clone()),
        areas: opts.checks.areas().cloned(),
        checks: opts.checks.ids(),
        now: None,
    };
    let monitoring = async {
        match &t.monitoring {
            Some(m)
                if opts
                    .checks
                    .areas()
                    .is_none_or(|a| a.contains(&Area::Monitoring)) =>
            {
                ohmc_checks::monitoring::run(m).await
            }
            _ => Vec::new(),
        }
    };
    // No outputs: discovery is the whole audit of the target (the stack run would only
    // list missing outputs). Outputs and --discover: both, discovery adding what the
    // outputs do not name.
    let scope = match (exp.outputs.is_empty(), t.discover) {
        (true, _) => Some(ohmc_checks::DiscoveryScope::Everything),
        (false, true) => Some(ohmc_checks::DiscoveryScope::Unowned),
        (false, false) => None,
    };
    let stack = async {
        match scope {
            Some(ohmc_checks::DiscoveryScope::Everything) => None,
            _ => Some(ohmc_checks::run_checks(&ctx, &exp, &run).await),
        }
    };
    let discovery = async {
        match scope {
            Some(scope) => {
                let d = ohmc_checks::DiscoverOptions {
                    scope,
                    include_global: t.include_global,
                };
                ohmc_checks::discover_and_check(&ctx, &exp, &run, &d).await
            }
            None => ohmc_checks::Discovered::default(),
        }
    };
    let (report, discovered, monitoring) = tokio::join!(stack, discovery, monitoring);
    let mut by_area: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let (stack_findings, stack_by_area) = match report {
        Some(r) => (r.findings, r.api_calls_by_area),
        None => (Vec::new(), BTreeMap::new()),
    };
    for (area, calls) in stack_by_area {
        by_area.insert(area.name().to_ascii_lowercase(), calls);
    }
    let findings = stack_findings
        .into_iter()
        .chain(discovered.findings)
        .chain(monitoring)
        .map(|f| (f, false))
        .chain(discovered.unmanaged.into_iter().map(|f| (f, true)))
        .filter(|(f, _)| opts.checks.includes(&f.check_id))
        .map(|(f, unmanaged)| convert(&t.environment, &account, &t.region, f, unmanaged))
        .collect();
    summary.api_calls = ctx.recorder().snapshot();
    summary.elapsed_ms = started.elapsed().as_millis() as u64;
    if scope.is_some() {
        // Discovery's calls are counted per area by the recorder; the whole target's
        // split replaces the stack run's.
        by_area = ctx
            .recorder()
            .snapshot_by_area()
            .into_iter()
            .map(|(area, calls)| (area.name().to_ascii_lowercase(), calls))
            .collect();
    }
    TargetResult {
        summary,
        findings,
        error: None,
        by_area,
    }
}

/// An error with its causes, `outer: inner: innermost`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

fn convert(
    environment: &str,
    account: &str,
    region: &str,
    f: ohmc_checks::Finding,
    unmanaged: bool,
) -> AuditFinding {
    let check = ohmc_checks::check(&f.check_id);
    let (status, message) = match f.outcome {
        Outcome::Pass => (Status::Pass, None),
        Outcome::Fail => (Status::Fail, None),
        Outcome::Error { message } => (Status::Error, Some(message)),
        Outcome::Skipped { reason } => (Status::Skipped, Some(reason)),
    };
    AuditFinding {
        environment: environment.to_string(),
        account_id: account.to_string(),
        region: region.to_string(),
        title: check
            .as_ref()
            .map(|c| c.title.to_string())
            .unwrap_or_default(),
        area: f.area.name().to_ascii_lowercase(),
        controls: check
            .map(|c| c.controls.iter().map(ControlRef::from_control).collect())
            .unwrap_or_default(),
        check_id: f.check_id,
        severity: f.severity,
        resource: f.resource,
        status,
        message,
        evidence: f.evidence,
        remediation: f.remediation,
        waiver: None,
        unmanaged,
    }
}

/// An account of the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
}

/// The ACTIVE accounts of the AWS Organization the base credentials belong to
/// (Organizations ListAccounts, paginated; needs the management or a delegated
/// administrator account).
pub async fn discover_accounts(options: ContextOptions) -> Result<Vec<OrgAccount>, String> {
    let ctx = AwsContext::load(options)
        .await
        .map_err(|e| format!("setting up AWS access: {e}"))?;
    let client = aws_sdk_organizations::Client::new(ctx.sdk_config());
    let mut pages = client.list_accounts().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "organizations:ListAccounts failed: {}",
                ohmc_checks::error_chain(&e)
            )
        })?;
        for a in page.accounts() {
            #[allow(deprecated)]
            let active = match (a.state(), a.status()) {
                (Some(s), _) => s.as_str() == "ACTIVE",
                (None, Some(s)) => s.as_str() == "ACTIVE",
                (None, None) => true,
            };
            if let (Some(id), true) = (a.id(), active) {
                out.push(OrgAccount {
                    id: id.to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
