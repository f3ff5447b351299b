//! SendGrid's "parsed" mode takes the message apart into form fields; this
//! puts it back together as one MIME message, so the rest of the pipeline
//! reads every message the same way.
//!
//! The result is a function of the post alone (no clock, no random
//! boundary): the same post rebuilds to the same bytes, so its digest, and
//! with it the execution name, is the same on every SendGrid retry.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine;
use mailparse::MailHeaderMap;
use sha2::{Digest, Sha256};

use super::form::{Field, Form};

/// Original headers carried over from SendGrid's `headers` field, in this
/// order, when it is present: they are the message's own, still encoded.
const CARRIED_HEADERS: [&str; 6] = ["From", "To", "Cc", "Subject", "Date", "Message-ID"];

/// Base64 line length of RFC 2045.
const BASE64_LINE: usize = 76;

/// Rebuilds the message of a parsed-mode post: `multipart/mixed` with the
/// text, the HTML and every `attachmentN` field in the order of N, each
/// base64-encoded with its bytes unchanged.
pub(super) fn rebuild(form: &Form) -> Vec<u8> {
    let charsets = charsets(form);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (field, mimetype) in [("text", "text/plain"), ("html", "text/html")] {
        if let Some(text) = form.get(field).filter(|f| !f.bytes.is_empty()) {
            let charset = charsets.get(field).map_or("utf-8", String::as_str);
            let head = format!(
                "Content-Type: {mimetype}; charset=\"{}\"\r\nContent-Transfer-Encoding: base64\r\n",
                clean_token(charset, "utf-8")
            );
            parts.push(part(&head, &text.bytes));
        }
    }
    let info = attachment_info(form);
    for (field, details) in attachments(form, &info) {
        parts.push(part(&attachment_head(field, details), &field.bytes));
    }

    let mut message = headers(form);
    let boundary = boundary(&message, &parts);
    message.push_str("MIME-Version: 1.0\r\n");
    let _ = write!(
        message,
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    );
    let mut bytes = message.into_bytes();
    for part in &parts {
        bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        bytes.extend_from_slice(part);
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    bytes
}

/// The message headers: the original ones from SendGrid's `headers` field
/// when it is there, else made from the `from`, `to`, `cc` and `subject`
/// fields (encoded per RFC 2047 when they are not ASCII).
fn headers(form: &Form) -> String {
    let mut out = String::new();
    if let Some(block) = form.get("headers") {
        let mut block = block.bytes.clone();
        block.extend_from_slice(b"\r\n\r\n");
        if let Ok((original, _)) = mailparse::parse_headers(&block) {
            for name in CARRIED_HEADERS {
                if let Some(header) = original.get_first_header(name) {
                    let value = String::from_utf8_lossy(header.get_value_raw());
                    let _ = write!(out, "{name}: {}\r\n", one_line(&value));
                }
            }
        }
    }
    if out.is_empty() {
        for (field, name) in [("from", "From"), ("to", "To"), ("cc", "Cc")] {
            if let Some(value) = form.text(field).filter(|v| !v.trim().is_empty()) {
                let _ = write!(out, "{name}: {}\r\n", address_list(&one_line(&value)));
            }
        }
        if let Some(value) = form.text("subject").filter(|v| !v.trim().is_empty()) {
            let _ = write!(out, "Subject: {}\r\n", encoded_word(&one_line(&value)));
        }
    }
    out
}

/// An address header value with any non-ASCII display name encoded, the
/// addresses themselves left bare so that they can still be read (and
/// checked against the allow-list).
fn address_list(value: &str) -> String {
    let Ok(list) = mailparse::addrparse(value) else {
        return encoded_word(value);
    };
    let mut mailboxes = Vec::new();
    for entry in list.iter() {
        match entry {
            mailparse::MailAddr::Single(single) => mailboxes.push(match &single.display_name {
                Some(name) if !name.is_ascii() => {
                    format!("{} <{}>", encoded_word(name), single.addr)
                }
                Some(name) => format!(
                    "\"{}\" <{}>",
                    name.replace('\\', "\\\\").replace('"', "\\\""),
                    single.addr
                ),
                None => single.addr.clone(),
            }),
            mailparse::MailAddr::Group(_) => return encoded_word(value),
        }
    }
    mailboxes.join(", ")
}

/// The attachment fields in the order of their number, each with what
/// `attachment-info` says of it.
fn attachments<'a>(
    form: &'a Form,
    info: &'a BTreeMap<String, serde_json::Value>,
) -> Vec<(&'a Field, Option<&'a serde_json::Value>)> {
    let mut numbered: Vec<(u32, &Field)> = form
        .fields
        .iter()
        .filter_map(|field| {
            let number = field.name.strip_prefix("attachment")?.parse::<u32>().ok()?;
            Some((number, field))
        })
        .collect();
    numbered.sort_by_key(|(number, _)| *number);
    numbered.dedup_by_key(|(number, _)| *number);
    numbered
        .into_iter()
        .map(|(_, field)| (field, info.get(&field.name)))
        .collect()
}

