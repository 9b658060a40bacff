//! Ctrl-C and SIGTERM. For a command that runs Terraform, the first one asks
//! Terraform to stop gracefully (one SIGINT to its process group); a second SIGINT
//! would make Terraform drop in-flight state, so it is only sent after a person
//! confirms on a terminal. Commands that only call AWS or HTTP APIs (verify, audit)
//! stop at once; a drill stops and cleans up what it created.

use std::io::{BufRead, IsTerminal, Write};

use ohmc_terraform::InterruptHandle;
use tokio::signal::unix::{signal, SignalKind};

/// What an interrupt stops, which decides what it does and says.
#[derive(Debug, Clone, Copy)]
pub enum Stops {
    /// Terraform runs: one graceful interrupt, a second only when confirmed.
    Terraform,
    /// Nothing to wind down (verify, audit, envs): the command ends at once; the words
    /// say what is lost.
    AtOnce(&'static str),
    /// A DR drill: it stops and deletes what it created before the command ends.
    Drill,
}

/// Starts the signal watcher for this process.
pub fn install(
    handle: InterruptHandle,
    grace: std::time::Duration,
    stops: Stops,
) -> std::io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sigint.recv() => {},
                _ = sigterm.recv() => {},
            }
            match stops {
                Stops::Terraform => {}
                Stops::AtOnce(what) => {
                    if handle.requested() == 0 {
                        handle.interrupt();
                        eprintln!("\nInterrupted: {what}");
                    }
                    continue;
                }
                Stops::Drill => {
                    if handle.requested() == 0 {
                        handle.interrupt();
                        eprintln!("\nInterrupted: the drill stops and deletes what it created before exiting.");
                    } else {
                        eprintln!("Still cleaning up the drill's resources; `ohmc-infra dr-drill cleanup` finishes an unfinished cleanup.");
                    }
                    continue;
                }
            }
            if handle.requested() == 0 {
                handle.interrupt();
                eprintln!(
                    "\nInterrupt received: Terraform is stopping gracefully and will save what it finished (grace period {}).",
                    humantime::format_duration(grace)
                );
                continue;
            }
            if !std::io::stdin().is_terminal() {
                eprintln!("Still stopping gracefully; a second interrupt needs confirmation on a terminal, so none was sent.");
                continue;
            }
            let confirmed = tokio::task::spawn_blocking(|| {
                eprint!("Send a second interrupt? Terraform exits at once and may lose the state of resources it is changing. Type 'yes': ");
                let _ = std::io::stderr().flush();
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                line.trim() == "yes"
            })
            .await
            .unwrap_or(false);
            if confirmed {
                handle.interrupt();
                eprintln!("Second interrupt sent.");
            } else {
                eprintln!("Not sent; still waiting for Terraform to stop gracefully.");
            }
        }
    });
    Ok(())
}
