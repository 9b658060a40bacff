//! Discovery: an account and region judged without stack outputs, or the resources no
//! stack owns. Each kind is enumerated once (paginated, under its service's call limit)
//! into an [`Inventory`], and every discovered resource is judged by its own area's check
//! logic (`guardduty::run`, `cloudtrail::run`, ...) with expectations naming that one
//! resource: the same check ids, controls and evidence as a stack-owned resource.
//!
//! Kinds: GuardDuty detectors, Config recorders (and the account's channel and rules),
//! CloudTrail trails, Backup plans and vaults, RDS DB instances (outside clusters) and DB
//! clusters, ElastiCache replication groups, ACM certificates, regional WAFv2 web ACLs,
//! application load balancers (each must have a web ACL: `waf.web_acl_associated`,
//! ELB.16) and, in the account's global region, Route 53 hosted zones. Clusters and
//! replication groups are judged from the listing itself, by the same judging functions
//! as a stack's (`rds::judge_storage`, `elasticache::judge_group`): one call per page,
//! not one per resource.
//!
//! Account-level controls, judged once per account and region as Security Hub words them:
//! - `guardduty.detector_enabled` (GuardDuty.1): a region with no detector fails, on the
//!   resource `arn:aws:guardduty:REGION:ACCOUNT:detector`.
//! - `config.recorder_all_resources` (Config.1): a region with no recorder fails likewise.
//! - `cloudtrail.account_multi_region_trail` (CloudTrail.1, CIS 3.1): at least one trail
//!   that is multi-region, logging read/write management events, validating log files and
//!   KMS-encrypted must reach the region (its own or a shadow of another region's).
//! - `backup.vault_lock`: every vault, where the account is marked production.
//!
//! An enumeration that fails is an Error of every check of that kind, on the account's
//! resource for the kind: nothing is judged absent because a List call failed.
//! Expectations only a stack can give (the names a certificate must cover, the ALB a web
//! ACL protects) are Skipped as "not judged: needs expectation `X`", never dropped.

use super::{call_error, finding, judge, list_or_none, Limits, Run};
use crate::context::{AwsContext, CURRENT_AREA};
use crate::expectations::{outputs, Expectations};
use crate::model::{Area, Finding, Outcome};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub(crate) const ACCOUNT_TRAIL: &str = "cloudtrail.account_multi_region_trail";

/// What discovery judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No stack describes the account: every discovered resource and the account's
    /// own checks (Config delivery channel and rules) are judged here.
    Everything,
    /// A stack run judged what its outputs name: discovery adds the account-level
    /// controls and the resources those outputs do not name (tagged unmanaged).
    Unowned,
}

/// How to discover.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    pub scope: Scope,
    /// Enumerate global resources (Route 53 hosted zones) in this target. Set on one
    /// region per account so a zone is judged once, not once per region.
    pub include_global: bool,
}

/// The findings of a discovery run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    /// Account-level controls, and with [`Scope::Everything`] every resource.
    pub findings: Vec<Finding>,
    /// With [`Scope::Unowned`]: findings of resources no stack output names.
    pub unmanaged: Vec<Finding>,
}

/// A trail as DescribeTrails lists it (shadow trails of other regions included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedTrail {
    pub name: String,
    pub home_region: String,
    pub facts: super::cloudtrail::TrailFacts,
}

impl From<&aws_sdk_cloudtrail::types::Trail> for ListedTrail {
    fn from(t: &aws_sdk_cloudtrail::types::Trail) -> Self {
        ListedTrail {
            name: t.name().unwrap_or("").to_string(),
            home_region: t.home_region().unwrap_or("").to_string(),
            facts: super::cloudtrail::TrailFacts::from(t),
        }
    }
}

/// A listing, or the message of the call that failed.
type Listed<T> = Result<Vec<T>, String>;

/// What exists in one account and region, reduced to the ids the checks take.
#[derive(Debug, Clone)]
pub(crate) struct Inventory {
    pub detectors: Listed<String>,
    pub recorders: Listed<super::config::RecorderFacts>,
    pub trails: Listed<ListedTrail>,
    pub plans: Listed<String>,
    pub vaults: Listed<String>,
    pub databases: Listed<(String, super::rds::StorageFacts)>,
    pub clusters: Listed<(String, super::rds::StorageFacts)>,
    pub cache_groups: Listed<(String, super::elasticache::GroupFacts)>,
    /// Application load balancers (the kind a regional web ACL protects), by ARN.
    pub load_balancers: Listed<String>,
    pub certificates: Listed<String>,
    pub web_acls: Listed<String>,
    /// `None` when this target does not own the global resources.
    pub zones: Option<Listed<String>>,
}

