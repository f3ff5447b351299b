//! Retention: the store does not grow for ever. Every hour (and at the
//! start), what is older than `[serve] keep` goes: each message whose
//! execution ended, with its frames, its annotated pictures and its
//! record; messages and pictures that no record names; temporary files
//! left by a crash. An execution not finished keeps its message, whatever
//! its age: it is run at the next start. The memory of alerts
//! (`memory/`, a file per camera) and the alerts file are not touched.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ipcam_adapters_local::{FolderStore, Journal};

/// How often the store is swept.
const EVERY: Duration = Duration::from_secs(3600);

/// What one sweep deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Messages whose execution ended, with everything kept for them.
    pub messages: usize,
    /// Messages, frames, pictures and temporary files no record names.
    pub leftovers: usize,
}

/// Sweeps the store at `root` now and every hour, for ever.
pub async fn every_hour(root: PathBuf, store: FolderStore, keep: Duration) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
        let (root, store) = (root.clone(), store.clone());
        let swept =
            tokio::task::spawn_blocking(move || sweep(&root, &store, keep, SystemTime::now()))
                .await;
        match swept {
            Ok(swept) if swept != Swept::default() => tracing::info!(
                messages = swept.messages,
                leftovers = swept.leftovers,
                keep = ?keep,
                "retention: deleted what is older than [serve] keep"
            ),
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "retention: the sweep failed"),
        }
    }
}

/// Deletes what is older than `keep` at `now`.
pub fn sweep(root: &Path, store: &FolderStore, keep: Duration, now: SystemTime) -> Swept {
    let Some(cutoff) = now.checked_sub(keep) else {
        return Swept::default();
    };
    let journal = Journal::in_folder(root.join("executions"));
    let mut swept = Swept::default();
    for (name, input) in journal.ended_before(cutoff) {
        let event = &input.event;
        if let Ok(message) = store.path_of(&event.message) {
            remove(&message);
        }
        let data = store_folder(root, store, &event.message.bucket);
        remove(&data.join("frames").join(&event.id));
        remove(&data.join("annotated").join(&event.id));
        if journal.forget(&name).is_ok() {
            swept.messages += 1;
        }
    }
    // What no record names: a message stored but never recorded (a crash
    // between the two), pictures of a record deleted by hand.
    let data = store_folder(root, store, &ipcam_adapters_local::inbox().bucket);
    let inbox = data.join("incoming");
    for folder in [
        inbox.join("local"),
        inbox.join("sendgrid"),
        data.join("frames"),
        data.join("annotated"),
    ] {
        for (path, name) in old_entries(&folder, cutoff) {
            if !journal.knows(&name) && remove(&path) {
                swept.leftovers += 1;
            }
        }
    }
    swept.leftovers += remove_partials(root, cutoff);
    swept
}

/// The folder of a bucket in the store.
fn store_folder(root: &Path, store: &FolderStore, bucket: &str) -> PathBuf {
    store
        .path_of(&ipcam_core::contract::ObjectRef {
            bucket: bucket.into(),
            key: "x".into(),
        })
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| root.join(bucket))
}

/// The entries of `folder` last changed before `cutoff`, by path and name.
fn old_entries(folder: &Path, cutoff: SystemTime) -> Vec<(PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| modified < cutoff)
        })
        .filter_map(|entry| Some((entry.path(), entry.file_name().into_string().ok()?)))
        .collect()
}

/// Deletes a file or a folder with what it holds; true if it was there.
fn remove(path: &Path) -> bool {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.is_ok()
}

/// Deletes the temporary files (`*.partial`) older than `cutoff` anywhere
/// in the store; returns how many.
fn remove_partials(folder: &Path, cutoff: SystemTime) -> usize {
    let mut removed = 0;
    let mut folders = vec![folder.to_path_buf()];
    // Bounded: the store is a few levels deep.
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "partial")
                && old_entries_match(&entry, cutoff)
                && std::fs::remove_file(&path).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

fn old_entries_match(entry: &std::fs::DirEntry, cutoff: SystemTime) -> bool {
    entry
        .metadata()
        .and_then(|metadata| metadata.modified())
        .is_ok_and(|modified| modified < cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn write(path: &Path, bytes: &[u8], age: Duration) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }

    fn record(id: &str, status: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "status": status,
            "input": {
                "version": 1,
                "event": {
                    "id": id,
                    "source": "local",
                    "message": {"bucket": "local", "key": format!("incoming/local/{id}")},
                    "receivedAt": "2026-01-01T00:00:00Z"
                }
            }
        }))
        .unwrap()
    }

    /// One message, as `ipcam serve` leaves it: the message, a frame, an
    /// annotated picture and the execution record, all `age` old.
    fn message(root: &Path, id: &str, status: &str, age: Duration) {
        write(
            &root.join(format!("local/incoming/local/{id}")),
            b"mail",
            age,
        );
        write(&root.join(format!("local/frames/{id}/0.jpg")), b"jpeg", age);
        write(
            &root.join(format!("local/annotated/{id}/0.jpg")),
            b"jpeg",
            age,
        );
        write(
            &root.join(format!("executions/{id}.json")),
            &record(id, status),
            age,
        );
    }

    #[test]
    fn what_is_older_than_keep_goes_and_what_is_unfinished_stays() {
        let root = std::env::temp_dir().join(format!("ipcam-retention-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let store = FolderStore::new(&root);
        message(&root, "old-done", "alerted", 40 * DAY);
        message(&root, "old-running", "running", 40 * DAY);
        message(&root, "new-done", "nothingOfInterest", DAY);
        write(
            &root.join("local/incoming/local/old-orphan"),
            b"mail",
            40 * DAY,
        );
        write(&root.join("local/incoming/local/new-orphan"), b"mail", DAY);
        write(&root.join("executions/x.json.1.2.partial"), b"{", 40 * DAY);
        write(&root.join("memory/frontdoor.json"), b"{}", 40 * DAY);
        write(&root.join("alerts.jsonl"), b"{}\n", 40 * DAY);

        let swept = sweep(&root, &store, 30 * DAY, SystemTime::now());
        assert_eq!(
            swept,
            Swept {
                messages: 1,
                leftovers: 2
            }
        );
        let exists = |path: &str| root.join(path).exists();
        for gone in [
            "local/incoming/local/old-done",
            "local/frames/old-done",
            "local/annotated/old-done",
            "executions/old-done.json",
            "local/incoming/local/old-orphan",
            "executions/x.json.1.2.partial",
        ] {
            assert!(!exists(gone), "{gone} is still there");
        }
        for kept in [
            "local/incoming/local/old-running",
            "local/frames/old-running/0.jpg",
            "executions/old-running.json",
            "local/incoming/local/new-done",
            "executions/new-done.json",
            "local/incoming/local/new-orphan",
            "memory/frontdoor.json",
            "alerts.jsonl",
        ] {
            assert!(exists(kept), "{kept} was deleted");
        }
        assert_eq!(
            sweep(&root, &store, 30 * DAY, SystemTime::now()),
            Swept::default()
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
