//! Mail received by Amazon SES: the receipt rule's S3 action stored the
//! message, then its Lambda action hands over what SES knows of it.

use super::admission::Check;
use super::{ingest, Inbox, Incoming, Ingested, SenderRules};
use crate::config::Config;
use crate::contract::Source;
use crate::ports::{Executions, ObjectStore};
use crate::stages::StageError;

/// What the SES receipt event says of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SesDelivery {
    pub message_id: String,
    /// RFC 3339 time SES received the message.
    pub timestamp: String,
    /// The header `From` mailboxes (`commonHeaders.from`): what the
    /// allow-list checks.
    pub from: Vec<String>,
    /// The envelope sender (`mail.source`, SMTP `MAIL FROM`): logged, not
    /// trusted; SPF is what vouches for it.
    pub envelope_sender: Option<String>,
    /// The header recipients (`mail.destination`).
    pub to: Vec<String>,
    /// The envelope recipients the receipt rule matched
    /// (`receipt.recipients`, SMTP `RCPT TO`): a camera's secret address.
    pub recipients: Vec<String>,
    pub subject: Option<String>,
    /// SES's verdicts: `PASS`, `FAIL`, `GRAY`, `PROCESSING_FAILED` (or
    /// `DISABLED` when scanning is off).
    pub spam_verdict: Option<String>,
    pub virus_verdict: Option<String>,
    pub spf_verdict: Option<String>,
    pub dkim_verdict: Option<String>,
    pub dmarc_verdict: Option<String>,
    /// The DMARC policy the sender's domain publishes (`dmarcPolicy`:
    /// `none`, `quarantine` or `reject`), given with the DMARC verdict.
    pub dmarc_policy: Option<String>,
}

impl SesDelivery {
    /// The checks SES ran that failed. Only `FAIL` counts: `GRAY` and
    /// `PROCESSING_FAILED` mean SES could not tell, and a camera's mail must
    /// not be lost because a check could not run. A DMARC failure under
    /// the sender domain's policy `reject` or `quarantine` is also
    /// [`Check::DmarcPolicy`].
    pub fn failed_checks(&self) -> Vec<Check> {
        let mut failed: Vec<Check> = [
            (Check::Spam, &self.spam_verdict),
            (Check::Virus, &self.virus_verdict),
            (Check::Spf, &self.spf_verdict),
            (Check::Dkim, &self.dkim_verdict),
            (Check::Dmarc, &self.dmarc_verdict),
        ]
        .into_iter()
        .filter(|(_, verdict)| {
            verdict
                .as_deref()
                .is_some_and(|status| status.trim().eq_ignore_ascii_case("FAIL"))
        })
        .map(|(check, _)| check)
        .collect();
        let disowned = self.dmarc_policy.as_deref().is_some_and(|policy| {
            ["reject", "quarantine"]
                .iter()
                .any(|strict| policy.trim().eq_ignore_ascii_case(strict))
        });
        if disowned && failed.contains(&Check::Dmarc) {
            failed.push(Check::DmarcPolicy);
        }
        failed
    }
}

impl SesDelivery {
    /// The message as the door takes it: stored already by the receipt
    /// rule's S3 action, with the headers SES read.
    pub fn incoming(&self) -> Incoming {
        let mut incoming = Incoming::stored(
            Source::Ses,
            self.message_id.clone(),
            self.from.clone(),
            self.to.clone(),
            self.subject.clone(),
            self.timestamp.clone(),
        );
        incoming.envelope_sender = self.envelope_sender.clone();
        incoming.envelope_recipients = self.recipients.clone();
        incoming.failed_checks = self.failed_checks();
        incoming
    }
}