/// Runs discovery in the context's account and region.
pub(crate) async fn run(
    ctx: &AwsContext,
    base: &Expectations,
    now: DateTime<Utc>,
    limits: &Limits,
    areas: Option<&BTreeSet<Area>>,
    checks: Option<&BTreeSet<String>>,
    opts: &DiscoverOptions,
) -> Discovered {
    let account = ctx.account_id().await.unwrap_or_default();
    let probe = Run::new(ctx, base, now, Some(account.clone()), limits, checks);
    // A kind is enumerated, and a resource judged, only for the selected checks it feeds:
    // a listing or describe call that serves none of them is never made.
    let wants = |area: Area, ids: &[&str]| {
        areas.is_none_or(|s| s.contains(&area))
            && match ids.is_empty() {
                true => probe.wants(&crate::catalog::area_ids(area)),
                false => probe.wants(ids),
            }
    };
    let wanted = |area: Area| wants(area, &[]);
    let inv = inventory(&probe, opts.include_global, &wants).await;
    let owned = Owned::from(base);
    let mut out = Discovered::default();
    let region = ctx.region().to_string();
    let arn = |service: &str, rest: &str| format!("arn:aws:{service}:{region}:{account}:{rest}");

    // Every judging future of the account; each runs its area's logic on one resource.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    // Resources judged from their listing (no further call), and load balancers whose
    // association is one call each.
    let mut direct: Vec<Finding> = Vec::new();
    let mut albs: Vec<&str> = Vec::new();
    // CloudTrail.1's trails, judged beside the resource jobs rather than before them.
    let mut account_trails: Vec<(&[ListedTrail], String)> = Vec::new();
    let mut listed_trails: Vec<&ListedTrail> = Vec::new();
    let mut listed_recorders: Vec<&super::config::RecorderFacts> = Vec::new();
    let everything = opts.scope == Scope::Everything;

    if wanted(Area::GuardDuty) {
        match &inv.detectors {
            Err(m) => out.findings.extend(kind_error(
                &[super::guardduty::ENABLED],
                &arn("guardduty", "detector"),
                m,
            )),
            Ok(ids) if ids.is_empty() => out.findings.push(finding(
                super::guardduty::ENABLED,
                arn("guardduty", "detector"),
                Outcome::Fail,
                "an enabled GuardDuty detector in every region",
                "no detector in this region",
            )),
            Ok(ids) => {
                for id in ids
                    .iter()
                    .filter(|id| !owned.has(outputs::GUARDDUTY_DETECTOR_ID, id))
                {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::GuardDuty,
                            &[(outputs::GUARDDUTY_DETECTOR_ID, id.as_str())],
                            &[],
                            arn("guardduty", &format!("detector/{id}")),
                        ),
                    );
                }
            }
        }
    }
    if wanted(Area::Config) {
        match &inv.recorders {
            Err(m) => out.findings.extend(kind_error(
                &[super::config::RECORDER],
                &arn("config", "configuration-recorder"),
                m,
            )),
            Ok(recorders) => {
                if recorders.is_empty() {
                    out.findings.push(finding(
                        super::config::RECORDER,
                        arn("config", "configuration-recorder"),
                        Outcome::Fail,
                        "a configuration recorder recording all resources in every region",
                        "no configuration recorder in this region",
                    ));
                }
                // Judged from the listing: only the recording status is asked.
                if wants(Area::Config, &[super::config::RECORDER]) {
                    listed_recorders.extend(
                        recorders
                            .iter()
                            .filter(|c| !owned.has(outputs::CONFIG_RECORDER_NAME, &c.name)),
                    );
                }
                // The delivery channel and required rules belong to the account, not to
                // a recorder: judged once, and only when no stack run judged them.
                if everything {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::Config,
                            &[],
                            &[
                                super::config::CHANNEL,
                                super::config::RULES,
                                super::config::COMPLIANCE,
                            ],
                            arn("config", "config-rule"),
                        ),
                    );
                }
            }
        }
    }
    if wanted(Area::CloudTrail) {
        match &inv.trails {
            Err(m) => {
                out.findings
                    .extend(kind_error(&[ACCOUNT_TRAIL], &arn("cloudtrail", "trail"), m))
            }
            Ok(trails) => {
                if wants(Area::CloudTrail, &[ACCOUNT_TRAIL]) {
                    account_trails.push((trails, arn("cloudtrail", "trail")));
                }
                // Each trail is judged in its home region only (elsewhere it is a
                // shadow), from its listing: no second describe.
                if wants(Area::CloudTrail, &super::cloudtrail::TRAIL_CHECKS) {
                    listed_trails.extend(trails.iter().filter(|t| {
                        t.home_region == region && !owned.has(outputs::CLOUDTRAIL_NAME, &t.name)
                    }));
                }
            }
        }
    }
    if wanted(Area::Backup) {
        use super::backup::{COPY, ENCRYPTED, LOCK, PLAN, RPO, SELECTION};
        match &inv.plans {
            Err(m) => out
                .findings
                .extend(kind_error(&[PLAN], &arn("backup", "backup-plan"), m)),
            Ok(ids) => {
                for id in ids
                    .iter()
                    .filter(|id| !owned.has(outputs::BACKUP_PLAN_ID, id))
                {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::Backup,
                            &[(outputs::BACKUP_PLAN_ID, id.as_str())],
                            &[PLAN, SELECTION, COPY],
                            arn("backup", &format!("backup-plan:{id}")),
                        ),
                    );
                }
            }
        }
        match &inv.vaults {
            Err(m) => out.findings.extend(kind_error(
                &[ENCRYPTED, LOCK],
                &arn("backup", "backup-vault"),
                m,
            )),
            Ok(names) => {
                for n in names
                    .iter()
                    .filter(|n| !owned.has(outputs::BACKUP_VAULT_NAME, n))
                {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::Backup,
                            &[(outputs::BACKUP_VAULT_NAME, n.as_str())],
                            &[ENCRYPTED, LOCK, RPO],
                            arn("backup", &format!("backup-vault:{n}")),
                        ),
                    );
                }
            }
        }
    }
    if wanted(Area::Rds) {
        match &inv.databases {
            Err(m) => out.findings.extend(kind_error(
                &[super::rds::ENCRYPTED, super::rds::RETENTION],
                &arn("rds", "db"),
                m,
            )),
            Ok(databases) => {
                for (id, d) in databases
                    .iter()
                    .filter(|(id, _)| !owned.has(outputs::RDS_INSTANCE_IDS, id))
                {
                    let resource = match d.arn.is_empty() {
                        true => arn("rds", &format!("db:{id}")),
                        false => d.arn.clone(),
                    };
                    direct.extend(super::rds::judge_storage(
                        &resource,
                        super::rds::INSTANCE_CHECKS,
                        (d.encrypted, d.deletion_protection, d.backup_retention_days),
                        &probe,
                    ));
                }
            }
        }
    }
    if wanted(Area::Rds) {
        use super::rds::{CLUSTER_CHECKS, CLUSTER_ENCRYPTED, CLUSTER_RETENTION};
        match &inv.clusters {
            Err(m) => out.findings.extend(kind_error(
                &[CLUSTER_ENCRYPTED, CLUSTER_RETENTION],
                &arn("rds", "cluster"),
                m,
            )),
            Ok(clusters) => {
                for (id, c) in clusters
                    .iter()
                    .filter(|(id, _)| !owned.has(outputs::RDS_CLUSTER_IDS, id))
                {
                    let resource = match c.arn.is_empty() {
                        true => arn("rds", &format!("cluster:{id}")),
                        false => c.arn.clone(),
                    };
                    direct.extend(super::rds::judge_storage(
                        &resource,
                        CLUSTER_CHECKS,
                        (c.encrypted, c.deletion_protection, c.backup_retention_days),
                        &probe,
                    ));
                }
            }
        }
    }
    if wanted(Area::Elasticache) {
        use super::elasticache::{AT_REST, BACKUPS, IN_TRANSIT};
        match &inv.cache_groups {
            Err(m) => out.findings.extend(kind_error(
                &[AT_REST, IN_TRANSIT, BACKUPS],
                &arn("elasticache", "replicationgroup"),
                m,
            )),
            Ok(groups) => {
                for (id, g) in groups
                    .iter()
                    .filter(|(id, _)| !owned.has(outputs::REDIS_REPLICATION_GROUP_ID, id))
                {
                    let resource = match g.arn.is_empty() {
                        true => arn("elasticache", &format!("replicationgroup:{id}")),
                        false => g.arn.clone(),
                    };
                    direct.extend(super::elasticache::judge_group(&resource, g));
                }
            }
        }
    }
    if wanted(Area::Waf) {
        match &inv.load_balancers {
            Err(m) => out.findings.extend(kind_error(
                &[super::waf::ASSOCIATED],
                &arn("elasticloadbalancing", "loadbalancer/app"),
                m,
            )),
            Ok(arns) => albs.extend(
                arns.iter()
                    .filter(|a| !owned.has(outputs::ALB_ARN, a))
                    .map(String::as_str),
            ),
        }
    }
    if wanted(Area::Acm) {
        match &inv.certificates {
            Err(m) => out.findings.extend(kind_error(
                &[super::acm::EXPIRY, super::acm::KEY],
                &arn("acm", "certificate"),
                m,
            )),
            Ok(arns) => {
                for a in arns
                    .iter()
                    .filter(|a| !owned.has(outputs::CERTIFICATE_ARN, a))
                {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::Acm,
                            &[(outputs::CERTIFICATE_ARN, a.as_str())],
                            &[],
                            a.clone(),
                        ),
                    );
                }
            }
        }
    }
    if wanted(Area::Waf) {
        match &inv.web_acls {
            Err(m) => out.findings.extend(kind_error(
                &[super::waf::HAS_RULES, super::waf::LOGGING],
                &arn("wafv2", "regional/webacl"),
                m,
            )),
            Ok(arns) => {
                // The association is judged from each load balancer's side: an ACL
                // protecting nothing is no defect, an unprotected ALB is.
                use super::waf::{HAS_RULES, LOGGING, MANAGED, METRICS, RATE};
                for a in arns.iter().filter(|a| !owned.has(outputs::WEB_ACL_ARN, a)) {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::Waf,
                            &[(outputs::WEB_ACL_ARN, a.as_str())],
                            &[HAS_RULES, MANAGED, RATE, METRICS, LOGGING],
                            a.clone(),
                        ),
                    );
                }
            }
        }
    }
    if wanted(Area::Dns) {
        match &inv.zones {
            None => {}
            Some(Err(m)) => out.findings.extend(kind_error(
                &[super::dns::DANGLING],
                "arn:aws:route53:::hostedzone",
                m,
            )),
            Some(Ok(ids)) => {
                for id in ids
                    .iter()
                    .filter(|id| !owned.has(outputs::HOSTED_ZONE_ID, id))
                {
                    push_if_wanted(
                        &mut jobs,
                        &wants,
                        Job::new(
                            Area::Dns,
                            &[(outputs::HOSTED_ZONE_ID, id.as_str())],
                            &[],
                            format!("arn:aws:route53:::hostedzone/{id}"),
                        ),
                    );
                }
            }
        }
    }

    let protected = CURRENT_AREA.scope(
        Area::Waf,
        futures::future::join_all(
            albs.iter()
                .map(|a| super::waf::association(&probe, a, None, a)),
        ),
    );
    let account_trails = CURRENT_AREA.scope(
        Area::CloudTrail,
        futures::future::join_all(
            account_trails
                .iter()
                .map(|(trails, resource)| account_trail(&probe, trails, resource)),
        ),
    );
    let trails_judged = CURRENT_AREA.scope(
        Area::CloudTrail,
        futures::future::join_all(listed_trails.iter().map(|t| {
            let probe = &probe;
            let arn = match t.facts.arn.is_empty() {
                true => arn("cloudtrail", &format!("trail/{}", t.name)),
                false => t.facts.arn.clone(),
            };
            async move { super::cloudtrail::judge_trail(probe, &t.facts, &arn, None).await }
        })),
    );
    let recorders_judged = CURRENT_AREA.scope(
        Area::Config,
        futures::future::join_all(listed_recorders.iter().map(|c| {
            let probe = &probe;
            let resource = arn("config", &format!("configuration-recorder/{}", c.name));
            async move { super::config::judge_recorder(probe, &resource, (*c).clone()).await }
        })),
    );
    let (judged, protected, account_trails, trails_judged, recorders_judged) = tokio::join!(
        futures::future::join_all(
            jobs.iter()
                .map(|j| j.judge(ctx, base, now, &account, limits, checks)),
        ),
        protected,
        account_trails,
        trails_judged,
        recorders_judged
    );
    direct.extend(recorders_judged.into_iter().flatten());
    out.findings.extend(account_trails);
    direct.extend(protected);
    direct.extend(trails_judged.into_iter().flatten());
    for found in judged.into_iter().chain([direct]) {
        match opts.scope {
            Scope::Everything => out.findings.extend(found),
            Scope::Unowned => out.unmanaged.extend(found),
        }
    }
    out
}

