//! A real moto server (the pinned `moto[server]` installed by `scripts/install-tools`) on
//! a free loopback port, for any test module. Start one with [`MotoServer::start`]; it is
//! killed when dropped. `reset()` clears all state between scenarios.
//!
//! Facts about what moto implements are in `shared/notes/moto.md`; a check that needs an
//! API moto lacks is tested with `aws-smithy-mocks` instead.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::http::{request, wait_ready};

/// A running moto server. Any credentials are accepted; the account id is 123456789012.
pub struct MotoServer {
    child: Child,
    port: u16,
}

/// The account id moto uses unless a role in another account is assumed.
pub const MOTO_ACCOUNT: &str = "123456789012";

impl MotoServer {
    /// Starts moto with ACM certificates issued at once (`MOTO_ACM_VALIDATION_WAIT=0`).
    pub fn start() -> Self {
        Self::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "0")])
    }

    /// Starts moto with extra environment variables for the server process only.
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let bin = super::tool("moto_server");
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            for (k, v) in env {
                cmd.env(k, v);
            }
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
            let mut server = MotoServer { child, port };
            match wait_ready(
                &mut server.child,
                "moto_server",
                port,
                "/moto-api/",
                Duration::from_secs(30),
            ) {
                Ok(()) => return server,
                Err(e) => last_err = e, // port taken or slow start: drop kills it, try again
            }
        }
        panic!("moto_server did not come up: {last_err}");
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// CPU time the server has used so far, user plus system, all its threads (finished
    /// request threads included), from `/proc/PID/stat`; clock-tick resolution (usually
    /// 10 ms), so measure many calls at once. `None` off Linux.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the `(comm)`: state is field 3; utime and stime are 14 and 15.
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
    }

    /// Clears all state (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let (status, body) =
            request(self.port, "POST", "/moto-api/reset", &[], "").expect("moto reset");
        assert_eq!(status, 200, "moto reset: {body}");
    }

    /// Makes generated ids repeatable (`POST /moto-api/seed?a=N`).
    pub fn seed(&self, n: u64) {
        let (status, body) = request(self.port, "POST", &format!("/moto-api/seed?a={n}"), &[], "")
            .expect("moto seed");
        assert_eq!(status, 200, "moto seed: {body}");
    }

    /// The default account's first two default subnets (a load balancer needs two), by a
    /// raw EC2 DescribeSubnets: no EC2 crate needed.
    pub fn default_subnets(&self) -> Vec<String> {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";
        let (status, body) = self.raw(
            "POST",
            "/",
            &[
                ("Authorization", auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            "Action=DescribeSubnets&Version=2016-11-15",
        );
        assert_eq!(status, 200, "DescribeSubnets: {body}");
        let re = regex::Regex::new(r"<subnetId>(subnet-[0-9a-f]+)</subnetId>").unwrap();
        let subnets: Vec<String> = re
            .captures_iter(&body)
            .map(|c| c[1].to_string())
            .take(2)
            .collect();
        assert_eq!(subnets.len(), 2, "moto default subnets: {body}");
        subnets
    }

    /// A raw request to the server (for APIs the tests have no SDK crate for, such as
    /// EC2 DescribeSubnets): `(status, body)`.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        request(self.port, method, path, headers, body).expect("moto request")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
