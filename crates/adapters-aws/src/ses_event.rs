//! The SES receipt event, read leniently.
//!
//! SES has added to its receipt event over the years (`dmarcVerdict` and
//! `dmarcPolicy` came late; several public samples and older events lack
//! them), and a strict reading of the whole event fails before the handler
//! runs, when the message is already stored and nothing else will start it.
//! Here every field the door does not need is optional: a verdict, a
//! header or a list that is absent (or `null`) counts as not given. A record
//! is unreadable only when it is not the shape of an SES record at all (a
//! field of the wrong type, no `ses.mail`); it is then reported with the
//! message id it carries, if any, so that the failure can name the stored
//! message.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::Value;

use ipcam_core::stages::ingest::SesDelivery;

/// A record, or the whole event, that cannot be read as SES's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The message id the record carries (`ses.mail.messageId`), when it
    /// has one: the stored message's name.
    pub message_id: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message_id {
            Some(id) => write!(f, "message {id}: {}", self.reason),
            None => write!(f, "a message of unknown id: {}", self.reason),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    ses: Ses,
}

#[derive(Deserialize)]
struct Ses {
    mail: Mail,
    #[serde(default)]
    receipt: Option<Receipt>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    destination: Option<Vec<String>>,
    #[serde(default)]
    common_headers: Option<CommonHeaders>,
}

#[derive(Deserialize)]
struct CommonHeaders {
    #[serde(default)]
    from: Option<Vec<String>>,
    #[serde(default)]
    subject: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    recipients: Option<Vec<String>>,
    #[serde(default)]
    spam_verdict: Option<Verdict>,
    #[serde(default)]
    virus_verdict: Option<Verdict>,
    #[serde(default)]
    spf_verdict: Option<Verdict>,
    #[serde(default)]
    dkim_verdict: Option<Verdict>,
    #[serde(default)]
    dmarc_verdict: Option<Verdict>,
    #[serde(default)]
    dmarc_policy: Option<String>,
}

#[derive(Deserialize)]
struct Verdict {
    #[serde(default)]
    status: Option<String>,
}

fn status(verdict: Option<Verdict>) -> Option<String> {
    verdict.and_then(|verdict| verdict.status)
}

/// The records of an SES receipt event, each read on its own: one that
/// cannot be read does not stop the others. The event itself is unreadable
/// when it holds no list of records.
pub fn read_event(event: &Value) -> Result<Vec<Result<SesDelivery, Unreadable>>, Unreadable> {
    let records = match event.get("Records") {
        Some(Value::Array(records)) if !records.is_empty() => records,
        Some(Value::Array(_)) => return Err(unreadable(event, "the event holds no record")),
        Some(_) => return Err(unreadable(event, "the event's `Records` is not a list")),
        None => return Err(unreadable(event, "the event has no `Records`")),
    };
    Ok(records.iter().map(read_record).collect())
}

/// One record as the door takes it.
pub fn read_record(record: &Value) -> Result<SesDelivery, Unreadable> {
    let Record { ses } = Record::deserialize(record).map_err(|err| {
        unreadable(
            record,
            &format!("the record is not an SES receipt record: {err}"),
        )
    })?;
    let (mail, receipt) = (ses.mail, ses.receipt);
    let headers = mail.common_headers;
    let (from, subject) = match headers {
        Some(headers) => (headers.from.unwrap_or_default(), headers.subject),
        None => (Vec::new(), None),
    };
    let received_timestamp = receipt.as_ref().and_then(|r| r.timestamp.clone());
    let message_id = mail.message_id.unwrap_or_default();
    let timestamp = received_at(&message_id, [mail.timestamp, received_timestamp]);
    let mut delivery = SesDelivery {
        message_id,
        timestamp,
        from,
        envelope_sender: mail.source,
        to: mail.destination.unwrap_or_default(),
        subject,
        ..SesDelivery::default()
    };
    if let Some(receipt) = receipt {
        delivery.recipients = receipt.recipients.unwrap_or_default();
        delivery.spam_verdict = status(receipt.spam_verdict);
        delivery.virus_verdict = status(receipt.virus_verdict);
        delivery.spf_verdict = status(receipt.spf_verdict);
        delivery.dkim_verdict = status(receipt.dkim_verdict);
        delivery.dmarc_verdict = status(receipt.dmarc_verdict);
        delivery.dmarc_policy = receipt.dmarc_policy;
    }
    Ok(delivery)
}

/// When SES received the message, as RFC 3339 in UTC: the mail's time, or
/// the receipt's; the time of reading when neither is an RFC 3339 time (the
/// function runs as SES receives), with a warning.
fn received_at(message_id: &str, candidates: [Option<String>; 2]) -> String {
    let given = candidates.iter().flatten().find_map(|text| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    });
    let at = given.unwrap_or_else(|| {
        tracing::warn!(%message_id, times = ?candidates, "the event gives no RFC 3339 time of receipt: the time of reading stands for it");
        Utc::now()
    });
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn unreadable(value: &Value, reason: &str) -> Unreadable {
    let message_id = ["/ses/mail/messageId", "/Records/0/ses/mail/messageId"]
        .iter()
        .find_map(|pointer| value.pointer(pointer).and_then(Value::as_str))
        .map(|id| id.chars().take(200).collect());
    Unreadable {
        message_id,
        reason: reason.to_string(),
    }
}
