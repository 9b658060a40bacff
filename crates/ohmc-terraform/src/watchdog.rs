//! Terraform outlives the death of the process that started it.
//!
//! CI runners escalate a cancel to SIGKILL and the OOM killer exists. If
//! Terraform wrote into pipes owned by a process that then died, its next
//! write would kill it (SIGPIPE) half-way through an apply: the in-flight
//! change unsaved, the state lock held, the provider orphaned. So a
//! supervised run goes through a small watchdog process (the caller's own
//! executable, started with [`SUBCOMMAND`]) that:
//! - starts Terraform in its own process group and copies its output, line by
//!   line and scrubbed of secrets ([`crate::scrub`]), into files in a private
//!   run directory: the pipes Terraform writes into belong to the watchdog,
//!   which outlives the parent, so no write of Terraform's ever fails;
//! - records the run (pids, stack, operation, logs) in `run.json` before
//!   telling its parent Terraform's pid;
//! - reads what to scrub as the first line of its stdin, then watches stdin, a
//!   pipe whose other end only its parent holds: end of file means the parent
//!   is gone. Terraform then gets exactly one SIGINT, as
//!   for Ctrl-C, and the grace period, before SIGTERM and, last, SIGKILL;
//! - writes Terraform's exit code into `run.json` and exits with it.
//!
//! The watchdog ignores SIGINT, SIGTERM and SIGHUP and has a process group of
//! its own: a Ctrl-C or a cancel aimed at the parent's group must not take it
//! down, since the parent forwards interrupts to Terraform's group itself.
//! The next command reads `run.json` ([`RunRecord`]) to say what happened.

use std::ffi::OsString;
use std::io::{BufRead, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::scrub::Scrubber;

/// The hidden first argument that makes the caller's executable a watchdog.
pub const SUBCOMMAND: &str = "__terraform-watchdog";
/// The record of a supervised run, in its run directory.
pub const RECORD_FILE: &str = "run.json";
pub const STDOUT_FILE: &str = "stdout.log";
pub const STDERR_FILE: &str = "stderr.log";

/// How long after SIGTERM before the group is killed outright.
const TERM_TO_KILL: Duration = Duration::from_secs(15);

/// One supervised Terraform run, as `run.json` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub environment: String,
    pub stack: String,
    /// The Terraform command: `apply`, `plan`, ...
    pub operation: String,
    pub started_at: String,
    pub stdout_log: PathBuf,
    pub stderr_log: PathBuf,
    /// The ohmc-infra process that started the run.
    #[serde(default)]
    pub parent_pid: Option<u32>,
    #[serde(default)]
    pub terraform_pid: Option<u32>,
    #[serde(default)]
    pub watchdog_pid: Option<u32>,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Terraform's exit code; 128 + signal when a signal ended it.
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Whether the process that started the run died before Terraform ended.
    #[serde(default)]
    pub parent_died: bool,
    /// Whether a later command has told someone about an abandoned run.
    #[serde(default)]
    pub reported: bool,
}

impl RunRecord {
    pub fn read(path: &Path) -> std::io::Result<RunRecord> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Writes the record whole or not at all (rename over the old one), 0600.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(self).unwrap_or_default())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }

    /// Whether Terraform of this run is still alive.
    pub fn terraform_running(&self) -> bool {
        self.exit_code.is_none() && self.terraform_pid.is_some_and(pid_alive)
    }

    /// Whether the run lost the process that started it, or its watchdog:
    /// nobody will report its end but this record.
    pub fn abandoned(&self) -> bool {
        self.parent_died
            || !self.watchdog_pid.is_some_and(pid_alive)
            || !self.parent_pid.is_some_and(pid_alive)
    }
}

/// Whether `pid` is a live process (a zombie, exited but not reaped, is not).
pub fn pid_alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped) has a stat line with state Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// What a watchdog is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogArgs {
    pub run_dir: PathBuf,
    pub grace_period: Duration,
    pub working_dir: PathBuf,
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

