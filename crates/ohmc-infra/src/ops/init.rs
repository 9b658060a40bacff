//! `terraform init` for one stack of one environment, run only when its inputs
//! changed, and never silently onto another backend.
//!
//! Every init runs with `-reconfigure` (the data dir is ours, and Terraform's
//! interactive migration prompt cannot run in automation). On its own that
//! would let a changed bucket, key or path start from an empty state without a
//! word. So the backend the data dir was initialised with (Terraform's own
//! record, `<data dir>/terraform.tfstate`) is compared with the one init just
//! configured; when the state's location moved, the old record is put back and
//! the run is refused with the way to migrate.
//!
//! The "inputs" that decide whether init runs again include the Terraform CLI
//! config and the provider packages its filesystem mirrors hold: a rebuilt
//! mirror must re-install into the data dir, not leave a stale cached copy that
//! Terraform later rejects ("cached package ... does not match").

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use ohmc_terraform::commands::init::InitOptions;

use super::{OpsContext, OpsError};
use crate::environment::{Environment, StackSpec};
use crate::private_fs;

/// Terraform's record, inside a data dir, of the backend it was initialised with.
const BACKEND_RECORD: &str = "terraform.tfstate";
/// Our record of the inputs the data dir was last initialised with.
const INIT_MARKER: &str = "ohmc-init.sha256";

/// Backend settings that say *where* the state lives. Credentials, endpoints,
/// lock tables and retry settings may change freely; these may not.
const LOCATION_KEYS: &[&str] = &[
    "path",
    "workspace_dir",
    "bucket",
    "key",
    "region",
    "workspace_key_prefix",
    "prefix",
    "container_name",
    "storage_account_name",
    "resource_group_name",
    "organization",
    "hostname",
    "workspaces",
    "address",
    "schema_name",
];

/// Where a stack's state lives, as far as a backend change matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendLocation {
    pub kind: String,
    pub settings: BTreeMap<String, String>,
}

impl fmt::Display for BackendLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.settings.is_empty() {
            let parts: Vec<String> = self
                .settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

impl BackendLocation {
    /// Reads the backend part of Terraform's data-dir record
    /// (`{"backend": {"type": "s3", "config": {...}}}`).
    pub fn from_record(record: &serde_json::Value) -> Option<BackendLocation> {
        let backend = record.get("backend")?;
        let kind = backend.get("type")?.as_str()?.to_string();
        let config = backend.get("config").and_then(|c| c.as_object());
        let mut settings = BTreeMap::new();
        for key in LOCATION_KEYS {
            let value = match config.and_then(|c| c.get(*key)) {
                None | Some(serde_json::Value::Null) => continue,
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            settings.insert(key.to_string(), value);
        }
        if kind == "local" {
            // Unset and the default are the same file.
            settings
                .entry("path".into())
                .or_insert_with(|| "terraform.tfstate".into());
        }
        Some(BackendLocation { kind, settings })
    }
}

fn read_record(data_dir: &Path) -> Result<Option<(Vec<u8>, BackendLocation)>, OpsError> {
    let path = data_dir.join(BACKEND_RECORD);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OpsError::Io { path, source }),
    };
    let location = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| BackendLocation::from_record(&v));
    Ok(location.map(|l| (bytes, l)))
}

