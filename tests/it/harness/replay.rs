//! Sends recorded requests ([`super::proxy::FaultProxy::requests`]) to a server again,
//! raw: the recorded bytes over a fresh loopback connection per request (moto closes
//! every connection after its answer anyway), read up to the end of the body, no SDK,
//! no signing, no parsing beyond the status line and length. What it times is the
//! server's own cost of a given set of calls, the floor any client of it can reach.

use hyper::body::Bytes;
use hyper::{HeaderMap, Method, Uri};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// One request as the proxy received it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// SigV4 service (`route53`, `elasticloadbalancing`, ...).
    pub service: String,
    /// Operation name (`ListResourceRecordSets`).
    pub action: String,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl RawRequest {
    /// `service:Action`, the form the SDK-side recorder uses too.
    pub fn label(&self) -> String {
        format!("{}:{}", self.service, self.action)
    }

    /// The request on the wire: HTTP/1.1, `Connection: close`, explicit length.
    fn wire(&self, host: &str) -> Vec<u8> {
        let target = self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut out = format!("{} {target} HTTP/1.1\r\nhost: {host}\r\n", self.method);
        for (name, value) in &self.headers {
            if matches!(
                name.as_str(),
                "host" | "connection" | "content-length" | "transfer-encoding"
            ) {
                continue;
            }
            out.push_str(name.as_str());
            out.push_str(": ");
            out.push_str(&String::from_utf8_lossy(value.as_bytes()));
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "connection: close\r\ncontent-length: {}\r\n\r\n",
            self.body.len()
        ));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Sends one request to `endpoint` (`http://127.0.0.1:PORT`) and reads the whole answer:
/// `(status, time from connect to the last byte)`.
pub fn send(endpoint: &str, req: &RawRequest) -> Result<(u16, Duration), String> {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let wire = req.wire(host);
    let started = Instant::now();
    let mut s = TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_nodelay(true).ok();
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    s.write_all(&wire).map_err(|e| e.to_string())?;
    // Read up to the end of the body as its length says, like any HTTP client: moto's
    // server lingers ~10 ms before it closes a connection, which is not its answer time.
    let mut answer = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let mut need: Option<usize> = None;
    loop {
        if let Some(n) = need {
            if answer.len() >= n {
                break;
            }
        }
        let got = s.read(&mut buf).map_err(|e| e.to_string())?;
        if got == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..got]);
        if need.is_none() {
            need = expected_len(&answer);
        }
    }
    let took = started.elapsed();
    let status = std::str::from_utf8(&answer[..answer.len().min(64)])
        .ok()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{}: no HTTP status in the answer", req.label()))?;
    Ok((status, took))
}

/// Head plus `Content-Length` once the head is complete (`None`: read to the close).
fn expected_len(answer: &[u8]) -> Option<usize> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&answer[..end]).ok()?;
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    });
    Some(end + len.unwrap_or(usize::MAX - end))
}

/// Every request alone (nothing else in flight), the whole set `rounds` times over:
/// the median time of each request, in input order.
pub fn one_at_a_time(endpoint: &str, reqs: &[RawRequest], rounds: usize) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); reqs.len()];
    for _ in 0..rounds.max(1) {
        for (i, req) in reqs.iter().enumerate() {
            let (_, took) = send(endpoint, req).expect("replay");
            times[i].push(took);
        }
    }
    times.into_iter().map(median).collect()
}

/// The whole set sent `sets` times over by `in_flight` senders at once (each sender
/// walks the set from its own starting point): the server's time per set at that
/// concurrency, i.e. its ceiling for this mix of calls.
pub fn saturated(endpoint: &str, reqs: &[RawRequest], in_flight: usize, sets: usize) -> Duration {
    let in_flight = in_flight.max(1);
    let total = reqs.len() * sets;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..in_flight {
            scope.spawn(move || {
                let mut k = w;
                while k < total {
                    // Worker w sends calls w, w + in_flight, ...: every call of every
                    // set exactly once, the mix spread evenly over the senders.
                    send(endpoint, &reqs[k % reqs.len()]).expect("replay");
                    k += in_flight;
                }
            });
        }
    });
    started.elapsed() / sets.max(1) as u32
}

/// The median (the upper one of an even count).
pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}
