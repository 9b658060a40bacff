//! What a stack's secrets are, known before Terraform runs: the variables its
//! configuration declares `sensitive`, and their values from the stack's var
//! files and `TF_VAR_*`. The [`Scrubber`] built from them cleans every line
//! Terraform prints for that stack, including errors about the var files
//! themselves (where Terraform quotes the offending line).
//!
//! Var files are read line by line as well as parsed: a file with a syntax
//! error cannot be parsed, yet its secret must still be found.

use std::path::Path;

use ohmc_terraform::scrub::Scrubber;

use crate::environment::StackSpec;

/// Backend config arguments whose values are credentials, across backends.
const BACKEND_SECRET_KEYS: &[&str] = &[
    "access_key",
    "secret_key",
    "token",
    "password",
    "client_secret",
    "sas_token",
    "access_token",
    "conn_str",
];

/// The scrubber for one stack, from its configuration, its var files, the
/// process environment and, for a local backend, the secrets its state holds
/// (a remote state is read only where the plan needs it).
pub fn scrubber_for(stack: &StackSpec) -> Scrubber {
    let mut scrubber = scrubber_from(stack, std::env::vars());
    if let Some(state) = crate::ops::local_state_file(stack) {
        if let Ok(bytes) = std::fs::read(state) {
            scrubber.add_secrets(state_secrets(&bytes));
        }
    }
    scrubber
}

/// [`scrubber_for`] with the environment given (tests).
pub fn scrubber_from(stack: &StackSpec, env: impl Iterator<Item = (String, String)>) -> Scrubber {
    let names = sensitive_variables(&stack.dir);
    let mut secrets = Vec::new();
    for file in &stack.var_files {
        if let Ok(text) = std::fs::read_to_string(file) {
            secrets.extend(values_assigned(&text, &names));
        }
    }
    // Backend arguments that name a credential (refused for S3, but other
    // backends take them) are secrets too.
    if let Some(backend) = &stack.backend_config {
        if let Ok(text) = std::fs::read_to_string(backend) {
            let keys: Vec<String> = BACKEND_SECRET_KEYS.iter().map(|k| k.to_string()).collect();
            secrets.extend(values_assigned(&text, &keys));
        }
    }
    for (key, value) in env {
        if let Some(name) = key.strip_prefix("TF_VAR_") {
            if names.iter().any(|n| n == name) {
                // A string variable takes the text as it is; others parse it.
                secrets.extend(leaf_strings(&value));
                secrets.push(value);
            }
        }
    }
    Scrubber::new(secrets, names)
}

/// Every sensitive value a state holds: sensitive outputs, and attributes
/// Terraform marked sensitive (`sensitive_attributes`), such as a name that
/// interpolates a sensitive variable. An object's id often embeds such a
/// value, and the id is printed on every refresh.
pub fn state_secrets(state: &[u8]) -> Vec<String> {
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(state) else {
        return Vec::new();
    };
    let mut secrets = Vec::new();
    if let Some(outputs) = state["outputs"].as_object() {
        for output in outputs.values() {
            if output["sensitive"] == serde_json::Value::Bool(true) {
                collect_strings(&output["value"], &mut secrets);
            }
        }
    }
    let instances = state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["instances"].as_array().into_iter().flatten());
    for instance in instances {
        for path in instance["sensitive_attributes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let mut value = &instance["attributes"];
            for step in path.as_array().into_iter().flatten() {
                // An index step holds a typed cty value: {"value": 1, "type": "number"}.
                let key = match &step["value"] {
                    serde_json::Value::Object(typed) => {
                        typed.get("value").unwrap_or(&serde_json::Value::Null)
                    }
                    other => other,
                };
                value = match key {
                    serde_json::Value::String(key) => &value[key.as_str()],
                    serde_json::Value::Number(n) => &value[n.as_u64().unwrap_or(0) as usize],
                    _ => &serde_json::Value::Null,
                };
            }
            collect_strings(value, &mut secrets);
        }
    }
    secrets
}