/// The ids a stack's outputs name, so discovery leaves them to the stack run.
struct Owned<'a>(&'a Expectations);

impl<'a> From<&'a Expectations> for Owned<'a> {
    fn from(e: &'a Expectations) -> Self {
        Owned(e)
    }
}

impl Owned<'_> {
    fn has(&self, output: &str, id: &str) -> bool {
        let e = self.0;
        if let Ok(list) = e.output_list(output) {
            return list.iter().any(|v| v == id);
        }
        match e.output_str(output) {
            // Hosted zone ids come as `Z1` or `/hostedzone/Z1`; trails by name or ARN.
            Ok(v) => {
                v == id || v.rsplit('/').next() == Some(id) || v.ends_with(&format!(":trail/{id}"))
            }
            Err(_) => false,
        }
    }
}

/// One resource to judge: an area run with outputs naming it.
struct Job<'a> {
    area: Area,
    outputs: Map<String, Value>,
    /// The checks of the area that judge this kind (empty: all of the area's).
    checks: &'a [&'a str],
    /// Where a "needs expectation" finding points when the area names no resource.
    resource: String,
}

impl<'a> Job<'a> {
    fn new(area: Area, outputs: &[(&str, &str)], checks: &'a [&'a str], resource: String) -> Self {
        Job {
            area,
            outputs: outputs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
            checks,
            resource,
        }
    }

    async fn judge(
        &self,
        ctx: &AwsContext,
        base: &Expectations,
        now: DateTime<Utc>,
        account: &str,
        limits: &Limits,
        checks: Option<&BTreeSet<String>>,
    ) -> Vec<Finding> {
        let exp = Expectations::new(self.outputs.clone(), base.settings.clone(), base.production);
        let run = Run::new(ctx, &exp, now, Some(account.to_string()), limits, checks);
        let fut = async {
            match self.area {
                Area::Dns => super::dns::run(&run).await,
                Area::Acm => super::acm::run(&run).await,
                Area::Waf => super::waf::run(&run).await,
                Area::Backup => super::backup::run(&run).await,
                Area::Config => super::config::run(&run).await,
                Area::GuardDuty => super::guardduty::run(&run).await,
                Area::CloudTrail => super::cloudtrail::run(&run).await,
                Area::Rds => super::rds::run(&run).await,
                Area::Elasticache => super::elasticache::run(&run).await,
                Area::Monitoring => Vec::new(),
            }
        };
        CURRENT_AREA
            .scope(self.area, fut)
            .await
            .into_iter()
            .filter(|f| self.checks.is_empty() || self.checks.contains(&f.check_id.as_str()))
            .map(|f| names_unjudged(f, &exp))
            .map(|f| not_judged(f, &self.resource))
            .collect()
    }
}

