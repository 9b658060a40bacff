//! Plan files hold the full planned state, secrets included: everything this
//! tool writes about plans is 0600 inside 0700 directories.
//!
//! Only what this tool creates is made private. A directory that already
//! exists belongs to someone else's decision (a shared state dir, a folder a
//! stack name happened to point at): its mode is never touched.

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and any missing parents as 0700. Directories that already
/// exist keep their mode.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(std::io::Error::new(
                ErrorKind::AlreadyExists,
                "exists and is not a directory",
            ))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        // The umask may have taken bits away from 0700; this one is ours, so
        // its mode is set exactly.
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700)),
        // Created by another process in the meantime: not ours to change.
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates exactly `dir` (its parent must exist) as 0700, failing if it
/// already exists: two runs never share a directory they both think is new.
pub fn create_new_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Writes a file readable by its owner only, through a temp file and rename so a
/// crash never leaves half a file.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, path)
}

/// Tightens a file another program wrote (Terraform writes plan files 0644).
pub fn make_private_file(path: &Path) -> std::io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn existing_directories_keep_their_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o755)).unwrap();
        create_private_dir(&shared).unwrap();
        assert_eq!(mode(&shared), 0o755, "an existing directory was chmod'ed");

        let inner = shared.join("a").join("b");
        create_private_dir(&inner).unwrap();
        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&shared.join("a")), 0o700);
        assert_eq!(mode(&inner), 0o700);
    }

    #[test]
    fn a_file_in_the_way_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, "x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(create_private_dir(&file).is_err());
        assert_eq!(mode(&file), 0o644);
    }

    #[test]
    fn a_new_dir_must_be_new() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n");
        create_new_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(
            create_new_private_dir(&dir).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
    }
}
