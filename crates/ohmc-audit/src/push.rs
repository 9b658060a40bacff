//! Pushing the exposition to a Prometheus Pushgateway: `POST
//! {url}/metrics/job/ohmc-compliance-audit`. POST (not PUT) replaces only the metric
//! names pushed, so a run with errors, which leaves out the last-success gauge, keeps the
//! previous one. Plain HTTP (the in-cluster gateway); for HTTPS, write the textfile and
//! let a collector ship it.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The job label of the pushed group (the alert rules' tests use it).
pub const PUSH_JOB: &str = "ohmc-compliance-audit";

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("pushgateway URL {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("pushing to {url}: {reason}")]
    Http { url: String, reason: String },
    #[error("pushing to {url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
}

/// Pushes `exposition` to the gateway at `base_url` (`http://host:port[/prefix]`).
pub async fn push(base_url: &str, exposition: &str) -> Result<(), PushError> {
    let url_err = |reason: &str| PushError::Url {
        url: base_url.to_string(),
        reason: reason.to_string(),
    };
    let rest = base_url
        .strip_prefix("http://")
        .ok_or_else(|| url_err("only http:// is supported"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(url_err("no host"));
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let path = format!("{prefix}/metrics/job/{PUSH_JOB}");
    let url = format!("http://{authority}{path}");
    let http = |reason: String| PushError::Http {
        url: url.clone(),
        reason,
    };
    let stream = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    .map_err(|_| http("connect timed out".into()))?
    .map_err(|e| http(e.to_string()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| http(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::post(&path)
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .body(Full::new(Bytes::from(exposition.to_string())))
        .map_err(|e| http(e.to_string()))?;
    let resp = tokio::time::timeout(std::time::Duration::from_secs(30), sender.send_request(req))
        .await
        .map_err(|_| http("timed out".into()))?
        .map_err(|e| http(e.to_string()))?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(PushError::Status {
            url,
            status,
            body: String::from_utf8_lossy(&body).chars().take(300).collect(),
        });
    }
    Ok(())
}
