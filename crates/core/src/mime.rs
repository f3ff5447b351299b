//! Finding the pictures in a camera's e-mail.
//!
//! Cameras write sloppy mail, so the whole MIME tree is walked and every
//! leaf part is judged by its bytes, not by what its headers claim.
//! Rekognition takes JPEG or PNG of at least 80 px a side: other picture
//! formats are converted to JPEG, smaller ones are skipped with a reason.

use std::io::Cursor;

use image::{ImageFormat, ImageReader};
use mailparse::{DispositionType, MailHeaderMap, ParsedMail};
use sha2::{Digest, Sha256};

use crate::contract::Skipped;

/// Rekognition's smallest accepted side, in pixels.
pub const MIN_SIDE: u32 = 80;

/// A picture found in a message, ready to be stored as a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// The part's file name, or `part-N.ext` when it had none.
    pub filename: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

impl Picture {
    /// Hex SHA-256 of the bytes as they will be stored.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.bytes))
    }

    /// File extension matching the content type.
    pub fn extension(&self) -> &'static str {
        if self.content_type == "image/png" {
            "png"
        } else {
            "jpg"
        }
    }
}

/// The pictures of a message, and the parts that were not kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    pub pictures: Vec<Picture>,
    pub skipped: Vec<Skipped>,
}

/// The headers that identify a camera and describe the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub from: Option<String>,
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
}

/// The message could not be read as e-mail at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable e-mail message: {0}")]
pub struct MessageError(String);

/// Reads the identifying headers of a raw message.
pub fn envelope(raw: &[u8]) -> Result<Envelope, MessageError> {
    let (headers, _) =
        mailparse::parse_headers(raw).map_err(|err| MessageError(err.to_string()))?;
    let to = headers
        .get_all_values("To")
        .into_iter()
        .chain(headers.get_all_values("Cc"))
        .flat_map(|value| {
            value
                .split(',')
                .map(|address| address.trim().to_string())
                .filter(|address| !address.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Envelope {
        from: headers.get_first_value("From"),
        to,
        subject: headers.get_first_value("Subject"),
        message_id: headers.get_first_value("Message-ID"),
    })
}

/// Walks the message and returns its pictures, in the order they appear.
pub fn extract_pictures(raw: &[u8]) -> Result<Extraction, MessageError> {
    let mail = mailparse::parse_mail(raw).map_err(|err| MessageError(err.to_string()))?;
    let mut extraction = Extraction::default();
    let mut part_number = 0;
    walk(&mail, &mut part_number, &mut extraction);
    Ok(extraction)
}

fn walk(part: &ParsedMail<'_>, part_number: &mut usize, out: &mut Extraction) {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            walk(sub, part_number, out);
        }
        return;
    }
    *part_number += 1;
    let disposition = part.get_content_disposition();
    let declared_name = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .cloned();
    let mimetype = part.ctype.mimetype.to_ascii_lowercase();
    let is_body_text = declared_name.is_none()
        && disposition.disposition != DispositionType::Attachment
        && mimetype.starts_with("text/");
    if is_body_text {
        return;
    }
    let name = declared_name.unwrap_or_else(|| format!("part-{part_number}"));
    let bytes = match part.get_body_raw() {
        Ok(bytes) => bytes,
        Err(err) => {
            out.skipped.push(Skipped {
                filename: name,
                reason: format!("could not decode the part: {err}"),
            });
            return;
        }
    };
    match picture_from_bytes(&name, bytes) {
        Ok(picture) => out.pictures.push(picture),
        Err(reason) => out.skipped.push(Skipped {
            filename: name,
            reason,
        }),
    }
}

