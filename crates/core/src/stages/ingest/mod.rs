//! Ingestion: turning a received e-mail into one pipeline execution.
//!
//! Every way mail arrives (SES, SendGrid, the SMTP server and the files of
//! `ipcam`) goes through one door, [`admit`], with the decisions of
//! [`admission`]: the mail service's checks, the sender allow-list and the
//! size limit of the `[ingest]` table. A refused message is not stored and
//! starts nothing, so nothing from a stranger ever reaches the detector;
//! each edge logs and counts it (on AWS an EMF metric) so that an alarm can
//! tell someone is knocking.
//!
//! The execution is named after the message's stable id (SES's message
//! id, or a digest of the message), so a second delivery of the same
//! message (SES may deliver twice; SendGrid retries any non-2xx answer for
//! days; a camera resends what it thinks was lost) starts nothing new.

pub mod admission;
mod form;
mod rebuild;
pub mod sendgrid;
pub mod ses;

use sha2::{Digest, Sha256};

pub use admission::{Check, RejectReason, Rejection};
pub use sendgrid::{ingest_sendgrid, BasicCredentials, SendgridAnswer, SendgridPost};
pub use ses::{ingest_ses, SesDelivery};

use super::{StageError, StageErrorKind};
use crate::config::Config;
use crate::contract::{Event, ExecutionInput, ObjectRef, Source, CONTRACT_VERSION};
use crate::mime;
use crate::ports::{Executions, ObjectStore, PortError, Started};

/// Step Functions execution names are at most 80 characters.
const MAX_EXECUTION_NAME: usize = 80;

/// Longest header text carried into the execution input, in bytes of
/// UTF-8: RFC 5322's line limit. The input must stay far below Step
/// Functions' 256 KB, whatever the script of the headers.
const MAX_HEADER_BYTES: usize = 998;
/// Most recipients carried into the execution input.
const MAX_RECIPIENTS: usize = 50;

/// A message as it arrives, whatever the door: SES, SendGrid, the SMTP
/// server of `ipcam serve`, or a file handed to `ipcam process`. Built by
/// [`Incoming::whole`] or [`Incoming::stored`], which give it its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    id: String,
    pub source: Source,
    pub body: IncomingBody,
    /// The envelope sender (SMTP `MAIL FROM`): logged, and judged only when
    /// the message has no `From` header of its own.
    pub envelope_sender: Option<String>,
    /// The envelope recipients, which the headers may not name (some
    /// cameras leave `To` out): they identify the camera, and a camera's
    /// secret address among them lets the message in whatever its sender.
    pub envelope_recipients: Vec<String>,
    /// The checks the mail service ran that failed; none where no service
    /// stands in front.
    pub failed_checks: Vec<Check>,
    /// RFC 3339 time of arrival.
    pub received_at: String,
}

/// What the door has of the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncomingBody {
    /// The whole message, which the door stores once it is let in.
    Raw(Vec<u8>),
    /// A message the mail service stored already (SES's S3 action), with
    /// the headers as the service read them.
    Stored {
        from: Vec<String>,
        to: Vec<String>,
        subject: Option<String>,
    },
}

impl Incoming {
    /// A whole message, named from its source and a digest of its bytes: a
    /// second delivery of the same message has the same id and starts
    /// nothing new.
    pub fn whole(source: Source, raw: Vec<u8>, received_at: String) -> Self {
        let digest = hex::encode(Sha256::digest(&raw));
        let prefix = match source {
            Source::Ses => "ses",
            Source::Sendgrid => "sendgrid",
            Source::Local => "local",
        };
        Incoming {
            id: format!("{prefix}-{}", &digest[..40]),
            source,
            body: IncomingBody::Raw(raw),
            envelope_sender: None,
            envelope_recipients: Vec::new(),
            failed_checks: Vec::new(),
            received_at,
        }
    }

    /// A message the mail service stored under its own id, with the
    /// headers it read.
    pub fn stored(
        source: Source,
        id: String,
        from: Vec<String>,
        to: Vec<String>,
        subject: Option<String>,
        received_at: String,
    ) -> Self {
        Incoming {
            id,
            source,
            body: IncomingBody::Stored { from, to, subject },
            envelope_sender: None,
            envelope_recipients: Vec::new(),
            failed_checks: Vec::new(),
            received_at,
        }
    }

