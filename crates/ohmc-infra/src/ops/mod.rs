//! The operations behind each command. A command module in the binary turns
//! its arguments into an options struct and calls one function here; nothing
//! here prints: progress goes out as [`Progress`] messages, results come back
//! as data.

pub mod apply;
pub mod bootstrap;
pub mod drift;
pub mod drill;
pub mod init;
pub mod output;
pub mod plan;
pub mod remote_state;
pub mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ohmc_terraform::commands::state::StateIdentity;
use ohmc_terraform::lock::{self, LockStatus};
use ohmc_terraform::runner::{RunContext, Supervision};
use ohmc_terraform::{Interrupt, Terraform, TerraformError, UiEvent};
use tokio::sync::mpsc;

use crate::bundle::BundleError;
use crate::environment::{Environment, EnvironmentError, StackSpec};

/// Shared by every operation of one invocation.
#[derive(Debug, Clone)]
pub struct OpsContext {
    pub root: PathBuf,
    /// Private per-user state: plan bundles, Terraform data dirs, drill ledgers.
    pub state_dir: PathBuf,
    pub terraform: Terraform,
    pub interrupt: Interrupt,
    pub progress: Option<mpsc::UnboundedSender<Progress>>,
    pub lock_timeout: Option<Duration>,
    /// How many independent stacks run at once.
    pub parallelism: usize,
    /// The executable that supervises Terraform runs (the `ohmc-infra`
    /// binary); `None` runs Terraform unsupervised, over pipes.
    pub watchdog: Option<PathBuf>,
}

/// What a long operation reports while it runs.
#[derive(Debug, Clone)]
pub enum Progress {
    StackStarted {
        stack: String,
        phase: &'static str,
    },
    Terraform {
        stack: String,
        event: UiEvent,
    },
    StackFinished {
        stack: String,
        phase: &'static str,
        ok: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
    #[error("stack {stack}: {source}")]
    Terraform {
        stack: String,
        source: TerraformError,
    },
    #[error("stack {stack}: the state is locked by {} (lock ID {}, operation {}, created {}); wait for it to finish, or if that process is gone, release it with:\n  {force_unlock}", .lock.who, .lock.id, .lock.operation, .lock.created)]
    StateLocked {
        stack: String,
        lock: Box<ohmc_terraform::lock::LockInfo>,
        force_unlock: String,
    },
    #[error("the plan bundle {} was made for environment \"{bundle_env}\", not \"{requested}\"; plan {requested} instead", .bundle.display())]
    WrongEnvironment {
        bundle: PathBuf,
        bundle_env: String,
        requested: String,
    },
    #[error("the plan bundle is stale: {reason}; run `ohmc-infra plan {env}` again")]
    StaleBundle { env: String, reason: String },
    #[error("the plan deletes or replaces {} resource(s): {}; re-run with --allow-destroy if that is intended", .addresses.len(), .addresses.join(", "))]
    DestroyNotAllowed { addresses: Vec<String> },
    #[error("environment \"{env}\" requires approval: confirm on a terminal, or pass --approve {prefix} (a prefix of the plan bundle's sha256, at least 8 characters)")]
    ApprovalRequired { env: String, prefix: String },
    #[error("--approve {given} does not match this plan bundle (sha256 {actual}); review the plan that is about to be applied")]
    ApprovalMismatch { given: String, actual: String },
    #[error("stack {stack}: its backend changed since {} was initialised: it was {old}, it is now {new}. Continuing would start from the new location's state (empty if it is new), so nothing was run.\nTo move the state there: {migrate}\nTo start over on the new backend on purpose, delete {}", .data_dir.display(), .data_dir.display())]
    BackendChanged {
        env: String,
        stack: String,
        old: String,
        new: String,
        migrate: String,
        data_dir: PathBuf,
    },
    #[error("the state dir {} is inside {}: Terraform's data dir, plan files and backend settings would be written into the configuration; pass a --state-dir outside it", .state_dir.display(), .inside.display())]
    StateDirInsideConfig { state_dir: PathBuf, inside: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("a previous `{operation}` of {env} stack {stack} is still running (Terraform pid {pid}, started {started_at}) after its ohmc-infra process died; wait for it to finish (its output: {}), then run this again", .log.display())]
    PreviousRunStillRunning {
        env: String,
        stack: String,
        operation: String,
        pid: u32,
        started_at: String,
        log: PathBuf,
    },
}

impl OpsError {
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self,
            OpsError::Terraform {
                source: TerraformError::Interrupted { .. },
                ..
            }
        )
    }
}

