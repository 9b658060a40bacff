//! The exit statuses every command shares, documented in the README.

/// How a command ended. Findings are not errors: failed checks are
/// `ChecksFailed`, a failed AWS call or Terraform run is `Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Success, or nothing to change.
    Success,
    /// Error: bad input, a refused plan, a failed Terraform run or AWS call.
    Error,
    /// A plan or drift check found changes.
    ChangesPresent,
    /// Checks ran and at least one failed (or a drill target was breached).
    ChecksFailed,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::ChangesPresent => 2,
            ExitStatus::ChecksFailed => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}
