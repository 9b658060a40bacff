//! Plain HTTP/1.1 over loopback for the servers the harness starts (moto,
//! Prometheus, Alertmanager), with no client library: one request per
//! connection, and the wait until a freshly started server answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

/// `GET path` on `127.0.0.1:port`: `(status, body)`.
pub fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    request(port, "GET", path, &[], "")
}

/// One request to `127.0.0.1:port` with `Connection: close`, read to the end:
/// `(status, body)`.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            format!(
                "bad response: {}",
                text.chars().take(80).collect::<String>()
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Polls `GET path` every 100 ms until it answers 200. An error when `child`
/// (`name`, for the message) exits first or nothing answers within `timeout`,
/// so the caller can retry on another port.
pub fn wait_ready(
    child: &mut Child,
    name: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited with {status}"));
        }
        if let Ok((200, _)) = get(port, path) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{name} not ready on port {port} within {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