impl OpsContext {
    /// `TF_DATA_DIR` for one environment's stack: environments that share a
    /// stack directory must not share `.terraform` (backend config, providers).
    pub fn data_dir(&self, env: &str, stack: &str) -> PathBuf {
        self.state_dir.join("tfdata").join(env).join(stack)
    }

    /// The command that releases a stack's lock `lock_id`, as written to be
    /// pasted: Terraform in the stack, with this tool's data dir.
    pub fn force_unlock_command(&self, env: &str, stack: &StackSpec, lock_id: &str) -> String {
        init::terraform_command_line(
            self,
            &self.data_dir(env, &stack.name),
            stack,
            &["force-unlock".into(), "-force".into(), lock_id.into()],
        )
    }

    /// A Terraform failure of one stack, with what only this layer knows
    /// added: for a held lock, the command that releases it.
    pub fn terraform_error(
        &self,
        env: &str,
        stack: &StackSpec,
        source: TerraformError,
    ) -> OpsError {
        match source {
            TerraformError::StateLocked { lock } => OpsError::StateLocked {
                stack: stack.name.clone(),
                force_unlock: self.force_unlock_command(env, stack, &lock.id),
                lock,
            },
            source => OpsError::Terraform {
                stack: stack.name.clone(),
                source,
            },
        }
    }

    /// Where the supervised Terraform runs of one environment are recorded.
    pub fn runs_dir(&self, env: &str) -> PathBuf {
        self.state_dir.join("runs").join(env)
    }

    /// What the next command must know about earlier runs on `env` whose
    /// ohmc-infra died (SIGKILL, OOM) before Terraform ended: refuses while
    /// one is still running, and reports (once) each one that has ended.
    pub fn previous_runs(&self, env: &str) -> Result<Vec<String>, OpsError> {
        let mut notes = Vec::new();
        let records = ohmc_terraform::watchdog::records_under(&self.runs_dir(env));
        let settled = prune_settled_runs(&records, RUNS_KEPT_PER_STACK);
        for (path, mut record) in records
            .into_iter()
            .filter(|(path, _)| !settled.contains(path))
        {
            // A run whose ohmc-infra (or watchdog) is gone is abandoned; one
            // with both alive belongs to another ohmc-infra at work, and
            // Terraform's lock handles that.
            let abandoned = record.abandoned();
            if record.terraform_running() {
                if abandoned {
                    return Err(OpsError::PreviousRunStillRunning {
                        env: env.to_string(),
                        stack: record.stack,
                        operation: record.operation,
                        pid: record.terraform_pid.unwrap_or_default(),
                        started_at: record.started_at,
                        log: record.stdout_log,
                    });
                }
                continue;
            }
            if !abandoned || record.reported || (record.exit_code.is_some() && !record.parent_died)
            {
                continue;
            }
            let result = match record.exit_code {
                Some(0) => "it finished successfully".to_string(),
                Some(code) => format!("it ended with exit code {code}"),
                None => "its result was not recorded".to_string(),
            };
            notes.push(format!(
                "the previous `{}` of stack {} (Terraform pid {}, started {}) lost its ohmc-infra process; Terraform was interrupted once and {result}; its output is in {}",
                record.operation,
                record.stack,
                record.terraform_pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                record.started_at,
                record.stdout_log.display()
            ));
            record.reported = true;
            let _ = record.write(&path);
        }
        Ok(notes)
    }

    /// A run context for one stack, forwarding its streaming events as progress,
    /// with everything Terraform prints scrubbed of the stack's secrets.
    pub fn run_context(&self, env: &str, stack_spec: &StackSpec) -> RunContext {
        let stack = stack_spec.name.as_str();
        let mut ctx = RunContext::new(self.interrupt.clone());
        ctx.data_dir = Some(self.data_dir(env, stack));
        ctx.supervision = self.watchdog.as_ref().map(|watchdog| Supervision {
            watchdog: watchdog.clone(),
            runs_dir: self.runs_dir(env).join(stack),
            environment: env.to_string(),
            stack: stack.to_string(),
        });
        ctx.scrubber = Some(std::sync::Arc::new(crate::secrets::scrubber_for(
            stack_spec,
        )));
        if let Some(progress) = &self.progress {
            let (tx, mut rx) = mpsc::unbounded_channel::<UiEvent>();
            let progress = progress.clone();
            let stack = stack.to_string();
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    let _ = progress.send(Progress::Terraform {
                        stack: stack.clone(),
                        event,
                    });
                }
            });
            ctx.events = Some(tx);
        }
        ctx
    }

    /// [`check_state_dir`] for this context and environment.
    pub fn check_state_dir(&self, env: &Environment) -> Result<(), OpsError> {
        check_state_dir(&self.root, &self.state_dir, &env.stacks)
    }

    pub fn report(&self, p: Progress) {
        if let Some(tx) = &self.progress {
            let _ = tx.send(p);
        }
    }
}

