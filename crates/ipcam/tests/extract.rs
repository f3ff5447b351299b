//! `ipcam extract`: one JSON object on stdout, the frames as stored, and a
//! one-line error with a non-zero exit when the message cannot be read.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{ipcam, scratch};
use sha2::{Digest, Sha256};

fn mail_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/fixtures/mail")
        .join(name)
}

fn single_json_object(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

/// The error of a run that failed as the contract says: nothing on stdout,
/// one line on stderr.
fn one_line_failure(output: Output) -> String {
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn a_burst_with_an_exact_copy_lists_the_frames_as_written_and_the_copy_as_skipped() {
    let out = scratch("burst");
    let message = mail_fixture("burst_with_exact_copy.eml");
    let output = ipcam(&[
        "extract",
        message.to_str().unwrap(),
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let result = single_json_object(&output);

    let frames = result["frames"].as_array().unwrap();
    assert!(!frames.is_empty(), "{result}");
    for (index, frame) in frames.iter().enumerate() {
        let written = std::fs::read(out.join(format!("{index}.jpg"))).unwrap();
        assert_eq!(frame["contentType"], "image/jpeg");
        assert_eq!(frame["size"], written.len());
        assert_eq!(frame["sha256"], hex::encode(Sha256::digest(&written)));
        assert!(frame["width"].as_u64().unwrap() >= 80, "{frame}");
        assert!(frame["height"].as_u64().unwrap() >= 80, "{frame}");
    }
    let skipped = result["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|part| part["reason"]
            .as_str()
            .unwrap()
            .starts_with("duplicate of frame 0")),
        "{result}"
    );
}

#[test]
fn a_message_piped_in_is_read_like_a_file() {
    let message = mail_fixture("burst_of_four_two_near_duplicates.eml");
    let from_file = single_json_object(&ipcam(&["extract", message.to_str().unwrap(), "--json"]));
    let piped = Command::new(env!("CARGO_BIN_EXE_ipcam"))
        .args(["extract", "/dev/stdin", "--json"])
        .stdin(Stdio::from(std::fs::File::open(&message).unwrap()))
        .output()
        .expect("ipcam runs");
    // A file given as stdin is still a regular file: a pipe is read instead.
    let mut cat = Command::new("cat")
        .arg(&message)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let from_pipe = Command::new(env!("CARGO_BIN_EXE_ipcam"))
        .args(["extract", "/dev/stdin", "--json"])
        .stdin(Stdio::from(cat.stdout.take().unwrap()))
        .output()
        .expect("ipcam runs");
    cat.wait().unwrap();

    assert_eq!(single_json_object(&piped), from_file);
    assert_eq!(single_json_object(&from_pipe), from_file);
    assert_eq!(
        from_file["frames"].as_array().unwrap().len(),
        2,
        "{from_file}"
    );
}

#[test]
fn a_missing_file_is_one_line_on_stderr_and_a_failure() {
    let output = ipcam(&["extract", "/nonexistent/camera.eml", "--json"]);
    let stderr = one_line_failure(output);
    assert!(
        stderr.contains("cannot read /nonexistent/camera.eml"),
        "{stderr}"
    );
}

#[test]
fn a_message_piped_in_over_the_configured_size_is_refused() {
    let folder = scratch("oversize-pipe");
    let config = folder.join("ipcam.toml");
    std::fs::write(&config, "[ingest]\nmax_message_bytes = 1024\n").unwrap();
    let mut cat = Command::new("cat")
        .arg(mail_fixture("burst_with_exact_copy.eml"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ipcam"))
        .args(["extract", "/dev/stdin", "--json", "--config"])
        .arg(&config)
        .stdin(Stdio::from(cat.stdout.take().unwrap()))
        .output()
        .expect("ipcam runs");
    let _ = cat.wait();
    let stderr = one_line_failure(output);
    assert!(stderr.contains("1025 bytes"), "{stderr}");
    assert!(stderr.contains("max_message_bytes"), "{stderr}");
}

#[test]
fn a_message_over_the_configured_size_is_refused_with_the_key_to_change() {
    let folder = scratch("oversize");
    let config = folder.join("ipcam.toml");
    std::fs::write(&config, "[ingest]\nmax_message_bytes = 1024\n").unwrap();
    let message = mail_fixture("burst_with_exact_copy.eml");
    let output = ipcam(&[
        "extract",
        message.to_str().unwrap(),
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let stderr = one_line_failure(output);
    assert!(stderr.contains("max_message_bytes"), "{stderr}");
}