impl WatchdogArgs {
    /// The arguments after [`SUBCOMMAND`].
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out: Vec<OsString> = vec![
            self.run_dir.clone().into(),
            self.grace_period.as_millis().to_string().into(),
            self.working_dir.clone().into(),
            self.program.clone().into(),
        ];
        out.extend(self.args.iter().cloned());
        out
    }

    /// Reads what [`WatchdogArgs::to_args`] wrote.
    pub fn parse(args: &[OsString]) -> Result<WatchdogArgs, String> {
        let [run_dir, grace, working_dir, program, rest @ ..] = args else {
            return Err(format!(
                "{SUBCOMMAND} RUN_DIR GRACE_MS WORKING_DIR PROGRAM [ARGS...]"
            ));
        };
        let grace_ms: u64 = grace
            .to_str()
            .and_then(|g| g.parse().ok())
            .ok_or_else(|| format!("{SUBCOMMAND}: bad grace period {grace:?}"))?;
        Ok(WatchdogArgs {
            run_dir: run_dir.into(),
            grace_period: Duration::from_millis(grace_ms),
            working_dir: working_dir.into(),
            program: program.into(),
            args: rest.to_vec(),
        })
    }
}

/// The watchdog's whole life. Its parent has already written `run.json`
/// (without pids) into the run directory; the first line the watchdog prints
/// is `pid N` (Terraform's pid, which is also its process group), or
/// `error ...`. Returns the exit code the watchdog process should end with:
/// Terraform's.
pub fn run(args: &WatchdogArgs) -> i32 {
    ignore_signals();
    let record_path = args.run_dir.join(RECORD_FILE);
    let mut stdout = std::io::stdout();
    let fail = |stdout: &mut std::io::Stdout, what: String| {
        let _ = writeln!(stdout, "error {}", what.replace('\n', " "));
        let _ = stdout.flush();
        1
    };
    let mut record = match RunRecord::read(&record_path) {
        Ok(r) => r,
        Err(e) => return fail(&mut stdout, format!("{}: {e}", record_path.display())),
    };
    let mut first = String::new();
    // Stdin's buffer is shared: what this read takes beyond the first line
    // stays for the watch below.
    let scrubber: Scrubber = match std::io::stdin().lock().read_line(&mut first) {
        Ok(_) => serde_json::from_str(first.trim()).unwrap_or_default(),
        Err(e) => return fail(&mut stdout, format!("reading what to scrub: {e}")),
    };
    let open = |path: &Path| {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
    };
    let (out_file, err_file) = match (open(&record.stdout_log), open(&record.stderr_log)) {
        (Ok(o), Ok(e)) => (o, e),
        (Err(e), _) | (_, Err(e)) => return fail(&mut stdout, format!("run logs: {e}")),
    };
    let mut command = Command::new(&args.program);
    command
        .args(&args.args)
        .current_dir(&args.working_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // Signals this process ignores would stay ignored in Terraform; it must
    // see SIGINT and SIGTERM as usual.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return fail(&mut stdout, format!("{}: {e}", args.program.display())),
    };
    let scrubber = std::sync::Arc::new(scrubber);
    let copiers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .zip([out_file, err_file])
    .filter_map(|(pipe, file)| pipe.map(|pipe| (pipe, file)))
    .map(|(pipe, mut file)| {
        let scrubber = scrubber.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut clean = scrubber.scrub_line(&line);
                clean.push('\n');
                // A full disk loses log lines, never Terraform's run.
                let _ = file.write_all(clean.as_bytes());
            }
        })
    })
    .collect();
    let pid = child.id();
    record.terraform_pid = Some(pid);
    record.watchdog_pid = Some(std::process::id());
    // The record names the process before anyone is told it exists.
    if let Err(e) = record.write(&record_path) {
        let _ = child.kill();
        let _ = child.wait();
        return fail(&mut stdout, format!("{}: {e}", record_path.display()));
    }
    let _ = writeln!(stdout, "pid {pid}");
    let _ = stdout.flush();

    // One channel for everything the loop below waits on, so Terraform's end
    // is seen the moment it happens (a polling loop added up to its interval
    // to every run).
    enum Event {
        TerraformEnded(Option<std::process::ExitStatus>),
        ParentGone,
    }
    let (events_tx, events) = mpsc::channel();
    let parent_gone_tx = events_tx.clone();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 64];
        // Nothing is ever written; read returns 0 (or fails) when the last
        // write end closes, which happens when the parent dies or finishes.
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = parent_gone_tx.send(Event::ParentGone);
    });
    std::thread::spawn(move || {
        let status = child.wait().ok();
        let _ = events_tx.send(Event::TerraformEnded(status));
    });

    let group = pid as i32;
    let mut escalation: Option<(Instant, i32)> = None;
    let status = loop {
        let wait = escalation
            .map(|(at, _)| at.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        match events.recv_timeout(wait) {
            Ok(Event::TerraformEnded(status)) => break status,
            Ok(Event::ParentGone) if escalation.is_none() => {
                record.parent_died = true;
                let _ = record.write(&record_path);
                signal_group(group, libc::SIGINT);
                escalation = Some((Instant::now() + args.grace_period, libc::SIGTERM));
            }
            Ok(Event::ParentGone) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some((at, signal)) = escalation {
                    if Instant::now() >= at {
                        signal_group(group, signal);
                        escalation = (signal == libc::SIGTERM)
                            .then(|| (Instant::now() + TERM_TO_KILL, libc::SIGKILL));
                    }
                }
            }
            // Both senders gone: the waiter thread ended without a word.
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
        }
    };
    // Everything Terraform wrote is in the logs before the record says it ended.
    for copier in copiers {
        let _ = copier.join();
    }
    let code = status.map(|s| {
        use std::os::unix::process::ExitStatusExt;
        s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
    });
    record.exit_code = Some(code.unwrap_or(1));
    record.finished_at = Some(now_rfc3339());
    let _ = record.write(&record_path);
    code.unwrap_or(1)
}