/// `path` with symlinks resolved as far as it exists, so a state dir that
/// does not exist yet still compares with canonical stack dirs.
fn canonical_prefix(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(c) = existing.canonicalize() {
            return rest
                .iter()
                .rev()
                .fold(c, |acc: PathBuf, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Refuses, before anything runs, an environment whose backend configuration
/// holds static AWS keys.
pub fn refuse_static_credentials(env: &Environment) -> Result<(), OpsError> {
    for stack in &env.stacks {
        crate::backend::refuse_static_credentials(stack)?;
    }
    Ok(())
}

fn holds_terraform_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            (name.ends_with(".tf") || name.ends_with(".tf.json"))
                && e.file_type().is_ok_and(|t| t.is_file())
        })
    })
}

/// Refuses a state dir inside the configuration: under `ROOT/terraform`,
/// inside one of `stacks`, or inside any folder of the repository that holds
/// Terraform files. Nothing of this tool's may be written there (a data dir
/// holds the backend settings, plan files hold values). Called before the
/// state dir is created, so a refused one is not even made.
pub fn check_state_dir(
    root: &Path,
    state_dir: &Path,
    stacks: &[StackSpec],
) -> Result<(), OpsError> {
    let state = canonical_prefix(state_dir);
    let root = canonical_prefix(root);
    let refuse = |inside: PathBuf| {
        Err(OpsError::StateDirInsideConfig {
            state_dir: state_dir.to_path_buf(),
            inside,
        })
    };
    let fixed = std::iter::once(root.join("terraform"))
        .chain(stacks.iter().map(|s| canonical_prefix(&s.dir)));
    for dir in fixed {
        if state.starts_with(&dir) {
            return refuse(dir);
        }
    }
    for dir in state
        .ancestors()
        .filter(|a| a.starts_with(&root) && *a != root)
    {
        if holds_terraform_files(dir) {
            return refuse(dir.to_path_buf());
        }
    }
    Ok(())
}

/// How many ended runs (with their scrubbed logs) each stack keeps for a
/// person to read back; older ones are deleted, so the state dir and the
/// scan every command makes of it stay small.
pub const RUNS_KEPT_PER_STACK: usize = 20;

/// Deletes the directories of ended runs beyond the newest `keep` per stack,
/// and returns the records deleted. A run is never deleted while Terraform
/// or the ohmc-infra that started it lives, nor before an abandoned run has
/// been reported. `records` come oldest first, as `records_under` sorts them.
fn prune_settled_runs(
    records: &[(PathBuf, ohmc_terraform::watchdog::RunRecord)],
    keep: usize,
) -> Vec<PathBuf> {
    use ohmc_terraform::watchdog::pid_alive;
    let mut seen_per_stack: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut pruned = Vec::new();
    for (path, record) in records.iter().rev() {
        let seen = seen_per_stack.entry(record.stack.as_str()).or_default();
        *seen += 1;
        let settled = !record.terraform_running()
            && !record.parent_pid.is_some_and(pid_alive)
            && (record.reported || (record.exit_code.is_some() && !record.parent_died));
        if *seen > keep && settled {
            if let Some(run_dir) = path.parent() {
                if std::fs::remove_dir_all(run_dir).is_ok() {
                    pruned.push(path.clone());
                }
            }
        }
    }
    pruned
}

