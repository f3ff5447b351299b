//! The SES receipt event as the function reads it.

use super::*;
use ipcam_core::stages::ingest::Check;

#[test]
fn header_from_is_judged_and_the_envelope_sender_only_logged() {
    let event: SimpleEmailEvent = serde_json::from_str(include_str!(
        "../fixtures/ses_receipt_forged_camera_sender.json"
    ))
    .unwrap();
    let delivery = delivery(&event.records[0]);
    assert_eq!(
        delivery.message_id,
        "q8d1f0r7n5b2k3m4l6p9s0t1u2v3w4x5y6z7a8b9"
    );
    assert_eq!(
        delivery.from,
        vec!["Front Door <frontdoor@cams.example.com>"]
    );
    assert_eq!(
        delivery.envelope_sender.as_deref(),
        Some("mailer@bulk.example.org")
    );
    assert_eq!(delivery.failed_checks(), vec![Check::Spf, Check::Dmarc]);
}
