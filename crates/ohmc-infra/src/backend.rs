//! A stack's backend configuration as `terraform init` sees it: the environment's
//! `backend.hcl` (read with hcl-rs) with the stack's `backend_values` on top, in the
//! order init applies `-backend-config` arguments.
//!
//! The one place that refuses static AWS keys in a backend configuration:
//! [`refuse_static_credentials`]. Credentials for state come from the AWS chain
//! (environment, profile, SSO, instance role); a key written into a file that is
//! committed and copied into every stack's data directory is a leak waiting to happen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::environment::StackSpec;

/// Backend arguments that hold a static credential. Their values are never read
/// into an error or a report.
pub const STATIC_CREDENTIAL_KEYS: &[&str] = &["access_key", "secret_key", "token"];

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("reading {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", .path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{origin}: `{key}` is a static AWS credential in the backend configuration; remove it: credentials for the state come from the AWS chain (environment, profile, SSO, instance role)")]
    StaticCredentials { origin: String, key: String },
    #[error("{origin}: `{key}` must be {expected}")]
    InvalidValue {
        origin: String,
        key: String,
        expected: &'static str,
    },
}

/// One backend argument and where it was set.
#[derive(Debug, Clone)]
struct Setting {
    value: hcl::Value,
    origin: String,
}

/// The merged backend arguments of one stack.
#[derive(Debug, Clone, Default)]
pub struct BackendConfig {
    settings: BTreeMap<String, Setting>,
}

