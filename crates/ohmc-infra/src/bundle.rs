//! Plan bundles: the reviewed plan files of one environment plus the facts
//! apply checks before it runs them.
//!
//! ```text
//! <state_dir>/plans/<env>/<timestamp>-<sha12>/      0700
//!     bundle.json                                  0600, no values, only hashes and addresses
//!     <stack>.tfplan                               0600, Terraform's saved plan
//! <state_dir>/plans/<env>/latest                    name of the newest bundle
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use ohmc_terraform::commands::state::StateIdentity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::git::GitState;
use crate::private_fs;
use crate::summary::PlanSummary;

/// Bumped when bundle.json changes shape; older bundles are refused.
pub const BUNDLE_SCHEMA_VERSION: u32 = 1;
pub const BUNDLE_FILE: &str = "bundle.json";
const LATEST_FILE: &str = "latest";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackPlanMeta {
    pub name: String,
    pub plan_file: String,
    pub plan_sha256: String,
    pub state: StateIdentity,
    pub var_files: Vec<FileHash>,
    /// Hash of the stack's configuration files, so edits are caught even
    /// outside git or in a dirty tree.
    pub config_sha256: String,
    pub changes_present: bool,
    pub summary: PlanSummary,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleMeta {
    pub schema_version: u32,
    pub environment: String,
    pub created_at: String,
    pub git: GitState,
    pub terraform_version: String,
    pub destroy: bool,
    /// What `--approve` is checked against: sha256 over every stack's plan hash.
    pub bundle_sha256: String,
    pub stacks: Vec<StackPlanMeta>,
}

#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub meta: BundleMeta,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("no plan bundle for environment \"{env}\" in {}; run `ohmc-infra plan {env}` first", .dir.display())]
    NoBundle { env: String, dir: PathBuf },
    #[error("{}: not a plan bundle ({reason})", .path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Hashes a stack's configuration: every file under it except Terraform's own
/// working data, by relative path and content, in sorted order.
pub fn config_sha256(stack_dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    fn walk(dir: &Path, base: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".terraform"
                || name.ends_with(".tfstate")
                || name.ends_with(".tfstate.backup")
                || name.ends_with(".lock.info")
            {
                continue;
            }
            if entry.file_type()?.is_dir() {
                walk(&path, base, files)?;
            } else if name.ends_with(".tf")
                || name.ends_with(".tf.json")
                || name == ".terraform.lock.hcl"
            {
                files.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
            }
        }
        Ok(())
    }
    walk(stack_dir, stack_dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for f in files {
        hasher.update(f.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(stack_dir.join(&f))?);
        hasher.update([0]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What `--approve` names: every stack's plan file hash together with the
/// summary shown for it, so an approval covers both what runs and what was
/// reviewed, and a hand-edited summary no longer matches.
pub fn bundle_sha256(stacks: &[StackPlanMeta]) -> String {
    let joined: String = stacks
        .iter()
        .map(|s| {
            let summary = serde_json::to_string(&s.summary).expect("summary serialises");
            format!(
                "{}:{}:{}:{}\n",
                s.name, s.plan_sha256, s.changes_present, summary
            )
        })
        .collect();
    sha256_bytes(joined.as_bytes())
}

/// Where an environment's bundles live.
pub fn env_plans_dir(state_dir: &Path, env: &str) -> PathBuf {
    state_dir.join("plans").join(env)
}

/// A new, private, empty bundle directory.
pub fn create_bundle_dir(state_dir: &Path, env: &str, stamp: &str) -> Result<PathBuf, BundleError> {
    let base = env_plans_dir(state_dir, env);
    private_fs::create_private_dir(&state_dir.join("plans")).map_err(io(state_dir))?;
    private_fs::create_private_dir(&base).map_err(io(&base))?;
    let mut dir = base.join(stamp);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = base.join(format!("{stamp}-{n}"));
    }
    private_fs::create_private_dir(&dir).map_err(io(&dir))?;
    Ok(dir)
}

impl Bundle {
    /// Writes bundle.json and points `latest` at this bundle.
    pub fn save(dir: &Path, meta: BundleMeta) -> Result<Bundle, BundleError> {
        let path = dir.join(BUNDLE_FILE);
        let json = serde_json::to_vec_pretty(&meta).expect("bundle metadata serialises");
        private_fs::write_private_file(&path, &json).map_err(io(&path))?;
        if let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) {
            let latest = parent.join(LATEST_FILE);
            private_fs::write_private_file(&latest, name.to_string_lossy().as_bytes())
                .map_err(io(&latest))?;
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            meta,
        })
    }

    pub fn load(dir: &Path) -> Result<Bundle, BundleError> {
        let path = dir.join(BUNDLE_FILE);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let meta: BundleMeta =
            serde_json::from_slice(&bytes).map_err(|e| BundleError::Invalid {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if meta.schema_version != BUNDLE_SCHEMA_VERSION {
            return Err(BundleError::Invalid {
                path,
                reason: format!(
                    "schema version {} (this tool reads {BUNDLE_SCHEMA_VERSION}); plan again",
                    meta.schema_version
                ),
            });
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            meta,
        })
    }

    /// The newest bundle planned for `env`.
    pub fn latest(state_dir: &Path, env: &str) -> Result<Bundle, BundleError> {
        let base = env_plans_dir(state_dir, env);
        let name =
            std::fs::read_to_string(base.join(LATEST_FILE)).map_err(|_| BundleError::NoBundle {
                env: env.to_string(),
                dir: base.clone(),
            })?;
        Bundle::load(&base.join(name.trim()))
    }

    pub fn plan_path(&self, stack: &StackPlanMeta) -> PathBuf {
        self.dir.join(&stack.plan_file)
    }
}