/// A Terraform command a person can paste as written: in the stack, with the
/// tool's data dir and CLI config, since the working directory's own
/// `.terraform` is not where ohmc-infra initialised the backend.
pub(crate) fn terraform_command_line(
    ctx: &OpsContext,
    data_dir: &Path,
    stack: &StackSpec,
    args: &[String],
) -> String {
    format!(
        "cd {} && TF_DATA_DIR={} TF_CLI_CONFIG_FILE={} {} {}",
        shell_word(&stack.dir.display().to_string()),
        shell_word(&data_dir.display().to_string()),
        shell_word(&ctx.terraform.cli_config_file().display().to_string()),
        shell_word(&ctx.terraform.path().display().to_string()),
        args.iter()
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// `word` quoted for a POSIX shell when it holds anything but plain path
/// characters.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:@+,%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Backend settings whose values must not be echoed into a hint.
fn is_secret_setting(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "access_key",
        "conn_str",
        "sas",
        "credentials",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// The exact command that moves the state from the recorded backend to the
/// configured one, in the tool's own data dir.
fn migrate_command(
    ctx: &OpsContext,
    data_dir: &Path,
    stack: &StackSpec,
    opts: &InitOptions,
) -> String {
    let mut args = vec![
        "init".to_string(),
        "-input=false".into(),
        "-migrate-state".into(),
        "-force-copy".into(),
    ];
    args.extend(
        opts.backend_config_files
            .iter()
            .map(|f| format!("-backend-config={}", f.display())),
    );
    args.extend(opts.backend_values.iter().map(|(k, v)| {
        if is_secret_setting(k) {
            format!("-backend-config={k}=<{k}>")
        } else {
            format!("-backend-config={k}={v}")
        }
    }));
    terraform_command_line(ctx, data_dir, stack, &args)
}

/// Directories a Terraform CLI config installs providers from:
/// `filesystem_mirror { path }` and the targets of `dev_overrides`.
pub fn provider_dirs(cli_config: &str) -> Vec<PathBuf> {
    let Ok(body) = hcl::parse(cli_config) else {
        // Terraform reads its CLI config as HCL 1, which allows what HCL 2
        // does not (quoted keys in dev_overrides): then every `path = "..."`
        // line is taken, which over-includes at worst.
        return cli_config
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("path")?.trim_start();
                let value = rest.strip_prefix('=')?.trim();
                Some(PathBuf::from(value.strip_prefix('"')?.strip_suffix('"')?))
            })
            .collect();
    };
    let mut dirs = Vec::new();
    for install in body
        .blocks()
        .filter(|b| b.identifier.as_str() == "provider_installation")
    {
        for method in install.body.blocks() {
            match method.identifier.as_str() {
                "filesystem_mirror" => {
                    for a in method.body.attributes() {
                        if let ("path", hcl::Expression::String(p)) = (a.key.as_str(), &a.expr) {
                            dirs.push(PathBuf::from(p));
                        }
                    }
                }
                "dev_overrides" => {
                    for a in method.body.attributes() {
                        if let hcl::Expression::String(p) = &a.expr {
                            dirs.push(PathBuf::from(p));
                        }
                    }
                }
                _ => {}
            }
        }
        for a in install.body.attributes() {
            if let hcl::Expression::Object(overrides) = &a.expr {
                for v in overrides.values() {
                    if let hcl::Expression::String(p) = v {
                        dirs.push(PathBuf::from(p));
                    }
                }
            }
        }
    }
    dirs
}

/// One line per file under `dirs`: path, size, modification time and inode.
/// A rebuilt or replaced provider binary changes at least one of them; the
/// stamps are taken instead of the content because a debug provider binary is
/// tens of megabytes and this runs before every command. (Whether the package
/// is the one the lock file allows is Terraform's check, made by init itself.)
fn provider_stamps(dirs: &[PathBuf]) -> String {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Follows symlinks: a mirror entry may link to a build output.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                walk(&path, out);
            } else {
                out.push(format!(
                    "{}\t{}\t{}.{}\t{}",
                    path.display(),
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.ino()
                ));
            }
        }
    }
    let mut stamps = Vec::new();
    for dir in dirs {
        walk(dir, &mut stamps);
    }
    stamps.sort();
    stamps.join("\n")
}

