//! `ohmc-infra apply ENV`: apply exactly the reviewed bundle, or refuse.
//!
//! [`prepare`] makes every check that can refuse (environment, commit, var
//! files, configuration, state serial, plan file hash, destructive changes)
//! before anything runs; the binary then asks for approval where the
//! environment needs it, and [`execute`] applies the stacks in order.

use std::path::PathBuf;
use std::time::Instant;

use ohmc_terraform::commands::apply::ApplyOptions;
use ohmc_terraform::commands::state::StateIdentity;
use ohmc_terraform::lock::LockStatus;

use super::{lock_status, OpsContext, OpsError, Progress};
use crate::bundle::{self, Bundle};
use crate::environment::Environment;
use crate::graph::{run_in_order_until, StackOutcome};
use crate::redact::Redactor;

/// Shortest `--approve` prefix accepted: long enough that it cannot be typed
/// by accident for another plan.
pub const MIN_APPROVE_PREFIX: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    None,
    /// `--approve <prefix of the bundle sha256>`.
    ShaPrefix(String),
    /// A person typed the environment name on a terminal.
    Confirmed,
}

#[derive(Debug, Clone, Default)]
pub struct ApplyRequest {
    /// A bundle directory; the newest bundle of the environment when absent.
    pub bundle: Option<PathBuf>,
    pub allow_destroy: bool,
}

/// A bundle that passed every check and may be applied.
#[derive(Debug)]
pub struct PreparedApply {
    pub bundle: Bundle,
    pub destructive: Vec<String>,
}

pub async fn prepare(
    ctx: &OpsContext,
    env: &Environment,
    opts: &ApplyRequest,
) -> Result<PreparedApply, OpsError> {
    super::refuse_static_credentials(env)?;
    let git = crate::git::git_state_in_background(&ctx.root);
    let bundle = match &opts.bundle {
        Some(dir) => Bundle::load(dir)?,
        None => Bundle::latest(&ctx.state_dir, &env.name)?,
    };
    let meta = &bundle.meta;
    let stale = |reason: String| OpsError::StaleBundle {
        env: env.name.clone(),
        reason,
    };
    // First, so every other fact below (environment, destroy flag, state,
    // var files, configuration, git) is the one that was planned and approved.
    if bundle::bundle_sha256(meta) != meta.bundle_sha256 {
        return Err(stale(
            "bundle.json's hashes do not add up (edited by hand?)".into(),
        ));
    }
    if meta.environment != env.name {
        return Err(OpsError::WrongEnvironment {
            bundle: bundle.dir.clone(),
            bundle_env: meta.environment.clone(),
            requested: env.name.clone(),
        });
    }
    // A waiting stack is covered too: the plan says it waits.
    let planned: Vec<&str> = meta
        .stacks
        .iter()
        .map(|s| s.name.as_str())
        .chain(meta.waiting.iter().map(|w| w.name.as_str()))
        .collect();
    let mut current: Vec<&str> = env.stacks.iter().map(|s| s.name.as_str()).collect();
    let mut planned_sorted = planned.clone();
    planned_sorted.sort();
    current.sort();
    if planned_sorted != current {
        return Err(stale(format!(
            "the environment's stacks are now [{}] but the plan covers [{}]",
            current.join(", "),
            planned.join(", ")
        )));
    }
    let git = crate::git::join(git).await;
    if let (Some(then), Some(now)) = (&meta.git.commit, &git.commit) {
        if then != now {
            return Err(stale(format!(
                "the plan was made at commit {} and the checkout is now at {}",
                short(then),
                short(now)
            )));
        }
    }
    // Every stack's current state identity, read at once (S3 objects with
    // the SDK); a stack whose backend cannot be read so asks Terraform below.
    let remote: Vec<Option<StateIdentity>> =
        futures::future::join_all(meta.stacks.iter().map(|planned| async move {
            let stack = env.stack(&planned.name)?;
            super::remote_state::remote_state_identity(env, stack).await
        }))
        .await;
    let mut destructive = Vec::new();
    for (planned, remote) in meta.stacks.iter().zip(remote) {
        let stack = env.stack(&planned.name).expect("stack set compared above");
        let plan_path = bundle.plan_path(planned);
        let sha = bundle::sha256_file(&plan_path).map_err(|source| OpsError::Io {
            path: plan_path.clone(),
            source,
        })?;
        if sha != planned.plan_sha256 {
            return Err(stale(format!(
                "stack {}: the plan file {} changed after planning",
                planned.name,
                plan_path.display()
            )));
        }
        let config = bundle::config_sha256(&stack.dir).map_err(|source| OpsError::Io {
            path: stack.dir.clone(),
            source,
        })?;
        if config != planned.config_sha256 {
            return Err(stale(format!(
                "stack {}: its configuration in {} changed since the plan",
                planned.name,
                stack.dir.display()
            )));
        }
        let var_files = super::plan::var_file_hashes(stack)?;
        if var_files != planned.var_files {
            let changed: Vec<String> = var_files
                .iter()
                .filter(|v| !planned.var_files.contains(v))
                .map(|v| v.path.clone())
                .collect();
            let which = if changed.is_empty() {
                "the list of var files".to_string()
            } else {
                changed.join(", ")
            };
            return Err(stale(format!(
                "stack {}: var file changed since the plan: {which}",
                planned.name
            )));
        }
        ctx.ensure_init(env, stack).await?;
        let state = match remote {
            Some(state) => state,
            None => super::state_identity_without_s3(ctx, env, stack).await?,
        };
        if state != planned.state {
            return Err(stale(format!(
                "stack {}: the state moved from serial {} to {} since the plan{}",
                planned.name,
                planned.state.serial,
                state.serial,
                if state.lineage != planned.state.lineage {
                    " (and its lineage changed)"
                } else {
                    ""
                }
            )));
        }
        // The summary is bound to the plan file's hash by bundle_sha256 (checked
        // above), so it says what this exact plan file destroys without paying
        // for another `terraform show`.
        destructive.extend(
            planned
                .summary
                .destructive
                .iter()
                .map(|a| format!("{}:{a}", planned.name)),
        );
    }
    if !destructive.is_empty() && !opts.allow_destroy {
        return Err(OpsError::DestroyNotAllowed {
            addresses: destructive,
        });
    }
    Ok(PreparedApply {
        bundle,
        destructive,
    })
}

