//! State lock facts: parsed from Terraform's "Lock Info" text, or read from a
//! local backend's `.<state>.lock.info` file after Terraform exits.

use std::path::{Path, PathBuf};

/// Who holds a state lock, as Terraform records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID", default)]
    pub id: String,
    #[serde(rename = "Path", default)]
    pub path: String,
    #[serde(rename = "Operation", default)]
    pub operation: String,
    #[serde(rename = "Who", default)]
    pub who: String,
    #[serde(rename = "Version", default)]
    pub version: String,
    #[serde(rename = "Created", default)]
    pub created: String,
}

impl LockInfo {
    /// Parses the indented "Lock Info:" block Terraform prints with
    /// "Error acquiring the state lock".
    pub fn from_error_text(text: &str) -> Option<LockInfo> {
        let mut info = LockInfo::default();
        let mut seen = false;
        for line in text.lines() {
            let line = line.trim_start_matches(['│', ' ', '\t']).trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim().to_string();
            match key.trim() {
                "ID" => info.id = value,
                "Path" => info.path = value,
                "Operation" => info.operation = value,
                "Who" => info.who = value,
                "Version" => info.version = value,
                "Created" => info.created = value,
                _ => continue,
            }
            seen = true;
        }
        seen.then_some(info)
    }
}

/// Whether a lock is still held once Terraform has exited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LockStatus {
    Released,
    Held {
        info: LockInfo,
        /// The command that releases it, as the caller runs Terraform (its
        /// data dir and CLI config); the caller fills it in.
        #[serde(skip_serializing_if = "Option::is_none")]
        force_unlock: Option<String>,
    },
    /// Remote backends keep their lock elsewhere; we cannot see it from here.
    Unknown {
        reason: String,
    },
}

/// The lock-info file Terraform's local backend writes next to a state file.
pub fn local_lock_info_path(state_file: &Path) -> PathBuf {
    let name = state_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    state_file.with_file_name(format!(".{name}.lock.info"))
}

/// Reads a local backend's lock status. The lock-info file exists exactly while
/// the lock is held: Terraform removes it when it unlocks.
pub fn local_lock_status(state_file: &Path) -> LockStatus {
    let path = local_lock_info_path(state_file);
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<LockInfo>(&bytes) {
            Ok(info) => LockStatus::Held {
                info,
                force_unlock: None,
            },
            Err(_) => LockStatus::Held {
                info: LockInfo {
                    path: path.display().to_string(),
                    ..LockInfo::default()
                },
                force_unlock: None,
            },
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => LockStatus::Released,
        Err(e) => LockStatus::Unknown {
            reason: format!("reading {}: {e}", path.display()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lock_info_block() {
        let text = "│ Error: Error acquiring the state lock\n│ \n│ Error message: resource temporarily unavailable\n│ Lock Info:\n│   ID:        5e0b5c2e-1c8a\n│   Path:      /s/terraform.tfstate\n│   Operation: OperationTypeApply\n│   Who:       alice@build-7\n│   Version:   1.0.3\n│   Created:   2026-11-26 10:00:00 +0000 UTC\n│   Info:      \n";
        let info = LockInfo::from_error_text(text).unwrap();
        assert_eq!(info.id, "5e0b5c2e-1c8a");
        assert_eq!(info.who, "alice@build-7");
        assert_eq!(info.operation, "OperationTypeApply");
        assert_eq!(info.created, "2026-11-26 10:00:00 +0000 UTC");
    }

    #[test]
    fn lock_info_path_is_hidden_sibling() {
        assert_eq!(
            local_lock_info_path(Path::new("/a/b/terraform.tfstate")),
            PathBuf::from("/a/b/.terraform.tfstate.lock.info")
        );
    }
}
