//! Plan bundles: the reviewed plan files of one environment plus the facts
//! apply checks before it runs them.
//!
//! ```text
//! <state_dir>/plans/<env>/<timestamp>-<sha12>/      0700
//!     bundle.json                                  0600, no values, only hashes and addresses
//!     <stack>.tfplan                               0600, Terraform's saved plan
//! <state_dir>/plans/<env>/latest                    name of the newest bundle
//! <state_dir>/plans/<env>/last-applied              name of the bundle last applied
//! ```
//!
//! After each plan the environment's older bundles are pruned: the newest
//! `keep` complete bundles stay, and so does the one last applied (it is the
//! record of what runs in the account, whatever was planned since).

use std::io::Read;
use std::path::{Path, PathBuf};

use ohmc_terraform::commands::state::StateIdentity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::git::GitState;
use crate::private_fs;
use crate::summary::PlanSummary;

/// Bumped when bundle.json changes shape or what its hash covers; older
/// bundles are refused. 2: `bundle_sha256` covers the whole metadata.
pub const BUNDLE_SCHEMA_VERSION: u32 = 2;
pub const BUNDLE_FILE: &str = "bundle.json";
const LATEST_FILE: &str = "latest";
const LAST_APPLIED_FILE: &str = "last-applied";
/// Bundles kept per environment when neither environment.hcl nor a flag says.
pub const DEFAULT_KEEP_BUNDLES: usize = 10;

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
    /// What `--approve` is checked against: sha256 over every other field of
    /// this metadata (see [`bundle_sha256`]).
    pub bundle_sha256: String,
    pub stacks: Vec<StackPlanMeta>,
    /// Stacks not in this bundle because they read the state of a stack that
    /// has none yet (a new environment): they are planned once this bundle is
    /// applied. Absent from older bundles, and left out when empty so their
    /// sha256 stays what it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<WaitingStack>,
}

/// A stack left out of a bundle until the stacks it reads are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingStack {
    pub name: String,
    /// The upstream stacks (by `depends_on`) with no state yet.
    pub on: Vec<String>,
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

/// What `--approve` names and what the tamper check recomputes: sha256 over
/// the whole metadata except this hash itself. Environment, destroy flag, git
/// state, Terraform version, and per stack the plan file hash, state identity,
/// var-file hashes, configuration hash and the summary shown: editing any of
/// them in bundle.json no longer matches, so an approval covers exactly what
/// was reviewed and every fact apply re-checks is the one planned with.
pub fn bundle_sha256(meta: &BundleMeta) -> String {
    let mut value = serde_json::to_value(meta).expect("bundle metadata serialises");
    if let Some(object) = value.as_object_mut() {
        object.remove("bundle_sha256");
    }
    // serde_json's map is ordered (sorted keys, or the struct's field order),
    // so the same metadata always gives the same text.
    sha256_bytes(value.to_string().as_bytes())
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
    let mut n = 1;
    loop {
        let dir = if n == 1 {
            base.join(stamp)
        } else {
            base.join(format!("{stamp}-{n}"))
        };
        match private_fs::create_new_private_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(io(&dir)(e)),
        }
    }
}

/// Orders bundle directory names as they were made: `<stamp>` before
/// `<stamp>-2` before `<stamp>-10`. Names of another shape are not bundles
/// this tool made and are left alone.
fn bundle_order(name: &str) -> Option<(String, u32)> {
    let (stamp, n) = match name.split_once('-') {
        Some((stamp, n)) => (stamp, n.parse::<u32>().ok()?),
        None => (name, 1),
    };
    let shaped = stamp.len() == 16
        && stamp.as_bytes()[8] == b'T'
        && stamp.ends_with('Z')
        && stamp[..8].bytes().all(|b| b.is_ascii_digit())
        && stamp[9..15].bytes().all(|b| b.is_ascii_digit());
    shaped.then(|| (stamp.to_string(), n))
}

/// Remembers `bundle` as the one last applied to its environment, so pruning
/// never removes the record of what runs in the account.
pub fn record_applied(bundle: &Bundle) -> Result<(), BundleError> {
    if let (Some(parent), Some(name)) = (bundle.dir.parent(), bundle.dir.file_name()) {
        let marker = parent.join(LAST_APPLIED_FILE);
        private_fs::write_private_file(&marker, name.to_string_lossy().as_bytes())
            .map_err(io(&marker))?;
    }
    Ok(())
}