/// Where a stack keeps a local state file, when its backend is local; remote
/// backends hold their locks out of reach of this check.
pub fn local_state_file(stack: &StackSpec) -> Option<PathBuf> {
    let backend = crate::backend::backend_type(&stack.dir);
    match backend.as_deref() {
        None | Some("local") => {
            let path = stack
                .backend_values
                .iter()
                .find(|(k, _)| k == "path")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "terraform.tfstate".into());
            Some(resolve(&stack.dir, Path::new(&path)))
        }
        Some(_) => None,
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Lineage and serial of a stack's current state. A local state file, or the
/// S3 backend's state object, is read directly (no Terraform process, which
/// is most of the cost of a check); anything else goes through
/// `terraform state pull`.
pub async fn state_identity(
    ctx: &OpsContext,
    env: &Environment,
    stack: &StackSpec,
) -> Result<StateIdentity, OpsError> {
    if let Some(identity) = local_state_identity(stack)? {
        return Ok(identity);
    }
    if let Some(identity) = remote_state::remote_state_identity(env, stack).await {
        return Ok(identity);
    }
    terraform_state_identity(ctx, env, stack).await
}

/// [`state_identity`] once the S3 object has been tried (and was not
/// readable): the local state file, else Terraform.
pub async fn state_identity_without_s3(
    ctx: &OpsContext,
    env: &Environment,
    stack: &StackSpec,
) -> Result<StateIdentity, OpsError> {
    match local_state_identity(stack)? {
        Some(identity) => Ok(identity),
        None => terraform_state_identity(ctx, env, stack).await,
    }
}

/// A local backend's identity read from its state file; `None` for other
/// backends, or when the file is caught mid-rewrite (Terraform is asked).
fn local_state_identity(stack: &StackSpec) -> Result<Option<StateIdentity>, OpsError> {
    let Some(path) = local_state_file(stack) else {
        return Ok(None);
    };
    match std::fs::read(&path) {
        // A file Terraform is rewriting (under its lock) can be caught empty
        // or half-written: then Terraform itself is asked.
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Some(StateIdentity {
            lineage: String::new(),
            serial: 0,
        })),
        Err(source) => Err(OpsError::Io { path, source }),
    }
}

async fn terraform_state_identity(
    ctx: &OpsContext,
    env: &Environment,
    stack: &StackSpec,
) -> Result<StateIdentity, OpsError> {
    let run = ctx.run_context(&env.name, stack);
    ctx.terraform
        .state_identity(&stack.dir, &run)
        .await
        .map_err(|source| ctx.terraform_error(&env.name, stack, source))
}

/// Who, if anyone, still holds a stack's state lock: the local lock-info
/// file, or the S3 backend's lock item or lock file.
pub async fn lock_status(ctx: &OpsContext, env: &Environment, stack: &StackSpec) -> LockStatus {
    let status = match local_state_file(stack) {
        Some(state) => lock::local_lock_status(&state),
        None => remote_state::remote_lock_status(env, stack).await,
    };
    match status {
        LockStatus::Held { info, .. } => LockStatus::Held {
            force_unlock: Some(ctx.force_unlock_command(&env.name, stack, &info.id)),
            info,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ohmc_terraform::watchdog::RunRecord;

    fn record(
        dir: &Path,
        stack: &str,
        n: usize,
        exit: Option<i32>,
        reported: bool,
    ) -> (PathBuf, RunRecord) {
        let run_dir = dir
            .join(stack)
            .join(format!("20261203T1000{n:02}Z-plan-{n}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let record = RunRecord {
            environment: "dev".into(),
            stack: stack.into(),
            operation: "plan".into(),
            started_at: format!("2026-12-03T10:00:{n:02}Z"),
            stdout_log: run_dir.join("stdout.log"),
            stderr_log: run_dir.join("stderr.log"),
            // A pid that cannot be alive.
            parent_pid: Some(u32::MAX),
            terraform_pid: Some(u32::MAX),
            watchdog_pid: Some(u32::MAX),
            finished_at: None,
            exit_code: exit,
            parent_died: !reported && exit.is_none(),
            reported,
        };
        let path = run_dir.join("run.json");
        record.write(&path).unwrap();
        (path, record)
    }

    #[test]
    fn ended_runs_beyond_the_newest_are_deleted_and_unreported_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut records = Vec::new();
        // app: an abandoned run nobody was told of, then five that ended.
        records.push(record(dir.path(), "app", 0, None, false));
        for n in 1..=5 {
            records.push(record(dir.path(), "app", n, Some(0), false));
        }
        records.push(record(dir.path(), "data", 9, Some(0), false));
        let pruned = prune_settled_runs(&records, 2);
        let names = |paths: &[PathBuf]| -> Vec<String> {
            let mut names: Vec<String> = paths
                .iter()
                .map(|p| {
                    p.parent()
                        .unwrap()
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            names(&pruned),
            [
                "20261203T100001Z-plan-1",
                "20261203T100002Z-plan-2",
                "20261203T100003Z-plan-3"
            ]
        );
        let left = ohmc_terraform::watchdog::records_under(dir.path());
        assert_eq!(
            names(&left.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>()),
            [
                "20261203T100000Z-plan-0",
                "20261203T100004Z-plan-4",
                "20261203T100005Z-plan-5",
                "20261203T100009Z-plan-9",
            ]
        );
    }
}