/// Judges one part's bytes: a JPEG or PNG is kept as it is, another picture
/// format is converted to JPEG, anything else is refused with a reason.
pub fn picture_from_bytes(name: &str, bytes: Vec<u8>) -> Result<Picture, String> {
    let format = image::guess_format(&bytes).map_err(|_| "not a picture".to_string())?;
    let reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|err| format!("damaged picture: {err}"))?;
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(format!(
            "too small to analyse: {width}x{height} px, at least {MIN_SIDE} px a side is needed"
        ));
    }
    let filename = with_extension(name, format);
    match format {
        ImageFormat::Jpeg => Ok(Picture {
            filename,
            content_type: "image/jpeg",
            width,
            height,
            bytes,
        }),
        ImageFormat::Png => Ok(Picture {
            filename,
            content_type: "image/png",
            width,
            height,
            bytes,
        }),
        ImageFormat::Gif | ImageFormat::Bmp | ImageFormat::WebP => {
            let decoded = image::load_from_memory_with_format(&bytes, format)
                .map_err(|err| format!("damaged picture: {err}"))?;
            let mut jpeg = Vec::new();
            decoded
                .to_rgb8()
                .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
                .map_err(|err| format!("could not convert to JPEG: {err}"))?;
            Ok(Picture {
                filename,
                content_type: "image/jpeg",
                width,
                height,
                bytes: jpeg,
            })
        }
        other => Err(format!(
            "{} pictures are not supported: send JPEG, PNG, GIF, BMP or WebP",
            other.extensions_str().first().unwrap_or(&"this kind of")
        )),
    }
}

/// Adds the extension of the stored format to a made-up part name.
fn with_extension(name: &str, format: ImageFormat) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        let extension = if format == ImageFormat::Png {
            "png"
        } else {
            "jpg"
        };
        format!("{name}.{extension}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([90, 120, 200]));
        let mut bytes = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
            .unwrap();
        bytes
    }

    fn camera_mail(content_type: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
        let body = base64::engine::general_purpose::STANDARD.encode(bytes);
        format!(
            "From: Front Door <frontdoor@cams.example.com>\r\n\
             To: alerts@cams.example.com\r\n\
             Subject: Motion detected\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
             --b1\r\nContent-Type: text/plain\r\n\r\nAlarm on channel 1\r\n\
             --b1\r\nContent-Type: {content_type}; name=\"{filename}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{filename}\"\r\n\r\n{body}\r\n--b1--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn jpeg_attachment_is_kept_byte_for_byte() {
        let picture = jpeg(320, 240);
        let mail = camera_mail("image/jpeg", "snap.jpg", &picture);
        let found = extract_pictures(&mail).unwrap();
        assert_eq!(found.pictures.len(), 1);
        assert_eq!(found.pictures[0].bytes, picture);
        assert_eq!(
            (found.pictures[0].width, found.pictures[0].height),
            (320, 240)
        );
        assert!(found.skipped.is_empty());
    }

    #[test]
    fn octet_stream_jpeg_is_recognised_by_its_bytes() {
        let mail = camera_mail("application/octet-stream", "CH01.jpg", &jpeg(160, 120));
        let found = extract_pictures(&mail).unwrap();
        assert_eq!(found.pictures[0].content_type, "image/jpeg");
    }

    #[test]
    fn thumbnail_under_80_px_is_skipped_with_a_reason() {
        let mail = camera_mail("image/jpeg", "thumb.jpg", &jpeg(64, 48));
        let found = extract_pictures(&mail).unwrap();
        assert!(found.pictures.is_empty());
        assert_eq!(found.skipped[0].filename, "thumb.jpg");
        assert!(found.skipped[0].reason.contains("too small"));
    }

    #[test]
    fn text_attachment_is_skipped_as_not_a_picture() {
        let mail = camera_mail("text/plain", "log.txt", b"motion at 10:00");
        let found = extract_pictures(&mail).unwrap();
        assert_eq!(found.skipped[0].reason, "not a picture");
    }

    #[test]
    fn envelope_reads_sender_recipients_and_subject() {
        let mail = camera_mail("image/jpeg", "snap.jpg", &jpeg(100, 100));
        let envelope = envelope(&mail).unwrap();
        assert_eq!(
            envelope.from.as_deref(),
            Some("Front Door <frontdoor@cams.example.com>")
        );
        assert_eq!(envelope.to, vec!["alerts@cams.example.com"]);
        assert_eq!(envelope.subject.as_deref(), Some("Motion detected"));
    }
}