    /// The message's stable id: the execution is named after it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Whether the sender allow-list of `[ingest]` applies. It always does to
/// mail from the network; `ipcam process` skips it unless asked, since the
/// files it is given are the owner's own choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderRules {
    /// The allow-list applies, and an open door (no sender named) lets no
    /// one in unless `[ingest] allow_any_sender` says so: the Lambdas.
    Apply,
    /// The allow-list applies, but an open door lets everyone in, so that a
    /// new setup on the owner's machine works on its first e-mail:
    /// `ipcam serve`, and `ipcam process --check-senders`.
    Local,
    Skip,
}

/// Where received messages are kept: `BUCKET/PREFIX<source>/<id>`, or
/// `BUCKET/PREFIX<id>` for SES, whose receipt rule stores them itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub bucket: String,
    /// Object key prefix, e.g. `incoming/` (the SES S3 action's prefix).
    pub prefix: String,
}

impl Inbox {
    /// Where the message of that source and id is kept.
    pub fn message(&self, source: Source, id: &str) -> ObjectRef {
        let key = match source {
            Source::Ses => format!("{}{id}", self.prefix),
            Source::Sendgrid => format!("{}sendgrid/{id}", self.prefix),
            Source::Local => format!("{}local/{id}", self.prefix),
        };
        ObjectRef {
            bucket: self.bucket.clone(),
            key,
        }
    }
}

/// A message let in: the execution to run for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// The execution's name, stable for the message.
    pub name: String,
    pub input: ExecutionInput,
}

/// What the door made of a message, before anything is started.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Let in and stored.
    Admitted(Admitted),
    /// Refused: nothing was stored.
    Rejected(Rejection),
}

/// What ingestion did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// An execution was started; its id.
    Started(String),
    /// The message was seen before: nothing new was started.
    Duplicate,
    /// The message was refused, and why.
    Rejected(Rejection),
}

/// The one door every message goes through: the mail service's verdicts,
/// the sender allow-list (where `rules` applies it) and the size limit of
/// `[ingest]`. A message let in is stored in the `inbox` (unless the mail
/// service stored it) and comes out as the execution to start for it; a
/// refused one is not stored.
pub async fn admit(
    config: &Config,
    incoming: Incoming,
    rules: SenderRules,
    inbox: &Inbox,
    store: &impl ObjectStore,
) -> Result<Admission, StageError> {
    let Incoming {
        id,
        source,
        body,
        envelope_sender,
        envelope_recipients,
        failed_checks,
        received_at,
    } = incoming;
    let event = match body {
        IncomingBody::Raw(raw) => {
            let envelope = match mime::envelope(&raw) {
                Ok(envelope) => envelope,
                Err(err) => {
                    return Ok(Admission::Rejected(Rejection::new(
                        RejectReason::Unreadable,
                        err.to_string(),
                    )))
                }
            };
            let mut from = admission::from_header_values(&raw);
            if from.is_empty() {
                from.extend(envelope_sender.clone().filter(|sender| !sender.is_empty()));
            }
            let arrival = admission::Arrival {
                from: &from,
                recipients: &envelope_recipients,
                failed: &failed_checks,
                size: Some(u64::try_from(raw.len()).unwrap_or(u64::MAX)),
                sender_rules: rules,
            };
            if let Err(rejection) = admission::admit(config, &arrival) {
                return Ok(Admission::Rejected(rejection));
            }
            let message = inbox.message(source, &id);
            store
                .put(&message, raw, "message/rfc822")
                .await
                .map_err(|err| StageError::from_port("storing the message", err))?;
            let to = with_envelope_recipients(envelope.to, envelope_recipients);
            Event {
                id,
                source,
                message,
                from: envelope
                    .from
                    .or(envelope_sender.filter(|sender| !sender.is_empty())),
                to,
                subject: envelope.subject,
                received_at,
            }
        }
        IncomingBody::Stored { from, to, subject } => {
            if id.trim().is_empty() {
                return Err(StageError::new(
                    StageErrorKind::InvalidInput,
                    "the mail service gave the message no id",
                ));
            }
            let arrival = admission::Arrival {
                from: &from,
                recipients: &envelope_recipients,
                failed: &failed_checks,
                size: None,
                sender_rules: rules,
            };
            if let Err(rejection) = admission::admit(config, &arrival) {
                return Ok(Admission::Rejected(rejection));
            }
            let message = inbox.message(source, &id);
            // The verdicts and the sender are judged from what the service
            // said; only a message that passes them costs a look at its
            // stored size. A message the service did not store still
            // starts its execution: extraction then fails on it in the
            // open, where the failed-execution alarm and the console show
            // it, rather than in an ingestion log.
            match store.size(&message).await {
                Ok(size) => {
                    if let Err(rejection) = admission::check_size(config, size) {
                        return Ok(Admission::Rejected(rejection));
                    }
                }
                Err(PortError::NotFound(detail)) => {
                    tracing::warn!(key = %message.key, "the stored message is missing: {detail}");
                }
                Err(err) => {
                    return Err(StageError::from_port("looking up the stored message", err))
                }
            }
            Event {
                id,
                source,
                message,
                from: from.into_iter().next(),
                to: with_envelope_recipients(to, envelope_recipients),
                subject,
                received_at,
            }
        }
    };
    let input = ExecutionInput {
        version: CONTRACT_VERSION,
        event: bounded(event),
    };
    Ok(Admission::Admitted(Admitted {
        name: execution_name(&input.event.id),
        input,
    }))
}