/// Checks the approval a protected environment needs.
pub fn check_approval(
    env: &Environment,
    prepared: &PreparedApply,
    approval: &Approval,
) -> Result<(), OpsError> {
    if !env.protection.require_approval {
        return Ok(());
    }
    let sha = &prepared.bundle.meta.bundle_sha256;
    match approval {
        Approval::Confirmed => Ok(()),
        Approval::ShaPrefix(given)
            if given.len() >= MIN_APPROVE_PREFIX
                && sha.starts_with(&given.to_ascii_lowercase()) =>
        {
            Ok(())
        }
        Approval::ShaPrefix(given) => Err(OpsError::ApprovalMismatch {
            given: given.clone(),
            actual: sha.clone(),
        }),
        Approval::None => Err(OpsError::ApprovalRequired {
            env: env.name.clone(),
            prefix: sha[..12].to_string(),
        }),
    }
}

#[derive(Debug)]
pub enum StackApplyStatus {
    Applied {
        seconds: f64,
        create: usize,
        update: usize,
        replace: usize,
        delete: usize,
    },
    NoChanges,
    /// Not in the bundle: it reads the state of stacks this apply creates;
    /// the next `plan` plans it.
    Waiting {
        on: Vec<String>,
    },
    Failed {
        error: String,
        interrupted: bool,
        lock: Option<LockStatus>,
    },
    Skipped {
        blocked_by: String,
    },
}

#[derive(Debug)]
pub struct ApplyReport {
    pub environment: String,
    pub bundle_sha256: String,
    pub stacks: Vec<(String, StackApplyStatus)>,
}

impl ApplyReport {
    pub fn failed(&self) -> bool {
        self.stacks.iter().any(|(_, s)| {
            matches!(
                s,
                StackApplyStatus::Failed { .. } | StackApplyStatus::Skipped { .. }
            )
        })
    }

