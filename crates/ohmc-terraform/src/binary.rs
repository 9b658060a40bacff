//! Finding the `terraform` executable, detecting its version and deciding which
//! features this wrapper may use with it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::TerraformError;
use crate::Result;

/// The oldest Terraform this wrapper drives: `plan -json` streaming and
/// `-refresh-only` arrived in 0.15, saved-plan JSON format 0.2 in 0.15.
pub const MINIMUM_VERSION: Version = Version {
    major: 1,
    minor: 0,
    patch: 0,
};
/// Terraform promises compatibility within major version 1.
pub const MAXIMUM_VERSION_EXCLUSIVE: Version = Version {
    major: 2,
    minor: 0,
    patch: 0,
};

/// Ambient variables that inject arguments into every Terraform command.
const AMBIENT_ARG_VARIABLES: &str = "TF_CLI_ARGS";

/// A Terraform release version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    /// Parses "1.0.3", "v1.0.3" or "1.6.0-beta1".
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches('v');
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>());
        Some(Version {
            major: parts.next()?.ok()?,
            minor: parts.next()?.ok()?,
            patch: parts.next().unwrap_or(Ok(0)).ok()?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Which program a `terraform`-compatible binary is. Forks share version
/// numbers but not features or file layouts, so the gate uses both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Implementation {
    Terraform,
    OpenTofu,
    /// A binary that speaks the same CLI under another name.
    Other(String),
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Implementation::Terraform => f.write_str("Terraform"),
            Implementation::OpenTofu => f.write_str("OpenTofu"),
            Implementation::Other(name) => f.write_str(name),
        }
    }
}

/// What the detected Terraform supports, so callers never pass a flag the
/// binary would reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `init -json` (1.9+); before that init is driven in text mode.
    pub init_json: bool,
    /// `plan -refresh-only` (0.15.4+).
    pub refresh_only: bool,
    /// `plan/apply -json` streaming UI (0.15.3+).
    pub json_ui: bool,
    /// Saved plan files this crate reads itself (HashiCorp's releases whose
    /// layout was pinned); anything else goes through `show -json`.
    pub direct_plan_file: bool,
    /// `import` blocks (Terraform 1.5+, OpenTofu 1.6+).
    pub import_blocks: bool,
}

impl Features {
    pub fn for_binary(implementation: &Implementation, v: Version) -> Features {
        let at_least = |major, minor| {
            v >= Version {
                major,
                minor,
                patch: 0,
            }
        };
        let mut features = Features::for_version(v);
        match implementation {
            Implementation::Terraform => {}
            // OpenTofu forked from 1.5/1.6: its 1.6 has what Terraform 1.6 has,
            // and its plan files are its own.
            Implementation::OpenTofu => {
                features.direct_plan_file = false;
                features.import_blocks = at_least(1, 6);
            }
            // Unknown forks get only what every 1.x has.
            Implementation::Other(_) => {
                features.direct_plan_file = false;
                features.import_blocks = false;
                features.init_json = false;
            }
        }
        features
    }

    /// HashiCorp Terraform's features at release `v`.
    pub fn for_version(v: Version) -> Features {
        let at_least = |major, minor, patch| {
            v >= Version {
                major,
                minor,
                patch,
            }
        };
        Features {
            init_json: at_least(1, 9, 0),
            refresh_only: at_least(0, 15, 4),
            json_ui: at_least(0, 15, 3),
            direct_plan_file: true,
            import_blocks: at_least(1, 5, 0),
        }
    }
}

/// How to find and drive Terraform.
#[derive(Debug, Clone)]
pub struct TerraformConfig {
    /// An explicit binary; when set nothing else is searched.
    pub binary: Option<PathBuf>,
    /// Directories searched before `PATH` (the project's pinned tools dir).
    pub search_dirs: Vec<PathBuf>,
    /// The CLI config file every run gets as `TF_CLI_CONFIG_FILE`.
    pub cli_config_file: PathBuf,
    /// How long to wait after the one SIGINT before escalating.
    pub grace_period: Duration,
    /// A file remembering the detected version per binary (path, size,
    /// modification time). Running `terraform version` costs a process start on
    /// every command; the binary rarely changes.
    pub version_cache: Option<PathBuf>,
}

/// A detected, supported Terraform binary.
#[derive(Debug, Clone)]
pub struct Terraform {
    pub(crate) path: PathBuf,
    pub(crate) implementation: Implementation,
    pub(crate) version: Version,
    pub(crate) cli_config_file: PathBuf,
    pub(crate) grace_period: Duration,
}