/// [`admit`], then starts the message's execution: how every door but
/// `ipcam process` (which runs the execution itself) takes a message.
/// `rules` is [`SenderRules::Apply`] on AWS, [`SenderRules::Local`] for
/// `ipcam serve`.
pub async fn ingest(
    config: &Config,
    incoming: Incoming,
    rules: SenderRules,
    inbox: &Inbox,
    store: &impl ObjectStore,
    executions: &impl Executions,
) -> Result<Ingested, StageError> {
    let admitted = match admit(config, incoming, rules, inbox, store).await? {
        Admission::Admitted(admitted) => admitted,
        Admission::Rejected(rejection) => return Ok(Ingested::Rejected(rejection)),
    };
    match executions.start(&admitted.name, &admitted.input).await {
        Ok(Started::New(id)) => Ok(Ingested::Started(id)),
        Ok(Started::AlreadyStarted) => Ok(Ingested::Duplicate),
        Err(err) => Err(StageError::from_port("starting the execution", err)),
    }
}

/// The header recipients, then each envelope recipient they do not name
/// (some cameras leave `To` out, and a secret address may be a `Bcc`): the
/// recipients that identify the camera.
fn with_envelope_recipients(mut to: Vec<String>, envelope: Vec<String>) -> Vec<String> {
    for recipient in envelope {
        let known = to.iter().any(|named| {
            crate::config::bare_address(named)
                .eq_ignore_ascii_case(&crate::config::bare_address(&recipient))
        });
        if !known {
            to.push(recipient);
        }
    }
    to
}

/// Keeps the header fields of an event small enough for the execution
/// input, however long the headers of the message were.
fn bounded(mut event: Event) -> Event {
    let cut = |text: String| -> String {
        if text.len() <= MAX_HEADER_BYTES {
            text
        } else {
            crate::contract::truncated(&text, MAX_HEADER_BYTES)
        }
    };
    event.from = event.from.map(cut);
    event.subject = event.subject.map(cut);
    event.to.truncate(MAX_RECIPIENTS);
    event.to = event.to.into_iter().map(cut).collect();
    event
}

