//! The MIME builders: parts, their transfer encodings, multiparts and whole
//! messages, written out by hand rather than by a mail library, because the
//! fixtures must hold exactly the quirks cameras send (one-line base64, LF
//! line ends, blanks after base64 lines) and a library would tidy them away.

use base64::Engine;

/// How a part's bytes are written in the message.
#[derive(Clone, Copy)]
pub enum Encoding {
    /// Base64 in 76-character lines ended by CRLF, as most cameras write.
    Base64,
    /// Base64 on one single line, message lines ended by LF only.
    Base64OneLineLf,
    /// Base64 with blanks after each line and an empty line in the middle.
    Base64Sloppy,
    QuotedPrintable,
    /// Raw bytes (`binary` transfer encoding).
    Binary,
}

/// One MIME part: its headers and its already encoded body.
pub struct Part(pub Vec<u8>);

pub fn part(headers: &str, bytes: &[u8], encoding: Encoding) -> Part {
    let (name, body) = match encoding {
        Encoding::Base64 => ("base64", base64_lines(bytes, 76, "\r\n", "")),
        Encoding::Base64OneLineLf => ("base64", base64_lines(bytes, usize::MAX, "\n", "")),
        Encoding::Base64Sloppy => {
            let lines = base64_lines(bytes, 72, "\r\n", "  ");
            let middle = lines.len() / 2;
            let cut = middle
                + lines[middle..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(0)
                + 1;
            (
                "base64",
                [&lines[..cut], b"\r\n".as_slice(), &lines[cut..]].concat(),
            )
        }
        Encoding::QuotedPrintable => ("quoted-printable", quoted_printable(bytes)),
        Encoding::Binary => ("binary", bytes.to_vec()),
    };
    let mut out = format!("{headers}\r\nContent-Transfer-Encoding: {name}\r\n\r\n").into_bytes();
    out.extend_from_slice(&body);
    Part(out)
}

pub fn text_part(content_type: &str, text: &str) -> Part {
    Part(format!("Content-Type: {content_type}; charset=utf-8\r\n\r\n{text}\r\n").into_bytes())
}

fn base64_lines(bytes: &[u8], width: usize, eol: &str, trailing: &str) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() * 103 / 100);
    for line in encoded.as_bytes().chunks(width.min(encoded.len().max(1))) {
        out.extend_from_slice(line);
        out.extend_from_slice(trailing.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    out
}

fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = 0;
    for &byte in bytes {
        let piece = if (33..=126).contains(&byte) && byte != b'=' {
            vec![byte]
        } else {
            format!("={byte:02X}").into_bytes()
        };
        if line + piece.len() > 75 {
            out.extend_from_slice(b"=\r\n");
            line = 0;
        }
        line += piece.len();
        out.extend_from_slice(&piece);
    }
    out.extend_from_slice(b"\r\n");
    out
}

pub fn multipart(subtype: &str, boundary: &str, parts: &[Part]) -> Part {
    let mut out =
        format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n").into_bytes();
    for Part(bytes) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(bytes);
        if !bytes.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Part(out)
}

/// A whole message: the headers every camera sends, with a fixed date and a
/// Message-ID made from the subject, so a message is the same on every run.
pub fn message(from: &str, subject: &str, body: Part) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: alerts@cams.example.com\r\nSubject: {subject}\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@cams.example.com>\r\n\
         MIME-Version: 1.0\r\n",
        subject.to_lowercase().replace(' ', "-")
    )
    .into_bytes();
    out.extend_from_slice(&body.0);
    out
}

pub fn attachment(content_type: &str, filename: &str, bytes: &[u8], encoding: Encoding) -> Part {
    part(
        &format!(
            "Content-Type: {content_type}; name=\"{filename}\"\r\n\
             Content-Disposition: attachment; filename=\"{filename}\""
        ),
        bytes,
        encoding,
    )
}

/// The usual camera alarm: a line of text, then the given parts, in one
/// multipart/mixed.
pub fn camera_mail(subject: &str, parts: Vec<Part>) -> Vec<u8> {
    let mut all = vec![text_part(
        "text/plain",
        "Alarm event: motion detection on channel 1.",
    )];
    all.extend(parts);
    message(
        "IPC <camera@cams.example.com>",
        subject,
        multipart("mixed", "----=_camera_boundary", &all),
    )
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