impl Terraform {
    /// Finds the binary, refuses ambient `TF_CLI_ARGS*`, and checks the version.
    pub async fn discover(config: TerraformConfig) -> Result<Terraform> {
        refuse_ambient_cli_args(std::env::vars())?;
        let path = find_binary(&config)?;
        let fingerprint = binary_fingerprint(&path);
        let cached = config
            .version_cache
            .as_deref()
            .and_then(|c| read_cached_version(c, &fingerprint));
        let (implementation, version) = match cached {
            Some(found) => found,
            None => {
                let (implementation, v) = detect_version(&path).await?;
                if let Some(cache) = &config.version_cache {
                    // A cache that cannot be written only costs speed.
                    let _ =
                        std::fs::write(cache, format!("{fingerprint}\n{v}\n{implementation}\n"));
                }
                (implementation, v)
            }
        };
        if version < MINIMUM_VERSION || version >= MAXIMUM_VERSION_EXCLUSIVE {
            return Err(TerraformError::VersionUnsupported {
                path,
                found: version.to_string(),
                minimum: MINIMUM_VERSION.to_string(),
                maximum: MAXIMUM_VERSION_EXCLUSIVE.to_string(),
            });
        }
        Ok(Terraform {
            path,
            implementation,
            version,
            cli_config_file: config.cli_config_file,
            grace_period: config.grace_period,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn implementation(&self) -> &Implementation {
        &self.implementation
    }

    pub fn features(&self) -> Features {
        Features::for_binary(&self.implementation, self.version)
    }

    pub fn grace_period(&self) -> Duration {
        self.grace_period
    }

    /// The CLI config file every run gets as `TF_CLI_CONFIG_FILE`.
    pub fn cli_config_file(&self) -> &Path {
        &self.cli_config_file
    }
}

/// `TF_CLI_ARGS` and `TF_CLI_ARGS_<command>` silently add flags (say
/// `-auto-approve` or `-lock=false`) to the commands this tool builds.
pub fn refuse_ambient_cli_args(vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    for (name, value) in vars {
        if (name == AMBIENT_ARG_VARIABLES || name.starts_with("TF_CLI_ARGS_"))
            && !value.trim().is_empty()
        {
            return Err(TerraformError::AmbientCliArgs { name, value });
        }
    }
    Ok(())
}

fn find_binary(config: &TerraformConfig) -> Result<PathBuf> {
    if let Some(binary) = &config.binary {
        return if binary.is_file() {
            Ok(binary.clone())
        } else {
            Err(TerraformError::NotFound {
                searched: binary.display().to_string(),
            })
        };
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    // OpenTofu installs itself as `tofu`; Terraform is preferred in each dir.
    let candidates: Vec<PathBuf> = config
        .search_dirs
        .iter()
        .chain(path_dirs.iter())
        .flat_map(|d| [d.join("terraform"), d.join("tofu")])
        .collect();
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .ok_or_else(|| TerraformError::NotFound {
            searched: candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn binary_fingerprint(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!(
            "{} {} {}.{}",
            path.display(),
            m.len(),
            m.mtime(),
            m.mtime_nsec()
        ),
        Err(_) => String::new(),
    }
}

fn read_cached_version(cache: &Path, fingerprint: &str) -> Option<(Implementation, Version)> {
    if fingerprint.is_empty() {
        return None;
    }
    let text = std::fs::read_to_string(cache).ok()?;
    let mut lines = text.lines();
    (lines.next()? == fingerprint).then_some(())?;
    let version = Version::parse(lines.next()?)?;
    // A cache written before the implementation was recorded is re-detected.
    let (implementation, _) =
        crate::commands::version::parse(&format!("{} v{version}", lines.next()?))?;
    Some((implementation, version))
}

async fn detect_version(path: &Path) -> Result<(Implementation, Version)> {
    let output = tokio::process::Command::new(path)
        .args(crate::commands::version::args())
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG")
        .stdin(std::process::Stdio::null())
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    crate::commands::version::parse(&stdout).ok_or_else(|| {
        TerraformError::Parse(format!(
            "`{} version` printed no version: {}",
            path.display(),
            stdout.trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            Version::parse("1.0.3"),
            Some(Version {
                major: 1,
                minor: 0,
                patch: 3
            })
        );
        assert_eq!(
            Version::parse("v0.12.31"),
            Some(Version {
                major: 0,
                minor: 12,
                patch: 31
            })
        );
        assert_eq!(
            Version::parse("1.6.0-beta1"),
            Some(Version {
                major: 1,
                minor: 6,
                patch: 0
            })
        );
        assert_eq!(Version::parse("garbage"), None);
    }

    #[test]
    fn gates_features_on_version() {
        let v103 = Features::for_version(Version::parse("1.0.3").unwrap());
        assert!(v103.json_ui && v103.refresh_only && !v103.init_json);
        assert!(Features::for_version(Version::parse("1.9.0").unwrap()).init_json);
        let v1155 = Version::parse("1.15.5").unwrap();
        assert!(Features::for_binary(&Implementation::Terraform, v1155).direct_plan_file);
        let tofu = Features::for_binary(&Implementation::OpenTofu, v1155);
        assert!(!tofu.direct_plan_file && tofu.import_blocks);
        let other = Features::for_binary(&Implementation::Other("Fork".into()), v1155);
        assert!(!other.direct_plan_file && !other.import_blocks);
    }

    #[test]
    fn finds_terraform_or_tofu_by_either_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tofu"), "").unwrap();
        let config = TerraformConfig {
            binary: None,
            search_dirs: vec![dir.path().to_path_buf()],
            cli_config_file: PathBuf::from("/dev/null"),
            grace_period: Duration::from_secs(1),
            version_cache: None,
        };
        assert_eq!(find_binary(&config).unwrap(), dir.path().join("tofu"));
        std::fs::write(dir.path().join("terraform"), "").unwrap();
        assert_eq!(find_binary(&config).unwrap(), dir.path().join("terraform"));
    }

    #[test]
    fn version_cache_matches_only_the_same_binary() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::write(&cache, "/x/terraform 10 1.2\n1.0.3\nTerraform\n").unwrap();
        assert_eq!(
            read_cached_version(&cache, "/x/terraform 10 1.2"),
            Some((Implementation::Terraform, Version::parse("1.0.3").unwrap()))
        );
        assert_eq!(read_cached_version(&cache, "/x/terraform 11 1.2"), None);
        assert_eq!(read_cached_version(&cache, ""), None);
    }

    #[test]
    fn refuses_ambient_cli_args() {
        let vars = vec![("TF_CLI_ARGS_apply".to_string(), "-auto-approve".to_string())];
        assert!(matches!(
            refuse_ambient_cli_args(vars.into_iter()),
            Err(TerraformError::AmbientCliArgs { .. })
        ));
        let empty = vec![
            ("TF_CLI_ARGS".to_string(), "".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        assert!(refuse_ambient_cli_args(empty.into_iter()).is_ok());
    }
}
