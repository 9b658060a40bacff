//! `ohmc-infra output ENV`: every stack's outputs, sensitive ones redacted
//! unless the caller asks.

use std::collections::BTreeMap;

use ohmc_terraform::commands::output::OutputValue;
use serde_json::{Map, Value};

use super::{OpsContext, OpsError};
use crate::environment::Environment;
use crate::graph::topological_order;

#[derive(Debug, Clone)]
pub struct StackOutputs {
    pub stack: String,
    pub outputs: BTreeMap<String, OutputValue>,
}

/// Reads outputs of every stack in dependency order.
pub async fn read_outputs(
    ctx: &OpsContext,
    env: &Environment,
) -> Result<Vec<StackOutputs>, OpsError> {
    let order = topological_order(&env.stacks).unwrap_or_default();
    let mut all = Vec::new();
    for name in order {
        let stack = env.stack(&name).expect("ordered stacks exist");
        ctx.ensure_init(env, stack).await?;
        let run = ctx.run_context(&env.name, &stack);
        let outputs = ctx
            .terraform
            .output(&stack.dir, &run)
            .await
            .map_err(|source| ctx.terraform_error(&env.name, stack, source))?;
        all.push(StackOutputs {
            stack: stack.name.clone(),
            outputs,
        });
    }
    Ok(all)
}

/// One flat map of non-sensitive outputs, as the checks read them. Sensitive
/// outputs are left out entirely: no check needs a secret.
pub fn merged_public_outputs(stacks: &[StackOutputs]) -> Map<String, Value> {
    let mut merged = Map::new();
    for s in stacks {
        for (name, v) in &s.outputs {
            if !v.sensitive {
                merged.insert(name.clone(), v.value.clone());
            }
        }
    }
    merged
}
