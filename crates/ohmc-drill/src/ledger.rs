//! The cleanup ledger: `<state_dir>/drills/<drill_id>.ledger.json`.
//!
//! Before any create or copy call the drill records what it is about to
//! create (kind, identifier, region, drill id) and makes that durable (write
//! to a temporary file, fsync, rename, fsync the directory). Only then does it
//! call AWS, and afterwards it marks the entry created. A drill killed at any
//! point therefore leaves a ledger naming every resource that might exist, and
//! `cleanup(drill_id)` can finish the job. The directory is 0700 and the file
//! 0600: it names infrastructure.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::DrillError;
use crate::id::validate_drill_id;

/// Version of the ledger file format.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// The kinds of resource a drill creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// An RDS DB instance restored from a snapshot.
    RdsInstance,
    /// An RDS snapshot copied into the target region.
    RdsSnapshot,
    /// An ElastiCache replication group seeded from a snapshot.
    RedisReplicationGroup,
    /// A snapshot exported by ElastiCache: the `.rdb` objects under
    /// `s3://<bucket>/<prefix>` in the source region.
    RedisExport,
    /// One S3 object (`s3://<bucket>/<key>`): an export copied to the target region.
    S3Object,
}

impl std::fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResourceKind::RdsInstance => "rds instance",
            ResourceKind::RdsSnapshot => "rds snapshot",
            ResourceKind::RedisReplicationGroup => "redis replication group",
            ResourceKind::RedisExport => "redis snapshot export",
            ResourceKind::S3Object => "s3 object",
        })
    }
}

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Recorded before the create call; the resource may or may not exist.
    Intended,
    /// The create call returned successfully.
    Created,
    /// The delete call was accepted; the service is still removing it.
    DeletionRequested,
    /// Gone (deleted by cleanup, or never created).
    Deleted,
    /// Cleanup refused to delete it (tag missing or different).
    Refused,
}

/// One resource the drill intended to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub kind: ResourceKind,
    pub identifier: String,
    pub region: String,
    pub drill_id: String,
    pub state: EntryState,
    pub arn: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerData {
    pub schema_version: u32,
    pub drill_id: String,
    pub environment: String,
    pub region: String,
    pub target_region: Option<String>,
    pub started_at: DateTime<Utc>,
    /// Set when the drill was asked to keep its resources.
    pub keep_until: Option<DateTime<Utc>>,
    pub entries: Vec<LedgerEntry>,
}

impl LedgerData {
    /// Whether the drill was kept (`--keep-for`) and its time is not up at `now`: a
    /// cleanup of every pending drill leaves it alone unless asked by id or to include it.
    pub fn kept_at(&self, now: DateTime<Utc>) -> bool {
        self.keep_until.is_some_and(|until| until > now)
    }
}

/// An open ledger. Every mutation is written through to disk before it returns.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    data: LedgerData,
}

impl Ledger {
    /// `<state_dir>/drills`.
    pub fn dir(state_dir: &Path) -> PathBuf {
        state_dir.join("drills")
    }

    /// `<state_dir>/drills/<drill_id>.ledger.json`.
    pub fn path_for(state_dir: &Path, drill_id: &str) -> PathBuf {
        Self::dir(state_dir).join(format!("{drill_id}.ledger.json"))
    }