impl OpsContext {
    /// Runs `init` unless this data dir was already initialised with exactly
    /// these arguments, this configuration and lock file, this CLI config and
    /// these provider packages. Refuses a backend whose location changed.
    pub async fn ensure_init(&self, env: &Environment, stack: &StackSpec) -> Result<(), OpsError> {
        // A backend config holding static keys would be copied into the data
        // dir; credentials come from the AWS chain.
        crate::backend::refuse_static_credentials(stack)?;
        self.check_state_dir(env)?;
        let data_dir = self.data_dir(&env.name, &stack.name);
        private_fs::create_private_dir(&data_dir).map_err(|source| OpsError::Io {
            path: data_dir.clone(),
            source,
        })?;
        let opts = InitOptions {
            backend_config_files: stack.backend_config.iter().cloned().collect(),
            backend_values: stack.backend_values.clone(),
            reconfigure: true,
            // Terraform 1.0.3's init rejects -lock-timeout (usage error); init
            // takes no state lock with a fresh data dir anyway.
            lock_timeout: None,
        };
        // Terraform's first init writes `.terraform.lock.hcl` into the stack,
        // which the fingerprint covers: the marker records the fingerprint as
        // init left things, or the next command would init again for nothing.
        let fingerprint = || {
            let cli_config =
                std::fs::read_to_string(self.terraform.cli_config_file()).unwrap_or_default();
            let mut fingerprint = opts.args().join("\n");
            for part in [
                stack
                    .backend_config
                    .as_ref()
                    .map(|f| std::fs::read_to_string(f).unwrap_or_default())
                    .unwrap_or_default(),
                std::fs::read_to_string(stack.dir.join(".terraform.lock.hcl")).unwrap_or_default(),
                crate::bundle::config_sha256(&stack.dir).unwrap_or_default(),
                self.terraform.cli_config_file().display().to_string(),
                cli_config.clone(),
                provider_stamps(&provider_dirs(&cli_config)),
            ] {
                fingerprint.push('\0');
                fingerprint.push_str(&part);
            }
            crate::bundle::sha256_bytes(fingerprint.as_bytes())
        };
        let marker = data_dir.join(INIT_MARKER);
        if std::fs::read_to_string(&marker).ok() == Some(fingerprint()) {
            return Ok(());
        }
        let before = read_record(&data_dir)?;
        let ctx = self.run_context(&env.name, stack);
        self.terraform
            .init(&stack.dir, &opts, &ctx)
            .await
            .map_err(|source| self.terraform_error(&env.name, stack, source))?;
        if let Some((old_bytes, old)) = before {
            let now = read_record(&data_dir)?.map(|(_, l)| l);
            if now.as_ref() != Some(&old) {
                // Point the data dir back at the state it was using, so nothing
                // (this run or the next) reads or writes the new location.
                let record = data_dir.join(BACKEND_RECORD);
                private_fs::write_private_file(&record, &old_bytes).map_err(|source| {
                    OpsError::Io {
                        path: record,
                        source,
                    }
                })?;
                return Err(OpsError::BackendChanged {
                    env: env.name.clone(),
                    stack: stack.name.clone(),
                    old: old.to_string(),
                    new: now.map(|l| l.to_string()).unwrap_or_else(|| "none".into()),
                    migrate: migrate_command(self, &data_dir, stack, &opts),
                    data_dir: data_dir.clone(),
                });
            }
        }
        private_fs::write_private_file(&marker, fingerprint().as_bytes()).map_err(|source| {
            OpsError::Io {
                path: marker,
                source,
            }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_ignores_credentials_and_endpoints() {
        let a = serde_json::json!({"backend": {"type": "s3", "config": {
            "bucket": "b", "key": "k", "region": "us-east-1",
            "endpoint": "http://127.0.0.1:1", "secret_key": "CANARY-x", "dynamodb_table": null}}});
        let b = serde_json::json!({"backend": {"type": "s3", "config": {
            "bucket": "b", "key": "k", "region": "us-east-1",
            "endpoint": "http://127.0.0.1:2", "secret_key": "other"}}});
        let a = BackendLocation::from_record(&a).unwrap();
        assert_eq!(a, BackendLocation::from_record(&b).unwrap());
        assert_eq!(a.to_string(), "s3 (bucket=b, key=k, region=us-east-1)");
        let moved = serde_json::json!({"backend": {"type": "s3", "config": {
            "bucket": "b", "key": "k2", "region": "us-east-1"}}});
        assert_ne!(a, BackendLocation::from_record(&moved).unwrap());
    }

    #[test]
    fn local_default_path_is_terraform_tfstate() {
        let unset = serde_json::json!({"backend": {"type": "local", "config": {"path": null, "workspace_dir": null}}});
        let explicit = serde_json::json!({"backend": {"type": "local", "config": {"path": "terraform.tfstate"}}});
        assert_eq!(
            BackendLocation::from_record(&unset),
            BackendLocation::from_record(&explicit)
        );
        assert_eq!(
            BackendLocation::from_record(&unset).unwrap().to_string(),
            "local (path=terraform.tfstate)"
        );
    }

    #[test]
    fn provider_dirs_from_cli_config() {
        let text = r#"
provider_installation {
  filesystem_mirror {
    path    = "/m/one"
    include = ["registry.terraform.io/ohmc/*"]
  }
  direct {
    exclude = ["registry.terraform.io/ohmc/*"]
  }
}
"#;
        assert_eq!(provider_dirs(text), [PathBuf::from("/m/one")]);
        let hcl1 = text.replace(
            "  direct {",
            "  dev_overrides {\n    \"ohmc/dev\" = \"/m/dev\"\n  }\n  direct {",
        );
        assert_eq!(provider_dirs(&hcl1), [PathBuf::from("/m/one")]);
        assert!(provider_dirs("# empty").is_empty());
    }

    #[test]
    fn stamps_change_when_a_provider_binary_is_rebuilt() {
        let tmp = tempfile::tempdir().unwrap();
        let pkg = tmp
            .path()
            .join("registry.terraform.io/ohmc/ohmctest/0.1.0/linux_amd64");
        std::fs::create_dir_all(&pkg).unwrap();
        let bin = pkg.join("terraform-provider-ohmctest_v0.1.0");
        std::fs::write(&bin, "build 1").unwrap();
        let dirs = [tmp.path().to_path_buf()];
        let first = provider_stamps(&dirs);
        assert!(
            first.contains("terraform-provider-ohmctest_v0.1.0"),
            "{first}"
        );
        assert_eq!(provider_stamps(&dirs), first);
        // A rebuild installs a new file (new inode), as `install` does.
        std::fs::remove_file(&bin).unwrap();
        std::fs::write(&bin, "build 2").unwrap();
        assert_ne!(provider_stamps(&dirs), first);
    }

    #[test]
    fn secret_backend_values_stay_out_of_the_hint() {
        assert!(is_secret_setting("secret_key"));
        assert!(is_secret_setting("access_key"));
        assert!(is_secret_setting("token"));
        assert!(!is_secret_setting("key"));
        assert!(!is_secret_setting("bucket"));
    }
}
