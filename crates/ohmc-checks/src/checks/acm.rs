//! ACM: the stack's certificate is issued, covers the expected names, is not about to
//! expire (ACM.1), has a strong key (ACM.2) and is served by the HTTPS listener.

use super::{call_error, finding, judge, list_or_none, to_chrono, unreadable_output, Run};
use crate::expectations::outputs;
use crate::model::{Finding, Outcome};
use chrono::{DateTime, Utc};

pub(crate) const ISSUED: &str = "acm.certificate_issued_covers_names";
pub(crate) const EXPIRY: &str = "acm.certificate_not_expiring";
pub(crate) const KEY: &str = "acm.certificate_key_strength";
pub(crate) const IN_USE: &str = "acm.certificate_in_use_by_listener";

/// A certificate as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertFacts {
    pub status: String,
    pub names: Vec<String>,
    pub not_after: Option<DateTime<Utc>>,
    pub key_algorithm: Option<String>,
    pub in_use_by: Vec<String>,
}

impl From<&aws_sdk_acm::types::CertificateDetail> for CertFacts {
    fn from(c: &aws_sdk_acm::types::CertificateDetail) -> Self {
        let mut names: Vec<String> = c
            .domain_name()
            .into_iter()
            .map(|s| s.to_ascii_lowercase())
            .collect();
        for san in c.subject_alternative_names() {
            let san = san.to_ascii_lowercase();
            if !names.contains(&san) {
                names.push(san);
            }
        }
        CertFacts {
            status: c
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "(none)".into()),
            names,
            not_after: c.not_after().and_then(to_chrono),
            key_algorithm: c.key_algorithm().map(|k| k.as_str().to_string()),
            in_use_by: c.in_use_by().to_vec(),
        }
    }
}

/// Whether a certificate name (possibly `*.example.com`) covers a host name. A wildcard
/// covers exactly one leftmost label: not the apex, not two labels.
pub(crate) fn covers(cert_name: &str, host: &str) -> bool {
    let cert_name = cert_name.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match cert_name.strip_prefix("*.") {
        Some(base) => match host.split_once('.') {
            Some((label, rest)) => {
                !label.is_empty() && label != "*" && rest == base || host == cert_name
            }
            None => false,
        },
        None => cert_name == host,
    }
}

const KNOWN_STATUSES: [&str; 7] = [
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
];

/// Judges key strength: RSA >= 2048 or EC passes; unknown algorithms are errors.
pub(crate) fn key_outcome(alg: Option<&str>) -> Outcome {
    match alg {
        None => Outcome::Error {
            message: "certificate has no key algorithm".into(),
        },
        Some(a) if a.starts_with("EC_") => Outcome::Pass,
        Some(a) => match a.strip_prefix("RSA_").and_then(|b| b.parse::<u32>().ok()) {
            Some(bits) => judge(bits >= 2048),
            None => Outcome::Error {
                message: format!("unknown value {a:?} for KeyAlgorithm"),
            },
        },
    }
}