    /// Start the ledger of a new drill. Fails if one already exists.
    pub fn create(
        state_dir: &Path,
        drill_id: &str,
        environment: &str,
        region: &str,
        target_region: Option<&str>,
        started_at: DateTime<Utc>,
    ) -> Result<Self, DrillError> {
        validate_drill_id(drill_id)?;
        let dir = Self::dir(state_dir);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| DrillError::Ledger {
                path: dir.clone(),
                source,
            })?;
        let path = Self::path_for(state_dir, drill_id);
        if path.exists() {
            return Err(DrillError::Ledger {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a ledger for this drill id exists",
                ),
            });
        }
        let ledger = Ledger {
            path,
            data: LedgerData {
                schema_version: LEDGER_SCHEMA_VERSION,
                drill_id: drill_id.to_owned(),
                environment: environment.to_owned(),
                region: region.to_owned(),
                target_region: target_region.map(str::to_owned),
                started_at,
                keep_until: None,
                entries: Vec::new(),
            },
        };
        ledger.save()?;
        Ok(ledger)
    }

    /// Open an existing drill's ledger.
    pub fn open(state_dir: &Path, drill_id: &str) -> Result<Self, DrillError> {
        validate_drill_id(drill_id)?;
        let path = Self::path_for(state_dir, drill_id);
        if !path.exists() {
            return Err(DrillError::UnknownDrill {
                drill_id: drill_id.to_owned(),
                state_dir: state_dir.to_owned(),
            });
        }
        Self::load(path)
    }

    fn load(path: PathBuf) -> Result<Self, DrillError> {
        let text = fs::read_to_string(&path).map_err(|source| DrillError::Ledger {
            path: path.clone(),
            source,
        })?;
        let data: LedgerData =
            serde_json::from_str(&text).map_err(|e| DrillError::LedgerFormat {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if data.schema_version != LEDGER_SCHEMA_VERSION {
            return Err(DrillError::LedgerFormat {
                path,
                message: format!(
                    "schema_version {} (expected {LEDGER_SCHEMA_VERSION})",
                    data.schema_version
                ),
            });
        }
        Ok(Ledger { path, data })
    }

    /// Every ledger under the state directory, oldest drill first.
    pub fn list(state_dir: &Path) -> Result<Vec<Ledger>, DrillError> {
        let dir = Self::dir(state_dir);
        let read = match fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(DrillError::Ledger { path: dir, source }),
        };
        let mut out = Vec::new();
        for entry in read {
            let entry = entry.map_err(|source| DrillError::Ledger {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".ledger.json") {
                out.push(Self::load(entry.path())?);
            }
        }
        out.sort_by(|a, b| {
            (a.data.started_at, &a.data.drill_id).cmp(&(b.data.started_at, &b.data.drill_id))
        });
        Ok(out)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn data(&self) -> &LedgerData {
        &self.data
    }

    pub fn drill_id(&self) -> &str {
        &self.data.drill_id
    }

    pub fn entries(&self) -> &[LedgerEntry] {
        &self.data.entries
    }

    /// True while cleanup still has work: an entry that may exist and has not
    /// been deleted or had its deletion accepted. Refused entries are someone
    /// else's resources and stay out of it.
    pub fn has_pending(&self) -> bool {
        self.data
            .entries
            .iter()
            .any(|e| matches!(e.state, EntryState::Intended | EntryState::Created))
    }

    /// Record, durably, that `identifier` is about to be created. Returns the
    /// entry's index for [`Ledger::set_state`].
    pub fn intend(
        &mut self,
        kind: ResourceKind,
        identifier: &str,
        region: &str,
    ) -> Result<usize, DrillError> {
        self.data.entries.push(LedgerEntry {
            kind,
            identifier: identifier.to_owned(),
            region: region.to_owned(),
            drill_id: self.data.drill_id.clone(),
            state: EntryState::Intended,
            arn: None,
            recorded_at: Utc::now(),
        });
        self.save()?;
        Ok(self.data.entries.len() - 1)
    }

    /// Move entry `index` to `state`, remembering its ARN when known.
    pub fn set_state(
        &mut self,
        index: usize,
        state: EntryState,
        arn: Option<&str>,
    ) -> Result<(), DrillError> {
        if let Some(e) = self.data.entries.get_mut(index) {
            e.state = state;
            if let Some(arn) = arn {
                e.arn = Some(arn.to_owned());
            }
        }
        self.save()
    }

    pub fn set_keep_until(&mut self, until: Option<DateTime<Utc>>) -> Result<(), DrillError> {
        self.data.keep_until = until;
        self.save()
    }

    fn save(&self) -> Result<(), DrillError> {
        let err = |source| DrillError::Ledger {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".{}.tmp", self.data.drill_id));
        let mut text = serde_json::to_vec_pretty(&self.data).expect("ledger serializes");
        text.push(b'\n');
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(&text).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(err)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn entries_are_durable_and_private() {
        let tmp = tempfile::tempdir().unwrap();
        let id = "drill-staging-20261127010203-ab12";
        let mut l =
            Ledger::create(tmp.path(), id, "staging", "us-east-1", None, Utc::now()).unwrap();
        let i = l
            .intend(ResourceKind::RdsInstance, "drill-x-pg", "us-east-1")
            .unwrap();
        // Visible on disk before the create call would be made.
        let again = Ledger::open(tmp.path(), id).unwrap();
        assert_eq!(again.entries()[0].state, EntryState::Intended);
        l.set_state(i, EntryState::Created, Some("arn:x")).unwrap();
        let again = Ledger::open(tmp.path(), id).unwrap();
        assert_eq!(again.entries()[0].state, EntryState::Created);
        assert_eq!(again.entries()[0].arn.as_deref(), Some("arn:x"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&Ledger::dir(tmp.path())), 0o700);
        assert_eq!(mode(l.path()), 0o600);
        assert!(Ledger::create(tmp.path(), id, "staging", "us-east-1", None, Utc::now()).is_err());
        assert_eq!(Ledger::list(tmp.path()).unwrap().len(), 1);
        assert!(matches!(
            Ledger::open(tmp.path(), "drill-none-1"),
            Err(DrillError::UnknownDrill { .. })
        ));
    }
}
