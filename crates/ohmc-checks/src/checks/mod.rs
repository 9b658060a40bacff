//! The checks, one module per area. Each area fetches what it needs once (paginating,
//! under the per-service concurrency limit), converts the SDK shapes into small facts
//! types, and judges every check of the area from those facts. Judging is pure, so the
//! decision logic is unit-tested without AWS.

pub(crate) mod acm;
pub(crate) mod backup;
pub(crate) mod cloudtrail;
pub(crate) mod config;
pub(crate) mod discovery;
pub(crate) mod dns;
pub(crate) mod elasticache;
pub(crate) mod guardduty;
pub(crate) mod rds;
pub(crate) mod waf;

use crate::budget::CallBudget;
use crate::catalog;
use crate::context::AwsContext;
use crate::expectations::{Expectations, OutputError, OutputProblem};
use crate::model::{Area, Evidence, Finding, Outcome};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use tokio::sync::OwnedSemaphorePermit;

/// The call limits of one account and region: a view of the run's [`CallBudget`].
pub(crate) struct Limits {
    budget: CallBudget,
    account: String,
    region: String,
}

impl Limits {
    /// The limits of `account` (the key; empty when the caller does not know it, as for
    /// one `verify` run, where there is one account) in the context's region.
    pub fn new(budget: CallBudget, account: &str, region: &str) -> Self {
        Limits {
            budget,
            account: account.to_string(),
            region: region.to_string(),
        }
    }
}

/// Whether an area's checks name resources by account id (in ARNs they build), and so
/// must wait for the account-id lookup. The others start their calls at once.
pub(crate) fn needs_account(area: Area) -> bool {
    !matches!(area, Area::Dns | Area::Acm | Area::Waf | Area::Monitoring)
}

/// Shared state of one area's run.
pub(crate) struct Run<'a> {
    pub ctx: &'a AwsContext,
    pub exp: &'a Expectations,
    pub now: DateTime<Utc>,
    /// `None` for an area that does not need it ([`needs_account`]).
    account: Option<String>,
    pub region: String,
    limits: &'a Limits,
    /// The check ids asked for (`None`: every check). A call whose answer serves no
    /// selected check is not made.
    checks: Option<&'a BTreeSet<String>>,
}

impl<'a> Run<'a> {
    pub fn new(
        ctx: &'a AwsContext,
        exp: &'a Expectations,
        now: DateTime<Utc>,
        account: Option<String>,
        limits: &'a Limits,
        checks: Option<&'a BTreeSet<String>>,
    ) -> Self {
        Run {
            ctx,
            exp,
            now,
            account,
            region: ctx.region().to_string(),
            limits,
            checks,
        }
    }

    /// Whether any of these checks is selected: the calls that serve only them are
    /// made only then.
    pub fn wants(&self, ids: &[&str]) -> bool {
        self.checks
            .is_none_or(|s| ids.iter().any(|id| s.contains(*id)))
    }

    /// The account id (empty if STS could not tell). Only areas that [`needs_account`]
    /// are given it.
    pub fn account(&self) -> &str {
        debug_assert!(
            self.account.is_some(),
            "an area that uses the account id must be listed in needs_account"
        );
        self.account.as_deref().unwrap_or("")
    }

    /// A production-only check: `judge()` in production, Skipped outside it.
    pub fn production_only(
        &self,
        id: &str,
        resource: &str,
        judge: impl FnOnce() -> Finding,
    ) -> Finding {
        if self.exp.production {
            judge()
        } else {
            not_production(id, resource)
        }
    }

    /// Waits for a call slot of the service in this account and region.
    pub async fn permit(&self, service: &'static str) -> Option<OwnedSemaphorePermit> {
        let l = self.limits;
        l.budget.acquire(&l.account, &l.region, service).await
    }

    /// Waits for a call slot of the service in another region of this account (a
    /// trail's status lives in its home region).
    pub async fn permit_in(
        &self,
        service: &'static str,
        region: &str,
    ) -> Option<OwnedSemaphorePermit> {
        let l = self.limits;
        l.budget.acquire(&l.account, region, service).await
    }
}

/// Runs `fut` only when `wanted` (a call serving only unselected checks is not made).
pub(crate) async fn when<T>(wanted: bool, fut: impl std::future::Future<Output = T>) -> Option<T> {
    match wanted {
        true => Some(fut.await),
        false => None,
    }
}

