//! `ipcam serve` loses no message it acknowledged: a message whose
//! execution record was left unreadable by a crash is run at the next
//! start, from the message kept in the store; and the store does not
//! grow for ever.

use sha2::{Digest, Sha256};

mod serve_server;
use serve_server::{sample, Server};

const CAMERAS: &str = r#"
[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]
"#;

#[test]
fn a_message_whose_record_a_crash_left_empty_is_run_at_the_next_start() {
    let email = sample("frontdoor_person.eml");
    let id = format!("local-{}", &hex::encode(Sha256::digest(&email))[..40]);
    let server = Server::start_with_store("journal-empty", CAMERAS, |store| {
        // What a crash between creating the record and writing it left:
        // the message stored, its record empty.
        let incoming = store.join("local/incoming/local");
        std::fs::create_dir_all(&incoming).unwrap();
        std::fs::write(incoming.join(&id), &email).unwrap();
        std::fs::create_dir_all(store.join("executions")).unwrap();
        std::fs::write(store.join(format!("executions/{id}.json")), b"").unwrap();
    });
    let alerts = server.wait_for_alerts(1);
    let stopped = server.stop();
    assert_eq!(alerts.len(), 1, "{:#?}", stopped.log);
    assert_eq!(alerts[0]["camera"], "frontdoor");
}

#[test]
fn messages_older_than_keep_are_deleted_at_start() {
    let config = format!("{CAMERAS}\n[serve]\nkeep = \"1h\"\n");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let server = Server::start_with_store("journal-keep", &config, |store| {
        let old = |path: &std::path::Path, bytes: &[u8]| {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
            let file = std::fs::File::options().write(true).open(path).unwrap();
            file.set_modified(two_hours_ago).unwrap();
        };
        old(&store.join("local/incoming/local/local-old"), b"mail");
        old(&store.join("local/frames/local-old/0.jpg"), b"jpeg");
        old(
            &store.join("executions/local-old.json"),
            br#"{"status":"nothingOfInterest","input":{"version":1,"event":{"id":"local-old","source":"local","message":{"bucket":"local","key":"incoming/local/local-old"},"receivedAt":"2026-01-01T00:00:00Z"}}}"#,
        );
        old(&store.join("local/incoming/local/local-stray"), b"mail");
    });
    let store = server.folder.join("store");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.join("executions/local-old.json").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let gone = [
        "executions/local-old.json",
        "local/incoming/local/local-old",
        "local/frames/local-old",
        "local/incoming/local/local-stray",
    ]
    .map(|path| !store.join(path).exists());
    let stopped = server.stop();
    assert_eq!(gone, [true; 4], "{:#?}", stopped.log);
}
