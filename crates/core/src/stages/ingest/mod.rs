//! Ingestion: turning a received e-mail into one pipeline execution.
//!
//! Every way mail arrives goes through the same door ([`admission`]): the
//! mail service's checks, the sender allow-list and the size limit of the
//! `[ingest]` table. A refused message starts nothing, so nothing from a
//! stranger ever reaches the detector; it is logged and counted
//! (by each edge: on AWS an EMF metric) so that an alarm can tell someone
//! is knocking.
//!
//! Both entry points start the execution under the message's stable id, so
//! a second delivery of the same message (SES may deliver twice; SendGrid
//! retries any non-2xx answer for days) starts nothing new.

pub mod admission;
mod form;
mod rebuild;
pub mod sendgrid;
pub mod ses;

use sha2::{Digest, Sha256};

pub use admission::{Check, RejectReason, Rejection};
pub use sendgrid::{ingest_sendgrid, BasicCredentials, HttpRequest, HttpResponse, SendgridAnswer};
pub use ses::{ingest_ses, SesDelivery, SesStorage};

use super::StageError;
use crate::contract::{Event, ExecutionInput, CONTRACT_VERSION};
use crate::ports::{Executions, Started};

/// Step Functions execution names are at most 80 characters.
const MAX_EXECUTION_NAME: usize = 80;

/// Longest header text carried into the execution input: RFC 5322's line
/// limit. The input must stay far below Step Functions' 256 KB.
const MAX_HEADER_CHARS: usize = 998;
/// Most recipients carried into the execution input.
const MAX_RECIPIENTS: usize = 50;

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

/// Keeps the header fields of an event small enough for the execution
/// input, however long the headers of the message were.
fn bounded(mut event: Event) -> Event {
    let cut = |text: String| -> String {
        if text.chars().count() <= MAX_HEADER_CHARS {
            text
        } else {
            text.chars().take(MAX_HEADER_CHARS).collect()
        }
    };
    event.from = event.from.map(cut);
    event.subject = event.subject.map(cut);
    event.to.truncate(MAX_RECIPIENTS);
    event.to = event.to.into_iter().map(cut).collect();
    event
}

/// Starts an execution named after the event's id.
async fn start(executions: &impl Executions, event: Event) -> Result<Ingested, StageError> {
    let input = ExecutionInput {
        version: CONTRACT_VERSION,
        event: bounded(event),
    };
    let name = execution_name(&input.event.id);
    match executions.start(&name, &input).await {
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
        assert_eq!(event.subject.unwrap().len(), MAX_HEADER_CHARS);
        assert_eq!(event.from.unwrap().len(), MAX_HEADER_CHARS);
        assert_eq!(event.to.len(), MAX_RECIPIENTS);
    }
}
