//! The "remote API" behind `ohmctest_thing`: one JSON file per object.
//!
//! A directory of plain files is the smallest backend that still behaves like a
//! real one from Terraform's point of view: objects outlive the provider
//! process, and a test can change or delete them behind Terraform's back to
//! produce drift without going through Terraform at all.

use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The body of `<store_dir>/<id>.json`. The id is the file name and only the
/// file name, so a test that renames or copies a file cannot make the two
/// disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{id:?} is not a valid thing id (expected letters, digits, '-' or '_')")]
    InvalidId { id: String },
    #[error("reading {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is not a valid thing record: {source}", path.display())]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("removing {}: {source}", path.display())]
    Remove { path: PathBuf, source: io::Error },
    #[error("{} no longer exists: the thing was deleted outside Terraform", path.display())]
    Vanished { path: PathBuf },
}

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, id: &str) -> Result<PathBuf, StoreError> {
        // Ids come back from state files, which tests edit; refusing anything
        // path-like keeps a bad id from reaching outside the store.
        let valid = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(StoreError::InvalidId { id: id.to_owned() });
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Writes a new record under a fresh id and returns the id.
    pub fn create(&self, record: &Record) -> Result<String, StoreError> {
        fs::create_dir_all(&self.dir).map_err(|source| StoreError::Write {
            path: self.dir.clone(),
            source,
        })?;
        let body = encode(record);
        loop {
            let id = new_id(&record.name);
            let path = self.path(&id)?;
            // create_new rather than an exists() check: two things created in
            // parallel by one apply must never share a file.
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    file.write_all(&body)
                        .and_then(|()| file.sync_all())
                        .map_err(|source| StoreError::Write { path, source })?;
                    return Ok(id);
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(StoreError::Write { path, source }),
            }
        }
    }

    /// `Ok(None)` when the file is gone: for Terraform that is "deleted
    /// outside Terraform", not an error.
    pub fn read(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let path = self.path(id)?;
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Corrupt { path, source })
    }

    /// Rewrites an existing record. A missing file is an error, as a real API
    /// answers 404 to an update of an object someone else deleted.
    pub fn update(&self, id: &str, record: &Record) -> Result<(), StoreError> {
        let path = self.path(id)?;
        if !path.exists() {
            return Err(StoreError::Vanished { path });
        }
        // Write-then-rename so a test reading the store mid-apply never sees
        // a half-written file.
        let tmp = self.dir.join(format!(".{id}.json.tmp"));
        fs::write(&tmp, encode(record))
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|source| StoreError::Write { path, source })
    }

    /// Deleting what is already gone succeeds, like most cloud APIs' deletes.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        let path = self.path(id)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Remove { path, source }),
        }
    }
}

fn encode(record: &Record) -> Vec<u8> {
    let mut body = serde_json::to_vec_pretty(record).expect("a Record always serialises");
    body.push(b'\n');
    body
}

/// `<name>-<8 hex digits>`: the name prefix lets a test find a thing's file
/// with a glob instead of asking Terraform for the id first.
fn new_id(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut prefix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if prefix.is_empty() {
        prefix.push_str("thing");
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{prefix}-{:08x}", hasher.finish() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, value: Option<&str>) -> Record {
        Record {
            name: name.into(),
            value: value.map(Into::into),
            secret: None,
        }
    }

    #[test]
    fn create_read_update_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("nested/store"));
        let id = store.create(&record("alpha", Some("one"))).unwrap();
        assert!(id.starts_with("alpha-"), "{id}");
        assert!(dir.path().join(format!("nested/store/{id}.json")).is_file());
        assert_eq!(store.read(&id).unwrap(), Some(record("alpha", Some("one"))));

        store.update(&id, &record("alpha", Some("two"))).unwrap();
        assert_eq!(store.read(&id).unwrap(), Some(record("alpha", Some("two"))));

        store.delete(&id).unwrap();
        assert_eq!(store.read(&id).unwrap(), None);
        store.delete(&id).unwrap();
    }

    #[test]
    fn ids_are_unique_for_one_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let a = store.create(&record("same", None)).unwrap();
        let b = store.create(&record("same", None)).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn an_edited_file_is_what_read_returns() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let id = store.create(&record("drifty", Some("before"))).unwrap();
        fs::write(
            store.path(&id).unwrap(),
            r#"{"name":"drifty","value":"edited by hand"}"#,
        )
        .unwrap();
        assert_eq!(
            store.read(&id).unwrap(),
            Some(record("drifty", Some("edited by hand")))
        );
    }

    #[test]
    fn update_of_a_vanished_thing_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let id = store.create(&record("gone", None)).unwrap();
        fs::remove_file(store.path(&id).unwrap()).unwrap();
        assert!(matches!(
            store.update(&id, &record("gone", None)),
            Err(StoreError::Vanished { .. })
        ));
    }

    #[test]
    fn corrupt_files_and_path_like_ids_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(dir.path().join("bad.json"), "not json").unwrap();
        assert!(matches!(store.read("bad"), Err(StoreError::Corrupt { .. })));
        for id in ["", "../escape", "a/b", "x.json"] {
            assert!(
                matches!(store.read(id), Err(StoreError::InvalidId { .. })),
                "{id:?}"
            );
        }
    }

    #[test]
    fn odd_names_still_give_file_safe_ids() {
        assert!(new_id("a b/c").starts_with("a_b_c-"));
        assert!(new_id("").starts_with("thing-"));
        assert!(new_id(&"x".repeat(100)).len() < 60);
    }
}
