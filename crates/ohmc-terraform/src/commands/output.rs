//! `terraform output -json`. Values of sensitive outputs arrive in plaintext;
//! [`OutputValue::display_value`] is the only way this crate hands them out for
//! showing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::plan::REDACTED;
use crate::runner::RunContext;
use crate::{Result, Terraform};

pub fn args() -> Vec<String> {
    vec!["output".into(), "-json".into(), "-no-color".into()]
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutputValue {
    #[serde(default)]
    pub sensitive: bool,
    #[serde(rename = "type", default)]
    pub value_type: Value,
    pub value: Value,
}

impl OutputValue {
    /// The value to show a person: redacted when sensitive unless asked.
    pub fn display_value(&self, show_sensitive: bool) -> Value {
        if self.sensitive && !show_sensitive {
            Value::String(REDACTED.into())
        } else {
            self.value.clone()
        }
    }
}

pub fn parse(stdout: &str) -> Result<BTreeMap<String, OutputValue>> {
    if stdout.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(stdout)
        .map_err(|e| crate::TerraformError::Parse(format!("output JSON: {e}")))
}

impl Terraform {
    pub async fn output(
        &self,
        dir: &Path,
        ctx: &RunContext,
    ) -> Result<BTreeMap<String, OutputValue>> {
        let out = self.run(dir, &args(), ctx).await?;
        if !out.success() {
            return Err(super::failure("output", &out));
        }
        parse(&out.stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        assert_eq!(args(), ["output", "-json", "-no-color"]);
    }

    #[test]
    fn redacts_sensitive_outputs() {
        let outputs = parse(r#"{"pw":{"sensitive":true,"type":"string","value":"hunter2"},"url":{"sensitive":false,"type":"string","value":"https://x"}}"#).unwrap();
        assert_eq!(
            outputs["pw"].display_value(false),
            Value::String(REDACTED.into())
        );
        assert_eq!(
            outputs["pw"].display_value(true),
            Value::String("hunter2".into())
        );
        assert_eq!(
            outputs["url"].display_value(false),
            Value::String("https://x".into())
        );
        assert!(parse("{}\n").unwrap().is_empty());
    }
}
