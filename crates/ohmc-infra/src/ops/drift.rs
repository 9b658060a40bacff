//! `ohmc-infra drift ENV`: a refresh-only plan of every stack, listing what
//! changed outside Terraform.

use ohmc_terraform::commands::plan::PlanOptions as TfPlanOptions;
use ohmc_terraform::UiEvent;

use super::{OpsContext, OpsError, Progress};
use crate::environment::Environment;
use crate::graph::{run_in_order_until, StackOutcome};
use crate::summary::ChangeLine;

#[derive(Debug)]
pub struct DriftReport {
    pub environment: String,
    pub stacks: Vec<(String, StackOutcome<Vec<ChangeLine>, OpsError>)>,
}

impl DriftReport {
    pub fn drifted(&self) -> bool {
        self.stacks
            .iter()
            .any(|(_, o)| matches!(o, StackOutcome::Done(d) if !d.is_empty()))
    }

    pub fn failed(&self) -> bool {
        self.stacks
            .iter()
            .any(|(_, o)| !matches!(o, StackOutcome::Done(_)))
    }

    pub fn interrupted(&self) -> bool {
        self.stacks
            .iter()
            .any(|(_, o)| matches!(o, StackOutcome::Failed(e) if e.is_interrupted()))
    }
}

pub async fn drift(ctx: &OpsContext, env: &Environment) -> DriftReport {
    let interrupted = || ctx.interrupt.requested() > 0;
    let stacks = run_in_order_until(
        &env.stacks,
        ctx.parallelism,
        false,
        interrupted,
        |stack| async move {
            ctx.report(Progress::StackStarted {
                stack: stack.name.clone(),
                phase: "drift",
            });
            let result = async {
                ctx.ensure_init(env, &stack).await?;
                let run = ctx.run_context(&env.name, &stack);
                let opts = TfPlanOptions {
                    var_files: stack.var_files.clone(),
                    refresh_only: true,
                    lock_timeout: ctx.lock_timeout,
                    ..Default::default()
                };
                let planned = ctx
                    .terraform
                    .plan(&stack.dir, &opts, &run)
                    .await
                    .map_err(|source| ctx.terraform_error(&env.name, &stack, source))?;
                let mut drift: Vec<ChangeLine> = planned
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        UiEvent::ResourceDrift(c) => Some(ChangeLine {
                            address: c.resource.addr.clone(),
                            action: c.action.clone(),
                            reason: None,
                            moved_from: None,
                            import_id: None,
                        }),
                        _ => None,
                    })
                    .collect();
                drift.sort_by(|a, b| a.address.cmp(&b.address));
                drift.dedup();
                Ok(drift)
            }
            .await;
            ctx.report(Progress::StackFinished {
                stack: stack.name.clone(),
                phase: "drift",
                ok: result.is_ok(),
            });
            result
        },
    )
    .await;
    DriftReport {
        environment: env.name.clone(),
        stacks,
    }
}
