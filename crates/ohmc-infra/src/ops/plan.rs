//! `ohmc-infra plan ENV`: plan every stack into one private bundle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ohmc_terraform::commands::plan::PlanOptions as TfPlanOptions;
use ohmc_terraform::lock::LockStatus;
use ohmc_terraform::TerraformError;

use super::{lock_status, OpsContext, OpsError, Progress};
use crate::bundle::{self, Bundle, BundleMeta, FileHash, StackPlanMeta, WaitingStack};
use crate::environment::{Environment, StackSpec};
use crate::graph::{run_in_order_until, StackOutcome};
use crate::private_fs;
use crate::summary::PlanSummary;

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan the destruction of every stack (applied in reverse order).
    pub destroy: bool,
    /// Bundles kept for this environment after the plan; `None` takes the
    /// environment's `bundles { keep }`, else [`bundle::DEFAULT_KEEP_BUNDLES`].
    pub keep_bundles: Option<usize>,
}

#[derive(Debug)]
pub enum StackPlanStatus {
    Planned(Box<StackPlanMeta>),
    Failed {
        error: OpsError,
        lock: Option<LockStatus>,
    },
    Skipped {
        blocked_by: String,
    },
    /// Not planned: the stack reads the state of upstream stacks that have
    /// none yet and have changes in this plan (a new environment). It is
    /// planned by the next `plan`, once this bundle is applied.
    Waiting {
        on: Vec<String>,
    },
}

#[derive(Debug)]
pub struct PlanReport {
    pub environment: String,
    /// Saved only when every stack planned.
    pub bundle: Option<Bundle>,
    pub stacks: Vec<(String, StackPlanStatus)>,
    /// Older bundles removed after this one was saved.
    pub pruned: Vec<PathBuf>,
    /// Pruning that failed: the plan itself stands, the old bundle stays.
    pub prune_error: Option<OpsError>,
}

impl PlanReport {
    pub fn changes_present(&self) -> bool {
        self.stacks.iter().any(|(_, s)| match s {
            StackPlanStatus::Planned(m) => m.changes_present,
            StackPlanStatus::Waiting { .. } => true,
            _ => false,
        })
    }

    pub fn failed(&self) -> bool {
        self.stacks.iter().any(|(_, s)| {
            !matches!(
                s,
                StackPlanStatus::Planned(_) | StackPlanStatus::Waiting { .. }
            )
        })
    }

    pub fn interrupted(&self) -> bool {
        self.stacks.iter().any(
            |(_, s)| matches!(s, StackPlanStatus::Failed { error, .. } if error.is_interrupted()),
        )
    }
}