/// Names of the variables declared `sensitive = true` in a stack's `.tf` files.
pub fn sensitive_variables(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return names;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("tf") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match hcl::parse(&text) {
            Ok(body) => {
                for block in body.blocks().filter(|b| b.identifier() == "variable") {
                    let sensitive = block.body().attributes().any(|a| {
                        a.key() == "sensitive" && matches!(a.expr(), hcl::Expression::Bool(true))
                    });
                    if let (true, Some(label)) = (sensitive, block.labels().first()) {
                        names.push(label.as_str().to_string());
                    }
                }
            }
            // A stack Terraform cannot parse either fails before any value
            // is read; the var files' lines are still masked by name below
            // for the variables found in the other files.
            Err(_) => continue,
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The values a var file assigns to `names`, from each `name = value` line
/// (whatever the value's syntax: quoted, a list, unterminated), plus every
/// string inside a value that parses.
fn values_assigned(text: &str, names: &[String]) -> Vec<String> {
    let mut values = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        for name in names {
            let Some(rest) = trimmed.strip_prefix(name.as_str()) else {
                continue;
            };
            let Some(value) = rest.trim_start().strip_prefix('=') else {
                continue;
            };
            let value = value.trim();
            values.extend(leaf_strings(value));
            // Unparseable: the raw text between quotes is the likely secret.
            for part in value.split('"').skip(1).step_by(2) {
                values.push(part.to_string());
            }
            if let Some(open) = value.strip_prefix('"') {
                // An unterminated string runs to the end of the line.
                values.push(open.trim_end_matches('"').to_string());
            }
        }
    }
    if let Ok(parsed) = hcl::from_str::<serde_json::Value>(text) {
        for name in names {
            if let Some(v) = parsed.get(name) {
                collect_strings(v, &mut values);
            }
        }
    }
    values.retain(|v| !v.trim().is_empty());
    values
}

/// Every string (and number) inside an HCL or JSON value's text, or the text
/// itself when it is neither.
fn leaf_strings(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    match hcl::from_str::<serde_json::Value>(&format!("v = {value}")) {
        Ok(parsed) => collect_strings(&parsed["v"], &mut out),
        Err(_) => out.push(value.trim().trim_matches('"').to_string()),
    }
    out
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sensitive_values_out_of_a_state() {
        let state = br#"{"version":4,"outputs":{"pw":{"value":"CANARY-out","sensitive":true},"r":{"value":"us-east-1"}},
          "resources":[{"instances":[{"attributes":{"id":"leaky-CANARY-name-1234","name":"leaky-CANARY-name","tags":["a","CANARY-tag"]},
          "sensitive_attributes":[[{"type":"get_attr","value":"name"}],[{"type":"get_attr","value":"tags"},{"type":"index","value":{"value":1,"type":"number"}}]]}]}]}"#;
        let mut found = state_secrets(state);
        found.sort();
        assert_eq!(found, ["CANARY-out", "CANARY-tag", "leaky-CANARY-name"]);
    }

    fn stack(dir: &Path, var_files: Vec<std::path::PathBuf>) -> StackSpec {
        StackSpec {
            name: "app".into(),
            dir: dir.to_path_buf(),
            backend_config: None,
            backend_values: Vec::new(),
            var_files,
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn finds_secrets_in_good_and_broken_var_files_and_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            "variable \"db_password\" {\n  sensitive = true\n}\nvariable \"region\" {}\n",
        )
        .unwrap();
        let good = dir.path().join("good.tfvars");
        std::fs::write(
            &good,
            "region = \"us-east-1\"\ndb_password = \"CANARY-one\"\n",
        )
        .unwrap();
        let typed = dir.path().join("typed.tfvars");
        std::fs::write(&typed, "db_password = [\"CANARY-two\"]\n").unwrap();
        let broken = dir.path().join("broken.tfvars");
        std::fs::write(&broken, "db_password = \"CANARY-three\nregion = 1\n").unwrap();
        let scrubber = scrubber_from(
            &stack(dir.path(), vec![good, typed, broken]),
            vec![("TF_VAR_db_password".to_string(), "CANARY-four".to_string())].into_iter(),
        );
        let text = scrubber
            .scrub_text("a CANARY-one b CANARY-two c CANARY-three d CANARY-four e us-east-1");
        assert_eq!(
            text,
            "a (sensitive) b (sensitive) c (sensitive) d (sensitive) e us-east-1"
        );
    }
}
