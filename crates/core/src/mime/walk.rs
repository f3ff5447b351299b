//! Walking a message's MIME tree down to its leaf parts, with their names
//! and decoded bytes.
//!
//! mailparse splits the tree and decodes RFC 2231 and RFC 2047 names; what
//! it leaves to us: forwarded messages (`message/rfc822`, whose body is a
//! message of its own), and base64 written sloppily (a missing padding, a
//! stray character, a truncated last line), which its strict decoder
//! refuses as a whole where the bytes before the flaw are good.

use mailparse::body::Body;

use crate::contract;
use mailparse::{DispositionType, MailHeaderMap, ParsedMail};

/// Forwarded messages nested deeper than this are not opened: no camera
/// does it, and each level costs a parse.
const MAX_FORWARD_DEPTH: usize = 3;

/// A leaf part of the tree.
pub struct Leaf<'a> {
    /// The part's own file name, or a made-up one (`part-3`).
    pub name: String,
    /// True when the name was made up: the stored format's extension may be
    /// added to it.
    pub name_is_made_up: bool,
    /// The declared MIME type, lower case.
    pub mimetype: String,
    /// The text of the message rather than an attachment.
    pub is_body_text: bool,
    /// The body as the message carries it, transfer encoding and all.
    body: Body<'a>,
}

/// Bytes of a body enough to tell a picture's format by its signature.
const HEAD_BYTES: usize = 16;

impl Leaf<'_> {
    /// The body's bytes, its transfer encoding undone, or why they could
    /// not be decoded.
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        decode(&self.body)
    }

    /// The first bytes of the body (at least 16 when it has them), decoding
    /// only what they need.
    pub fn head(&self) -> Result<Vec<u8>, String> {
        if let Body::Base64(body) = &self.body {
            let encoded = body.get_raw();
            // 64 characters hold 48 bytes; line ends and blanks take some.
            let head = decode_base64_leniently(&encoded[..encoded.len().min(128)]);
            if head.len() >= HEAD_BYTES || encoded.len() <= 128 {
                return Ok(head);
            }
        }
        self.decode()
    }

    /// The size of the body as the message carries it, known without
    /// decoding it.
    pub fn encoded_size(&self) -> usize {
        match &self.body {
            Body::Base64(body) | Body::QuotedPrintable(body) => body.get_raw().len(),
            Body::SevenBit(body) | Body::EightBit(body) => body.get_raw().len(),
            Body::Binary(body) => body.get_raw().len(),
        }
    }
}

/// Calls `visit` on every leaf part, in order, opening forwarded messages.
/// A leaf is decoded only if the visitor asks for its bytes.
pub fn walk<'a>(mail: &'a ParsedMail<'a>, visit: &mut impl FnMut(Leaf<'_>)) {
    let mut counter = 0;
    walk_part(mail, 0, &mut counter, visit);
}

fn walk_part<'a>(
    part: &'a ParsedMail<'a>,
    forward_depth: usize,
    counter: &mut usize,
    visit: &mut impl FnMut(Leaf<'_>),
) {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            walk_part(sub, forward_depth, counter, visit);
        }
        return;
    }
    *counter += 1;
    let mimetype = part.ctype.mimetype.to_ascii_lowercase();
    if mimetype == "message/rfc822" && forward_depth < MAX_FORWARD_DEPTH {
        if let Ok(inner) = decode(&part.get_body_encoded()) {
            if let Ok(forwarded) = mailparse::parse_mail(&inner) {
                walk_part(&forwarded, forward_depth + 1, counter, visit);
                return;
            }
        }
    }
    let disposition = part.get_content_disposition();
    let declared = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .and_then(|name| clean_name(name));
    let content_id = part
        .headers
        .get_first_value("Content-ID")
        .and_then(|id| clean_name(id.trim().trim_start_matches('<').trim_end_matches('>')));
    let is_body_text = declared.is_none()
        && content_id.is_none()
        && disposition.disposition != DispositionType::Attachment
        && (mimetype.starts_with("text/") || mimetype.starts_with("multipart/"));
    let (name, name_is_made_up) = match (declared, content_id) {
        (Some(name), _) => (name, false),
        (None, Some(id)) => (id, true),
        (None, None) => (format!("part-{counter}"), true),
    };
    visit(Leaf {
        name,
        name_is_made_up,
        mimetype,
        is_body_text,
        body: part.get_body_encoded(),
    });
}

/// A name safe to show and to store: the last path component (cameras
/// sometimes send `C:\snapshots\CH01.jpg`), without control characters,
/// and no longer than the contract carries (an RFC 2231 name may run to
/// the size of the message).
fn clean_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..")
        .then(|| contract::bounded_filename(cleaned))
}

