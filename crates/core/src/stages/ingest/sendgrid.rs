//! Mail received by SendGrid Inbound Parse, posted to us as a form.
//!
//! Both Inbound Parse modes are taken: "raw" (the field `email` holds the
//! whole MIME message) and "parsed" (the message taken apart into fields,
//! which [`rebuild`](super::rebuild) puts back together). Either way one
//! MIME message comes out, goes through the same door as SES mail, is
//! stored and starts one execution named from its digest.
//!
//! SendGrid retries any answer that is not 2xx, for up to three days. So
//! what can never succeed (a refused sender, a failed check, a message too
//! large, a post that cannot be read) is answered 200, logged and counted;
//! a failure that may pass (storage or Step Functions unavailable) is an
//! error the endpoint answers so that SendGrid retries (503), and the retry
//! starts nothing new if the first attempt got through. Wrong credentials
//! are asked for again (401): a stranger learns nothing, and a
//! misconfigured SendGrid keeps its mail queued until they are fixed.
//! Which answer is which status is the endpoint's business; this stage
//! says only what became of the post ([`SendgridAnswer`]).

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::admission::{Check, RejectReason, Rejection};
use super::form::Form;
use super::rebuild::rebuild;
use super::{ingest, Inbox, Incoming, Ingested, SenderRules};
use crate::config::Config;
use crate::contract::Source;
use crate::ports::{Executions, ObjectStore};
use crate::stages::StageError;

/// SpamAssassin's customary threshold: SendGrid's `spam_score` at or above
/// it counts as a failed spam check.
const SPAM_SCORE_THRESHOLD: f64 = 5.0;

/// Room a post needs beyond the message itself: parsed mode carries the
/// text twice (`text` and `html`) and every field has its own headers.
const FORM_OVERHEAD_BYTES: u64 = 1024 * 1024;

/// The largest post a message within `[ingest] max_message_bytes` can
/// need: parsed mode may carry its text twice, plus the form's headers.
pub fn max_post_bytes(config: &Config) -> u64 {
    config.ingest.max_message_bytes.0 * 2 + FORM_OVERHEAD_BYTES
}

/// Username and password SendGrid must present (it sends them as basic
/// auth when they are written into the Inbound Parse URL).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl BasicCredentials {
    /// True when an `Authorization` header carries these credentials. The
    /// comparison takes the same time whatever the header holds, so timing
    /// tells an attacker nothing.
    pub fn admit(&self, authorization: Option<&str>) -> bool {
        let presented = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("basic").then_some(token.trim())
            })
            .and_then(|token| base64::engine::general_purpose::STANDARD.decode(token).ok())
            .unwrap_or_default();
        let expected = format!("{}:{}", self.username, self.password);
        let expected_digest = Sha256::digest(expected.as_bytes());
        let presented_digest = Sha256::digest(&presented);
        bool::from(expected_digest.ct_eq(&presented_digest))
    }
}

/// A post as the SendGrid endpoint received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendgridPost {
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    pub body: Vec<u8>,
    /// RFC 3339 time of receipt.
    pub received_at: String,
}

/// What became of one post, and the message's id when it got that far
/// (for the log). Each endpoint turns it into its answer: a refusal for
/// wrong credentials asks SendGrid for them again; any other refusal is
/// final and must be answered as taken, since SendGrid retries every
/// failure for days; an error from this function is a failure that may
/// pass, to be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendgridAnswer {
    pub outcome: Ingested,
    pub id: Option<String>,
}

impl SendgridAnswer {
    fn rejected(id: Option<String>, rejection: Rejection) -> Self {
        SendgridAnswer {
            outcome: Ingested::Rejected(rejection),
            id,
        }
    }

    /// True when the post was refused for its credentials.
    pub fn unauthorized(&self) -> bool {
        matches!(&self.outcome, Ingested::Rejected(rejection) if rejection.reason == RejectReason::Unauthorized)
    }

    /// A sentence for the answer's body.
    pub fn summary(&self) -> String {
        match &self.outcome {
            Ingested::Started(_) => "accepted".into(),
            Ingested::Duplicate => "already accepted".into(),
            Ingested::Rejected(rejection) => rejection.to_string(),
        }
    }
}