pub async fn plan(
    ctx: &OpsContext,
    env: &Environment,
    opts: &PlanOptions,
) -> Result<PlanReport, OpsError> {
    super::refuse_static_credentials(env)?;
    ctx.check_state_dir(env)?;
    // The code the plan is made from, read while Terraform plans.
    let git = crate::git::git_state_in_background(&ctx.root);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let bundle_dir = bundle::create_bundle_dir(&ctx.state_dir, &env.name, &stamp)?;
    let interrupted = || ctx.interrupt.requested() > 0;
    // The stacks this plan changes, as a stack reading their state sees them: a stack
    // reading what they do not have yet cannot be planned before they are applied.
    let pending: std::sync::Mutex<BTreeMap<String, Upstream>> = Default::default();
    let pending = &pending;
    let outcomes = run_in_order_until(&env.stacks, ctx.parallelism, false, interrupted, |stack| {
        let bundle_dir = bundle_dir.clone();
        async move {
            ctx.report(Progress::StackStarted {
                stack: stack.name.clone(),
                phase: "plan",
            });
            let result = match plan_stack(ctx, env, &stack, &bundle_dir, opts).await {
                Ok(meta) => {
                    if meta.changes_present {
                        pending
                            .lock()
                            .unwrap()
                            .insert(stack.name.clone(), Upstream::planned(&meta));
                    }
                    Ok(Planned::Plan(meta))
                }
                Err(error) => match failed_remote_reads(&error) {
                    Some(reads) if !opts.destroy => {
                        let on = waits_on(&reads, &stack.depends_on, &pending.lock().unwrap());
                        match on.is_empty() {
                            true => Err(error),
                            false => {
                                pending
                                    .lock()
                                    .unwrap()
                                    .insert(stack.name.clone(), Upstream::waiting());
                                Ok(Planned::Waiting(on))
                            }
                        }
                    }
                    _ => Err(error),
                },
            };
            ctx.report(Progress::StackFinished {
                stack: stack.name.clone(),
                phase: "plan",
                ok: result.is_ok(),
            });
            result.map_err(|e| (e, stack))
        }
    })
    .await;

    let mut stacks = Vec::new();
    for (name, outcome) in outcomes {
        let status = match outcome {
            StackOutcome::Done(Planned::Plan(meta)) => StackPlanStatus::Planned(Box::new(meta)),
            StackOutcome::Done(Planned::Waiting(on)) => {
                // The plan file Terraform never wrote; nothing to remove otherwise.
                StackPlanStatus::Waiting { on }
            }
            StackOutcome::Failed((error, stack)) => {
                let lock = match error.is_interrupted() {
                    true => Some(lock_status(ctx, env, &stack).await),
                    false => None,
                };
                StackPlanStatus::Failed { error, lock }
            }
            StackOutcome::Skipped { blocked_by } => StackPlanStatus::Skipped { blocked_by },
        };
        stacks.push((name, status));
    }
    let mut report = PlanReport {
        environment: env.name.clone(),
        bundle: None,
        stacks,
        pruned: Vec::new(),
        prune_error: None,
    };
    if report.failed() {
        let _ = std::fs::remove_dir_all(&bundle_dir);
        return Ok(report);
    }
    let metas: Vec<StackPlanMeta> = report
        .stacks
        .iter()
        .filter_map(|(_, s)| match s {
            StackPlanStatus::Planned(m) => Some((**m).clone()),
            _ => None,
        })
        .collect();
    let waiting: Vec<WaitingStack> = report
        .stacks
        .iter()
        .filter_map(|(name, s)| match s {
            StackPlanStatus::Waiting { on } => Some(WaitingStack {
                name: name.clone(),
                on: on.clone(),
            }),
            _ => None,
        })
        .collect();
    let mut meta = BundleMeta {
        waiting,
        schema_version: bundle::BUNDLE_SCHEMA_VERSION,
        environment: env.name.clone(),
        created_at: chrono::Utc::now().to_rfc3339(),
        git: crate::git::join(git).await,
        terraform_version: ctx.terraform.version().to_string(),
        destroy: opts.destroy,
        bundle_sha256: String::new(),
        stacks: metas,
    };
    meta.bundle_sha256 = bundle::bundle_sha256(&meta);
    report.bundle = Some(Bundle::save(&bundle_dir, meta)?);
    let keep = opts.keep_bundles.unwrap_or(env.keep_bundles);
    match bundle::prune(&ctx.state_dir, &env.name, keep) {
        Ok(pruned) => report.pruned = pruned,
        Err(e) => report.prune_error = Some(e.into()),
    }
    Ok(report)
}

/// What one stack's plan gave.
enum Planned {
    Plan(StackPlanMeta),
    Waiting(Vec<String>),
}

/// Terraform refused the plan only because a `terraform_remote_state` found
/// no stored state (every error says so).
/// A stack this plan changes, as a stack reading its state sees it.
#[derive(Debug, Clone, Default)]
struct Upstream {
    /// It has a state: its outputs so far can be read.
    has_state: bool,
    /// Outputs its planned changes create.
    new_outputs: BTreeSet<String>,
}

impl Upstream {
    fn planned(meta: &StackPlanMeta) -> Upstream {
        Upstream {
            has_state: !meta.state.lineage.is_empty(),
            new_outputs: meta
                .summary
                .outputs
                .iter()
                .filter(|o| o.action == "create")
                .map(|o| o.name.clone())
                .collect(),
        }
    }

    /// A stack that itself waits: nothing of it can be read yet.
    fn waiting() -> Upstream {
        Upstream::default()
    }

    fn will_provide(&self, read: &RemoteRead) -> bool {
        match read {
            RemoteRead::State => !self.has_state,
            RemoteRead::Output(name) => !self.has_state || self.new_outputs.contains(name),
        }
    }
}