/// Queues a job when one of the checks it judges is selected.
fn push_if_wanted<'a>(
    jobs: &mut Vec<Job<'a>>,
    wants: &dyn Fn(Area, &[&str]) -> bool,
    job: Job<'a>,
) {
    if wants(job.area, job.checks) {
        jobs.push(job);
    }
}

/// Without expected names, an issued certificate "covers every expected name" vacuously:
/// discovery does not call that a pass. A certificate that is not issued still fails.
fn names_unjudged(f: Finding, exp: &Expectations) -> Finding {
    if f.check_id == super::acm::ISSUED
        && f.outcome == Outcome::Pass
        && exp.settings.domain_names.is_empty()
    {
        let resource = f.resource.clone();
        return super::skipped(&f.check_id, &resource, "verify.domain_names is empty");
    }
    f
}

/// A Skipped finding of discovery says which expectation it lacks, and names the
/// discovered resource rather than a stack output placeholder. Production-only checks
/// outside production keep their reason: they do not apply.
fn not_judged(mut f: Finding, resource: &str) -> Finding {
    let reason = match &f.outcome {
        Outcome::Skipped { reason } if !reason.starts_with("production-only") => reason.clone(),
        // A stack output no stack gives here: with outputs it is an Error (a
        // renamed output must not turn an area green), in discovery it is an
        // expectation discovery cannot infer.
        Outcome::Error { message }
            if message.starts_with("stack output `") && message.ends_with("is missing") =>
        {
            message.clone()
        }
        _ => return f,
    };
    let needs = needed_expectation(&reason);
    if f.resource.starts_with("output:") {
        f.resource = resource.to_string();
    }
    f.outcome = Outcome::Skipped {
        reason: format!("not judged: needs expectation {needs}"),
    };
    f
}

