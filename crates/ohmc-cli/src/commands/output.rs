//! `ohmc-infra output ENV [--show-sensitive]`

use anyhow::Result;
use ohmc_infra::exit::ExitStatus;
use ohmc_infra::ops::output;
use ohmc_terraform::Interrupt;
use serde_json::{json, Map, Value};

use crate::cli::{Format, GlobalArgs, OutputArgs};
use crate::context;

pub async fn run(
    global: &GlobalArgs,
    args: &OutputArgs,
    interrupt: Interrupt,
) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let env = context::load_environment(&root, &args.env)?;
    let ctx = context::ops_context(global, interrupt, None).await?;
    context::report_previous_runs(&ctx, &env.name)?;
    let stacks = output::read_outputs(&ctx, &env).await?;
    match global.format {
        Format::Json => {
            let mut by_stack = Map::new();
            for s in &stacks {
                let values: Map<String, Value> = s
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), json!({"sensitive": v.sensitive, "value": v.display_value(args.show_sensitive)})))
                    .collect();
                by_stack.insert(s.stack.clone(), Value::Object(values));
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "schema_version": super::JSON_SCHEMA_VERSION, "command": "output",
                    "environment": env.name, "stacks": by_stack,
                }))?
            );
        }
        _ => {
            for s in &stacks {
                println!("Stack {}:", s.stack);
                if s.outputs.is_empty() {
                    println!("  (no outputs)");
                }
                let width = s.outputs.keys().map(String::len).max().unwrap_or(0);
                for (name, v) in &s.outputs {
                    println!("  {name:width$} = {}", v.display_value(args.show_sensitive));
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}