/// What a stack's plan failed to read from another stack's state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RemoteRead {
    /// The state does not exist.
    State,
    /// The state has no such output.
    Output(String),
}

/// The remote-state reads that failed a plan, when they alone failed it (`None`: the
/// plan failed for another reason, which is the stack's own).
fn failed_remote_reads(error: &OpsError) -> Option<Vec<RemoteRead>> {
    let OpsError::Terraform {
        source: TerraformError::Diagnostics(diagnostics),
        ..
    } = error
    else {
        return None;
    };
    let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
    if errors.is_empty() {
        return None;
    }
    errors
        .iter()
        .map(|d| {
            if d.summary == "Unable to find remote state" {
                return Some(RemoteRead::State);
            }
            let reads_remote_state = d
                .snippet
                .as_ref()
                .is_some_and(|s| s.code.contains("terraform_remote_state"));
            if d.summary == "Unsupported attribute" && reads_remote_state {
                // `This object does not have an attribute named "NAME".`
                let name = d.detail.split('"').nth(1)?;
                return Some(RemoteRead::Output(name.to_string()));
            }
            None
        })
        .collect()
}

/// The upstream stacks (of `depends_on`) this plan changes in a way that provides what
/// the failed reads lack; empty unless every read is provided by one of them (a read
/// nothing will provide is the stack's own error, such as a misspelt output).
fn waits_on(
    reads: &[RemoteRead],
    depends_on: &[String],
    pending: &BTreeMap<String, Upstream>,
) -> Vec<String> {
    let providers = |read: &RemoteRead| -> Vec<&String> {
        depends_on
            .iter()
            .filter(|d| pending.get(*d).is_some_and(|u| u.will_provide(read)))
            .collect()
    };
    let mut on = BTreeSet::new();
    for read in reads {
        let p = providers(read);
        if p.is_empty() {
            return Vec::new();
        }
        on.extend(p);
    }
    // In the order the stack names them.
    depends_on
        .iter()
        .filter(|d| on.contains(d))
        .cloned()
        .collect()
}

/// Hashes of the var files a stack is planned with, in the order given.
pub fn var_file_hashes(stack: &StackSpec) -> Result<Vec<FileHash>, OpsError> {
    stack
        .var_files
        .iter()
        .map(|p| {
            bundle::sha256_file(p)
                .map(|sha256| FileHash {
                    path: p.display().to_string(),
                    sha256,
                })
                .map_err(|source| OpsError::Io {
                    path: p.clone(),
                    source,
                })
        })
        .collect()
}