impl BackendConfig {
    /// Reads the stack's backend config file (if any) and applies its
    /// `backend_values` on top.
    pub fn for_stack(stack: &StackSpec) -> Result<Self, BackendError> {
        let mut config = match &stack.backend_config {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        for (key, value) in &stack.backend_values {
            config.settings.insert(
                key.clone(),
                Setting {
                    value: hcl::Value::String(value.clone()),
                    origin: format!("stack \"{}\" backend_values", stack.name),
                },
            );
        }
        Ok(config)
    }

    /// Parses a backend config file (`-backend-config=FILE` syntax: top-level
    /// attributes, and blocks such as `assume_role {}` read as objects).
    pub fn from_file(path: &Path) -> Result<Self, BackendError> {
        let text = std::fs::read_to_string(path).map_err(|source| BackendError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, BackendError> {
        let body: hcl::Body = hcl::parse(text).map_err(|e| BackendError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let lines = attribute_lines(text);
        let origin = |key: &str| match lines.get(key) {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        };
        let mut settings = BTreeMap::new();
        for attr in body.attributes() {
            let key = attr.key().to_string();
            settings.insert(
                key.clone(),
                Setting {
                    value: expression_value(attr.expr()),
                    origin: origin(&key),
                },
            );
        }
        for block in body.blocks() {
            let key = block.identifier().to_string();
            let mut object = hcl::Map::new();
            for attr in block.body().attributes() {
                object.insert(attr.key().to_string(), expression_value(attr.expr()));
            }
            settings.insert(
                key.clone(),
                Setting {
                    value: hcl::Value::Object(object),
                    origin: origin(&key),
                },
            );
        }
        Ok(BackendConfig { settings })
    }

    /// Whether an argument is set at all.
    pub fn contains(&self, key: &str) -> bool {
        self.settings.contains_key(key)
    }

    /// Where an argument was set (`FILE:LINE` or the stack's `backend_values`).
    pub fn origin(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(|s| s.origin.as_str())
    }

    /// A string argument; `None` when unset.
    pub fn string(&self, key: &str) -> Result<Option<String>, BackendError> {
        match self.settings.get(key) {
            None => Ok(None),
            Some(Setting {
                value: hcl::Value::String(s),
                ..
            }) => Ok(Some(s.clone())),
            Some(s) => Err(self.invalid(key, s, "a string")),
        }
    }

    /// A bool argument (`true`, or the string `"true"` as `-backend-config=k=v` gives it).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, BackendError> {
        match self.settings.get(key) {
            None => Ok(None),
            Some(Setting {
                value: hcl::Value::Bool(b),
                ..
            }) => Ok(Some(*b)),
            Some(Setting {
                value: hcl::Value::String(s),
                ..
            }) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(s) => Err(self.invalid(key, s, "true or false")),
        }
    }

    /// A string attribute of a block argument (`assume_role { role_arn = ... }`).
    pub fn block_string(&self, block: &str, key: &str) -> Option<String> {
        match self.settings.get(block).map(|s| &s.value) {
            Some(hcl::Value::Object(o)) => o.get(key).and_then(|v| v.as_str()).map(str::to_string),
            _ => None,
        }
    }

    /// Refuses static credentials, naming where each is set (never its value).
    pub fn check_no_static_credentials(&self) -> Result<(), BackendError> {
        for key in STATIC_CREDENTIAL_KEYS {
            if let Some(s) = self.settings.get(*key) {
                return Err(BackendError::StaticCredentials {
                    origin: s.origin.clone(),
                    key: key.to_string(),
                });
            }
        }
        Ok(())
    }

    fn invalid(&self, key: &str, s: &Setting, expected: &'static str) -> BackendError {
        BackendError::InvalidValue {
            origin: s.origin.clone(),
            key: key.to_string(),
            expected,
        }
    }
}

/// The check `plan`, `apply` and `bootstrap` share: a stack whose backend
/// configuration (file or `backend_values`) holds `access_key`, `secret_key` or
/// `token` is refused before anything runs.
pub fn refuse_static_credentials(stack: &StackSpec) -> Result<(), BackendError> {
    BackendConfig::for_stack(stack)?.check_no_static_credentials()
}

/// The backend type a stack's configuration declares (`backend "s3" {}` → `s3`),
/// from its top-level `.tf` files; `None` when it declares none (Terraform's
/// default local backend).
pub fn backend_type(stack_dir: &Path) -> Option<String> {
    let mut backend = None;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(stack_dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("tf"))
        .collect();
    // Override files (`*_override.tf`) replace the backend block: read them last.
    paths.sort_by_key(|p| {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        (stem == "override" || stem.ends_with("_override"), p.clone())
    });
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pos) = text.find("backend \"") {
            let rest = &text[pos + 9..];
            backend = rest.split('"').next().map(str::to_string);
        }
    }
    backend
}

/// A literal's value; anything else (a function call, a reference) becomes its
/// source text, which init would reject anyway.
fn expression_value(expr: &hcl::Expression) -> hcl::Value {
    hcl::Value::from(expr.clone())
}

/// Top-level attribute and block names → line numbers, from hcl-edit's spans.
fn attribute_lines(text: &str) -> BTreeMap<String, usize> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let mut out = BTreeMap::new();
    if let Ok(body) = hcl::edit::parser::parse_body(text) {
        use hcl::edit::Span;
        for structure in body.iter() {
            if let Some(attr) = structure.as_attribute() {
                if let Some(span) = attr.span() {
                    out.insert(attr.key.as_str().to_string(), line_of(span.start));
                }
            } else if let Some(block) = structure.as_block() {
                if let Some(span) = block.span() {
                    out.insert(block.ident.as_str().to_string(), line_of(span.start));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> BackendConfig {
        BackendConfig::parse(Path::new("backend.hcl"), text).unwrap()
    }

    #[test]
    fn reads_strings_bools_and_blocks() {
        let c = parse(
            "bucket = \"b\"\nencrypt = true\nuse_lockfile = \"true\"\nassume_role {\n  role_arn = \"arn:aws:iam::1:role/x\"\n}\n",
        );
        assert_eq!(c.string("bucket").unwrap().as_deref(), Some("b"));
        assert_eq!(c.bool("encrypt").unwrap(), Some(true));
        assert_eq!(c.bool("use_lockfile").unwrap(), Some(true));
        assert_eq!(
            c.block_string("assume_role", "role_arn").as_deref(),
            Some("arn:aws:iam::1:role/x")
        );
        assert!(c.string("kms_key_id").unwrap().is_none());
        let err = c.string("encrypt").unwrap_err().to_string();
        assert_eq!(err, "backend.hcl:2: `encrypt` must be a string");
    }

    #[test]
    fn static_keys_are_refused_with_their_line_and_never_their_value() {
        let c = parse("bucket = \"b\"\n\nsecret_key = \"VERYSECRET\"\n");
        let err = c.check_no_static_credentials().unwrap_err().to_string();
        assert!(
            err.starts_with("backend.hcl:3: `secret_key` is a static AWS credential"),
            "{err}"
        );
        assert!(!err.contains("VERYSECRET"), "{err}");
        assert!(parse("bucket = \"b\"\n")
            .check_no_static_credentials()
            .is_ok());
    }

    #[test]
    fn backend_values_override_the_file_and_are_checked_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backend.hcl");
        std::fs::write(&file, "bucket = \"from-file\"\n").unwrap();
        let stack = StackSpec {
            name: "net".into(),
            dir: dir.path().to_path_buf(),
            backend_config: Some(file),
            backend_values: vec![
                ("bucket".into(), "from-values".into()),
                ("access_key".into(), "AKIAEXAMPLE".into()),
            ],
            var_files: vec![],
            depends_on: vec![],
        };
        let c = BackendConfig::for_stack(&stack).unwrap();
        assert_eq!(c.string("bucket").unwrap().as_deref(), Some("from-values"));
        let err = refuse_static_credentials(&stack).unwrap_err().to_string();
        assert!(
            err.starts_with("stack \"net\" backend_values: `access_key`"),
            "{err}"
        );
        assert!(!err.contains("AKIAEXAMPLE"), "{err}");
    }

    #[test]
    fn backend_type_reads_the_block_and_honours_override_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("versions.tf"),
            "terraform {\n  backend \"s3\" {}\n}\n",
        )
        .unwrap();
        assert_eq!(backend_type(dir.path()).as_deref(), Some("s3"));
        std::fs::write(
            dir.path().join("backend_override.tf"),
            "terraform {\n  backend \"local\" {}\n}\n",
        )
        .unwrap();
        assert_eq!(backend_type(dir.path()).as_deref(), Some("local"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(backend_type(empty.path()), None);
    }
}