/// An execution name from a message id: only the characters Step Functions
/// allows, at most 80 of them. Ids that differ only in refused characters
/// stay distinct through a digest suffix.
fn execution_name(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean == id && clean.len() <= MAX_EXECUTION_NAME && !clean.is_empty() {
        return clean;
    }
    let digest = &hex::encode(Sha256::digest(id.as_bytes()))[..16];
    let keep = MAX_EXECUTION_NAME - digest.len() - 1;
    let prefix: String = clean.chars().take(keep).collect();
    format!("{prefix}-{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStore;

    const CLOSED: &str = "[ingest]\nallowed_senders = [\"porch@cams.example.com\"]\n";

    fn inbox() -> Inbox {
        Inbox {
            bucket: "local".into(),
            prefix: "incoming/".into(),
        }
    }

    /// What the door makes of a whole message arriving by SMTP, and what
    /// it stored.
    async fn admit_smtp(
        config: &str,
        raw: &[u8],
        envelope_sender: &str,
        rules: SenderRules,
    ) -> (Admission, MemoryStore) {
        let config = Config::parse(config).unwrap();
        let mut incoming =
            Incoming::whole(Source::Local, raw.to_vec(), "2026-11-29T10:00:00Z".into());
        incoming.envelope_sender = Some(envelope_sender.into());
        incoming.envelope_recipients = vec!["porch@in.example.com".into()];
        let store = MemoryStore::default();
        let admission = admit(&config, incoming, rules, &inbox(), &store)
            .await
            .unwrap();
        (admission, store)
    }

    fn rejected(admission: &Admission) -> Option<RejectReason> {
        match admission {
            Admission::Rejected(rejection) => Some(rejection.reason),
            Admission::Admitted(_) => None,
        }
    }

    #[tokio::test]
    async fn a_whole_message_is_judged_by_its_from_header_and_stored_under_its_digest() {
        let raw = b"From: Porch <porch@cams.example.com>\r\nSubject: motion\r\n\r\nbody";
        let (admission, store) =
            admit_smtp(CLOSED, raw, "bounce@elsewhere.example", SenderRules::Apply).await;
        let Admission::Admitted(admitted) = admission else {
            panic!("expected the camera's message in, got {admission:?}");
        };
        let event = &admitted.input.event;
        assert!(event.id.starts_with("local-"), "{}", event.id);
        assert_eq!(admitted.name, event.id);
        assert_eq!(event.message.key, format!("incoming/local/{}", event.id));
        assert_eq!(store.get(&event.message).await.unwrap(), raw);
        assert_eq!(
            event.to,
            ["porch@in.example.com"],
            "envelope recipients identify the camera"
        );

        let stranger = b"From: someone@spam.example\r\n\r\nbody";
        let (admission, store) = admit_smtp(
            CLOSED,
            stranger,
            "porch@cams.example.com",
            SenderRules::Apply,
        )
        .await;
        assert_eq!(
            rejected(&admission),
            Some(RejectReason::SenderNotAllowed),
            "an allowed envelope sender does not excuse a stranger's From header"
        );
        assert!(
            store.keys().is_empty(),
            "nothing of a refused message is stored"
        );
    }

    #[tokio::test]
    async fn a_whole_message_without_from_header_is_judged_by_its_envelope_sender() {
        let headless = b"Subject: motion\r\n\r\nbody";
        let (admission, _) = admit_smtp(
            CLOSED,
            headless,
            "porch@cams.example.com",
            SenderRules::Apply,
        )
        .await;
        let Admission::Admitted(admitted) = admission else {
            panic!("expected the message in, got {admission:?}");
        };
        assert_eq!(
            admitted.input.event.from.as_deref(),
            Some("porch@cams.example.com")
        );
        let (admission, _) = admit_smtp(CLOSED, headless, "", SenderRules::Apply).await;
        assert_eq!(rejected(&admission), Some(RejectReason::SenderNotAllowed));
    }

    #[tokio::test]
    async fn a_whole_message_over_the_limit_is_refused_whatever_the_sender_rules() {
        let config = "[ingest]\nmax_message_bytes = 1024\nallow_any_sender = true\n";
        let big = [b"From: a@b.example\r\n\r\n".as_slice(), &[b'x'; 2000]].concat();
        for rules in [SenderRules::Apply, SenderRules::Skip] {
            let (admission, _) = admit_smtp(config, &big, "", rules).await;
            assert_eq!(rejected(&admission), Some(RejectReason::TooLarge));
        }
    }

    #[tokio::test]
    async fn skipping_the_sender_rules_lets_a_stranger_in_but_not_a_failed_check() {
        let stranger = b"From: someone@spam.example\r\n\r\nbody";
        let (admission, _) = admit_smtp(CLOSED, stranger, "", SenderRules::Skip).await;
        assert_eq!(rejected(&admission), None);

        let config = Config::parse(CLOSED).unwrap();
        let mut incoming = Incoming::whole(
            Source::Local,
            stranger.to_vec(),
            "2026-11-29T10:00:00Z".into(),
        );
        incoming.failed_checks = vec![Check::Virus];
        let admission = admit(
            &config,
            incoming,
            SenderRules::Skip,
            &inbox(),
            &MemoryStore::default(),
        )
        .await
        .unwrap();
        assert_eq!(rejected(&admission), Some(RejectReason::Virus));
    }

    #[tokio::test]
    async fn the_same_message_twice_has_the_same_id_and_starts_once() {
        let config = Config::parse("[ingest]\nallow_any_sender = true\n").unwrap();
        let executions = crate::testing::RecordedExecutions::default();
        let store = MemoryStore::default();
        let raw = b"From: a@b.example\r\n\r\nbody".to_vec();
        let first = Incoming::whole(Source::Sendgrid, raw.clone(), "t1".into());
        let again = Incoming::whole(Source::Sendgrid, raw, "t2".into());
        assert_eq!(first.id(), again.id());
        let outcome = ingest(
            &config,
            first,
            SenderRules::Apply,
            &inbox(),
            &store,
            &executions,
        )
        .await
        .unwrap();
        assert!(matches!(outcome, Ingested::Started(_)), "{outcome:?}");
        let outcome = ingest(
            &config,
            again,
            SenderRules::Apply,
            &inbox(),
            &store,
            &executions,
        )
        .await
        .unwrap();
        assert_eq!(outcome, Ingested::Duplicate);
        assert_eq!(
            store.keys(),
            [format!("incoming/sendgrid/{}", executions.started()[0].0)]
        );
    }

    #[test]
    fn ses_message_id_is_used_as_it_is() {
        assert_eq!(
            execution_name("o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01"),
            "o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01"
        );
    }

    #[test]
    fn odd_ids_become_valid_distinct_names() {
        let a = execution_name("<abc@host>");
        let b = execution_name("[abc@host]");
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(execution_name(&"x".repeat(200)).len() <= MAX_EXECUTION_NAME);
    }

    #[test]
    fn long_headers_are_cut_to_fit_the_execution_input() {
        let event = Event {
            id: "id".into(),
            source: crate::contract::Source::Ses,
            message: crate::contract::ObjectRef {
                bucket: "b".into(),
                key: "k".into(),
            },
            from: Some("f".repeat(5000)),
            to: vec!["t@x.example".into(); 500],
            subject: Some("s".repeat(5000)),
            received_at: "2026-01-01T00:00:00Z".into(),
        };
        let event = bounded(event);
        assert_eq!(event.subject.unwrap().len(), MAX_HEADER_BYTES);
        assert_eq!(event.from.unwrap().len(), MAX_HEADER_BYTES);
        assert_eq!(event.to.len(), MAX_RECIPIENTS);
    }

    #[test]
    fn headers_in_a_script_of_long_characters_are_cut_by_their_bytes() {
        let event = Event {
            id: "id".into(),
            source: crate::contract::Source::Ses,
            message: crate::contract::ObjectRef {
                bucket: "b".into(),
                key: "k".into(),
            },
            from: None,
            to: vec!["📷".repeat(998); 50],
            subject: Some("📷".repeat(998)),
            received_at: "2026-01-01T00:00:00Z".into(),
        };
        let event = bounded(event);
        let subject = event.subject.unwrap();
        assert!(subject.len() <= MAX_HEADER_BYTES, "{}", subject.len());
        assert!(subject.starts_with("📷📷") && subject.ends_with('…'));
        assert!(event.to.iter().all(|to| to.len() <= MAX_HEADER_BYTES));
    }
}