async fn plan_stack(
    ctx: &OpsContext,
    env: &Environment,
    stack: &StackSpec,
    bundle_dir: &std::path::Path,
    opts: &PlanOptions,
) -> Result<StackPlanMeta, OpsError> {
    let tf_err = |source| ctx.terraform_error(&env.name, stack, source);
    ctx.ensure_init(env, stack).await?;
    let run = ctx.run_context(&env.name, &stack);
    let var_files = var_file_hashes(stack)?;
    let config_sha256 = bundle::config_sha256(&stack.dir).map_err(|source| OpsError::Io {
        path: stack.dir.clone(),
        source,
    })?;
    let plan_file_name = format!("{}.tfplan", stack.name);
    let plan_path: PathBuf = bundle_dir.join(&plan_file_name);
    let tf_opts = TfPlanOptions {
        out: Some(plan_path.clone()),
        var_files: stack.var_files.clone(),
        refresh_only: false,
        destroy: opts.destroy,
        lock_timeout: ctx.lock_timeout,
        parallelism: None,
    };
    let planned = ctx
        .terraform
        .plan(&stack.dir, &tf_opts, &run)
        .await
        .map_err(tf_err)?;
    private_fs::make_private_file(&plan_path).map_err(|source| OpsError::Io {
        path: plan_path.clone(),
        source,
    })?;
    let plan_sha256 = bundle::sha256_file(&plan_path).map_err(|source| OpsError::Io {
        path: plan_path.clone(),
        source,
    })?;
    let doc = ctx
        .terraform
        .saved_plan(&stack.dir, &plan_path, &run)
        .await
        .map_err(tf_err)?;
    let summary = PlanSummary::from_plan(&doc, &planned.events);
    // The state the plan was made against, from the plan file itself; a plan
    // file whose state cannot be read (an encrypted OpenTofu plan, say) falls
    // back to asking the backend (a write in between then goes unnoticed
    // here, and Terraform's own stale-plan check at apply refuses it).
    let state = match ohmc_terraform::plan_file::prior_state_identity(&plan_path) {
        Ok(state) => state,
        Err(_) => super::state_identity(ctx, env, stack).await?,
    };
    Ok(StackPlanMeta {
        name: stack.name.clone(),
        plan_file: plan_file_name,
        plan_sha256,
        state,
        var_files,
        config_sha256,
        changes_present: planned.changes_present,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ohmc_terraform::diagnostics::Diagnostic;

    fn diagnostic(severity: &str, summary: &str) -> Diagnostic {
        Diagnostic {
            severity: severity.into(),
            summary: summary.into(),
            detail: String::new(),
            address: None,
            range: None,
            snippet: None,
        }
    }

    fn failed(diagnostics: Vec<Diagnostic>) -> OpsError {
        OpsError::Terraform {
            stack: "platform".into(),
            source: TerraformError::Diagnostics(diagnostics),
        }
    }

    fn unsupported(name: &str, code: &str) -> Diagnostic {
        Diagnostic {
            detail: format!("This object does not have an attribute named \"{name}\"."),
            snippet: Some(ohmc_terraform::diagnostics::Snippet {
                code: code.into(),
                start_line: 19,
            }),
            ..diagnostic("error", "Unsupported attribute")
        }
    }

    #[test]
    fn only_a_plan_refused_for_remote_state_reads_alone_may_wait() {
        let missing = || diagnostic("error", "Unable to find remote state");
        let remote = "  name = data.terraform_remote_state.network.outputs.id";
        assert_eq!(
            failed_remote_reads(&failed(vec![missing()])),
            Some(vec![RemoteRead::State])
        );
        assert_eq!(
            failed_remote_reads(&failed(vec![
                missing(),
                diagnostic("warning", "Deprecated Parameter"),
                unsupported("id", remote),
            ])),
            Some(vec![RemoteRead::State, RemoteRead::Output("id".into())])
        );
        // Any other error is the stack's own: the plan fails.
        assert_eq!(
            failed_remote_reads(&failed(vec![
                missing(),
                diagnostic("error", "Invalid for_each argument"),
            ])),
            None
        );
        // An unsupported attribute of anything but a remote state is the stack's own.
        assert_eq!(
            failed_remote_reads(&failed(vec![unsupported("id", "  name = var.thing.id")])),
            None
        );
        assert_eq!(
            failed_remote_reads(&failed(vec![diagnostic(
                "warning",
                "Unable to find remote state"
            )])),
            None
        );
        assert_eq!(
            failed_remote_reads(&OpsError::Terraform {
                stack: "platform".into(),
                source: TerraformError::StalePlan,
            }),
            None
        );
    }

    #[test]
    fn a_read_waits_only_on_an_upstream_that_will_provide_it() {
        let deps = vec!["network".to_string(), "dns".to_string()];
        let mut pending = BTreeMap::new();
        // network is applied and its changes add the output `zone_id`.
        pending.insert(
            "network".to_string(),
            Upstream {
                has_state: true,
                new_outputs: ["zone_id".to_string()].into(),
            },
        );
        let output = |n: &str| RemoteRead::Output(n.to_string());
        assert_eq!(waits_on(&[output("zone_id")], &deps, &pending), ["network"]);
        // A misspelt output no upstream creates is the stack's own error.
        assert!(waits_on(&[output("zoneid")], &deps, &pending).is_empty());
        // A missing state: only an upstream without one provides it.
        assert!(waits_on(&[RemoteRead::State], &deps, &pending).is_empty());
        pending.insert("dns".to_string(), Upstream::waiting());
        assert_eq!(waits_on(&[RemoteRead::State], &deps, &pending), ["dns"]);
        assert_eq!(
            waits_on(&[RemoteRead::State, output("zone_id")], &deps, &pending),
            ["network", "dns"]
        );
        // Only the stacks it depends on count.
        assert!(waits_on(&[RemoteRead::State], &["edge".to_string()], &pending).is_empty());
    }
}
