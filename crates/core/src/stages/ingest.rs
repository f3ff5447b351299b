//! Ingestion: turning a received e-mail into one pipeline execution.
//!
//! Both entry points start the execution under the message's stable id, so
//! a second delivery of the same message (SES may deliver twice; SendGrid
//! retries any non-2xx answer for days) starts nothing new.

use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{StageError, StageErrorKind};
use crate::contract::{Event, ExecutionInput, ObjectRef, Source, CONTRACT_VERSION};
use crate::mime;
use crate::ports::{Executions, ObjectStore, Started};

/// Step Functions execution names are at most 80 characters.
const MAX_EXECUTION_NAME: usize = 80;

/// What ingestion did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// An execution was started; its id.
    Started(String),
    /// The message was seen before: nothing new was started.
    Duplicate,
    /// The message was refused, and why.
    Rejected(String),
}

/// What the SES receipt event says of one message (the Lambda action's
/// event, after the S3 action stored the message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SesDelivery {
    pub message_id: String,
    /// RFC 3339 time SES received the message.
    pub timestamp: String,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub subject: Option<String>,
    /// SES's spam verdict: `PASS`, `FAIL`, `GRAY` or `PROCESSING_FAILED`.
    pub spam_verdict: Option<String>,
    /// SES's virus verdict.
    pub virus_verdict: Option<String>,
}

/// Where the SES receipt rule's S3 action stores messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesStorage {
    pub bucket: String,
    /// Object key prefix of the S3 action, e.g. `incoming/`.
    pub prefix: String,
}

/// Checks SES's verdicts and starts the execution for one stored message.
pub async fn ingest_ses(
    delivery: &SesDelivery,
    storage: &SesStorage,
    executions: &impl Executions,
) -> Result<Ingested, StageError> {
    for (what, verdict) in [
        ("spam", &delivery.spam_verdict),
        ("virus", &delivery.virus_verdict),
    ] {
        if verdict.as_deref() == Some("FAIL") {
            return Ok(Ingested::Rejected(format!(
                "SES {what} verdict is FAIL for message {}",
                delivery.message_id
            )));
        }
    }
    if delivery.message_id.is_empty() {
        return Err(StageError::new(
            StageErrorKind::InvalidInput,
            "SES event has no message id",
        ));
    }
    let input = ExecutionInput {
        version: CONTRACT_VERSION,
        event: Event {
            id: delivery.message_id.clone(),
            source: Source::Ses,
            message: ObjectRef {
                bucket: storage.bucket.clone(),
                key: format!("{}{}", storage.prefix, delivery.message_id),
            },
            from: delivery.from.clone(),
            to: delivery.to.clone(),
            subject: delivery.subject.clone(),
            received_at: delivery.timestamp.clone(),
        },
    };
    start(executions, &input).await
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

/// An HTTP request as the SendGrid endpoint received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub body: Vec<u8>,
    /// RFC 3339 time of receipt.
    pub received_at: String,
}

/// The answer to give SendGrid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

impl HttpResponse {
    fn new(status: u16, body: impl Into<String>) -> Self {
        HttpResponse {
            status,
            body: body.into(),
        }
    }
}

/// Takes one SendGrid Inbound Parse post ("raw" mode: the form field
/// `email` holds the whole message), stores the message and starts its
/// execution.
///
/// Wrong credentials get 401 and nothing is stored. A post that can never
/// be processed gets 400; a failure that may pass gets 503 so SendGrid
/// retries, and the retry starts nothing new once the first one got through.
pub async fn ingest_sendgrid(
    request: &HttpRequest,
    credentials: &BasicCredentials,
    bucket: &str,
    store: &impl ObjectStore,
    executions: &impl Executions,
) -> Result<HttpResponse, StageError> {
    if !credentials.admit(request.authorization.as_deref()) {
        return Ok(HttpResponse::new(401, "unauthorized"));
    }
    accept_sendgrid(request, bucket, store, executions).await
}

