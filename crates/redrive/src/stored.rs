//! What SES said of a message it stored, read back from the message itself.
//!
//! When the receipt event of a stored message is lost, the message still
//! carries SES's verdicts: the receipt rule adds `X-SES-Spam-Verdict`,
//! `X-SES-Virus-Verdict` and `Authentication-Results` (`spf=`, `dkim=`,
//! `dmarc=`) to its header before storing it. They are read here so that a
//! message redriven from the store meets the same door as its event would
//! have: a forged `From` that SPF, DKIM or DMARC failed stays refused. A
//! verdict the message does not carry counts as not given, as in the event.

use mailparse::MailHeaderMap;

use ipcam_core::mime;
use ipcam_core::stages::ingest::SesDelivery;

/// The delivery of the message stored under `message_id`, as its SES
/// event would have described it, received at `received_at` (RFC 3339).
pub(crate) fn delivery(message_id: &str, raw: &[u8], received_at: &str) -> SesDelivery {
    let mut delivery = SesDelivery {
        message_id: message_id.to_string(),
        timestamp: received_at.to_string(),
        ..SesDelivery::default()
    };
    let Ok((headers, _)) = mailparse::parse_headers(raw) else {
        return delivery;
    };
    delivery.from = headers
        .get_all_headers("From")
        .iter()
        .map(|header| String::from_utf8_lossy(header.get_value_raw()).into_owned())
        .collect();
    if let Ok(envelope) = mime::envelope(raw) {
        delivery.to = envelope.to;
        delivery.subject = envelope.subject;
    }
    delivery.recipients = headers
        .get_first_value("Received")
        .and_then(|received| received_for(&received))
        .into_iter()
        .collect();
    delivery.envelope_sender = headers
        .get_first_value("Return-Path")
        .map(|path| path.trim().trim_matches(['<', '>']).to_string())
        .filter(|path| !path.is_empty());
    delivery.spam_verdict = headers
        .get_first_value("X-SES-Spam-Verdict")
        .map(|verdict| verdict.trim().to_ascii_uppercase());
    delivery.virus_verdict = headers
        .get_first_value("X-SES-Virus-Verdict")
        .map(|verdict| verdict.trim().to_ascii_uppercase());
    let results: Vec<String> = headers.get_all_values("Authentication-Results");
    delivery.spf_verdict = authentication_result(&results, "spf");
    delivery.dkim_verdict = authentication_result(&results, "dkim");
    delivery.dmarc_verdict = authentication_result(&results, "dmarc");
    delivery
}

/// The recipient a `Received` header says the message was received for
/// (`... with SMTP id X for frontdoor-k7q2…@cams.example.com; date`): the
/// envelope recipient the receipt rule matched. Only the first `Received`
/// header is read, the one SES adds on top of whatever the sender wrote.
fn received_for(received: &str) -> Option<String> {
    let clauses = received.split(';').next()?;
    let mut words = clauses.split_whitespace();
    while let Some(word) = words.next() {
        if word.eq_ignore_ascii_case("for") {
            let address = words.next()?.trim_matches(['<', '>']);
            return address.contains('@').then(|| address.to_string());
        }
    }
    None
}

/// The result of `method` in `Authentication-Results` (RFC 8601):
/// `method=result`, upper-cased as SES's event writes verdicts. With
/// several results for one method (two DKIM signatures), a failure wins
/// only when none passed.
fn authentication_result(results: &[String], method: &str) -> Option<String> {
    let found: Vec<String> = results
        .iter()
        .flat_map(|value| value.split(';'))
        .filter_map(|clause| {
            let (name, rest) = clause.trim().split_once('=')?;
            if !name.trim().eq_ignore_ascii_case(method) {
                return None;
            }
            let result = rest.split_whitespace().next()?;
            Some(result.to_ascii_uppercase())
        })
        .collect();
    if found.iter().any(|result| result == "PASS") {
        Some("PASS".into())
    } else {
        found.into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: &str = "Return-Path: <cam@cameras.example.net>\r\n\
Received: from a.example by inbound-smtp.eu-west-1.amazonaws.com with SMTP id o3vrnil0e2ic28 for frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com;\r\n Mon, 01 Dec 2026 08:00:00 +0000 (UTC)\r\n\
Received: from cam by a.example for <forged-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com>\r\n\
X-SES-Spam-Verdict: PASS\r\n\
X-SES-Virus-Verdict: PASS\r\n\
Received-SPF: fail (spfCheck: domain does not designate sender)\r\n\
Authentication-Results: amazonses.com;\r\n spf=fail (spfCheck: domain does not designate sender) smtp.mailfrom=cam@cameras.example.net;\r\n dkim=pass header.i=@cameras.example.net;\r\n dmarc=fail header.from=cameras.example.net;\r\n\
From: Front door <frontdoor@cameras.example.net>\r\n\
To: frontdoor@in.example.com\r\n\
Subject: Motion detected\r\n\
\r\n\
body\r\n";

    #[test]
    fn a_stored_message_carries_the_verdicts_ses_gave_it() {
        let delivery = delivery("o3vrnil0e2ic28", STORED.as_bytes(), "2026-12-01T08:00:00Z");
        assert_eq!(delivery.message_id, "o3vrnil0e2ic28");
        assert_eq!(delivery.timestamp, "2026-12-01T08:00:00Z");
        assert_eq!(
            delivery.from,
            vec!["Front door <frontdoor@cameras.example.net>"]
        );
        assert_eq!(delivery.to, vec!["frontdoor@in.example.com"]);
        assert_eq!(
            delivery.recipients,
            vec!["frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@in.example.com"],
            "the recipient of SES's own Received header, not of the sender's"
        );
        assert_eq!(delivery.subject.as_deref(), Some("Motion detected"));
        assert_eq!(
            delivery.envelope_sender.as_deref(),
            Some("cam@cameras.example.net")
        );
        assert_eq!(delivery.spam_verdict.as_deref(), Some("PASS"));
        assert_eq!(delivery.virus_verdict.as_deref(), Some("PASS"));
        assert_eq!(delivery.spf_verdict.as_deref(), Some("FAIL"));
        assert_eq!(delivery.dkim_verdict.as_deref(), Some("PASS"));
        assert_eq!(delivery.dmarc_verdict.as_deref(), Some("FAIL"));
    }

    #[test]
    fn a_message_without_verdicts_has_none_given() {
        let raw = b"From: cam@cameras.example.net\r\nSubject: Motion\r\n\r\nbody\r\n";
        let delivery = delivery("id", raw, "2026-12-01T08:00:00Z");
        assert_eq!(delivery.from, vec!["cam@cameras.example.net"]);
        assert_eq!(delivery.spam_verdict, None);
        assert_eq!(delivery.spf_verdict, None);
        assert_eq!(delivery.dmarc_verdict, None);
    }
}
