//! `terraform version`: which implementation and release a binary is.
//!
//! The text form's first line names both ("Terraform v1.15.5", "OpenTofu
//! v1.8.0"); `version -json` names only a number, under a `terraform_version`
//! key that forks keep for compatibility. Features differ between
//! implementations at the same number, so the name matters as much as the
//! number, and a binary's file name says neither.

use crate::binary::Implementation;

pub fn args() -> Vec<String> {
    vec!["version".into()]
}

/// Reads "Terraform v1.0.3" or "OpenTofu v1.8.0" from the first line.
pub fn parse(stdout: &str) -> Option<(Implementation, crate::Version)> {
    let first = stdout.lines().next()?.trim();
    let (name, version) = first.rsplit_once(' ')?;
    let version = crate::Version::parse(version.strip_prefix('v')?)?;
    let implementation = match name {
        "Terraform" => Implementation::Terraform,
        "OpenTofu" => Implementation::OpenTofu,
        other => Implementation::Other(other.to_string()),
    };
    Some((implementation, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_args() {
        assert_eq!(args(), ["version"]);
    }

    #[test]
    fn parses_implementation_and_version() {
        let (implementation, version) = parse("Terraform v1.15.5\non linux_amd64\n").unwrap();
        assert_eq!(implementation, Implementation::Terraform);
        assert_eq!(version.to_string(), "1.15.5");
        let (implementation, version) =
            parse("Terraform v0.11.14\n\nYour version is out of date").unwrap();
        assert_eq!(implementation, Implementation::Terraform);
        assert_eq!(version.to_string(), "0.11.14");
        let (implementation, version) = parse("OpenTofu v1.8.0\non linux_amd64").unwrap();
        assert_eq!(implementation, Implementation::OpenTofu);
        assert_eq!(version.to_string(), "1.8.0");
        assert_eq!(
            parse("Acme IaC v1.2.3").unwrap().0,
            Implementation::Other("Acme IaC".into())
        );
        assert!(parse("nonsense").is_none());
        assert!(parse(r#"{"terraform_version":"1.0.3"}"#).is_none());
    }
}
