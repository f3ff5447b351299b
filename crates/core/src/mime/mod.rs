//! Finding the pictures in a camera's e-mail.
//!
//! Cameras write sloppy mail, so the whole MIME tree is walked (forwarded
//! messages included) and every leaf part is judged by its bytes, not by
//! what its headers claim. Rekognition takes JPEG or PNG of at least 80 px a
//! side and at most 15 MB: other picture formats are converted to JPEG,
//! large ones scaled down, small ones skipped. Frames of one burst that show
//! the same moment are kept once, and at most `max_frames` are kept. Every
//! part not kept is listed with a reason a person understands.
//!
//! - [`walk`]: the tree walk, names and transfer decoding;
//! - [`picture`]: sniffing, checking and converting one picture;
//! - [`dedup`]: recognising near-duplicate frames.
//!
//! The `extract-attachments` stage and `ipcam extract` both call
//! [`extract_pictures`], so they decide alike.

pub mod dedup;
pub mod picture;
pub mod walk;

use mailparse::MailHeaderMap;
use sha2::{Digest, Sha256};

use crate::config::{Config, ExtractSettings};
use crate::contract::Skipped;
use dedup::Fingerprint;

pub use picture::MIN_SIDE;

/// A picture found in a message, ready to be stored as a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// The part's file name, or a made-up one (`part-3.jpg`) when it had none.
    pub filename: String,
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`: the part's own digest when the bytes are stored
    /// as received, so that they are hashed once.
    digest: [u8; 32],
}

impl Picture {
    /// Hex SHA-256 of the bytes as they will be stored.
    pub fn sha256(&self) -> String {
        hex::encode(self.digest)
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

/// Walks the message and returns the pictures worth analysing, in the order
/// they appear: duplicates dropped, at most `max_frames`, each fit for
/// Rekognition. Fails only when the message is not e-mail. The caller
/// bounds its size (`[ingest] max_message_bytes`, see
/// [`check_message_size`]).
pub fn extract_pictures(
    raw: &[u8],
    settings: &ExtractSettings,
) -> Result<Extraction, MessageError> {
    let mail = mailparse::parse_mail(raw).map_err(|err| MessageError(err.to_string()))?;
    let mut selection = Selection::new(settings);
    walk::walk(&mail, &mut |leaf| selection.consider(leaf));
    Ok(selection.into_extraction())
}

/// Refuses a message larger than `[ingest] max_message_bytes`, the one
/// limit every way in shares, before anything parses it.
pub fn check_message_size(raw: &[u8], config: &Config) -> Result<(), MessageError> {
    let limit = config.ingest.max_message_bytes.0;
    if raw.len() as u64 > limit {
        return Err(MessageError(format!(
            "it is {} bytes, more than `[ingest] max_message_bytes` = {limit}",
            raw.len()
        )));
    }
    Ok(())
}

/// A kept frame, as later parts are compared with it.
struct KeptFrame {
    /// Digest of the part's bytes as received, so that an exact copy is
    /// recognised without decoding it.
    part_digest: [u8; 32],
    fingerprint: Fingerprint,
}

/// The decisions taken part by part: which to keep, which to skip and why.
struct Selection<'a> {
    settings: &'a ExtractSettings,
    kept: Vec<KeptFrame>,
    extraction: Extraction,
}

impl<'a> Selection<'a> {
    fn new(settings: &'a ExtractSettings) -> Self {
        Selection {
            settings,
            kept: Vec::new(),
            extraction: Extraction::default(),
        }
    }

    fn consider(&mut self, leaf: walk::Leaf) {
        let name = leaf.name.clone();
        if let Err(reason) = self.try_keep(leaf) {
            self.extraction.skipped.push(Skipped {
                filename: name,
                reason,
            });
        }
    }

    /// Keeps the part as a frame, or says why not. Cheap checks come first:
    /// the header, then an exact copy, then the frame cap; only a part that
    /// may be kept is decoded.
    fn try_keep(&mut self, leaf: walk::Leaf) -> Result<(), String> {
        if leaf.is_body_text && leaf.mimetype.starts_with("multipart/") {
            return Err(format!(
                "a {} section without a boundary: its parts cannot be told apart",
                leaf.mimetype
            ));
        }
        if leaf.is_body_text {
            return Err(format!(
                "the text of the message ({}), not a picture",
                leaf.mimetype
            ));
        }
        let bytes = leaf
            .body
            .map_err(|err| format!("could not decode the part: {err}"))?;
        let judged = picture::judge(&bytes).map_err(|reason| {
            if reason == "not a picture" {
                format!("not a picture ({})", leaf.mimetype)
            } else {
                reason
            }
        })?;
        let part_digest: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(index) = self
            .kept
            .iter()
            .position(|kept| kept.part_digest == part_digest)
        {
            return Err(format!(
                "duplicate of frame {index} ({}): the same bytes",
                self.extraction.pictures[index].filename
            ));
        }
        let max_frames = self.settings.max_frames.0;
        if self.kept.len() as u64 >= max_frames {
            return Err(format!(
                "more than {max_frames} different pictures in one e-mail (`max_frames` in [extract])"
            ));
        }
        let prepared = picture::prepare(bytes, judged, self.settings.max_pixels.0)?;
        let digest = if prepared.is_as_received {
            part_digest
        } else {
            Sha256::digest(&prepared.bytes).into()
        };
        if let Some(index) = self
            .kept
            .iter()
            .position(|kept| prepared.fingerprint.is_near_duplicate_of(&kept.fingerprint))
        {
            return Err(format!(
                "near-duplicate of frame {index} ({}): the same scene, a burst frame",
                self.extraction.pictures[index].filename
            ));
        }
        let filename = if leaf.name_is_made_up {
            let extension = if prepared.content_type == "image/png" {
                "png"
            } else {
                "jpg"
            };
            format!("{}.{extension}", leaf.name)
        } else {
            leaf.name
        };
        self.kept.push(KeptFrame {
            part_digest,
            fingerprint: prepared.fingerprint,
        });
        self.extraction.pictures.push(Picture {
            filename,
            content_type: prepared.content_type,
            width: prepared.width,
            height: prepared.height,
            bytes: prepared.bytes,
            digest,
        });
        Ok(())
    }

    fn into_extraction(self) -> Extraction {
        self.extraction
    }
}

#[cfg(test)]
mod tests;
