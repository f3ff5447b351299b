//! `ipcam config check` as a user meets it: every error names the file, the
//! line and the key, and says what would be valid.

use std::path::PathBuf;
use std::process::Command;

/// Checks a configuration text; returns success and the error output.
fn check(name: &str, text: &str) -> (bool, String) {
    let file: PathBuf =
        std::env::temp_dir().join(format!("ipcam-config-{}-{name}.toml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ipcam"))
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout),
    )
}

#[test]
fn a_valid_file_is_summarised() {
    let (ok, output) = check(
        "valid",
        "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\n\n[serve]\nsmtp = \"0.0.0.0:2525\"\n",
    );
    assert!(ok, "{output}");
    assert!(output.contains("OK (1 camera;"), "{output}");
}

#[test]
fn errors_name_the_line_the_key_and_what_is_valid() {
    let cases = [
        (
            "misspelt",
            "[defaults]\nlabels = [\"person\"]\nmin_confidance = 70\n",
            "line 3, key `min_confidance`",
            "`min_confidence`",
        ),
        (
            "range",
            "[defaults]\nmin_confidence = 170\n",
            "line 2, key `min_confidence`",
            "from 0 to 100",
        ),
        (
            "listen",
            "[serve]\nsmtp = \"localhost:25\"\n",
            "line 2, key `smtp`",
            "IP:PORT",
        ),
        (
            "list",
            "[defaults]\nlabels = \"person\"\n",
            "line 2, key `labels`",
            "a list in brackets",
        ),
        (
            "table",
            "[serv]\nsmtp = \"0.0.0.0:25\"\n",
            "line 1, key `serv`",
            "`serve`",
        ),
        (
            "half-credentials",
            "[serve]\npassword = \"pw\"\n",
            "line 2, key `serve.password`",
            "set both",
        ),
    ];
    for (name, text, place, valid) in cases {
        let (ok, output) = check(name, text);
        assert!(!ok, "{name}: accepted");
        assert_eq!(output.lines().count(), 1, "{name}: one line: {output}");
        assert!(output.contains(place), "{name}: {output}");
        assert!(output.contains(valid), "{name}: {output}");
    }
}

#[test]
fn every_error_of_a_file_is_printed_on_its_own_line() {
    let (ok, output) = check(
        "several",
        "[defaults]\nlabels = [\"\"]\n\n[[cameras]]\nname = \"garden\"\n\n[serve]\nusername = \"cam\"\n",
    );
    assert!(!ok, "accepted: {output}");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 3, "{output}");
    for (line, place) in lines.iter().zip([
        "line 2, key `defaults.labels[0]`",
        "line 5, key `cameras[0].from`",
        "line 8, key `serve.username`",
    ]) {
        assert!(line.starts_with("ipcam: "), "{line}");
        assert!(line.contains(".toml: "), "{line}");
        assert!(line.contains(place), "{line}");
    }
}

#[test]
fn the_domain_the_cameras_write_to_is_refused_as_a_sender_and_the_error_says_why() {
    let text = "[ingest]\nallowed_senders = [\"@cams.example.com\"]\n";
    let file: PathBuf = std::env::temp_dir().join(format!(
        "ipcam-config-{}-receiving.toml",
        std::process::id()
    ));
    std::fs::write(&file, text).unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_ipcam"))
            .args(["config", "check"])
            .args(args)
            .arg(&file)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // Nothing in the file says where the cameras write to.
    assert!(run(&[]).0);
    // The stack's domain, as `make deploy` gives it.
    let (ok, output) = run(&["--mail-domain", "cams.example.com"]);
    std::fs::remove_file(&file).unwrap();
    assert!(!ok, "{output}");
    assert!(output.contains("line 2"), "{output}");
    assert!(output.contains("allowed_senders"), "{output}");
    assert!(
        output.contains("anyone can send mail to that domain"),
        "{output}"
    );
}

#[test]
fn an_open_door_is_sound_but_warned_about_and_a_closed_one_is_not() {
    let (ok, output) = check(
        "open",
        "[[cameras]]\nname = \"garden\"\nsubject = \"Garden\"\n",
    );
    assert!(ok, "{output}");
    assert!(output.contains("OK (1 camera;"), "{output}");
    assert!(output.contains("warning: the door is open"), "{output}");
    assert!(output.contains("allow_any_sender = true"), "{output}");
    let (ok, output) = check("open-written", "[ingest]\nallow_any_sender = true\n");
    assert!(ok, "{output}");
    assert!(
        output.contains("anyone who finds the inbound address"),
        "{output}"
    );
    let (ok, output) = check(
        "closed",
        "[[cameras]]\nname = \"garden\"\nfrom = \"garden@isp.example.net\"\n",
    );
    assert!(ok, "{output}");
    assert!(!output.contains("warning"), "{output}");
}

#[test]
fn the_deployable_file_carries_the_secret_addresses_and_not_the_serve_password() {
    let dir = std::env::temp_dir().join(format!("ipcam-deployable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("ipcam.toml");
    let secrets = dir.join("ipcam.secret-addresses.toml");
    std::fs::write(
        &config,
        "[[cameras]]\nname = \"frontdoor\"\nsubject = \"Front\"\n\n[serve]\nusername = \"camera\"\npassword = \"only-for-the-local-server\"\n",
    )
    .unwrap();
    std::fs::write(
        &secrets,
        "[secret_addresses]\nfrontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ipcam"))
        .args(["config", "deployable", "--mail-domain", "cams.example.com"])
        .arg("--secret-addresses")
        .arg(&secrets)
        .arg(&config)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let uploaded = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        uploaded.contains("frontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com\""),
        "{uploaded}"
    );
    assert!(
        !uploaded.contains("only-for-the-local-server"),
        "{uploaded}"
    );
    assert!(!uploaded.contains("[serve]"), "{uploaded}");
}