/// Takes one SendGrid Inbound Parse post: checks the credentials, reads
/// the message (raw or parsed mode) and hands it to the [door](super::ingest),
/// which stores it in the `inbox` and starts its execution. Nothing is
/// stored for a refused message.
///
/// `credentials` is `None` only for a local endpoint whose owner chose to
/// ask for none (`ipcam serve` on a trusted network); the Lambda always
/// asks. `rules` is [`SenderRules::Apply`] on AWS, [`SenderRules::Local`]
/// for `ipcam serve`.
pub async fn ingest_sendgrid(
    config: &Config,
    post: &SendgridPost,
    credentials: Option<&BasicCredentials>,
    rules: SenderRules,
    inbox: &Inbox,
    store: &impl ObjectStore,
    executions: &impl Executions,
) -> Result<SendgridAnswer, StageError> {
    if credentials.is_some_and(|credentials| !credentials.admit(post.authorization.as_deref())) {
        let detail = if post.authorization.is_some() {
            "wrong credentials"
        } else {
            "no credentials"
        };
        return Ok(SendgridAnswer::rejected(
            None,
            Rejection::new(RejectReason::Unauthorized, detail),
        ));
    }
    let body_limit = max_post_bytes(config);
    let body_size = u64::try_from(post.body.len()).unwrap_or(u64::MAX);
    if body_size > body_limit {
        return Ok(SendgridAnswer::rejected(
            None,
            Rejection::new(
                RejectReason::TooLarge,
                format!(
                    "the post is {body_size} bytes, more than a message of `[ingest] max_message_bytes` = {} can need",
                    config.ingest.max_message_bytes.0
                ),
            ),
        ));
    }
    let form = match Form::parse(post.content_type.as_deref(), &post.body) {
        Ok(form) => form,
        Err(detail) => {
            return Ok(SendgridAnswer::rejected(
                None,
                Rejection::new(RejectReason::Unreadable, detail),
            ))
        }
    };
    let raw = match message_of(&form) {
        Ok(raw) => raw,
        Err(detail) => {
            return Ok(SendgridAnswer::rejected(
                None,
                Rejection::new(RejectReason::Unreadable, detail),
            ))
        }
    };
    let mut incoming = Incoming::whole(Source::Sendgrid, raw, post.received_at.clone());
    incoming.failed_checks = failed_checks(&form);
    incoming.envelope_recipients = envelope_recipients(&form);
    let id = incoming.id().to_string();
    if let Some(sender) = envelope_sender(&form) {
        tracing::info!(id = %id, envelope_sender = %sender, "SendGrid post received");
    }
    let outcome = ingest(config, incoming, rules, inbox, store, executions).await?;
    Ok(SendgridAnswer {
        outcome,
        id: Some(id),
    })
}

/// The MIME message of a post: the `email` field in raw mode, rebuilt from
/// the fields in parsed mode.
fn message_of(form: &Form) -> Result<Vec<u8>, String> {
    if let Some(email) = form.get("email") {
        if email.bytes.iter().all(u8::is_ascii_whitespace) {
            return Err("the `email` field is empty".into());
        }
        return Ok(email.bytes.clone());
    }
    let parsed_mode = ["from", "headers", "attachment-info"]
        .iter()
        .any(|name| form.get(name).is_some());
    if parsed_mode {
        Ok(rebuild(form))
    } else {
        Err("neither an `email` field (raw mode) nor `from`/`headers` fields (parsed mode): is this an Inbound Parse post?".into())
    }
}

