//! `ohmc-infra envs`

use anyhow::Result;
use ohmc_infra::environment;
use ohmc_infra::exit::ExitStatus;
use serde_json::json;

use crate::cli::{Format, GlobalArgs};
use crate::context;

pub fn run(global: &GlobalArgs) -> Result<ExitStatus> {
    let root = context::root(global)?;
    let dir = context::environments_dir(&root);
    let names = environment::discover(&dir)?;
    let mut rows = Vec::new();
    for name in &names {
        match environment::load(&dir, name) {
            Ok(env) => rows.push(json!({
                "name": env.name,
                "description": env.description,
                "account_id": env.aws.account_id,
                "region": env.aws.region,
                "require_approval": env.protection.require_approval,
                "stacks": env.stacks.iter().map(|s| json!({"name": s.name, "depends_on": s.depends_on})).collect::<Vec<_>>(),
            })),
            Err(e) => rows.push(json!({"name": name, "error": e.to_string()})),
        }
    }
    let invalid = rows.iter().any(|r| r.get("error").is_some());
    match global.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"schema_version": super::JSON_SCHEMA_VERSION, "environments": rows})
            )?
        ),
        _ => {
            let width = names.iter().map(|n| n.len()).max().unwrap_or(4).max(4);
            println!(
                "{:width$}  {:12}  {:10}  {:9}  STACKS",
                "NAME", "ACCOUNT", "REGION", "APPROVAL"
            );
            for r in &rows {
                let name = r["name"].as_str().unwrap_or("");
                if let Some(err) = r.get("error") {
                    println!("{name:width$}  INVALID: {}", err.as_str().unwrap_or(""));
                    continue;
                }
                let stacks: Vec<&str> = r["stacks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s["name"].as_str())
                    .collect();
                println!(
                    "{name:width$}  {:12}  {:10}  {:9}  {}",
                    r["account_id"].as_str().unwrap_or(""),
                    r["region"].as_str().unwrap_or(""),
                    if r["require_approval"].as_bool() == Some(true) {
                        "required"
                    } else {
                        "-"
                    },
                    stacks.join(" -> ")
                );
            }
        }
    }
    Ok(if invalid {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}