/// The expectation a skip reason names: `verify.X is empty` is the `audit {}` default
/// `audit.X`; a missing stack output stays that output.
pub(crate) fn needed_expectation(reason: &str) -> String {
    if let Some(setting) = reason
        .strip_prefix("verify.")
        .and_then(|r| r.strip_suffix(" is empty"))
    {
        return format!("`audit.{setting}` (or the environment's `verify.{setting}`)");
    }
    if let Some(rest) = reason.strip_prefix("stack output `") {
        if let Some((name, _)) = rest.split_once('`') {
            return format!("`{name}` (a stack output; discovery cannot infer it)");
        }
    }
    format!("({reason})")
}

/// Error findings of a kind whose enumeration failed.
fn kind_error(ids: &[&str], resource: &str, message: &str) -> Vec<Finding> {
    ids.iter()
        .map(|id| super::error(id, resource, "", message))
        .collect()
}

/// CloudTrail.1 as Security Hub judges it: some trail reaching this region is
/// multi-region, logging read/write management events, validating and KMS-encrypted.
async fn account_trail(r: &Run<'_>, trails: &[ListedTrail], resource: &str) -> Finding {
    let expected = "at least one multi-region trail logging read/write management events, with log file validation and KMS encryption";
    let mut described = Vec::new();
    let mut errors = Vec::new();
    for t in trails {
        let f = &t.facts;
        let mut line = format!(
            "{} ({}): multi-region {}, validation {}, KMS {}",
            t.name,
            t.home_region,
            f.multi_region,
            f.validation,
            f.kms_key.is_some()
        );
        if !(f.multi_region && f.validation && f.kms_key.is_some()) {
            described.push(line);
            continue;
        }
        // The trail's status lives in its home region.
        let client = r.ctx.cloudtrail(Some(t.home_region.as_str()));
        let target = if f.arn.is_empty() { &t.name } else { &f.arn };
        let home = t.home_region.as_str();
        let (status, selectors) = tokio::join!(
            async {
                let _p = r.permit_in("cloudtrail", home).await;
                client.get_trail_status().name(target).send().await
            },
            async {
                let _p = r.permit_in("cloudtrail", home).await;
                client.get_event_selectors().trail_name(target).send().await
            }
        );
        match (status, selectors) {
            (Err(e), _) => errors.push(call_error("cloudtrail:GetTrailStatus", &e)),
            (_, Err(e)) => errors.push(call_error("cloudtrail:GetEventSelectors", &e)),
            (Ok(s), Ok(sel)) => {
                let logging = s.is_logging().unwrap_or(false);
                let mgmt = super::cloudtrail::management_events(&sel);
                line.push_str(&format!(", logging {logging}, management events {mgmt}"));
                described.push(line);
                if logging && mgmt {
                    return finding(
                        ACCOUNT_TRAIL,
                        resource,
                        Outcome::Pass,
                        expected,
                        format!("trails: {}", described.join("; ")),
                    );
                }
            }
        }
    }
    // No trail passed: unknown if any candidate could not be read, otherwise a failure.
    if !errors.is_empty() {
        return super::error(ACCOUNT_TRAIL, resource, expected, &errors.join("; "));
    }
    finding(
        ACCOUNT_TRAIL,
        resource,
        judge(false),
        expected,
        format!("trails: {}", list_or_none(&described)),
    )
}

