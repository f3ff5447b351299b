//! `ipcam serve` loses no message it acknowledged: a message whose
//! execution record was left unreadable by a crash is run at the next
//! start, from the message kept in the store.

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
