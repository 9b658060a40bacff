//! Live progress on stderr: spinners on a terminal, plain lines otherwise
//! (CI logs, pipes), nothing with `-q`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ohmc_infra::ops::Progress;
use ohmc_terraform::UiEvent;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub struct ProgressPrinter {
    pub sender: Option<mpsc::UnboundedSender<Progress>>,
    task: Option<JoinHandle<()>>,
}

impl ProgressPrinter {
    pub fn start(quiet: bool) -> ProgressPrinter {
        if quiet {
            return ProgressPrinter {
                sender: None,
                task: None,
            };
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let task = if std::io::stderr().is_terminal() {
            tokio::spawn(spinners(rx))
        } else {
            tokio::spawn(lines(rx))
        };
        ProgressPrinter {
            sender: Some(tx),
            task: Some(task),
        }
    }

    /// Stops accepting progress and waits until everything sent is printed.
    pub async fn finish(mut self) {
        self.sender = None;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// One line per event worth a line in a log.
pub fn describe(p: &Progress) -> Option<String> {
    Some(match p {
        Progress::StackStarted { stack, phase } => format!("[{stack}] {phase} started"),
        Progress::StackFinished { stack, phase, ok } => {
            format!(
                "[{stack}] {phase} {}",
                if *ok { "finished" } else { "failed" }
            )
        }
        Progress::Terraform { stack, event } => match event {
            UiEvent::ApplyStart { addr, action } => format!("[{stack}] {addr}: {action} started"),
            UiEvent::ApplyProgress {
                addr,
                action,
                elapsed_seconds,
            } => {
                format!("[{stack}] {addr}: {action} still running ({elapsed_seconds}s)")
            }
            UiEvent::ApplyComplete {
                addr,
                action,
                elapsed_seconds,
            } => {
                format!("[{stack}] {addr}: {action} complete ({elapsed_seconds}s)")
            }
            UiEvent::ApplyErrored {
                addr,
                action,
                elapsed_seconds,
            } => {
                format!("[{stack}] {addr}: {action} FAILED ({elapsed_seconds}s)")
            }
            UiEvent::Text(t) if t.contains("Acquiring state lock") => {
                format!("[{stack}] waiting for the state lock")
            }
            _ => return None,
        },
    })
}

async fn lines(mut rx: mpsc::UnboundedReceiver<Progress>) {
    while let Some(p) = rx.recv().await {
        if let Some(line) = describe(&p) {
            eprintln!("{line}");
        }
    }
}

async fn spinners(mut rx: mpsc::UnboundedReceiver<Progress>) {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    while let Some(p) = rx.recv().await {
        match &p {
            Progress::StackStarted { stack, phase } => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(stack.clone());
                bar.set_message(format!("{phase}…"));
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(stack.clone(), bar);
            }
            Progress::StackFinished { stack, .. } => {
                if let Some(bar) = bars.remove(stack) {
                    bar.finish_and_clear();
                }
                if let Some(line) = describe(&p) {
                    let _ = multi.println(line);
                }
            }
            Progress::Terraform { stack, event } => {
                if let (
                    Some(bar),
                    UiEvent::ApplyStart { addr, action }
                    | UiEvent::ApplyProgress { addr, action, .. },
                ) = (bars.get(stack), event)
                {
                    bar.set_message(format!("{addr}: {action}"));
                }
                if matches!(
                    event,
                    UiEvent::ApplyComplete { .. } | UiEvent::ApplyErrored { .. }
                ) {
                    if let Some(line) = describe(&p) {
                        let _ = multi.println(line);
                    }
                }
            }
        }
    }
    for bar in bars.values() {
        bar.finish_and_clear();
    }
}