async fn inventory(
    r: &Run<'_>,
    include_global: bool,
    wants: &dyn Fn(Area, &[&str]) -> bool,
) -> Inventory {
    use super::{backup as bk, rds, waf};
    let (
        (detectors, recorders, trails, plans, vaults, databases, clusters),
        (cache_groups, load_balancers, certificates, web_acls, zones),
    ) = tokio::join!(
        async {
            tokio::join!(
                scoped(Area::GuardDuty, &[], wants, detectors(r)),
                scoped(Area::Config, &[], wants, recorders(r)),
                scoped(Area::CloudTrail, &[], wants, trails(r)),
                scoped(
                    Area::Backup,
                    &[bk::PLAN, bk::SELECTION, bk::COPY],
                    wants,
                    plans(r)
                ),
                scoped(
                    Area::Backup,
                    &[bk::ENCRYPTED, bk::LOCK, bk::RPO],
                    wants,
                    vaults(r)
                ),
                scoped(Area::Rds, &rds::INSTANCE_CHECKS, wants, databases(r)),
                scoped(Area::Rds, &rds::CLUSTER_CHECKS, wants, clusters(r)),
            )
        },
        async {
            tokio::join!(
                scoped(Area::Elasticache, &[], wants, cache_groups(r)),
                scoped(Area::Waf, &[waf::ASSOCIATED], wants, load_balancers(r)),
                scoped(Area::Acm, &[], wants, certificates(r)),
                scoped(
                    Area::Waf,
                    &[
                        waf::HAS_RULES,
                        waf::MANAGED,
                        waf::RATE,
                        waf::METRICS,
                        waf::LOGGING
                    ],
                    wants,
                    web_acls(r)
                ),
                async {
                    match include_global && wants(Area::Dns, &[]) {
                        true => Some(CURRENT_AREA.scope(Area::Dns, zones(r)).await),
                        false => None,
                    }
                },
            )
        },
    );
    Inventory {
        detectors,
        recorders,
        trails,
        plans,
        vaults,
        databases,
        clusters,
        cache_groups,
        load_balancers,
        certificates,
        web_acls,
        zones,
    }
}

/// Runs an enumeration under its area (for per-area call counts), or not at all when no
/// check it feeds is selected (`ids` empty: every check of the area).
async fn scoped<T>(
    area: Area,
    ids: &[&str],
    wants: &dyn Fn(Area, &[&str]) -> bool,
    fut: impl std::future::Future<Output = Listed<T>>,
) -> Listed<T> {
    if !wants(area, ids) {
        return Ok(Vec::new());
    }
    CURRENT_AREA.scope(area, fut).await
}