/// [`ingest_sendgrid`] after authentication, for endpoints that need none
/// (a local server on a trusted network).
pub async fn accept_sendgrid(
    request: &HttpRequest,
    bucket: &str,
    store: &impl ObjectStore,
    executions: &impl Executions,
) -> Result<HttpResponse, StageError> {
    let raw = match raw_email_field(request) {
        Ok(raw) => raw,
        Err(reason) => return Ok(HttpResponse::new(400, reason)),
    };
    let envelope = match mime::envelope(&raw) {
        Ok(envelope) => envelope,
        Err(err) => return Ok(HttpResponse::new(400, err.to_string())),
    };
    let id = format!("sendgrid-{}", &hex::encode(Sha256::digest(&raw))[..40]);
    let message = ObjectRef {
        bucket: bucket.to_string(),
        key: format!("incoming/sendgrid/{id}"),
    };
    store
        .put(&message, raw, "message/rfc822")
        .await
        .map_err(|err| StageError::from_port("storing the SendGrid message", err))?;
    let input = ExecutionInput {
        version: CONTRACT_VERSION,
        event: Event {
            id,
            source: Source::Sendgrid,
            message,
            from: envelope.from,
            to: envelope.to,
            subject: envelope.subject,
            received_at: request.received_at.clone(),
        },
    };
    Ok(match start(executions, &input).await? {
        Ingested::Started(_) => HttpResponse::new(200, "accepted"),
        Ingested::Duplicate => HttpResponse::new(200, "already accepted"),
        Ingested::Rejected(reason) => HttpResponse::new(200, reason),
    })
}

/// The whole MIME message of a "raw" mode post.
fn raw_email_field(request: &HttpRequest) -> Result<Vec<u8>, String> {
    let content_type = request
        .content_type
        .as_deref()
        .ok_or("missing Content-Type: expected multipart/form-data")?;
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(format!(
            "Content-Type is {content_type}: expected multipart/form-data"
        ));
    }
    // A form-data body is a MIME multipart: parse it as one.
    let mut document = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    document.extend_from_slice(&request.body);
    let form =
        mailparse::parse_mail(&document).map_err(|err| format!("unreadable form body: {err}"))?;
    form.subparts
        .iter()
        .find(|field| {
            field
                .get_content_disposition()
                .params
                .get("name")
                .is_some_and(|name| name == "email")
        })
        .ok_or_else(|| {
            "no `email` field: set Inbound Parse to post the raw, full MIME message".to_string()
        })?
        .get_body_raw()
        .map_err(|err| format!("unreadable `email` field: {err}"))
}

/// Starts an execution named after the event's id.
async fn start(
    executions: &impl Executions,
    input: &ExecutionInput,
) -> Result<Ingested, StageError> {
    let name = execution_name(&input.event.id);
    match executions.start(&name, input).await {
        Ok(Started::New(id)) => Ok(Ingested::Started(id)),
        Ok(Started::AlreadyStarted) => Ok(Ingested::Duplicate),
        Err(err) => Err(StageError::from_port("starting the execution", err)),
    }
}

/// An execution name from a message id: only the characters Step Functions
/// allows, at most 80 of them. Ids that differ only in refused characters
/// stay distinct through a digest suffix.
pub fn execution_name(id: &str) -> String {
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
    fn basic_auth_admits_only_the_right_pair() {
        let credentials = BasicCredentials {
            username: "sendgrid".into(),
            password: "s3cret".into(),
        };
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("sendgrid:s3cret")
        );
        let bad = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("sendgrid:guess")
        );
        assert!(credentials.admit(Some(&good)));
        assert!(!credentials.admit(Some(&bad)));
        assert!(!credentials.admit(Some("Basic !!!not-base64")));
        assert!(!credentials.admit(Some("Bearer abc")));
        assert!(!credentials.admit(None));
    }

    #[test]
    fn raw_mode_form_yields_the_email_field() {
        let body = b"--xYz\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nalerts@x\r\n--xYz\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nFrom: a@b\r\nSubject: hi\r\n\r\nbody\r\n--xYz--\r\n";
        let request = HttpRequest {
            content_type: Some("multipart/form-data; boundary=xYz".into()),
            body: body.to_vec(),
            ..HttpRequest::default()
        };
        let raw = raw_email_field(&request).unwrap();
        assert!(raw.starts_with(b"From: a@b\r\nSubject: hi"));
    }

    #[test]
    fn form_without_email_field_says_how_to_set_sendgrid_up() {
        let body =
            b"--q\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--q--\r\n";
        let request = HttpRequest {
            content_type: Some("multipart/form-data; boundary=q".into()),
            body: body.to_vec(),
            ..HttpRequest::default()
        };
        assert!(raw_email_field(&request)
            .unwrap_err()
            .contains("raw, full MIME"));
    }
}
