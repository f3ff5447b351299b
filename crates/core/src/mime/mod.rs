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
//! - [`dedup`]: recognising near-duplicate frames;
//! - [`jpeg_sums`]: a JPEG's brightness over the fingerprint's cells,
//!   without decoding it.
//!
//! The `extract-attachments` stage and `ipcam extract` both call
//! [`extract_pictures`], so they decide alike.

mod dedup;
mod jpeg_sums;
mod picture;
mod walk;

use std::sync::{Mutex, PoisonError};

use mailparse::MailHeaderMap;
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use sha2::{Digest, Sha256};

use crate::config::ExtractSettings;
use crate::contract::{self, Skipped};
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
    /// SHA-256 of `bytes`, computed while preparing them.
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
/// [`check_size`](crate::stages::ingest::admission::check_size)).
pub fn extract_pictures(
    raw: &[u8],
    settings: &ExtractSettings,
) -> Result<Extraction, MessageError> {
    let mail = mailparse::parse_mail(raw).map_err(|err| MessageError(err.to_string()))?;
    let mut selection = Selection::new(settings);
    walk::walk(&mail, &mut |leaf| selection.consider(leaf));
    Ok(selection.into_extraction())
}

/// A kept frame, as later parts are compared with it.
struct KeptFrame {
    /// The size of the part's body as the message carries it: a later part
    /// of another size is no exact copy, and is not even decoded to tell.
    text_size: usize,
    /// SHA-256 of the part's bytes as received, before any conversion.
    received_digest: [u8; 32],
    fingerprint: Fingerprint,
}

/// What a candidate part is, besides its bytes: where it stands, its name,
/// and the size of its body as the message carries it.
struct CandidatePart {
    /// Its place among the message's parts.
    order: usize,
    name: String,
    name_is_made_up: bool,
    text_size: usize,
}

/// A part that is a picture and may be kept, waiting to be prepared.
struct Candidate {
    part: CandidatePart,
    bytes: Vec<u8>,
    judged: picture::Judged,
}

/// A candidate once prepared, ready for the keep-or-skip decision.
struct PreparedCandidate {
    part: CandidatePart,
    /// SHA-256 of the bytes as received.
    received_digest: [u8; 32],
    /// The picture fit to store and the SHA-256 of its bytes, or why there
    /// is none.
    prepared: Result<(picture::Prepared, [u8; 32]), String>,
}

/// The decisions taken part by part: which to keep, which to skip and why.
///
/// Preparing a picture (decoding it to fingerprint it, converting it) is
/// most of the work, and each picture's is independent of the others', so
/// candidates are prepared in batches on all cores, then decided one by one
/// in the order of the parts, exactly as if each had been prepared in turn.
/// A batch holds as many candidates as frames may still be kept, so nothing
/// is prepared that the frame cap would have skipped; once the cap is
/// reached, a part is only looked at, not decoded.
struct Selection<'a> {
    settings: &'a ExtractSettings,
    kept: Vec<KeptFrame>,
    pictures: Vec<Picture>,
    /// Skipped parts with their place among the parts: parts refused on
    /// sight are listed before the batch ahead of them is decided.
    skipped: Vec<(usize, Skipped)>,
    pending: Vec<Candidate>,
    parts_seen: usize,
}

impl<'a> Selection<'a> {
    fn new(settings: &'a ExtractSettings) -> Self {
        Selection {
            settings,
            kept: Vec::new(),
            pictures: Vec::new(),
            skipped: Vec::new(),
            pending: Vec::new(),
            parts_seen: 0,
        }
    }

    /// Frames that may still be kept, pending candidates aside.
    fn room(&self) -> usize {
        usize::try_from(self.settings.max_frames.0)
            .unwrap_or(usize::MAX)
            .saturating_sub(self.kept.len())
    }

    fn consider(&mut self, leaf: walk::Leaf<'_>) {
        let order = self.parts_seen;
        self.parts_seen += 1;
        let name = leaf.name.clone();
        if let Err(reason) = self.take(leaf, order) {
            self.skip(order, name, reason);
        }
    }

    fn skip(&mut self, order: usize, filename: String, reason: String) {
        self.skipped.push((order, Skipped::new(&filename, &reason)));
    }

