//! The ports on one machine, for `ipcam` and for tests.

mod folder;

pub use folder::FolderStore;
