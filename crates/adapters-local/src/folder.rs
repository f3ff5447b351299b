//! [`ObjectStore`] on a folder: bucket `b`, key `k` is the file `ROOT/b/k`.

use std::io::{ErrorKind, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ipcam_core::contract::ObjectRef;
use ipcam_core::ports::{ObjectStore, PortError};

/// Objects kept as files under one root folder.
#[derive(Debug, Clone)]
pub struct FolderStore {
    root: PathBuf,
}

impl FolderStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderStore { root: root.into() }
    }

    /// The file an object lives in. Keys that would climb out of the root
    /// (`..`, absolute paths) are refused.
    pub fn path_of(&self, object: &ObjectRef) -> Result<PathBuf, PortError> {
        let relative = Path::new(&object.bucket).join(&object.key);
        if relative
            .components()
            .any(|part| !matches!(part, Component::Normal(_)))
        {
            return Err(PortError::Permanent(format!(
                "object {}/{} would leave the store's folder",
                object.bucket, object.key
            )));
        }
        Ok(self.root.join(relative))
    }
}

fn io_error(doing: String, err: std::io::Error) -> PortError {
    if err.kind() == ErrorKind::NotFound {
        PortError::NotFound(doing)
    } else {
        PortError::Permanent(format!("{doing}: {err}"))
    }
}

/// Runs `work` holding an exclusive lock on `folder/.lock` (the folder made
/// if missing), so that the processes and threads sharing the folder take
/// turns at reading and rewriting what it keeps. The lock is released
/// when its file is closed, as this returns.
pub(crate) fn while_locked<T>(
    folder: &Path,
    work: impl FnOnce() -> Result<T, PortError>,
) -> Result<T, PortError> {
    let failed = |doing: &str, path: &Path, err: std::io::Error| {
        PortError::Permanent(format!("{doing} {}: {err}", path.display()))
    };
    std::fs::create_dir_all(folder).map_err(|err| failed("creating", folder, err))?;
    let lock_path = folder.join(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| failed("opening", &lock_path, err))?;
    lock.lock()
        .map_err(|err| failed("locking", &lock_path, err))?;
    work()
}

/// Writes a file so that, once this returns, it is complete on disk: to a
/// temporary name first, flushed, then renamed over the final name, and
/// the folder flushed. A reader never sees half an object, and a message
/// acknowledged to a camera survives a power cut. Each write has its own
/// temporary name (process, and a counter within it), so two writers of
/// the same path, threads of one process included, never write into the
/// same file: the last rename wins, whole.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(
        ".{}.{}.partial",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = PathBuf::from(temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(err) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    if let Some(parent) = path.parent() {
        // Makes the rename itself durable; not every platform can open a
        // folder, hence no error if this fails.
        let _ = std::fs::File::open(parent).and_then(|folder| folder.sync_all());
    }
    Ok(())
}

impl ObjectStore for FolderStore {
    async fn get(&self, object: &ObjectRef) -> Result<Vec<u8>, PortError> {
        let path = self.path_of(object)?;
        std::fs::read(&path).map_err(|err| io_error(format!("reading {}", path.display()), err))
    }

    async fn put(
        &self,
        object: &ObjectRef,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), PortError> {
        let path = self.path_of(object)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| io_error(format!("creating {}", parent.display()), err))?;
        }
        write_durably(&path, &bytes)
            .map_err(|err| io_error(format!("writing {}", path.display()), err))
    }

    /// The file's path, or `bucket/key` for a key the store would refuse.
    fn locate(&self, object: &ObjectRef) -> String {
        self.path_of(object).map_or_else(
            |_| format!("{}/{}", object.bucket, object.key),
            |path| path.display().to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str) -> ObjectRef {
        ObjectRef {
            bucket: "bucket".into(),
            key: key.into(),
        }
    }

    #[tokio::test]
    async fn stores_and_reads_back_an_object() {
        let root = std::env::temp_dir().join(format!("ipcam-folder-{}", std::process::id()));
        let store = FolderStore::new(&root);
        store
            .put(&object("frames/m1/0.jpg"), b"jpeg".to_vec(), "image/jpeg")
            .await
            .unwrap();
        assert_eq!(
            store.get(&object("frames/m1/0.jpg")).await.unwrap(),
            b"jpeg"
        );
        assert_eq!(store.size(&object("frames/m1/0.jpg")).await.unwrap(), 4);
        assert!(matches!(
            store.get(&object("nope")).await,
            Err(PortError::NotFound(_))
        ));
        std::fs::remove_dir_all(root).unwrap();
    }

    /// Two writers of one key (two deliveries of the same message, a
    /// record rewritten while it is written) each leave the whole of
    /// their bytes, never a mix, and neither fails.
    #[test]
    fn writers_of_the_same_key_at_once_do_not_mix_their_bytes() {
        let root = std::env::temp_dir().join(format!("ipcam-folder-race-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let path = root.join("object");
        let writers: Vec<_> = (0..8_u8)
            .map(|writer| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let bytes = vec![writer; 256 * 1024];
                    (0..20)
                        .map(|_| write_durably(&path, &bytes).map_err(|err| err.to_string()))
                        .collect::<Result<Vec<()>, String>>()
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap().unwrap();
        }
        let kept = std::fs::read(&path).unwrap();
        assert_eq!(kept.len(), 256 * 1024);
        assert!(
            kept.iter().all(|&byte| byte == kept[0]),
            "bytes of two writers mixed"
        );
        let left: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 1, "temporary files left behind: {left:?}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn keys_cannot_climb_out_of_the_root() {
        let store = FolderStore::new("/tmp/ipcam-never");
        assert!(store.path_of(&object("../../etc/passwd")).is_err());
        assert!(store.path_of(&object("/etc/passwd")).is_err());
    }
}
