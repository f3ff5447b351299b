//! The SES receipt event as the function reads it.

use super::*;
use ipcam_core::config::Config;
use ipcam_core::contract::ObjectRef;
use ipcam_core::stages::ingest::{ingest_ses, Check, Inbox, Ingested, RejectReason, SesDelivery};
use ipcam_core::testing::{MemoryStore, RecordedExecutions};

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
    assert_eq!(
        delivery.failed_checks(),
        vec![Check::Spf, Check::Dmarc, Check::DmarcPolicy]
    );
    assert_eq!(delivery.dmarc_policy.as_deref(), Some("reject"));
    assert_eq!(
        delivery.recipients,
        vec!["frontdoor@in.example.com"],
        "the envelope recipients the receipt rule matched"
    );
}

#[tokio::test]
async fn the_forged_camera_sender_at_a_guessable_address_is_refused_where_the_camera_has_a_secret_one(
) {
    let config = "[ingest.secret_addresses]\nfrontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com\"\n[ingest.verdicts]\ndmarc_policy = \"ignore\"\n[[cameras]]\nname = \"frontdoor\"\n";
    let mut delivery = deliveries(include_str!(
        "../fixtures/ses_receipt_forged_camera_sender.json"
    ))
    .remove(0);
    let (outcome, started) = door(config, &delivery).await;
    assert!(
        matches!(&outcome, Ingested::Rejected(r) if r.reason == RejectReason::SenderNotAllowed),
        "{outcome:?}"
    );
    assert_eq!(started, 0);
    delivery.recipients = vec!["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com".into()];
    let (outcome, started) = door(config, &delivery).await;
    assert!(matches!(outcome, Ingested::Started(_)), "{outcome:?}");
    assert_eq!(started, 1);
}

/// What the door makes of one delivery under `config`, its message stored
/// by the receipt rule as the S3 action stores it.
async fn door(config: &str, delivery: &SesDelivery) -> (Ingested, usize) {
    let config = Config::parse(config).unwrap();
    let inbox = Inbox {
        bucket: "bucket".into(),
        prefix: "incoming/".into(),
    };
    let message = ObjectRef {
        bucket: "bucket".into(),
        key: format!("incoming/{}", delivery.message_id),
    };
    let store = MemoryStore::holding(&message, vec![b'x'; 50_000]);
    let executions = RecordedExecutions::default();
    let outcome = ingest_ses(&config, delivery, &inbox, &store, &executions)
        .await
        .unwrap();
    (outcome, executions.started().len())
}

/// Every sender let in, on purpose: only the verdicts refuse.
const ANYONE: &str = "[ingest]\nallow_any_sender = true\n";

/// A camera of the example's kind, its sender named.
const FRONTDOOR: &str =
    "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@home-cams.example.net\"\n";

#[tokio::test]
async fn a_forged_camera_sender_failing_dmarc_under_its_domains_reject_policy_is_refused_by_default(
) {
    let deliveries = deliveries(include_str!(
        "../fixtures/ses_receipt_forged_camera_sender.json"
    ));
    for config in ["", FRONTDOOR] {
        let (outcome, started) = door(config, &deliveries[0]).await;
        assert!(
            matches!(&outcome, Ingested::Rejected(r) if r.reason == RejectReason::Dmarc),
            "{config:?}: {outcome:?}"
        );
        assert_eq!(started, 0);
    }
}

#[tokio::test]
async fn a_dmarc_failure_under_quarantine_is_refused_and_under_none_let_in() {
    let mut delivery = deliveries(include_str!(
        "../fixtures/ses_receipt_forged_camera_sender.json"
    ))
    .remove(0);
    delivery.dmarc_policy = Some("QUARANTINE".into());
    let (outcome, _) = door("", &delivery).await;
    assert!(
        matches!(&outcome, Ingested::Rejected(r) if r.reason == RejectReason::Dmarc),
        "{outcome:?}"
    );
    delivery.dmarc_policy = Some("none".into());
    let (outcome, started) = door(ANYONE, &delivery).await;
    assert!(matches!(outcome, Ingested::Started(_)), "{outcome:?}");
    assert_eq!(started, 1);
}

#[tokio::test]
async fn the_domains_policy_is_not_followed_when_the_config_says_so() {
    let deliveries = deliveries(include_str!(
        "../fixtures/ses_receipt_forged_camera_sender.json"
    ));
    let config =
        "[ingest]\nallow_any_sender = true\n[ingest.verdicts]\ndmarc_policy = \"ignore\"\n";
    let (outcome, started) = door(config, &deliveries[0]).await;
    assert!(matches!(outcome, Ingested::Started(_)), "{outcome:?}");
    assert_eq!(started, 1);
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
    let delivery = ipcam_adapters_aws::ses_event::read_record(&record).unwrap();
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