/// Every page of a paginated listing, each fetched under the service's call limit,
/// reduced by `items`; the first failed page fails the listing.
async fn every_page<O, E, T>(
    r: &Run<'_>,
    service: &'static str,
    action: &str,
    mut pages: PaginationStream<Result<O, SdkError<E, HttpResponse>>>,
    items: impl Fn(&O) -> Vec<T>,
) -> Listed<T>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut out = Vec::new();
    loop {
        let page = {
            let _p = r.permit(service).await;
            pages.next().await
        };
        match page {
            None => return Ok(out),
            Some(Ok(p)) => out.extend(items(&p)),
            Some(Err(e)) => return Err(call_error(action, &e)),
        }
    }
}

async fn detectors(r: &Run<'_>) -> Listed<String> {
    let pages = r
        .ctx
        .guardduty(None)
        .list_detectors()
        .into_paginator()
        .send();
    every_page(r, "guardduty", "guardduty:ListDetectors", pages, |p| {
        p.detector_ids().to_vec()
    })
    .await
}

async fn recorders(r: &Run<'_>) -> Listed<super::config::RecorderFacts> {
    let got = {
        let _p = r.permit("config").await;
        r.ctx
            .config(None)
            .describe_configuration_recorders()
            .send()
            .await
    };
    match got {
        Ok(o) => Ok(o
            .configuration_recorders()
            .iter()
            .map(super::config::RecorderFacts::from)
            .collect()),
        Err(e) => Err(call_error("config:DescribeConfigurationRecorders", &e)),
    }
}

async fn trails(r: &Run<'_>) -> Listed<ListedTrail> {
    let got = {
        let _p = r.permit("cloudtrail").await;
        r.ctx
            .cloudtrail(None)
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
    };
    match got {
        Ok(o) => Ok(o.trail_list().iter().map(ListedTrail::from).collect()),
        Err(e) => Err(call_error("cloudtrail:DescribeTrails", &e)),
    }
}

async fn plans(r: &Run<'_>) -> Listed<String> {
    let pages = r
        .ctx
        .backup(None)
        .list_backup_plans()
        .into_paginator()
        .send();
    every_page(r, "backup", "backup:ListBackupPlans", pages, |p| {
        p.backup_plans_list()
            .iter()
            .filter_map(|p| p.backup_plan_id())
            .map(str::to_string)
            .collect()
    })
    .await
}

async fn vaults(r: &Run<'_>) -> Listed<String> {
    let pages = r
        .ctx
        .backup(None)
        .list_backup_vaults()
        .into_paginator()
        .send();
    every_page(r, "backup", "backup:ListBackupVaults", pages, |p| {
        p.backup_vault_list()
            .iter()
            .filter_map(|v| v.backup_vault_name())
            .map(str::to_string)
            .collect()
    })
    .await
}

/// DB instances outside clusters (a cluster's members are judged through their
/// cluster), with the facts their checks judge: no describe call per instance.
async fn databases(r: &Run<'_>) -> Listed<(String, super::rds::StorageFacts)> {
    let pages = r
        .ctx
        .rds(None)
        .describe_db_instances()
        .into_paginator()
        .send();
    every_page(r, "rds", "rds:DescribeDBInstances", pages, |p| {
        p.db_instances()
            .iter()
            .filter(|d| d.db_cluster_identifier().is_none())
            .filter_map(|d| {
                d.db_instance_identifier()
                    .map(|id| (id.to_string(), super::rds::StorageFacts::from(d)))
            })
            .collect()
    })
    .await
}

async fn clusters(r: &Run<'_>) -> Listed<(String, super::rds::StorageFacts)> {
    let pages = r
        .ctx
        .rds(None)
        .describe_db_clusters()
        .into_paginator()
        .send();
    every_page(r, "rds", "rds:DescribeDBClusters", pages, |p| {
        p.db_clusters()
            .iter()
            .filter_map(|c| {
                c.db_cluster_identifier()
                    .map(|id| (id.to_string(), super::rds::StorageFacts::from(c)))
            })
            .collect()
    })
    .await
}

async fn cache_groups(r: &Run<'_>) -> Listed<(String, super::elasticache::GroupFacts)> {
    let pages = r
        .ctx
        .elasticache(None)
        .describe_replication_groups()
        .into_paginator()
        .send();
    every_page(
        r,
        "elasticache",
        "elasticache:DescribeReplicationGroups",
        pages,
        |p| {
            p.replication_groups()
                .iter()
                .filter_map(|g| {
                    g.replication_group_id()
                        .map(|id| (id.to_string(), super::elasticache::GroupFacts::from(g)))
                })
                .collect()
        },
    )
    .await
}

