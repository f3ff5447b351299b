//! The SES receipt event as the function reads it.

use super::*;
use ipcam_core::stages::ingest::{Check, SesDelivery};

/// The deliveries of a receipt event, read as the function reads its event.
fn deliveries(event: &str) -> Vec<SesDelivery> {
    let event: Value = serde_json::from_str(event).unwrap();
    read_event(&event)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn header_from_is_judged_and_the_envelope_sender_only_logged() {
    let deliveries = deliveries(include_str!(
        "../fixtures/ses_receipt_forged_camera_sender.json"
    ));
    let delivery = &deliveries[0];
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

#[test]
fn an_older_event_without_a_dmarc_verdict_is_read_with_dmarc_not_given() {
    let deliveries = deliveries(include_str!(
        "../fixtures/ses_receipt_older_event_without_dmarc_verdict.json"
    ));
    let [delivery] = &deliveries[..] else {
        panic!("one delivery expected: {deliveries:?}");
    };
    assert_eq!(
        delivery.message_id,
        "o3vrnil0e2ic28trm7dfhrc2v0cnodmarcverdict01"
    );
    assert_eq!(delivery.dmarc_verdict, None);
    assert_eq!(delivery.spf_verdict.as_deref(), Some("PASS"));
    assert_eq!(delivery.timestamp, "2026-11-29T12:00:00+00:00");
    assert!(delivery.failed_checks().is_empty());
}

#[test]
fn verdicts_and_headers_absent_or_null_count_as_not_given() {
    let record = json!({
        "ses": {
            "mail": { "messageId": "m1", "timestamp": null, "commonHeaders": { "from": null } },
            "receipt": { "timestamp": "2026-11-29T12:00:01Z", "spfVerdict": null, "dkimVerdict": {} }
        }
    });
    let delivery = event::read_record(&record).unwrap();
    assert_eq!(delivery.message_id, "m1");
    assert!(delivery.from.is_empty());
    assert_eq!(delivery.spf_verdict, None);
    assert_eq!(delivery.dkim_verdict, None);
    // The receipt's time stands in for the mail's.
    assert_eq!(delivery.timestamp, "2026-11-29T12:00:01+00:00");
}

#[test]
fn a_record_that_cannot_be_read_names_its_message_and_fails_as_invalid_input() {
    let event = json!({ "Records": [
        { "ses": { "mail": { "messageId": "readable" } } },
        { "ses": { "mail": { "messageId": "o3vrnil0e2ic28", "commonHeaders": { "from": "x@y" } } } },
    ] });
    let records = read_event(&event).unwrap();
    assert_eq!(records[0].as_ref().unwrap().message_id, "readable");
    let unreadable = records[1].clone().unwrap_err();
    assert_eq!(unreadable.message_id.as_deref(), Some("o3vrnil0e2ic28"));
    let diagnostic = failed(&[unreadable]);
    assert_eq!(diagnostic.error_type, "InvalidInput");
    assert!(
        diagnostic.error_message.contains("message o3vrnil0e2ic28"),
        "{}",
        diagnostic.error_message
    );
}

#[test]
fn an_event_without_records_is_unreadable() {
    for event in [
        json!({}),
        json!({ "Records": [] }),
        json!({ "Records": "x" }),
        json!([]),
    ] {
        let err = read_event(&event).unwrap_err();
        assert_eq!(err.message_id, None, "{event}");
    }
}