fn ignore_signals() {
    // Safety: setting a signal's disposition to SIG_IGN touches no memory.
    unsafe {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(signal, libc::SIG_IGN);
        }
        // Not in the parent's process group: a group-wide signal aimed at the
        // parent does not reach the watchdog.
        libc::setpgid(0, 0);
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // Safety: kill(2) with a negative pid signals a process group.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// UTC now as RFC 3339 with seconds, without a date library.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Reads the watchdog's first line: Terraform's pid.
pub fn read_pid_line(line: &str) -> Result<u32, String> {
    match line.trim().split_once(' ') {
        Some(("pid", pid)) => pid.parse().map_err(|_| format!("watchdog said {line:?}")),
        Some(("error", what)) => Err(what.to_string()),
        _ => Err(format!("watchdog said {line:?}")),
    }
}

/// The supervised runs recorded under `dir` (one run directory each, any
/// depth below), oldest first.
pub fn records_under(dir: &Path) -> Vec<(PathBuf, RunRecord)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, RunRecord)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n == RECORD_FILE) {
                if let Ok(record) = RunRecord::read(&path) {
                    out.push((path, record));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at).then(a.0.cmp(&b.0)));
    out
}

/// Lines of a log as they are appended: what a supervised run's parent reads
/// instead of a pipe.
#[derive(Debug)]
pub struct LogTail {
    file: std::io::BufReader<std::fs::File>,
    partial: String,
}

impl LogTail {
    pub fn open(path: &Path) -> std::io::Result<LogTail> {
        Ok(LogTail {
            file: std::io::BufReader::new(std::fs::File::open(path)?),
            partial: String::new(),
        })
    }

    /// Complete lines appended since the last call; at `end`, the last line
    /// even without its newline.
    pub fn read_lines(&mut self, end: bool) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut chunk = String::new();
            match self.file.read_line(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    self.partial.push_str(&chunk);
                    if self.partial.ends_with('\n') {
                        let line = std::mem::take(&mut self.partial);
                        lines.push(line.trim_end_matches(['\n', '\r']).to_string());
                    }
                }
            }
        }
        if end && !self.partial.is_empty() {
            lines.push(std::mem::take(&mut self.partial));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_round_trip() {
        let args = WatchdogArgs {
            run_dir: "/s/runs/x".into(),
            grace_period: Duration::from_secs(600),
            working_dir: "/w/stack".into(),
            program: "/t/terraform".into(),
            args: vec!["apply".into(), "-json".into(), "plan file".into()],
        };
        assert_eq!(WatchdogArgs::parse(&args.to_args()).unwrap(), args);
        assert!(WatchdogArgs::parse(&["x".into()]).is_err());
    }

    #[test]
    fn reads_the_pid_line() {
        assert_eq!(read_pid_line("pid 4242\n"), Ok(4242));
        assert_eq!(
            read_pid_line("error /t/terraform: No such file"),
            Err("/t/terraform: No such file".into())
        );
        assert!(read_pid_line("").is_err());
    }

    #[test]
    fn tails_appended_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        std::fs::write(&path, "one\ntw").unwrap();
        let mut tail = LogTail::open(&path).unwrap();
        assert_eq!(tail.read_lines(false), ["one"]);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"o\nthree").unwrap();
        assert_eq!(tail.read_lines(false), ["two"]);
        assert_eq!(tail.read_lines(true), ["three"]);
    }

    #[test]
    fn formats_utc_times() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
