//! `terraform version -json`, with a fallback for binaries too old to have it.

pub fn args() -> Vec<String> {
    vec!["version".into(), "-json".into()]
}

/// Reads `{"terraform_version": "1.0.3", ...}`, or the first line of the text
/// form ("Terraform v0.11.14") that old releases print whatever the flags.
pub fn parse(stdout: &str) -> Option<crate::Version> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(stdout) {
        return v
            .get("terraform_version")
            .and_then(|s| s.as_str())
            .and_then(crate::Version::parse);
    }
    let first = stdout.lines().next()?;
    crate::Version::parse(first.trim().strip_prefix("Terraform ")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        assert_eq!(args(), ["version", "-json"]);
    }

    #[test]
    fn parses_json_and_text() {
        assert_eq!(
            parse(r#"{"terraform_version":"1.0.3","platform":"linux_amd64"}"#)
                .unwrap()
                .to_string(),
            "1.0.3"
        );
        assert_eq!(
            parse("Terraform v0.11.14\n\nYour version is out of date")
                .unwrap()
                .to_string(),
            "0.11.14"
        );
        assert!(parse("nonsense").is_none());
    }
}