/// A body with its transfer encoding undone.
fn decode(body: &Body<'_>) -> Result<Vec<u8>, String> {
    match body {
        Body::Base64(body) => Ok(decode_base64_leniently(body.get_raw())),
        Body::QuotedPrintable(body) => body
            .get_decoded()
            .map_err(|err| format!("could not decode its quoted-printable text: {err}")),
        Body::SevenBit(body) | Body::EightBit(body) => Ok(body.get_raw().to_vec()),
        Body::Binary(body) => Ok(body.get_raw().to_vec()),
    }
}

/// Value of each base64 character, or `INVALID`.
const INVALID: u8 = 0xFF;
const BASE64_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut index = 0;
    while index < alphabet.len() {
        table[alphabet[index] as usize] = index as u8;
        index += 1;
    }
    table
};

/// Decodes base64 the way a forgiving mail reader does: any character
/// outside the alphabet (line ends of any kind, blanks, stray punctuation)
/// is ignored; `=` ends a group, and decoding resumes after it (some
/// cameras concatenate separately encoded chunks); a last incomplete group
/// yields the whole bytes it holds. A flaw costs at most the bytes it
/// touches, never the picture.
pub fn decode_base64_leniently(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() / 4 * 3 + 3);
    let mut group: u32 = 0;
    let mut filled = 0;
    let mut rest = encoded;
    // Fast path: whole lines of 4-character groups, as every encoder writes.
    while let Some((chunk, tail)) = rest.split_first_chunk::<4>() {
        let values = chunk.map(|byte| BASE64_VALUES[usize::from(byte)]);
        if filled == 0 && values.iter().all(|&value| value != INVALID) {
            let bits = values
                .iter()
                .fold(0u32, |bits, &value| (bits << 6) | u32::from(value));
            out.extend_from_slice(&bits.to_be_bytes()[1..]);
            rest = tail;
            continue;
        }
        // Slow path for one character: anything not in the alphabet.
        let byte = chunk[0];
        rest = &rest[1..];
        push_char(byte, &mut group, &mut filled, &mut out);
    }
    for &byte in rest {
        push_char(byte, &mut group, &mut filled, &mut out);
    }
    flush(group, filled, &mut out);
    out
}

fn push_char(byte: u8, group: &mut u32, filled: &mut u32, out: &mut Vec<u8>) {
    let value = BASE64_VALUES[usize::from(byte)];
    if value != INVALID {
        *group = (*group << 6) | u32::from(value);
        *filled += 1;
        if *filled == 4 {
            out.extend_from_slice(&group.to_be_bytes()[1..]);
            *group = 0;
            *filled = 0;
        }
    } else if byte == b'=' {
        flush(*group, *filled, out);
        *group = 0;
        *filled = 0;
    }
}

/// Emits the whole bytes of an incomplete group: 2 characters hold one
/// byte, 3 hold two; a lone character holds none.
fn flush(group: u32, filled: u32, out: &mut Vec<u8>) {
    match filled {
        2 => out.push((group >> 4) as u8),
        3 => out.extend_from_slice(&((group >> 2) as u16).to_be_bytes()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn lenient_base64_matches_a_strict_decoder_on_clean_input() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for length in [0, 1, 2, 3, 4, 5, 998, 999, 1000] {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes[..length]);
            assert_eq!(
                decode_base64_leniently(encoded.as_bytes()),
                &bytes[..length]
            );
        }
    }

    #[test]
    fn lenient_base64_ignores_line_ends_blanks_and_garbage() {
        let decoded = decode_base64_leniently(b"aGVs\n bG8g\r\n\r\n d2*9y\tbGQ=\r\n");
        assert_eq!(decoded, b"hello world");
    }

    #[test]
    fn lenient_base64_joins_a_group_cut_by_a_line_end() {
        assert_eq!(
            decode_base64_leniently(b"aGVsb\r\nG8gd29y\nbGQ="),
            b"hello world"
        );
    }

    #[test]
    fn lenient_base64_resumes_after_padding_and_keeps_a_cut_group() {
        assert_eq!(decode_base64_leniently(b"aGk=aGk=aGVsbA"), b"hihihell");
    }

    #[test]
    fn names_lose_their_folders_and_control_characters() {
        assert_eq!(
            clean_name("C:\\snap\\CH01.jpg").as_deref(),
            Some("CH01.jpg")
        );
        assert_eq!(clean_name("../../etc/x\u{7}.jpg").as_deref(), Some("x.jpg"));
        assert_eq!(clean_name(" .. "), None);
    }
}