/// Application load balancers: network and gateway load balancers cannot have a web ACL.
async fn load_balancers(r: &Run<'_>) -> Listed<String> {
    use aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum;
    let pages = r
        .ctx
        .elbv2(None)
        .describe_load_balancers()
        .into_paginator()
        .send();
    every_page(
        r,
        "elasticloadbalancing",
        "elasticloadbalancing:DescribeLoadBalancers",
        pages,
        |p| {
            p.load_balancers()
                .iter()
                .filter(|lb| lb.r#type() == Some(&LoadBalancerTypeEnum::Application))
                .filter_map(|lb| lb.load_balancer_arn())
                .map(str::to_string)
                .collect()
        },
    )
    .await
}

async fn certificates(r: &Run<'_>) -> Listed<String> {
    use aws_sdk_acm::types::{Filters, KeyAlgorithm};
    // ListCertificates returns only RSA-2048 certificates unless asked for every key
    // type; a weak key (ACM.2) is exactly what must not be filtered out.
    let every_key = Filters::builder()
        .set_key_types(Some(
            KeyAlgorithm::values()
                .iter()
                .map(|k| KeyAlgorithm::from(*k))
                .collect(),
        ))
        .build();
    let pages = r
        .ctx
        .acm(None)
        .list_certificates()
        .includes(every_key)
        .into_paginator()
        .send();
    every_page(r, "acm", "acm:ListCertificates", pages, |p| {
        p.certificate_summary_list()
            .iter()
            .filter_map(|c| c.certificate_arn())
            .map(str::to_string)
            .collect()
    })
    .await
}

async fn web_acls(r: &Run<'_>) -> Listed<String> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let got = {
            let _p = r.permit("wafv2").await;
            r.ctx
                .wafv2(None)
                .list_web_acls()
                .scope(aws_sdk_wafv2::types::Scope::Regional)
                .set_next_marker(marker.clone())
                .send()
                .await
        };
        match got {
            Ok(o) => {
                out.extend(
                    o.web_acls()
                        .iter()
                        .filter_map(|a| a.arn())
                        .map(str::to_string),
                );
                match o.next_marker() {
                    Some(m) if !m.is_empty() && !o.web_acls().is_empty() => {
                        marker = Some(m.to_string())
                    }
                    _ => return Ok(out),
                }
            }
            Err(e) => return Err(call_error("wafv2:ListWebACLs", &e)),
        }
    }
}

async fn zones(r: &Run<'_>) -> Listed<String> {
    let pages = r
        .ctx
        .route53(None)
        .list_hosted_zones()
        .into_paginator()
        .send();
    every_page(r, "route53", "route53:ListHostedZones", pages, |p| {
        p.hosted_zones()
            .iter()
            .map(|z| z.id().rsplit('/').next().unwrap_or("").to_string())
            .collect()
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_reasons_name_the_expectation() {
        assert_eq!(
            needed_expectation("verify.domain_names is empty"),
            "`audit.domain_names` (or the environment's `verify.domain_names`)"
        );
        assert_eq!(
            needed_expectation("stack output `https_listener_arn` is missing"),
            "`https_listener_arn` (a stack output; discovery cannot infer it)"
        );
    }

    #[test]
    fn not_judged_keeps_production_only_and_names_the_resource() {
        let prod = super::super::skipped(
            "rds.deletion_protection",
            "arn:aws:rds:us-east-1:1:db:a",
            "production-only expectation; this environment is not production",
        );
        assert_eq!(not_judged(prod.clone(), "x"), prod);
        let absent = Expectations::new(Map::new(), Default::default(), false)
            .output_list(outputs::RDS_INSTANCE_IDS)
            .unwrap_err();
        let missing =
            super::super::unreadable_output(&["backup.selection_covers_rds"], &absent).remove(0);
        let f = not_judged(missing, "arn:aws:backup:us-east-1:1:backup-plan:p");
        assert_eq!(f.resource, "arn:aws:backup:us-east-1:1:backup-plan:p");
        assert_eq!(
            f.outcome,
            Outcome::Skipped {
                reason: "not judged: needs expectation `rds_instance_ids` (a stack output; discovery cannot infer it)".into()
            }
        );
    }

    #[test]
    fn owned_ids_match_their_output_forms() {
        let mut m = Map::new();
        m.insert(
            outputs::HOSTED_ZONE_ID.into(),
            Value::String("/hostedzone/Z1".into()),
        );
        m.insert(
            outputs::RDS_INSTANCE_IDS.into(),
            serde_json::json!(["a", "b"]),
        );
        m.insert(
            outputs::CLOUDTRAIL_NAME.into(),
            serde_json::json!({"value": "arn:aws:cloudtrail:us-east-1:1:trail/main"}),
        );
        let e = Expectations::new(m, Default::default(), false);
        let o = Owned::from(&e);
        assert!(o.has(outputs::HOSTED_ZONE_ID, "Z1"));
        assert!(o.has(outputs::RDS_INSTANCE_IDS, "b"));
        assert!(!o.has(outputs::RDS_INSTANCE_IDS, "c"));
        assert!(o.has(outputs::CLOUDTRAIL_NAME, "main"));
        assert!(!o.has(outputs::BACKUP_PLAN_ID, "p"));
    }
}
