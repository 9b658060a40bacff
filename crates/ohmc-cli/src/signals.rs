//! Ctrl-C and SIGTERM. The first one asks Terraform to stop gracefully (one
//! SIGINT to its process group); a second SIGINT would make Terraform drop
//! in-flight state, so it is only sent after a person confirms on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use ohmc_terraform::InterruptHandle;
use tokio::signal::unix::{signal, SignalKind};

/// Starts the signal watcher for this process.
pub fn install(handle: InterruptHandle, grace: std::time::Duration) -> std::io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = sigint.recv() => {},
                _ = sigterm.recv() => {},
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