fn attachment_head(field: &Field, details: Option<&serde_json::Value>) -> String {
    let detail = |key: &str| {
        details
            .and_then(|d| d.get(key))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let content_type = detail("type")
        .or_else(|| field.content_type.clone())
        .map(|declared| clean_mimetype(&declared))
        .unwrap_or_else(|| "application/octet-stream".into());
    let filename = field
        .filename
        .clone()
        .or_else(|| detail("filename"))
        .or_else(|| detail("name"))
        .unwrap_or_else(|| field.name.clone());
    let mut head = format!(
        "Content-Type: {content_type}; {}\r\nContent-Disposition: attachment; {}\r\nContent-Transfer-Encoding: base64\r\n",
        parameter("name", &filename),
        parameter("filename", &filename)
    );
    if let Some(id) = detail("content-id") {
        let _ = write!(
            head,
            "Content-ID: <{}>\r\n",
            one_line(id.trim_matches(['<', '>']))
        );
    }
    head
}

/// One body part: its headers, a blank line, base64 lines.
fn part(head: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = head.as_bytes().to_vec();
    out.extend_from_slice(b"\r\n");
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    for line in encoded.as_bytes().chunks(BASE64_LINE) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A boundary derived from the content: stable for the same post, and a
/// base64 body or header can never contain it (`=_` is not base64).
fn boundary(headers: &str, parts: &[Vec<u8>]) -> String {
    let mut digest = Sha256::new();
    digest.update(headers.as_bytes());
    for part in parts {
        digest.update(part);
    }
    format!("=_ipcam_{}", &hex::encode(digest.finalize())[..32])
}

/// SendGrid's `charsets` field: the character set of each text field.
fn charsets(form: &Form) -> BTreeMap<String, String> {
    form.get("charsets")
        .and_then(|field| serde_json::from_slice(&field.bytes).ok())
        .unwrap_or_default()
}

/// SendGrid's `attachment-info` field: file name and type of each
/// `attachmentN` field.
fn attachment_info(form: &Form) -> BTreeMap<String, serde_json::Value> {
    form.get("attachment-info")
        .and_then(|field| serde_json::from_slice(&field.bytes).ok())
        .unwrap_or_default()
}

/// A header value on one line: line breaks would let a field's value
/// inject headers of its own.
fn one_line(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text itself when ASCII, else one RFC 2047 encoded word (UTF-8, the
/// encoding [`Form::text`] gives).
fn encoded_word(value: &str) -> String {
    if value.is_ascii() {
        value.to_string()
    } else {
        format!(
            "=?utf-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
        )
    }
}

/// A header parameter: quoted when ASCII, RFC 2231 encoded otherwise.
fn parameter(name: &str, value: &str) -> String {
    let value = one_line(value);
    if value.is_ascii() {
        format!(
            "{name}=\"{}\"",
            value.replace('\\', "\\\\").replace('"', "\\\"")
        )
    } else {
        let encoded: String = value
            .bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                    char::from(byte).to_string()
                } else {
                    format!("%{byte:02X}")
                }
            })
            .collect();
        format!("{name}*=utf-8''{encoded}")
    }
}

/// A `type/subtype` as declared, or `application/octet-stream` when it is
/// not one (a form field's `Content-Type` is outside input).
fn clean_mimetype(declared: &str) -> String {
    let essence = declared.split(';').next().unwrap_or_default().trim();
    let valid = essence.split_once('/').is_some_and(|(kind, sub)| {
        !kind.is_empty() && !sub.is_empty() && essence.bytes().all(is_token_byte_or_slash)
    });
    if valid {
        essence.to_ascii_lowercase()
    } else {
        "application/octet-stream".into()
    }
}

/// A MIME token (a charset name), or `fallback` when it is not one.
fn clean_token(token: &str, fallback: &str) -> String {
    let token = token.trim();
    if !token.is_empty()
        && token
            .bytes()
            .all(|b| b != b'/' && is_token_byte_or_slash(b))
    {
        token.to_string()
    } else {
        fallback.to_string()
    }
}

fn is_token_byte_or_slash(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~/".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime;

    /// A JPEG big enough for Rekognition (80 px a side), made here.
    fn snapshot_jpeg() -> Vec<u8> {
        crate::testing::gradient_jpeg(96, 96)
    }

    fn field(name: &str, value: &[u8]) -> Field {
        Field {
            name: name.into(),
            filename: None,
            content_type: None,
            bytes: value.to_vec(),
        }
    }

    fn camera_post(jpeg: &[u8]) -> Form {
        Form {
            fields: vec![
                field("headers", b"Received: by mx.sendgrid.net\r\nFrom: Front Door <frontdoor@cams.example.com>\r\nTo: alerts@in.example.com\r\nSubject: =?UTF-8?B?QmV3ZWd1bmcgZXJrYW5udA==?=\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1234@cam>\r\n"),
                field("from", b"Front Door <frontdoor@cams.example.com>"),
                field("to", b"alerts@in.example.com"),
                field("subject", "Bewegung erkannt".as_bytes()),
                field("text", b"Motion at 12:00"),
                field("attachments", b"2"),
                field("attachment-info", br#"{"attachment2":{"filename":"b.jpg","type":"image/jpeg"},"attachment1":{"filename":"a.jpg","type":"image/jpeg","content-id":"snap1"}}"#),
                Field {
                    name: "attachment2".into(),
                    filename: Some("b.jpg".into()),
                    content_type: Some("image/jpeg".into()),
                    bytes: b"second".to_vec(),
                },
                Field {
                    name: "attachment1".into(),
                    filename: Some("a.jpg".into()),
                    content_type: Some("image/jpeg".into()),
                    bytes: jpeg.to_vec(),
                },
                field("charsets", br#"{"to":"UTF-8","subject":"UTF-8","from":"UTF-8","text":"iso-8859-1"}"#),
            ],
        }
    }

    #[test]
    fn rebuilt_message_carries_the_attachments_bytes_in_number_order() {
        let jpeg = snapshot_jpeg();
        let raw = rebuild(&camera_post(&jpeg));
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(parsed.ctype.mimetype, "multipart/mixed");
        let bodies: Vec<Vec<u8>> = parsed
            .subparts
            .iter()
            .map(|part| part.get_body_raw().unwrap())
            .collect();
        assert_eq!(
            bodies,
            vec![
                b"Motion at 12:00".to_vec(),
                jpeg.clone(),
                b"second".to_vec()
            ]
        );
        assert_eq!(
            parsed.subparts[0].ctype.charset.to_ascii_lowercase(),
            "iso-8859-1"
        );
        assert_eq!(
            parsed.subparts[1]
                .get_content_disposition()
                .params
                .get("filename")
                .map(String::as_str),
            Some("a.jpg")
        );
        assert_eq!(
            parsed.subparts[1]
                .headers
                .get_first_value("Content-ID")
                .as_deref(),
            Some("<snap1>")
        );
    }

    #[test]
    fn rebuilt_message_is_read_by_extraction_like_any_camera_mail() {
        let jpeg = snapshot_jpeg();
        let raw = rebuild(&camera_post(&jpeg));
        let envelope = mime::envelope(&raw).unwrap();
        assert_eq!(
            envelope.from.as_deref(),
            Some("Front Door <frontdoor@cams.example.com>")
        );
        assert_eq!(envelope.subject.as_deref(), Some("Bewegung erkannt"));
        assert_eq!(envelope.message_id.as_deref(), Some("<1234@cam>"));
        let extraction =
            mime::extract_pictures(&raw, &crate::config::ExtractSettings::default()).unwrap();
        assert_eq!(extraction.pictures.len(), 1);
        assert_eq!(extraction.pictures[0].bytes, jpeg);
        assert_eq!(extraction.pictures[0].filename, "a.jpg");
    }

    #[test]
    fn the_same_post_rebuilds_to_the_same_bytes_and_another_to_others() {
        let jpeg = snapshot_jpeg();
        assert_eq!(rebuild(&camera_post(&jpeg)), rebuild(&camera_post(&jpeg)));
        let mut other = jpeg.clone();
        other[200] ^= 1;
        assert_ne!(rebuild(&camera_post(&jpeg)), rebuild(&camera_post(&other)));
    }

    #[test]
    fn without_the_headers_field_the_header_fields_are_used_and_encoded() {
        let form = Form {
            fields: vec![
                field("from", b"Haust\xc3\xbcr <door@cams.example.com>"),
                field("to", b"alerts@in.example.com"),
                field("subject", b"Alarm\r\nBcc: victim@example.org"),
            ],
        };
        let raw = rebuild(&form);
        let envelope = mime::envelope(&raw).unwrap();
        assert_eq!(
            envelope.from.as_deref(),
            Some("Haustür <door@cams.example.com>")
        );
        assert_eq!(
            envelope.subject.as_deref(),
            Some("Alarm Bcc: victim@example.org")
        );
        let (headers, _) = mailparse::parse_headers(&raw).unwrap();
        assert!(headers.get_first_value("Bcc").is_none());
    }

    #[test]
    fn odd_declared_types_and_names_are_made_safe() {
        assert_eq!(clean_mimetype("image/JPEG; name=x"), "image/jpeg");
        assert_eq!(
            clean_mimetype("image/jpeg\r\nX-Evil: 1"),
            "application/octet-stream"
        );
        assert_eq!(clean_mimetype("jpeg"), "application/octet-stream");
        assert_eq!(parameter("filename", "a\"b.jpg"), "filename=\"a\\\"b.jpg\"");
        assert_eq!(
            parameter("filename", "tür.jpg"),
            "filename*=utf-8''t%C3%BCr.jpg"
        );
    }
}