/// Deletes all but the newest `keep` complete bundles of `env`, always keeping
/// the newest one and the one last applied. A directory without bundle.json
/// may be a plan still being written by another run: it is never touched.
/// Returns the directories removed.
pub fn prune(state_dir: &Path, env: &str, keep: usize) -> Result<Vec<PathBuf>, BundleError> {
    let base = env_plans_dir(state_dir, env);
    let last_applied = std::fs::read_to_string(base.join(LAST_APPLIED_FILE))
        .ok()
        .map(|s| s.trim().to_string());
    let mut bundles = Vec::new();
    for entry in std::fs::read_dir(&base).map_err(io(&base))? {
        let entry = entry.map_err(io(&base))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(order) = bundle_order(&name) else {
            continue;
        };
        if entry.file_type().map_err(io(&entry.path()))?.is_dir()
            && entry.path().join(BUNDLE_FILE).is_file()
        {
            bundles.push((order, name));
        }
    }
    bundles.sort();
    let keep = keep.max(1);
    let old = bundles.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for (_, name) in bundles.into_iter().take(old) {
        if last_applied.as_deref() == Some(name.as_str()) {
            continue;
        }
        let dir = base.join(&name);
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        removed.push(dir);
    }
    Ok(removed)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> BundleMeta {
        BundleMeta {
            waiting: Vec::new(),
            schema_version: BUNDLE_SCHEMA_VERSION,
            environment: "dev".into(),
            created_at: "2026-12-03T08:00:00Z".into(),
            git: GitState {
                commit: Some("a".repeat(40)),
                dirty: false,
            },
            terraform_version: "1.0.3".into(),
            destroy: false,
            bundle_sha256: String::new(),
            stacks: vec![StackPlanMeta {
                name: "app".into(),
                plan_file: "app.tfplan".into(),
                plan_sha256: "b".repeat(64),
                state: StateIdentity {
                    lineage: "l-1".into(),
                    serial: 3,
                },
                var_files: vec![FileHash {
                    path: "/env/app.tfvars".into(),
                    sha256: "c".repeat(64),
                }],
                config_sha256: "d".repeat(64),
                changes_present: true,
                summary: PlanSummary::default(),
            }],
        }
    }

    #[test]
    fn bundle_hash_covers_every_field_but_itself() {
        let base = meta();
        let sha = bundle_sha256(&base);
        let mut with_hash = base.clone();
        with_hash.bundle_sha256 = sha.clone();
        assert_eq!(
            bundle_sha256(&with_hash),
            sha,
            "the hash must not cover itself"
        );
        let edits: Vec<(&str, Box<dyn Fn(&mut BundleMeta)>)> = vec![
            ("environment", Box::new(|m| m.environment = "prod".into())),
            ("destroy", Box::new(|m| m.destroy = true)),
            ("git.commit", Box::new(|m| m.git.commit = None)),
            ("git.dirty", Box::new(|m| m.git.dirty = true)),
            (
                "terraform_version",
                Box::new(|m| m.terraform_version = "1.15.5".into()),
            ),
            (
                "created_at",
                Box::new(|m| m.created_at = "2026-12-04T00:00:00Z".into()),
            ),
            ("state.serial", Box::new(|m| m.stacks[0].state.serial = 4)),
            (
                "state.lineage",
                Box::new(|m| m.stacks[0].state.lineage = "l-2".into()),
            ),
            (
                "var_files",
                Box::new(|m| m.stacks[0].var_files[0].sha256 = "e".repeat(64)),
            ),
            (
                "var_files path",
                Box::new(|m| m.stacks[0].var_files[0].path = "/x".into()),
            ),
            (
                "config_sha256",
                Box::new(|m| m.stacks[0].config_sha256 = "e".repeat(64)),
            ),
            (
                "plan_file",
                Box::new(|m| m.stacks[0].plan_file = "other.tfplan".into()),
            ),
            (
                "plan_sha256",
                Box::new(|m| m.stacks[0].plan_sha256 = "e".repeat(64)),
            ),
            (
                "changes_present",
                Box::new(|m| m.stacks[0].changes_present = false),
            ),
            ("summary", Box::new(|m| m.stacks[0].summary.delete = 1)),
        ];
        for (field, edit) in edits {
            let mut edited = base.clone();
            edit(&mut edited);
            assert_ne!(bundle_sha256(&edited), sha, "{field} is not covered");
        }
    }

    fn make_bundle(state: &Path, name: &str) -> PathBuf {
        let dir = env_plans_dir(state, "dev").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(BUNDLE_FILE), "{}").unwrap();
        dir
    }

    fn names(state: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(env_plans_dir(state, "dev"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn prune_keeps_the_newest_and_the_last_applied() {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path();
        for name in [
            "20261201T000000Z",
            "20261202T000000Z",
            "20261202T000000Z-2",
            "20261202T000000Z-10",
            "20261203T000000Z",
        ] {
            make_bundle(state, name);
        }
        // A bundle still being written by another plan, and a folder that is not a bundle.
        std::fs::create_dir_all(env_plans_dir(state, "dev").join("20261130T000000Z")).unwrap();
        std::fs::create_dir_all(env_plans_dir(state, "dev").join("notes")).unwrap();
        let applied = Bundle {
            dir: env_plans_dir(state, "dev").join("20261201T000000Z"),
            meta: meta(),
        };
        record_applied(&applied).unwrap();

        let removed = prune(state, "dev", 2).unwrap();
        let removed: Vec<String> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // -10 sorts after -2: numbers, not text.
        assert_eq!(removed, ["20261202T000000Z", "20261202T000000Z-2"]);
        assert_eq!(
            names(state),
            [
                "20261130T000000Z",
                "20261201T000000Z",
                "20261202T000000Z-10",
                "20261203T000000Z",
                "last-applied",
                "notes"
            ]
        );
        // keep = 0 still keeps the newest: it is the plan just made.
        prune(state, "dev", 0).unwrap();
        assert_eq!(
            names(state),
            [
                "20261130T000000Z",
                "20261201T000000Z",
                "20261203T000000Z",
                "last-applied",
                "notes"
            ]
        );
    }
}
