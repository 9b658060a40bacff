//! Running one Terraform invocation safely.
//!
//! - Terraform starts in its own process group. A terminal's Ctrl-C therefore
//!   reaches only ohmc-infra, which decides what Terraform gets. Terraform 1.0.3
//!   runs under panicwrap and ignores SIGINT sent to its parent pid alone, so the
//!   interrupt goes to the whole group, exactly as a terminal would send it.
//! - Each interrupt request sends exactly one SIGINT. A second SIGINT makes
//!   Terraform exit at once and lose in-flight state, so the caller only asks for
//!   one after a person confirms. When the grace period passes after the first,
//!   the group gets SIGTERM, then SIGKILL as a last resort.
//! - stdout and stderr are drained concurrently: a full stderr pipe would
//!   otherwise block Terraform while we wait on stdout.
//! - A supervised run ([`Supervision`]) goes through the [`crate::watchdog`]:
//!   Terraform writes to files in a private run directory, which are read as
//!   they grow, so it survives this process being killed, and it is
//!   interrupted once and recorded when that happens.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::events::UiEvent;
use crate::scrub::Scrubber;
use crate::watchdog::{self, LogTail, RunRecord, WatchdogArgs};

/// Commands whose stdout is the streaming UI: scrubbed line by line, and run
/// under a watchdog when supervision is asked for.
const STREAMING_COMMANDS: &[&str] = &["init", "plan", "apply"];
use crate::{Result, Terraform};

/// How long after SIGTERM before the group is killed outright.
const TERM_TO_KILL: Duration = Duration::from_secs(15);

/// The side that asks for interrupts (held by the binary's signal handler).
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    tx: watch::Sender<u32>,
}

/// The side a run watches.
#[derive(Debug, Clone)]
pub struct Interrupt {
    rx: watch::Receiver<u32>,
}

impl InterruptHandle {
    pub fn new() -> (InterruptHandle, Interrupt) {
        let (tx, rx) = watch::channel(0);
        (InterruptHandle { tx }, Interrupt { rx })
    }

    /// Requests one more interrupt; returns how many have been requested.
    pub fn interrupt(&self) -> u32 {
        self.tx.send_modify(|n| *n += 1);
        *self.tx.borrow()
    }

    pub fn requested(&self) -> u32 {
        *self.tx.borrow()
    }
}

impl Interrupt {
    /// An interrupt that never fires, for runs nobody can cancel (tests, version).
    pub fn never() -> Interrupt {
        InterruptHandle::new().1
    }

    pub fn requested(&self) -> u32 {
        *self.rx.borrow()
    }

    /// Resolves once an interrupt has been requested: a cancellation future for
    /// work that is not a Terraform run (a DR drill, say). Never resolves if the
    /// handle is dropped without one.
    pub async fn requested_once(mut self) {
        if self.rx.wait_for(|n| *n > 0).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What one invocation needs besides its arguments.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// `TF_DATA_DIR`: keeps each environment's `.terraform` apart when several
    /// environments share one stack directory.
    pub data_dir: Option<PathBuf>,
    pub extra_env: Vec<(String, String)>,
    pub interrupt: Interrupt,
    /// Streaming `-json` events are sent here as they arrive.
    pub events: Option<mpsc::UnboundedSender<UiEvent>>,
    /// Run through a watchdog, with output in files; see [`crate::watchdog`].
    /// Only commands that take the state lock or change state are supervised
    /// (init, plan, apply): the others' stdout is data (`show -json`,
    /// `output -json`) that must reach its reader whole, and never a file.
    pub supervision: Option<Supervision>,
    /// Applied to every line of the streaming UI and of stderr.
    pub scrubber: Option<std::sync::Arc<Scrubber>>,
}

/// Where and how a supervised run is recorded.
#[derive(Debug, Clone)]
pub struct Supervision {
    /// An executable that becomes the watchdog when its first argument is
    /// [`watchdog::SUBCOMMAND`] (the `ohmc-infra` binary itself).
    pub watchdog: PathBuf,
    /// Runs of one stack are recorded here, a directory each.
    pub runs_dir: PathBuf,
    pub environment: String,
    pub stack: String,
}

/// How many finished runs of one stack keep their logs.
const RUNS_KEPT: usize = 20;

impl RunContext {
    pub fn new(interrupt: Interrupt) -> RunContext {
        RunContext {
            data_dir: None,
            extra_env: Vec::new(),
            interrupt,
            events: None,
            supervision: None,
            scrubber: None,
        }
    }
}

/// Where Terraform's stdout comes from: a pipe, or the log file a supervised
/// run writes.
enum StdoutSource {
    Pipe(tokio::io::Lines<BufReader<tokio::process::ChildStdout>>),
    Tail(LogTail),
}

impl StdoutSource {
    /// The next lines, or `None` at the end of a pipe. A log file has no end
    /// while Terraform runs, so it is read every 50 ms.
    async fn next(&mut self) -> Option<Vec<String>> {
        match self {
            StdoutSource::Pipe(lines) => match lines.next_line().await {
                Ok(Some(line)) => Some(vec![line]),
                _ => None,
            },
            StdoutSource::Tail(tail) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some(tail.read_lines(false))
            }
        }
    }