/// SendGrid's `envelope` field: `{"to": [...], "from": "..."}`.
fn envelope_sender(form: &Form) -> Option<String> {
    let envelope: serde_json::Value = serde_json::from_slice(&form.get("envelope")?.bytes).ok()?;
    envelope
        .get("from")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

/// The envelope recipients of SendGrid's `envelope` field (the `RCPT TO`
/// addresses SendGrid received the message for); none when it is missing or
/// unreadable.
fn envelope_recipients(form: &Form) -> Vec<String> {
    let Some(field) = form.get("envelope") else {
        return Vec::new();
    };
    let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(&field.bytes) else {
        return Vec::new();
    };
    match envelope.get("to") {
        Some(serde_json::Value::Array(recipients)) => recipients
            .iter()
            .filter_map(serde_json::Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(serde_json::Value::String(recipient)) => vec![recipient.clone()],
        _ => Vec::new(),
    }
}

/// The checks SendGrid reports that failed: `SPF` (`fail`; `softfail` and
/// `neutral` are not failures), `dkim` (every signature failed), and
/// `spam_score` (at or above [`SPAM_SCORE_THRESHOLD`], when spam checking
/// is on). SendGrid reports no virus or DMARC verdict.
fn failed_checks(form: &Form) -> Vec<Check> {
    let mut failed = Vec::new();
    if form
        .text("spam_score")
        .and_then(|score| score.trim().parse::<f64>().ok())
        .is_some_and(|score| score >= SPAM_SCORE_THRESHOLD)
    {
        failed.push(Check::Spam);
    }
    if form
        .text("SPF")
        .is_some_and(|spf| spf.trim().eq_ignore_ascii_case("fail"))
    {
        failed.push(Check::Spf);
    }
    if form.text("dkim").is_some_and(|dkim| dkim_failed(&dkim)) {
        failed.push(Check::Dkim);
    }
    failed
}

/// SendGrid's `dkim` field lists each signature's result, such as
/// `{@cams.example.com : pass}` or `{@a.example : fail, @b.example : pass}`,
/// or says `none`. The check fails when signatures were found and none
/// passed.
fn dkim_failed(value: &str) -> bool {
    let results: Vec<String> = value
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|signature| signature.rsplit_once(':'))
        .map(|(_, result)| result.trim().to_ascii_lowercase())
        .collect();
    !results.is_empty()
        && results.iter().any(|result| result == "fail")
        && !results.iter().any(|result| result == "pass")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemoryStore, RecordedExecutions, UnavailableExecutions};

    fn credentials() -> BasicCredentials {
        BasicCredentials {
            username: "sendgrid".into(),
            password: "s3cret".into(),
        }
    }

    fn basic(pair: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// One form field: name, file name, content type, bytes.
    type FormField<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

    fn form_body(fields: &[FormField<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, filename, content_type, bytes) in fields {
            body.extend_from_slice(b"--SGboundary\r\nContent-Disposition: form-data; name=\"");
            body.extend_from_slice(name.as_bytes());
            body.push(b'"');
            if let Some(filename) = filename {
                body.extend_from_slice(format!("; filename=\"{filename}\"").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            if let Some(content_type) = content_type {
                body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--SGboundary--\r\n");
        body
    }

    fn post(fields: &[FormField<'_>]) -> SendgridPost {
        SendgridPost {
            content_type: Some("multipart/form-data; boundary=SGboundary".into()),
            authorization: Some(basic("sendgrid:s3cret")),
            body: form_body(fields),
            received_at: "2026-11-29T12:00:00+00:00".into(),
        }
    }

    const CAMERA_MAIL: &[u8] = b"From: Front Door <frontdoor@cams.example.com>\r\nTo: alerts@in.example.com\r\nSubject: Motion\r\n\r\nMotion detected\r\n";

    fn raw_post(email: &[u8]) -> SendgridPost {
        post(&[
            ("to", None, None, b"alerts@in.example.com"),
            ("email", None, None, email),
            ("SPF", None, None, b"pass"),
            ("dkim", None, None, b"{@cams.example.com : pass}"),
            (
                "envelope",
                None,
                None,
                br#"{"to":["alerts@in.example.com"],"from":"bounce@cams.example.com"}"#,
            ),
        ])
    }

    fn parsed_post(from: &[u8], jpeg: &[u8]) -> SendgridPost {
        post(&[
            ("headers", None, None, b"From: Front Door <frontdoor@cams.example.com>\r\nTo: alerts@in.example.com\r\nSubject: Motion\r\n"),
            ("from", None, None, from),
            ("to", None, None, b"alerts@in.example.com"),
            ("subject", None, None, b"Motion"),
            ("text", None, None, b"Motion detected"),
            ("attachments", None, None, b"1"),
            ("attachment-info", None, None, br#"{"attachment1":{"filename":"snap.jpg","name":"snap.jpg","type":"image/jpeg"}}"#),
            ("attachment1", Some("snap.jpg"), Some("image/jpeg"), jpeg),
            ("SPF", None, None, b"pass"),
        ])
    }

    const ONE_CAMERA: &str =
        "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\n";

    fn inbox() -> Inbox {
        Inbox {
            bucket: "bucket".into(),
            prefix: "incoming/".into(),
        }
    }

    async fn ingest(
        config: &str,
        request: &SendgridPost,
        store: &MemoryStore,
        executions: &RecordedExecutions,
    ) -> SendgridAnswer {
        let config = Config::parse(config).unwrap();
        ingest_sendgrid(
            &config,
            request,
            Some(&credentials()),
            SenderRules::Apply,
            &inbox(),
            store,
            executions,
        )
        .await
        .unwrap()
    }

    fn rejection_reason(answer: &SendgridAnswer) -> Option<RejectReason> {
        match &answer.outcome {
            Ingested::Rejected(rejection) => Some(rejection.reason),
            _ => None,
        }
    }

    #[test]
    fn basic_auth_admits_only_the_right_pair() {
        let credentials = credentials();
        assert!(credentials.admit(Some(&basic("sendgrid:s3cret"))));
        assert!(credentials.admit(Some(&format!(
            "basic  {}",
            basic("sendgrid:s3cret")[6..].trim()
        ))));
        assert!(!credentials.admit(Some(&basic("sendgrid:guess"))));
        assert!(!credentials.admit(Some(&basic("sendgrid:s3cret2"))));
        assert!(!credentials.admit(Some(&basic(""))));
        assert!(!credentials.admit(Some("Basic !!!not-base64")));
        assert!(!credentials.admit(Some("Bearer abc")));
        assert!(!credentials.admit(None));
    }

    #[tokio::test]
    async fn wrong_or_missing_credentials_get_401_and_nothing_is_stored() {
        for authorization in [None, Some(basic("sendgrid:guess"))] {
            let store = MemoryStore::default();
            let executions = RecordedExecutions::default();
            let mut request = raw_post(CAMERA_MAIL);
            request.authorization = authorization;
            let answer = ingest("", &request, &store, &executions).await;
            assert!(answer.unauthorized());
            assert_eq!(rejection_reason(&answer), Some(RejectReason::Unauthorized));
            assert!(store.keys().is_empty());
            assert!(executions.started().is_empty());
        }
    }

    #[tokio::test]
    async fn raw_mode_stores_the_message_and_starts_one_execution() {
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let answer = ingest(ONE_CAMERA, &raw_post(CAMERA_MAIL), &store, &executions).await;
        assert!(!answer.unauthorized());
        assert!(matches!(answer.outcome, Ingested::Started(_)), "{answer:?}");
        let started = executions.started();
        let event = &started[0].1.event;
        assert_eq!(event.source, Source::Sendgrid);
        assert_eq!(
            event.from.as_deref(),
            Some("Front Door <frontdoor@cams.example.com>")
        );
        assert_eq!(store.get(&event.message).await.unwrap(), CAMERA_MAIL);
    }

    #[tokio::test]
    async fn a_post_for_a_secret_address_is_let_in_by_its_envelope_whatever_its_sender() {
        let config = "[ingest.secret_addresses]\nfrontdoor = \"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com\"\n[[cameras]]\nname = \"frontdoor\"\n";
        let mail = b"From: Cam <cam7@webmail.example.org>\r\nTo: alerts@in.example.com\r\nSubject: Motion\r\n\r\nMotion detected\r\n";
        let for_secret = |recipients: &'static [u8]| {
            post(&[
                ("email", None, None, mail),
                ("envelope", None, None, recipients),
            ])
        };
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let answer = ingest(
            config,
            &for_secret(br#"{"to":["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com"],"from":"cam7@webmail.example.org"}"#),
            &store,
            &executions,
        )
        .await;
        assert!(matches!(answer.outcome, Ingested::Started(_)), "{answer:?}");
        let event = &executions.started()[0].1.event;
        assert!(
            event
                .to
                .contains(&"frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com".to_string()),
            "{:?}",
            event.to
        );
        let answer = ingest(
            config,
            &for_secret(br#"{"to":["alerts@in.example.com"],"from":"cam7@webmail.example.org"}"#),
            &store,
            &executions,
        )
        .await;
        assert!(
            matches!(&answer.outcome, Ingested::Rejected(r) if r.reason == RejectReason::SenderNotAllowed),
            "{answer:?}"
        );
    }

    #[tokio::test]
    async fn the_same_post_twice_starts_one_execution() {
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let jpeg = b"\xff\xd8\xff\xe0 jpeg bytes \r\n\x00\xff\xd9";
        let first = ingest(
            ONE_CAMERA,
            &parsed_post(b"frontdoor@cams.example.com", jpeg),
            &store,
            &executions,
        )
        .await;
        let second = ingest(
            ONE_CAMERA,
            &parsed_post(b"frontdoor@cams.example.com", jpeg),
            &store,
            &executions,
        )
        .await;
        assert!(matches!(first.outcome, Ingested::Started(_)), "{first:?}");
        assert_eq!(second.outcome, Ingested::Duplicate);
        assert!(!second.unauthorized());
        assert_eq!(first.id, second.id);
        assert_eq!(executions.started().len(), 1);
        let raw_first = ingest(ONE_CAMERA, &raw_post(CAMERA_MAIL), &store, &executions).await;
        let raw_second = ingest(ONE_CAMERA, &raw_post(CAMERA_MAIL), &store, &executions).await;
        assert!(matches!(raw_first.outcome, Ingested::Started(_)));
        assert_eq!(raw_second.outcome, Ingested::Duplicate);
        assert_eq!(executions.started().len(), 2);
    }

    #[tokio::test]
    async fn parsed_mode_is_stored_as_a_message_with_the_attachment_bytes() {
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let jpeg = b"\xff\xd8\xff\xe0 jpeg bytes \r\n--SGboundar\r\n\x00\xff\xd9";
        let answer = ingest(
            ONE_CAMERA,
            &parsed_post(b"frontdoor@cams.example.com", jpeg),
            &store,
            &executions,
        )
        .await;
        assert!(matches!(answer.outcome, Ingested::Started(_)), "{answer:?}");
        let message = executions.started()[0].1.event.message.clone();
        let stored = store.get(&message).await.unwrap();
        let message = mailparse::parse_mail(&stored).unwrap();
        let attachment = message
            .subparts
            .iter()
            .find(|part| {
                part.get_content_disposition()
                    .params
                    .get("filename")
                    .map(String::as_str)
                    == Some("snap.jpg")
            })
            .unwrap();
        assert_eq!(attachment.get_body_raw().unwrap(), jpeg);
    }

    #[tokio::test]
    async fn stranger_is_answered_200_so_sendgrid_does_not_retry_and_nothing_starts() {
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let mail = b"From: stranger@example.org\r\nSubject: hi\r\n\r\nhello\r\n";
        let answer = ingest(ONE_CAMERA, &raw_post(mail), &store, &executions).await;
        assert!(!answer.unauthorized());
        assert_eq!(
            rejection_reason(&answer),
            Some(RejectReason::SenderNotAllowed)
        );
        assert!(store.keys().is_empty());
        assert!(executions.started().is_empty());
    }

    #[tokio::test]
    async fn parsed_mode_checks_the_original_from_not_a_forged_field() {
        // The `from` field disagrees with the original headers: the
        // headers are what the message is rebuilt from, and what is judged.
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let mut request = parsed_post(b"frontdoor@cams.example.com", b"x");
        request.body = form_body(&[
            ("headers", None, None, b"From: stranger@example.org\r\n"),
            ("from", None, None, b"frontdoor@cams.example.com"),
            ("text", None, None, b"hi"),
        ]);
        let answer = ingest(ONE_CAMERA, &request, &store, &executions).await;
        assert_eq!(
            rejection_reason(&answer),
            Some(RejectReason::SenderNotAllowed)
        );
    }

    #[tokio::test]
    async fn failed_checks_reported_by_sendgrid_follow_the_verdict_settings() {
        let mail_with = |field: &'static str, value: &'static [u8]| {
            post(&[
                ("email", None, None, CAMERA_MAIL),
                (field, None, None, value),
            ])
        };
        // Every sender is let in: only the verdicts refuse.
        let anyone = "[ingest]\nallow_any_sender = true\n";
        let strict = "[ingest]\nallow_any_sender = true\n[ingest.verdicts]\nspf = \"reject\"\ndkim = \"reject\"\n";
        for (request, config, expected) in [
            (
                mail_with("spam_score", b"7.3"),
                anyone,
                Some(RejectReason::Spam),
            ),
            (mail_with("spam_score", b"1.2"), anyone, None),
            (mail_with("SPF", b"fail"), anyone, None),
            (mail_with("SPF", b"fail"), strict, Some(RejectReason::Spf)),
            (mail_with("SPF", b"softfail"), strict, None),
            (
                mail_with("dkim", b"{@cams.example.com : fail}"),
                strict,
                Some(RejectReason::Dkim),
            ),
            (
                mail_with("dkim", b"{@a.example : fail, @cams.example.com : pass}"),
                strict,
                None,
            ),
            (mail_with("dkim", b"none"), strict, None),
        ] {
            let answer = ingest(
                config,
                &request,
                &MemoryStore::default(),
                &RecordedExecutions::default(),
            )
            .await;
            assert!(!answer.unauthorized());
            assert_eq!(rejection_reason(&answer), expected, "{config} {answer:?}");
        }
    }

    #[tokio::test]
    async fn message_over_the_limit_is_answered_200_and_counted() {
        let store = MemoryStore::default();
        let executions = RecordedExecutions::default();
        let mut big = CAMERA_MAIL.to_vec();
        big.extend(std::iter::repeat_n(b'x', 3000));
        let answer = ingest(
            "[ingest]\nmax_message_bytes = 2048\nallow_any_sender = true\n",
            &raw_post(&big),
            &store,
            &executions,
        )
        .await;
        assert!(!answer.unauthorized());
        assert_eq!(rejection_reason(&answer), Some(RejectReason::TooLarge));
        assert!(store.keys().is_empty());
    }

    #[tokio::test]
    async fn post_far_beyond_the_limit_is_refused_before_it_is_parsed() {
        let mut request = raw_post(CAMERA_MAIL);
        request.body = vec![b'-'; 3 * 1024 * 1024];
        let answer = ingest(
            "[ingest]\nmax_message_bytes = 2048\n",
            &request,
            &MemoryStore::default(),
            &RecordedExecutions::default(),
        )
        .await;
        assert!(!answer.unauthorized());
        assert_eq!(rejection_reason(&answer), Some(RejectReason::TooLarge));
        assert!(answer.summary().contains("post is"), "{answer:?}");
    }

    #[tokio::test]
    async fn unreadable_posts_are_answered_200_with_a_reason() {
        let mut not_a_form = raw_post(CAMERA_MAIL);
        not_a_form.content_type = Some("application/json".into());
        let no_message = post(&[("to", None, None, b"alerts@in.example.com")]);
        for request in [not_a_form, no_message] {
            let answer = ingest(
                "",
                &request,
                &MemoryStore::default(),
                &RecordedExecutions::default(),
            )
            .await;
            assert!(!answer.unauthorized());
            assert_eq!(
                rejection_reason(&answer),
                Some(RejectReason::Unreadable),
                "{answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn step_functions_unavailable_is_an_error_that_may_pass() {
        let config = Config::parse("[ingest]\nallow_any_sender = true\n").unwrap();
        let err = ingest_sendgrid(
            &config,
            &raw_post(CAMERA_MAIL),
            Some(&credentials()),
            SenderRules::Apply,
            &inbox(),
            &MemoryStore::default(),
            &UnavailableExecutions,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, crate::stages::StageErrorKind::Transient);
    }
}