pub(crate) async fn run(r: &Run<'_>) -> Vec<Finding> {
    let arn = match r.exp.output_str(outputs::CERTIFICATE_ARN) {
        Ok(arn) => arn,
        Err(e) => return unreadable_output(&[ISSUED, EXPIRY, KEY, IN_USE], &e),
    };
    // The certificate and the listener's certificate list do not depend on each other:
    // both in flight at once.
    let listener = r.exp.output_str(outputs::HTTPS_LISTENER_ARN);
    let describe = async {
        let _p = r.permit("acm").await;
        r.ctx
            .acm(None)
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
    };
    let attached = super::when(r.wants(&[IN_USE]), async {
        match &listener {
            Ok(l) => Ok(listener_certificates(r, l).await),
            Err(e) => Err(e.clone()),
        }
    });
    let (described, attached) = tokio::join!(describe, attached);
    let cert = match described {
        Ok(out) => match out.certificate() {
            Some(c) => CertFacts::from(c),
            None => {
                let m = "acm:DescribeCertificate returned no certificate";
                return [ISSUED, EXPIRY, KEY, IN_USE]
                    .iter()
                    .map(|id| super::error(id, arn, "", m))
                    .collect();
            }
        },
        Err(e) if super::error_code(&e) == Some("ResourceNotFoundException") => {
            return [ISSUED, EXPIRY, KEY, IN_USE]
                .iter()
                .map(|id| {
                    finding(
                        id,
                        arn,
                        Outcome::Fail,
                        "the certificate exists",
                        "no such certificate",
                    )
                })
                .collect();
        }
        Err(e) => {
            let m = call_error("acm:DescribeCertificate", &e);
            return [ISSUED, EXPIRY, KEY, IN_USE]
                .iter()
                .map(|id| super::error(id, arn, "", &m))
                .collect();
        }
    };
    let mut out = Vec::new();

    // Issued and covering every name.
    let domains = &r.exp.settings.domain_names;
    let uncovered: Vec<&String> = domains
        .iter()
        .filter(|d| !cert.names.iter().any(|n| covers(n, d)))
        .collect();
    let expected = format!("ISSUED, covering {}", list_or_none(domains));
    let observed = format!(
        "{}, names {}{}",
        cert.status,
        list_or_none(&cert.names),
        if uncovered.is_empty() {
            String::new()
        } else {
            format!("; not covered: {}", list_or_none(&uncovered))
        }
    );
    let outcome = if !KNOWN_STATUSES.contains(&cert.status.as_str()) {
        Outcome::Error {
            message: format!("unknown value {:?} for certificate Status", cert.status),
        }
    } else {
        judge(cert.status == "ISSUED" && uncovered.is_empty())
    };
    out.push(finding(ISSUED, arn, outcome, expected, observed));

    // Expiry window (ACM.1).
    let window = r.exp.settings.certificate_expiry_window_days;
    let expected = format!("NotAfter more than {window} days away");
    match cert.not_after {
        Some(na) => {
            let days = (na - r.now).num_days();
            out.push(finding(
                EXPIRY,
                arn,
                judge(na - r.now > chrono::Duration::days(window as i64)),
                expected,
                format!(
                    "NotAfter {} ({days} days left)",
                    na.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            ));
        }
        None => out.push(finding(
            EXPIRY,
            arn,
            Outcome::Fail,
            expected,
            format!("no NotAfter (status {})", cert.status),
        )),
    }

    // Key strength (ACM.2).
    out.push(finding(
        KEY,
        arn,
        key_outcome(cert.key_algorithm.as_deref()),
        "RSA_2048 or stronger, or EC",
        cert.key_algorithm
            .clone()
            .unwrap_or_else(|| "(none)".into()),
    ));

    // Served by the HTTPS listener.
    match (listener, attached) {
        (_, None) => {}
        (Ok(listener), Some(Ok(attached))) => out.push(in_use(r, arn, listener, &cert, attached)),
        (Err(e), _) | (Ok(_), Some(Err(e))) => {
            out.push(super::unreadable_output_one(IN_USE, arn, &e))
        }
    }
    out
}

/// Why the listener's certificates could not be listed.
enum ListenerError {
    NotFound,
    Call(String),
}

/// The certificate ARNs attached to the listener (every page).
async fn listener_certificates(r: &Run<'_>, listener: &str) -> Result<Vec<String>, ListenerError> {
    let client = r.ctx.elbv2(None);
    let mut attached = Vec::new();
    let mut pages = client
        .describe_listener_certificates()
        .listener_arn(listener)
        .into_paginator()
        .send();
    loop {
        let page = {
            let _p = r.permit("elasticloadbalancing").await;
            pages.next().await
        };
        match page {
            None => return Ok(attached),
            Some(Ok(p)) => attached.extend(
                p.certificates()
                    .iter()
                    .filter_map(|c| c.certificate_arn())
                    .map(str::to_string),
            ),
            Some(Err(e)) if super::error_code(&e) == Some("ListenerNotFound") => {
                return Err(ListenerError::NotFound)
            }
            Some(Err(e)) => {
                return Err(ListenerError::Call(call_error(
                    "elasticloadbalancing:DescribeListenerCertificates",
                    &e,
                )))
            }
        }
    }
}

fn in_use(
    r: &Run<'_>,
    arn: &str,
    listener: &str,
    cert: &CertFacts,
    attached: Result<Vec<String>, ListenerError>,
) -> Finding {
    // Optional: InUseBy may name the listener instead. A mistyped value is still an error.
    let alb = match r.exp.optional_output_str(outputs::ALB_ARN) {
        Ok(alb) => alb,
        Err(e) => return super::unreadable_output_one(IN_USE, arn, &e),
    };
    let expected =
        format!("attached to {listener}; InUseBy lists the listener or its load balancer");
    let attached = match attached {
        Ok(a) => a,
        Err(ListenerError::NotFound) => {
            return finding(
                IN_USE,
                arn,
                Outcome::Fail,
                expected,
                format!("listener {listener} does not exist"),
            )
        }
        Err(ListenerError::Call(m)) => return super::error(IN_USE, arn, expected, &m),
    };
    let on_listener = attached.iter().any(|a| a == arn);
    let in_use_by = cert
        .in_use_by
        .iter()
        .any(|u| u == listener || Some(u.as_str()) == alb);
    finding(
        IN_USE,
        arn,
        judge(on_listener && in_use_by),
        expected,
        format!(
            "listener certificates: {}; InUseBy: {}",
            list_or_none(&attached),
            list_or_none(&cert.in_use_by)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.example.com", "api.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(covers("example.com", "EXAMPLE.com."));
        assert!(!covers("example.com", "api.example.com"));
    }

    #[test]
    fn key_strength() {
        assert_eq!(key_outcome(Some("RSA_1024")), Outcome::Fail);
        assert_eq!(key_outcome(Some("RSA_2048")), Outcome::Pass);
        assert_eq!(key_outcome(Some("EC_secp384r1")), Outcome::Pass);
        assert!(matches!(
            key_outcome(Some("PQ_9000")),
            Outcome::Error { .. }
        ));
    }
}