/// Lets one stored message through the door and starts its execution. The
/// `inbox` prefix is the S3 action's.
pub async fn ingest_ses(
    config: &Config,
    delivery: &SesDelivery,
    inbox: &Inbox,
    store: &impl ObjectStore,
    executions: &impl Executions,
) -> Result<Ingested, StageError> {
    ingest(
        config,
        delivery.incoming(),
        SenderRules::Apply,
        inbox,
        store,
        executions,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ObjectRef;
    use crate::stages::ingest::RejectReason;
    use crate::testing::{MemoryStore, RecordedExecutions};

    fn storage() -> Inbox {
        Inbox {
            bucket: "bucket".into(),
            prefix: "incoming/".into(),
        }
    }

    fn delivery(from: &str) -> SesDelivery {
        SesDelivery {
            message_id: "o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01".into(),
            timestamp: "2026-11-29T12:00:00+00:00".into(),
            from: vec![from.into()],
            envelope_sender: Some("bounce@relay.example.net".into()),
            to: vec!["frontdoor@in.example.com".into()],
            recipients: vec!["frontdoor@in.example.com".into()],
            subject: Some("Motion detected".into()),
            spam_verdict: Some("PASS".into()),
            virus_verdict: Some("PASS".into()),
            spf_verdict: Some("PASS".into()),
            dkim_verdict: Some("GRAY".into()),
            dmarc_verdict: Some("PASS".into()),
            dmarc_policy: None,
        }
    }

    fn stored(size: usize) -> MemoryStore {
        let message = ObjectRef {
            bucket: "bucket".into(),
            key: "incoming/o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01".into(),
        };
        MemoryStore::holding(&message, vec![b'x'; size])
    }

    const ONE_CAMERA: &str =
        "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\n";

    #[tokio::test]
    async fn camera_message_starts_one_execution_named_after_the_message_id() {
        let config = Config::parse(ONE_CAMERA).unwrap();
        let executions = RecordedExecutions::default();
        let delivery = delivery("Front Door <frontdoor@cams.example.com>");
        let outcome = ingest_ses(&config, &delivery, &storage(), &stored(50_000), &executions)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Ingested::Started("exec:o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01".into())
        );
        let again = ingest_ses(&config, &delivery, &storage(), &stored(50_000), &executions)
            .await
            .unwrap();
        assert_eq!(again, Ingested::Duplicate);
        let started = executions.started();
        assert_eq!(started.len(), 1);
        let event = &started[0].1.event;
        assert_eq!(
            event.message.key,
            "incoming/o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01"
        );
        assert_eq!(
            event.from.as_deref(),
            Some("Front Door <frontdoor@cams.example.com>")
        );
        assert_eq!(event.source, Source::Ses);
    }

    #[tokio::test]
    async fn stranger_starts_nothing() {
        let config = Config::parse(ONE_CAMERA).unwrap();
        let executions = RecordedExecutions::default();
        let outcome = ingest_ses(
            &config,
            &delivery("stranger@example.org"),
            &storage(),
            &stored(50_000),
            &executions,
        )
        .await
        .unwrap();
        let Ingested::Rejected(rejection) = outcome else {
            panic!("expected a rejection, got {outcome:?}");
        };
        assert_eq!(rejection.reason, RejectReason::SenderNotAllowed);
        assert!(
            rejection.detail.contains("stranger@example.org"),
            "{rejection}"
        );
        assert!(executions.started().is_empty());
    }

    #[tokio::test]
    async fn virus_verdict_starts_nothing_even_from_a_camera() {
        let config = Config::parse(ONE_CAMERA).unwrap();
        let executions = RecordedExecutions::default();
        let mut delivery = delivery("frontdoor@cams.example.com");
        delivery.virus_verdict = Some("FAIL".into());
        let outcome = ingest_ses(&config, &delivery, &storage(), &stored(50_000), &executions)
            .await
            .unwrap();
        assert!(
            matches!(&outcome, Ingested::Rejected(r) if r.reason == RejectReason::Virus),
            "{outcome:?}"
        );
        assert!(executions.started().is_empty());
    }

    #[tokio::test]
    async fn stored_message_over_the_limit_starts_nothing() {
        let config =
            Config::parse("[ingest]\nmax_message_bytes = 100_000\nallow_any_sender = true\n")
                .unwrap();
        let executions = RecordedExecutions::default();
        let outcome = ingest_ses(
            &config,
            &delivery("a@b.example"),
            &storage(),
            &stored(100_001),
            &executions,
        )
        .await
        .unwrap();
        assert!(
            matches!(&outcome, Ingested::Rejected(r) if r.reason == RejectReason::TooLarge),
            "{outcome:?}"
        );
        assert!(executions.started().is_empty());
    }

    #[tokio::test]
    async fn message_the_s3_action_did_not_store_still_starts_so_its_failure_shows() {
        let config = Config::parse("[ingest]\nallow_any_sender = true\n").unwrap();
        let executions = RecordedExecutions::default();
        let outcome = ingest_ses(
            &config,
            &delivery("a@b.example"),
            &storage(),
            &MemoryStore::default(),
            &executions,
        )
        .await
        .unwrap();
        assert!(matches!(outcome, Ingested::Started(_)), "{outcome:?}");
        assert_eq!(executions.started().len(), 1);
    }

    const SECRET_FRONTDOOR: &str = "[ingest.secret_addresses]\nfrontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com\"\n[[cameras]]\nname = \"frontdoor\"\n";

    #[tokio::test]
    async fn mail_the_receipt_rule_matched_to_a_secret_address_starts_whatever_its_sender() {
        let config = Config::parse(SECRET_FRONTDOOR).unwrap();
        let executions = RecordedExecutions::default();
        let mut delivery = delivery("Cam <cam7@webmail.example.org>");
        delivery.to = vec!["owner@home.example".into()];
        delivery.recipients = vec!["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com".into()];
        let outcome = ingest_ses(&config, &delivery, &storage(), &stored(50_000), &executions)
            .await
            .unwrap();
        assert!(matches!(outcome, Ingested::Started(_)), "{outcome:?}");
        let event = &executions.started()[0].1.event;
        assert_eq!(
            event.to,
            [
                "owner@home.example",
                "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com"
            ],
            "the secret address, a Bcc here, identifies the camera downstream"
        );
        assert_eq!(
            config.identify_camera(event.from.as_deref(), &event.to, None),
            "frontdoor"
        );
    }

    #[tokio::test]
    async fn a_secret_address_only_in_the_headers_proves_nothing() {
        let config = Config::parse(SECRET_FRONTDOOR).unwrap();
        let executions = RecordedExecutions::default();
        let mut delivery = delivery("frontdoor@in.example.com");
        delivery.to = vec!["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com".into()];
        delivery.recipients = vec!["frontdoor@in.example.com".into()];
        let outcome = ingest_ses(&config, &delivery, &storage(), &stored(50_000), &executions)
            .await
            .unwrap();
        assert!(
            matches!(&outcome, Ingested::Rejected(r) if r.reason == RejectReason::SenderNotAllowed),
            "{outcome:?}"
        );
        assert!(executions.started().is_empty());
    }

    #[test]
    fn only_fail_verdicts_count_as_failed_checks() {
        let mut delivery = delivery("a@b.example");
        delivery.spam_verdict = Some("GRAY".into());
        delivery.spf_verdict = Some("fail".into());
        delivery.dkim_verdict = Some("PROCESSING_FAILED".into());
        delivery.dmarc_verdict = Some("FAIL".into());
        delivery.virus_verdict = None;
        assert_eq!(delivery.failed_checks(), vec![Check::Spf, Check::Dmarc]);
    }
}