    pub fn interrupted(&self) -> bool {
        self.stacks.iter().any(|(_, s)| {
            matches!(
                s,
                StackApplyStatus::Failed {
                    interrupted: true,
                    ..
                }
            )
        })
    }
}

/// What applying one stack of a bundle did.
enum Applied {
    Nothing,
    Waiting(Vec<String>),
    Changes(f64, crate::summary::PlanSummary),
}

/// Applies a prepared bundle: stacks in dependency order (reverse for a
/// destroy plan), independent ones in parallel.
pub async fn execute(
    ctx: &OpsContext,
    env: &Environment,
    prepared: &PreparedApply,
) -> Result<ApplyReport, OpsError> {
    let meta = &prepared.bundle.meta;
    // Recorded before anything runs: a partly applied bundle is as much the
    // record of what is in the account as a fully applied one, and a plan
    // made meanwhile must not prune it.
    bundle::record_applied(&prepared.bundle)?;
    let outcomes = run_in_order_until(
        &env.stacks,
        ctx.parallelism,
        meta.destroy,
        || ctx.interrupt.requested() > 0,
        |stack| async move {
            if let Some(waiting) = meta.waiting.iter().find(|w| w.name == stack.name) {
                return Ok(Applied::Waiting(waiting.on.clone()));
            }
            let planned = meta
                .stacks
                .iter()
                .find(|s| s.name == stack.name)
                .expect("bundle covers every stack");
            if !planned.changes_present {
                return Ok(Applied::Nothing);
            }
            ctx.report(Progress::StackStarted {
                stack: stack.name.clone(),
                phase: "apply",
            });
            let started = Instant::now();
            let run = ctx.run_context(&env.name, &stack);
            let opts = ApplyOptions {
                plan_file: prepared.bundle.plan_path(planned),
                lock_timeout: ctx.lock_timeout,
                parallelism: None,
            };
            let result = ctx.terraform.apply(&stack.dir, &opts, &run).await;
            ctx.report(Progress::StackFinished {
                stack: stack.name.clone(),
                phase: "apply",
                ok: result.is_ok(),
            });
            match result {
                Ok(_) => Ok(Applied::Changes(
                    started.elapsed().as_secs_f64(),
                    planned.summary.clone(),
                )),
                Err(source) => {
                    let interrupted =
                        matches!(source, ohmc_terraform::TerraformError::Interrupted { .. });
                    let lock = match interrupted {
                        true => Some(lock_status(ctx, env, &stack).await),
                        false => None,
                    };
                    // Only a failure pays for reading the plan's secrets, to scrub
                    // anything a provider echoed back into its error.
                    let redactor = match ctx
                        .terraform
                        .show_plan_with_json(&stack.dir, &prepared.bundle.plan_path(planned), &run)
                        .await
                    {
                        Ok((_, raw)) => Redactor::from_plan_json(&raw),
                        Err(_) => Redactor::default(),
                    };
                    Err((
                        redactor.scrub(&ctx.terraform_error(&env.name, &stack, source).to_string()),
                        interrupted,
                        lock,
                    ))
                }
            }
        },
    )
    .await;
    let stacks = outcomes
        .into_iter()
        .map(|(name, outcome)| {
            let status = match outcome {
                StackOutcome::Done(Applied::Nothing) => StackApplyStatus::NoChanges,
                StackOutcome::Done(Applied::Waiting(on)) => StackApplyStatus::Waiting { on },
                StackOutcome::Done(Applied::Changes(seconds, s)) => StackApplyStatus::Applied {
                    seconds,
                    create: s.create,
                    update: s.update,
                    replace: s.replace,
                    delete: s.delete,
                },
                StackOutcome::Failed((error, interrupted, lock)) => StackApplyStatus::Failed {
                    error,
                    interrupted,
                    lock,
                },
                StackOutcome::Skipped { blocked_by } => StackApplyStatus::Skipped { blocked_by },
            };
            (name, status)
        })
        .collect();
    Ok(ApplyReport {
        environment: env.name.clone(),
        bundle_sha256: meta.bundle_sha256.clone(),
        stacks,
    })
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