/// A finding of the given check, with area, severity and remediation from the catalog.
pub(crate) fn finding(
    id: &str,
    resource: impl Into<String>,
    outcome: Outcome,
    expected: impl Into<String>,
    observed: impl Into<String>,
) -> Finding {
    let entry = catalog::entry(id);
    // Every finding says what was expected: the check's title unless the caller is more precise.
    let expected = match expected.into() {
        e if e.is_empty() => entry.map(|e| e.check.title.to_string()).unwrap_or_default(),
        e => e,
    };
    debug_assert!(entry.is_some(), "check id {id} is not in the catalog");
    let (area, severity, remediation) = match entry {
        Some(e) => (e.check.area, e.check.severity, e.remediation),
        None => (Area::Dns, crate::model::Severity::High, ""),
    };
    Finding {
        check_id: id.to_string(),
        area,
        severity,
        resource: resource.into(),
        outcome,
        evidence: Evidence {
            expected,
            observed: observed.into(),
        },
        remediation: remediation.to_string(),
    }
}

/// Pass when `ok`, Fail otherwise.
pub(crate) fn judge(ok: bool) -> Outcome {
    if ok {
        Outcome::Pass
    } else {
        Outcome::Fail
    }
}

/// An Error finding.
pub(crate) fn error(
    id: &str,
    resource: &str,
    expected: impl Into<String>,
    message: &str,
) -> Finding {
    finding(
        id,
        resource,
        Outcome::Error {
            message: message.to_string(),
        },
        expected,
        "",
    )
}

/// A Skipped finding.
pub(crate) fn skipped(id: &str, resource: &str, reason: impl Into<String>) -> Finding {
    finding(
        id,
        resource,
        Outcome::Skipped {
            reason: reason.into(),
        },
        "",
        "",
    )
}

/// Error findings for checks whose stack output cannot be read (missing, empty or of
/// another type): the check cannot be judged, which is never a pass nor a skip.
pub(crate) fn unreadable_output(ids: &[&str], err: &OutputError) -> Vec<Finding> {
    ids.iter()
        .map(|id| unreadable_output_one(id, &format!("output:{}", err.output), err))
        .collect()
}

/// One check's Error finding for an output it cannot read, on a given resource.
pub(crate) fn unreadable_output_one(id: &str, resource: &str, err: &OutputError) -> Finding {
    finding(
        id,
        resource,
        Outcome::Error {
            message: err.to_string(),
        },
        format!("stack output `{}`", err.output),
        match &err.problem {
            OutputProblem::Missing => "missing".to_string(),
            OutputProblem::Empty => "an empty string".to_string(),
            OutputProblem::WrongType { seen, .. } => seen.clone(),
        },
    )
}

/// Skipped findings for production-only checks outside production.
fn not_production(id: &str, resource: &str) -> Finding {
    skipped(
        id,
        resource,
        "production-only expectation; this environment is not production",
    )
}

/// Describes a failed call: action, HTTP status, error code and message. Throttling
/// past retries, NotImplemented and 404/500 all land here and become Error outcomes.
pub fn call_error<E>(action: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = match err {
        SdkError::ServiceError(se)
            if crate::context::EmulatorErrorPage::matches(
                se.raw().status().as_u16(),
                se.raw().headers().get("content-type"),
            ) =>
        {
            "HTTP 500 with an HTML page instead of an AWS error (the endpoint does not \
             implement this API?); not retried"
                .to_string()
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("no error code");
            match se.err().message() {
                Some(m) if !m.is_empty() => format!("HTTP {status} {code}: {}", first_line(m)),
                _ => format!("HTTP {status} {code}"),
            }
        }
        SdkError::TimeoutError(_) => match std::error::Error::source(err) {
            Some(cause) => format!("timed out ({})", crate::error::error_chain(cause)),
            None => "timed out".to_string(),
        },
        // Refused before sending: the endpoint stopped answering earlier in the run.
        _ if unreachable_cause(err).is_some() => unreachable_cause(err)
            .map(ToString::to_string)
            .unwrap_or_default(),
        SdkError::DispatchFailure(_) => match std::error::Error::source(err) {
            Some(cause) => format!(
                "could not send the request: {}",
                crate::error::error_chain(cause)
            ),
            None => "could not send the request".to_string(),
        },
        SdkError::ResponseError(r) => {
            format!("unreadable response (HTTP {})", r.raw().status().as_u16())
        }
        _ => crate::error::error_chain(err),
    };
    format!("{action} failed: {detail}")
}

/// The [`EndpointUnreachable`](crate::context::EndpointUnreachable) an interceptor
/// refused the call with, anywhere in the error's chain.
fn unreachable_cause<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a crate::context::EndpointUnreachable> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(u) = e.downcast_ref::<crate::context::EndpointUnreachable>() {
            return Some(u);
        }
        source = e.source();
    }
    None
}

/// The service error code of a failed call, if it got that far.
pub fn error_code<E>(err: &SdkError<E, HttpResponse>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("");
    if line.len() > 200 {
        let mut end = 200;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        &line[..end]
    } else {
        line
    }
}

/// Converts an SDK timestamp to chrono.
pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// "a, b, c" or "none".
pub(crate) fn list_or_none<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items
            .iter()
            .map(|s| s.as_ref())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
