//! What the end-to-end tests of `ipcam` share: running it, and a folder for
//! a test's files.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `ipcam` binary built for these tests, to the end.
pub fn ipcam(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ipcam"))
        .args(arguments)
        .output()
        .expect("ipcam runs")
}

/// A fresh, empty folder for one test's files, unique to this test run.
pub fn scratch(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("ipcam-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    folder
}
