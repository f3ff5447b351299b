//! [`AlertMemory`] in the store folder: one JSON file per camera under
//! `memory/`, so that `ipcam process` runs and `ipcam serve` share what
//! they remember, across restarts.
//!
//! The camera's file also keeps the notification of each event it alerted
//! on, for a day, so that a notify run again does not alert twice.
//!
//! A write holds an exclusive lock on `memory/.lock` while it reads the
//! camera's file, checks the revision it replaces and writes the file anew
//! (durably, by rename): two processes judging one camera at once cannot
//! both claim an alert.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use ipcam_core::contract::Notification;
use ipcam_core::memory::{CameraMemory, Notified, Recollection, ALL_CAMERAS};
use ipcam_core::ports::{AlertMemory, PortError};

use crate::folder::{while_locked, write_durably};

/// The memory of alerts kept in a folder.
#[derive(Debug, Clone)]
pub struct FolderMemory {
    folder: PathBuf,
}

/// What one camera's file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CameraFile {
    #[serde(default)]
    recollections: Vec<Recollection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snoozed_until: Option<DateTime<Utc>>,
    /// The notifications of the camera's events alerted on lately.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notified: Vec<Notified>,
}

impl FolderMemory {
    /// The memory kept under `store/memory/`.
    pub fn new(store: impl AsRef<Path>) -> Self {
        FolderMemory {
            folder: store.as_ref().join("memory"),
        }
    }

    /// The file of a camera: its name with every character that is not a
    /// letter, digit, `-` or `_` written as `%XX`, so that no name can
    /// leave the folder or collide with another.
    fn file_of(&self, camera: &str) -> PathBuf {
        let mut name = String::new();
        for byte in camera.bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
                name.push(char::from(byte));
            } else {
                name.push_str(&format!("%{byte:02X}"));
            }
        }
        self.folder.join(format!("{name}.json"))
    }

    fn read(&self, camera: &str) -> Result<CameraFile, PortError> {
        let path = self.file_of(camera);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                PortError::Permanent(format!(
                    "{} is not a memory of alerts: {err}",
                    path.display()
                ))
            }),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(CameraFile::default()),
            Err(err) => Err(io_error("reading", &path, err)),
        }
    }

    fn write(&self, camera: &str, file: &CameraFile) -> Result<(), PortError> {
        let path = self.file_of(camera);
        let bytes = serde_json::to_vec_pretty(file)
            .map_err(|err| PortError::Permanent(format!("encoding the memory: {err}")))?;
        write_durably(&path, &bytes).map_err(|err| io_error("writing", &path, err))
    }

    /// Runs `change` on a camera's file under the folder's lock, and writes
    /// the file when `change` says so.
    fn update<T>(
        &self,
        camera: &str,
        change: impl FnOnce(&mut CameraFile) -> (bool, T),
    ) -> Result<T, PortError> {
        while_locked(&self.folder, || {
            let mut file = self.read(camera)?;
            let (write, result) = change(&mut file);
            if write {
                self.write(camera, &file)?;
            }
            Ok(result)
        })
    }
}

fn io_error(doing: &str, path: &Path, err: std::io::Error) -> PortError {
    PortError::Permanent(format!("{doing} {}: {err}", path.display()))
}

impl AlertMemory for FolderMemory {
    async fn recall(&self, camera: &str) -> Result<CameraMemory, PortError> {
        let own = self.read(camera)?;
        let everyone = self.read(ALL_CAMERAS)?;
        Ok(CameraMemory {
            recollections: own.recollections,
            snoozed_until: own.snoozed_until.max(everyone.snoozed_until),
        })
    }

    async fn remember(
        &self,
        recollection: &Recollection,
        replaces: Option<u64>,
    ) -> Result<bool, PortError> {
        self.update(&recollection.camera, |file| {
            let kept = file
                .recollections
                .iter()
                .find(|r| r.label == recollection.label)
                .map(|r| r.revision);
            if kept != replaces {
                return (false, false);
            }
            // Forget what has outlived its use, as DynamoDB's TTL would.
            let now = Utc::now();
            file.recollections
                .retain(|r| r.label != recollection.label && r.keep_until > now);
            file.recollections.push(recollection.clone());
            (true, true)
        })
    }

    async fn notified(&self, camera: &str, event: &str) -> Result<Option<Notification>, PortError> {
        Ok(self
            .read(camera)?
            .notified
            .into_iter()
            .find(|notified| notified.event == event)
            .map(|notified| notified.notification))
    }

    async fn remember_notified(&self, notified: &Notified) -> Result<(), PortError> {
        self.update(&notified.camera, |file| {
            // Forget what has outlived its use, as DynamoDB's TTL would.
            let now = Utc::now();
            file.notified
                .retain(|kept| kept.event != notified.event && kept.keep_until > now);
            file.notified.push(notified.clone());
            (true, ())
        })
    }

