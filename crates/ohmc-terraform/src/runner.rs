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

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::events::UiEvent;
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
}

impl RunContext {
    pub fn new(interrupt: Interrupt) -> RunContext {
        RunContext {
            data_dir: None,
            extra_env: Vec::new(),
            interrupt,
            events: None,
        }
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
        let mut cmd = tokio::process::Command::new(&self.path);
        cmd.args(args)
            .current_dir(dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_INPUT", "0")
            .env("TF_CLI_CONFIG_FILE", &self.cli_config_file)
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_CORE")
            .env_remove("TF_LOG_PROVIDER")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(data_dir) = &ctx.data_dir {
            cmd.env("TF_DATA_DIR", data_dir);
        }
        for (k, v) in &ctx.extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let pgid = child.id().map(|p| p as i32).unwrap_or(0);
        let mut stderr_pipe = child.stderr.take().expect("stderr piped");
        let stderr_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut buf).await;
            String::from_utf8_lossy(&buf).into_owned()
        });
        let mut stdout_lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();

        let mut stdout = String::new();
        let mut events = Vec::new();
        let handle_line = |line: String, events: &mut Vec<UiEvent>, stdout: &mut String| {
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
                line = stdout_lines.next_line(), if stdout_open => match line {
                    Ok(Some(line)) => handle_line(line, &mut events, &mut stdout),
                    _ => stdout_open = false,
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
        // Terraform has exited; whatever is left in the pipe is still its output.
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(5), stdout_lines.next_line()).await
        {
            handle_line(line, &mut events, &mut stdout);
        }
        let stderr = tokio::time::timeout(Duration::from_secs(5), stderr_task)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default();
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