    /// Takes the part as a candidate, or says why not, with the checks that
    /// need no decoding first: not the message's text, not a copy of a frame
    /// already kept (decoding only a part the size of one), room left under
    /// the cap; then a picture by its header.
    fn take(&mut self, leaf: walk::Leaf<'_>, order: usize) -> Result<(), String> {
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
        let undecodable = |err: String| format!("could not decode the part: {err}");
        let text_size = leaf.encoded_size();
        // A part is decoded only to tell it from a kept frame of the same
        // size, or to be a candidate; at most once.
        let mut decoded = None;
        if self.kept.iter().any(|kept| kept.text_size == text_size) {
            let bytes = leaf.decode().map_err(undecodable)?;
            if let Some(index) = self.kept_copy(text_size, &Sha256::digest(&bytes).into()) {
                return Err(self.copy_reason(index));
            }
            decoded = Some(bytes);
        }
        // What the bytes are when they are not a picture, else the
        // declared type.
        let refused = |reason: String| {
            if reason == "not a picture" {
                format!("not a picture ({})", leaf.mimetype)
            } else {
                reason
            }
        };
        if self.room() == 0 {
            let head = leaf.head().map_err(undecodable)?;
            picture::sniff(&head).map_err(|reason| refused(reason.to_string()))?;
            let max_frames = self.settings.max_frames.0;
            return Err(format!(
                "more than {max_frames} different pictures in one e-mail (`max_frames` in [extract])"
            ));
        }
        let bytes = match decoded {
            Some(bytes) => bytes,
            None => leaf.decode().map_err(undecodable)?,
        };
        let judged = picture::judge(&bytes).map_err(refused)?;
        self.pending.push(Candidate {
            part: CandidatePart {
                order,
                name: leaf.name,
                name_is_made_up: leaf.name_is_made_up,
                text_size,
            },
            bytes,
            judged,
        });
        if self.pending.len() >= self.room() {
            self.decide_pending();
        }
        Ok(())
    }

    /// The kept frame whose part had the same body size and the same bytes.
    fn kept_copy(&self, text_size: usize, received_digest: &[u8; 32]) -> Option<usize> {
        self.kept.iter().position(|kept| {
            kept.text_size == text_size && kept.received_digest == *received_digest
        })
    }

    fn copy_reason(&self, index: usize) -> String {
        format!(
            "duplicate of frame {index} ({}): the same bytes",
            self.pictures[index].filename
        )
    }

    /// Prepares the pending candidates side by side, then keeps or skips
    /// each in turn.
    fn decide_pending(&mut self) {
        let max_pixels = self.settings.max_pixels.0;
        // A full decode takes up to 8 bytes a pixel: one at a time, so that
        // a batch of large pictures needs no more memory than one.
        let full_decode = Mutex::new(());
        let prepared: Vec<PreparedCandidate> = std::mem::take(&mut self.pending)
            .into_par_iter()
            .map(
                |Candidate {
                     part,
                     bytes,
                     judged,
                 }| {
                    let size = bytes.len();
                    let received_digest: [u8; 32] = Sha256::digest(&bytes).into();
                    let prepare = || picture::prepare(bytes, judged, max_pixels);
                    let prepared = if judged.needs_full_decode(size, max_pixels) {
                        let _alone = full_decode.lock().unwrap_or_else(PoisonError::into_inner);
                        prepare()
                    } else {
                        prepare()
                    };
                    PreparedCandidate {
                        part,
                        received_digest,
                        prepared: prepared.map(|prepared| {
                            let digest = if prepared.is_converted {
                                Sha256::digest(&prepared.bytes).into()
                            } else {
                                received_digest
                            };
                            (prepared, digest)
                        }),
                    }
                },
            )
            .collect();
        for candidate in prepared {
            let (order, name) = (candidate.part.order, candidate.part.name.clone());
            if let Err(reason) = self.keep(candidate) {
                self.skip(order, name, reason);
            }
        }
    }

    /// Keeps a prepared candidate as a frame, or says why not. A batch is
    /// never larger than the room left, so the frame cap cannot be reached
    /// here.
    fn keep(
        &mut self,
        PreparedCandidate {
            part,
            received_digest,
            prepared,
        }: PreparedCandidate,
    ) -> Result<(), String> {
        // A copy of a frame kept earlier in the same batch.
        if let Some(index) = self.kept_copy(part.text_size, &received_digest) {
            return Err(self.copy_reason(index));
        }
        let (prepared, digest) = prepared?;
        if let Some(index) = self
            .kept
            .iter()
            .position(|kept| prepared.fingerprint.is_near_duplicate_of(&kept.fingerprint))
        {
            return Err(format!(
                "near-duplicate of frame {index} ({}): the same scene, a burst frame",
                self.pictures[index].filename
            ));
        }
        let filename = if part.name_is_made_up {
            let extension = if prepared.content_type == "image/png" {
                "png"
            } else {
                "jpg"
            };
            contract::bounded_filename(&format!("{}.{extension}", part.name))
        } else {
            part.name
        };
        self.kept.push(KeptFrame {
            text_size: part.text_size,
            received_digest,
            fingerprint: prepared.fingerprint,
        });
        self.pictures.push(Picture {
            filename,
            content_type: prepared.content_type,
            width: prepared.width,
            height: prepared.height,
            bytes: prepared.bytes,
            digest,
        });
        Ok(())
    }

    fn into_extraction(mut self) -> Extraction {
        self.decide_pending();
        self.skipped.sort_by_key(|(order, _)| *order);
        Extraction {
            pictures: self.pictures,
            skipped: self
                .skipped
                .into_iter()
                .map(|(_, skipped)| skipped)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
