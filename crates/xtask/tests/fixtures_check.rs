//! `cargo xtask fixtures --check` run on a copy of the committed fixtures:
//! it passes on the copy as it is, and fails, naming each file, once one
//! byte of a fixture is edited, one fixture is deleted and a stray file is
//! added. Both runs are the same binary CI runs, on the same folder layout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/fixtures/mail");

/// A copy of the committed fixtures in a fresh temporary folder.
fn copy_of_fixtures(name: &str) -> PathBuf {
    let copy = std::env::temp_dir().join(format!("xtask-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&copy);
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    copy
}

fn check(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fixtures", "--check", "--dir"])
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn check_passes_on_the_committed_fixtures_and_fails_on_each_edit() {
    let dir = copy_of_fixtures("check");
    let untouched = check(&dir);
    assert!(
        untouched.status.success(),
        "the committed fixtures are not what the tool writes:\n{}",
        String::from_utf8_lossy(&untouched.stderr)
    );

    // One byte inside the picture's base64 changed, one fixture gone, one
    // file no case writes.
    let edited = dir.join("dahua_octet_stream_jpg.eml");
    let mut bytes = std::fs::read(&edited).unwrap();
    let at = bytes.len() - 100;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    std::fs::write(&edited, bytes).unwrap();
    std::fs::remove_file(dir.join("quoted_printable_jpeg.eml")).unwrap();
    std::fs::write(dir.join("by_hand.eml"), b"From: someone\r\n\r\nhi\r\n").unwrap();

    let failed = check(&dir);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success(), "the check passed:\n{stderr}");
    let line_of = |what: &str, file: &str| {
        stderr
            .lines()
            .any(|line| line.starts_with(what) && line.contains(file))
    };
    assert!(
        line_of("differs:", "dahua_octet_stream_jpg.eml"),
        "{stderr}"
    );
    assert!(line_of("missing:", "quoted_printable_jpeg.eml"), "{stderr}");
    assert!(line_of("extra:", "by_hand.eml"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|line| line.contains(".eml")).count(),
        3,
        "only the three files touched are named:\n{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn writing_restores_what_the_check_refused() {
    let dir = copy_of_fixtures("write");
    let edited = dir.join("truncated_mid_base64.eml");
    std::fs::write(&edited, b"edited by hand").unwrap();
    let written = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["fixtures", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(written.status.success());
    let stdout = String::from_utf8_lossy(&written.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [format!("wrote {}", edited.display())],
        "only the edited fixture is rewritten"
    );
    assert!(check(&dir).status.success());
    std::fs::remove_dir_all(dir).unwrap();
}