    /// What is left once Terraform has exited.
    async fn rest(&mut self) -> Vec<String> {
        match self {
            StdoutSource::Pipe(lines) => {
                let mut rest = Vec::new();
                while let Ok(Ok(Some(line))) =
                    tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await
                {
                    rest.push(line);
                }
                rest
            }
            StdoutSource::Tail(tail) => tail.read_lines(true),
        }
    }
}

/// A private directory for one supervised run, with its record written.
fn start_run_record(
    supervision: &Supervision,
    operation: &str,
) -> std::io::Result<(PathBuf, RunRecord)> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&supervision.runs_dir)?;
    prune_runs(&supervision.runs_dir);
    let stamp = watchdog::now_rfc3339().replace([':', '-'], "");
    let run_dir = supervision
        .runs_dir
        .join(format!("{stamp}-{operation}-{}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&run_dir)?;
    let record = RunRecord {
        environment: supervision.environment.clone(),
        stack: supervision.stack.clone(),
        operation: operation.to_string(),
        started_at: watchdog::now_rfc3339(),
        stdout_log: run_dir.join(watchdog::STDOUT_FILE),
        stderr_log: run_dir.join(watchdog::STDERR_FILE),
        parent_pid: Some(std::process::id()),
        terraform_pid: None,
        watchdog_pid: None,
        finished_at: None,
        exit_code: None,
        parent_died: false,
        reported: false,
    };
    record.write(&run_dir.join(watchdog::RECORD_FILE))?;
    // The watchdog opens them too (append); they exist before anyone tails them.
    for log in [&record.stdout_log, &record.stderr_log] {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(log)?;
    }
    Ok((run_dir, record))
}

/// Drops the oldest finished runs of a stack beyond [`RUNS_KEPT`]; runs that
/// have not ended, or whose end nobody has reported, are kept.
fn prune_runs(runs_dir: &Path) {
    let finished: Vec<PathBuf> = watchdog::records_under(runs_dir)
        .into_iter()
        .filter(|(_, r)| r.exit_code.is_some() && (!r.parent_died || r.reported))
        .filter_map(|(path, _)| path.parent().map(Path::to_path_buf))
        .collect();
    let excess = finished.len().saturating_sub(RUNS_KEPT);
    for dir in &finished[..excess] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The result of one invocation. A non-zero exit is not an error here: each
/// command module decides what its exit codes mean.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<UiEvent>,
    /// How many SIGINTs this run forwarded to Terraform's process group.
    pub interrupts_sent: u32,
    /// Whether the grace period ran out and the group was escalated.
    pub escalated: bool,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // Safety: kill(2) with a negative pid signals a process group; it touches no
    // memory of ours.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

impl Terraform {
    /// Runs `terraform ARGS` in `dir` under the interrupt protocol.
    pub async fn run(&self, dir: &Path, args: &[String], ctx: &RunContext) -> Result<RunOutput> {
        let mut interrupt = ctx.interrupt.rx.clone();
        let already = *interrupt.borrow_and_update();
        if already > 0 {
            return Ok(RunOutput {
                code: None,
                stdout: String::new(),
                stderr: "not started: an interrupt was already requested".into(),
                events: Vec::new(),
                interrupts_sent: 0,
                escalated: false,
            });
        }
        let streaming = args
            .first()
            .is_some_and(|c| STREAMING_COMMANDS.contains(&c.as_str()));
        let scrubber = ctx.scrubber.clone().unwrap_or_default();
        let supervised = match &ctx.supervision {
            Some(supervision) if streaming => Some(start_run_record(
                supervision,
                args.first().map(String::as_str).unwrap_or("terraform"),
            )?),
            _ => None,
        };
        let mut cmd = match (&ctx.supervision, &supervised) {
            (Some(supervision), Some((run_dir, _))) => {
                let mut cmd = tokio::process::Command::new(&supervision.watchdog);
                cmd.arg(watchdog::SUBCOMMAND).args(
                    WatchdogArgs {
                        run_dir: run_dir.clone(),
                        grace_period: self.grace_period,
                        working_dir: dir.to_path_buf(),
                        program: self.path.clone(),
                        args: args.iter().map(Into::into).collect(),
                    }
                    .to_args(),
                );
                // The watchdog reads end-of-file on stdin as this process's
                // death; it puts itself in a process group of its own.
                cmd.stdin(Stdio::piped()).stderr(Stdio::null());
                cmd
            }
            _ => {
                let mut cmd = tokio::process::Command::new(&self.path);
                cmd.args(args)
                    .current_dir(dir)
                    .stdin(Stdio::null())
                    .stderr(Stdio::piped())
                    .process_group(0);
                cmd
            }
        };
        cmd.env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_INPUT", "0")
            .env("TF_CLI_CONFIG_FILE", &self.cli_config_file)
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_CORE")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_DATA_DIR")
            .stdout(Stdio::piped());
        if let Some(data_dir) = &ctx.data_dir {
            cmd.env("TF_DATA_DIR", data_dir);
        }
        for (k, v) in &ctx.extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        // Held until the end: tokio's wait() closes a child's stdin, which
        // the watchdog would read as this process's death.
        let mut watchdog_stdin = child.stdin.take();
        if let Some(stdin) = &mut watchdog_stdin {
            // The first line the watchdog reads: what to scrub from the logs.
            use tokio::io::AsyncWriteExt;
            let mut first = serde_json::to_vec(scrubber.as_ref()).unwrap_or_default();
            first.push(b'\n');
            stdin.write_all(&first).await?;
            stdin.flush().await?;
        }
        let child_stdout = child.stdout.take().expect("stdout piped");
        let (pgid, mut source, stderr_task) = match &supervised {
            Some((_, record)) => {
                let mut first = String::new();
                let mut reader = BufReader::new(child_stdout);
                let read =
                    tokio::time::timeout(Duration::from_secs(30), reader.read_line(&mut first))
                        .await;
                let pid = match read {
                    Ok(Ok(_)) => watchdog::read_pid_line(&first),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("no answer within 30 s".into()),
                }
                .map_err(|what| {
                    std::io::Error::other(format!(
                        "starting Terraform through the watchdog: {what}"
                    ))
                })?;
                let tail = LogTail::open(&record.stdout_log)?;
                (pid as i32, StdoutSource::Tail(tail), None)
            }
            None => {
                let pgid = child.id().map(|p| p as i32).unwrap_or(0);
                let mut stderr_pipe = child.stderr.take().expect("stderr piped");
                let stderr_task = tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let _ = stderr_pipe.read_to_end(&mut buf).await;
                    String::from_utf8_lossy(&buf).into_owned()
                });
                (
                    pgid,
                    StdoutSource::Pipe(BufReader::new(child_stdout).lines()),
                    Some(stderr_task),
                )
            }
        };

        let mut stdout = String::new();
        let mut events = Vec::new();
        let handle_line = |line: String, events: &mut Vec<UiEvent>, stdout: &mut String| {
            let line = if streaming && !scrubber.is_empty() {
                scrubber.scrub_line(&line)
            } else {
                line
            };
            let event = UiEvent::parse_line(&line);
            if let Some(tx) = &ctx.events {
                let _ = tx.send(event.clone());
            }
            events.push(event);
            stdout.push_str(&line);
            stdout.push('\n');
        };

        let mut sent = 0u32;
        let mut escalated = false;
        let mut stdout_open = true;
        let mut interrupt_open = true;
        let mut next_escalation: Option<(Instant, i32)> = None;
        let status = loop {
            let escalation_at = next_escalation.map(|(at, _)| at);
            tokio::select! {
                lines = source.next(), if stdout_open => match lines {
                    Some(lines) => for line in lines {
                        handle_line(line, &mut events, &mut stdout);
                    },
                    None => stdout_open = false,
                },
                changed = interrupt.changed(), if interrupt_open => {
                    if changed.is_err() {
                        interrupt_open = false;
                        continue;
                    }
                    let requested = *interrupt.borrow_and_update();
                    while sent < requested {
                        signal_group(pgid, libc::SIGINT);
                        sent += 1;
                    }
                    if next_escalation.is_none() {
                        next_escalation = Some((Instant::now() + self.grace_period, libc::SIGTERM));
                    }
                },
                _ = tokio::time::sleep_until(escalation_at.unwrap_or_else(Instant::now)), if escalation_at.is_some() => {
                    let (_, signal) = next_escalation.expect("escalation scheduled");
                    signal_group(pgid, signal);
                    escalated = true;
                    next_escalation = (signal == libc::SIGTERM).then(|| (Instant::now() + TERM_TO_KILL, libc::SIGKILL));
                },
                status = child.wait() => break status?,
            }
        };
        // Terraform has exited; whatever is left is still its output.
        for line in source.rest().await {
            handle_line(line, &mut events, &mut stdout);
        }
        drop(watchdog_stdin);
        let stderr = match (stderr_task, &supervised) {
            (Some(task), _) => tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default(),
            (None, Some((_, record))) => String::from_utf8_lossy(
                &tokio::fs::read(&record.stderr_log)
                    .await
                    .unwrap_or_default(),
            )
            .into_owned(),
            (None, None) => String::new(),
        };
        let stderr = scrubber.scrub_text(&stderr);
        Ok(RunOutput {
            code: status.code(),
            stdout,
            stderr,
            events,
            interrupts_sent: sent,
            escalated,
        })
    }
}
