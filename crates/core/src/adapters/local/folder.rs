//! [`ObjectStore`] on a folder: bucket `b`, key `k` is the file `ROOT/b/k`.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use crate::contract::ObjectRef;
use crate::ports::{ObjectStore, PortError};

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
        std::fs::write(&path, bytes)
            .map_err(|err| io_error(format!("writing {}", path.display()), err))
    }

    async fn exists(&self, object: &ObjectRef) -> Result<bool, PortError> {
        Ok(self.path_of(object)?.is_file())
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
        assert!(store.exists(&object("frames/m1/0.jpg")).await.unwrap());
        assert!(matches!(
            store.get(&object("nope")).await,
            Err(PortError::NotFound(_))
        ));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn keys_cannot_climb_out_of_the_root() {
        let store = FolderStore::new("/tmp/ipcam-never");
        assert!(store.path_of(&object("../../etc/passwd")).is_err());
        assert!(store.path_of(&object("/etc/passwd")).is_err());
    }
}