    async fn snooze(&self, camera: &str, until: DateTime<Utc>) -> Result<(), PortError> {
        self.update(camera, |file| {
            file.snoozed_until = Some(until);
            (true, ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_memory(name: &str) -> (PathBuf, FolderMemory) {
        let root = std::env::temp_dir().join(format!("ipcam-memory-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        (root.clone(), FolderMemory::new(root))
    }

    fn recollection(camera: &str, revision: u64) -> Recollection {
        let at: DateTime<Utc> = "2026-12-01T08:00:00Z".parse().unwrap();
        Recollection {
            camera: camera.into(),
            label: "car".into(),
            alerted_at: at,
            event: "e1".into(),
            seen_at: at,
            boxes: vec![],
            revision,
            keep_until: "2999-01-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[tokio::test]
    async fn a_write_that_replaces_a_stale_revision_loses() {
        let (root, memory) = temp_memory("revisions");
        assert!(memory
            .remember(&recollection("drive", 1), None)
            .await
            .unwrap());
        // A second first claim: another writer got there first.
        assert!(!memory
            .remember(&recollection("drive", 1), None)
            .await
            .unwrap());
        assert!(memory
            .remember(&recollection("drive", 2), Some(1))
            .await
            .unwrap());
        assert!(!memory
            .remember(&recollection("drive", 3), Some(1))
            .await
            .unwrap());
        let recalled = memory.recall("drive").await.unwrap();
        assert_eq!(recalled.recollections, [recollection("drive", 2)]);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn what_one_process_remembers_another_recalls() {
        let (root, memory) = temp_memory("shared");
        memory
            .remember(&recollection("drive", 1), None)
            .await
            .unwrap();
        let other = FolderMemory::new(&root);
        assert_eq!(other.recall("drive").await.unwrap().recollections.len(), 1);
        assert!(other.recall("door").await.unwrap().recollections.is_empty());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_snooze_of_every_camera_covers_each_and_the_later_snooze_wins() {
        let (root, memory) = temp_memory("snooze");
        let noon: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
        let two: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
        memory.snooze(ALL_CAMERAS, noon).await.unwrap();
        memory.snooze("door", two).await.unwrap();
        assert_eq!(
            memory.recall("door").await.unwrap().snoozed_until,
            Some(two)
        );
        assert_eq!(
            memory.recall("drive").await.unwrap().snoozed_until,
            Some(noon)
        );
        assert!(root.join("memory/%2A.json").exists());
        std::fs::remove_dir_all(root).unwrap();
    }

    fn notified(event: &str, keep_until: &str) -> Notified {
        Notified {
            camera: "door".into(),
            event: event.into(),
            notification: Notification {
                message_id: format!("line-{event}"),
                subject: "Person at door".into(),
                snapshot: None,
                email: None,
            },
            keep_until: keep_until.parse().unwrap(),
        }
    }

    #[tokio::test]
    async fn the_notification_of_an_event_is_kept_and_an_old_one_forgotten() {
        let (root, memory) = temp_memory("notified");
        memory
            .remember_notified(&notified("old", "2000-01-01T00:00:00Z"))
            .await
            .unwrap();
        let kept = notified("e1", "2999-01-01T00:00:00Z");
        memory.remember_notified(&kept).await.unwrap();
        memory
            .remember(&recollection("door", 1), None)
            .await
            .unwrap();

        let other = FolderMemory::new(&root);
        assert_eq!(
            other.notified("door", "e1").await.unwrap(),
            Some(kept.notification)
        );
        assert_eq!(other.notified("door", "e2").await.unwrap(), None);
        assert_eq!(other.notified("drive", "e1").await.unwrap(), None);
        // Past its day, and swept at the next write.
        assert_eq!(other.notified("door", "old").await.unwrap(), None);
        assert_eq!(other.recall("door").await.unwrap().recollections.len(), 1);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_camera_name_cannot_leave_the_folder() {
        let memory = FolderMemory::new("/store");
        assert_eq!(
            memory.file_of("../etc/x"),
            PathBuf::from("/store/memory/%2E%2E%2Fetc%2Fx.json")
        );
    }

    #[tokio::test]
    async fn writers_racing_for_one_claim_give_one_winner() {
        let (root, memory) = temp_memory("race");
        let claims = (0..8).map(|_| {
            let memory = memory.clone();
            tokio::spawn(async move { memory.remember(&recollection("drive", 1), None).await })
        });
        let mut won = 0;
        for claim in claims {
            won += usize::from(claim.await.unwrap().unwrap());
        }
        assert_eq!(won, 1);
        std::fs::remove_dir_all(root).unwrap();
    }
}
