//! The JSON that the stages pass to each other through the state machine.
//!
//! Every stage reads and writes these types, so the Lambdas, the local runner
//! and the tests agree on one shape. Field names are camelCase on the wire.
//!
//! The state an execution passes between its states is limited to 256 KB
//! ([`STATE_LIMIT_BYTES`]), and a state over it fails with
//! `States.DataLimitExceeded`, which no `Catch` of `States.ALL` catches. So
//! frames travel as S3 references, never as bytes, and everything an e-mail
//! or a detector decides the length of is bounded where it enters the
//! contract: file names ([`bounded_filename`]), the reasons and the list of
//! skipped parts ([`Skipped::new`], [`bounded_skipped`]), the labels and
//! boxes of a detection ([`bounded_labels`]); the headers of the event are
//! bounded at the door.

use serde::{Deserialize, Serialize};

/// Version of the stage contract; bumped on any incompatible change.
pub const CONTRACT_VERSION: u32 = 1;

/// Step Functions' limit on the state passed between states.
pub const STATE_LIMIT_BYTES: usize = 256 * 1024;
/// Longest file name carried, in bytes of UTF-8: a file system's own limit.
pub const MAX_FILENAME_BYTES: usize = 255;
/// Longest reason a skipped part carries, in bytes of UTF-8.
pub const MAX_REASON_BYTES: usize = 500;
/// Skipped parts listed one by one; the others are counted in one more
/// entry.
pub const MAX_SKIPPED_LISTED: usize = 20;
/// Labels of a detection carried (Rekognition is asked for as many).
pub const MAX_LABELS: usize = 50;
/// Parents of one label carried (Rekognition gives a few).
pub const MAX_PARENTS: usize = 5;
/// Longest label or parent name carried, in bytes (a detector's
/// vocabulary: `Person`, `Electrical Device`).
pub const MAX_LABEL_NAME_BYTES: usize = 64;
/// Boxes of one label carried, the most confident: a crowd does not need
/// more to alert, and each box is carried to notify and into the memory.
pub const MAX_BOXES_PER_LABEL: usize = 10;
/// Boxes of a whole detection carried, shared out in the detector's order
/// of its labels.
pub const MAX_BOXES: usize = 100;

/// `text` cut to at most `max_bytes` bytes of UTF-8 on a character
/// boundary, ending in `…` when it was cut.
pub fn truncated(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let ellipsis = "…";
    let mut end = max_bytes.saturating_sub(ellipsis.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &text[..end])
}

/// A file name within [`MAX_FILENAME_BYTES`], cut on a character boundary
/// and keeping its extension (up to 10 letters or digits), so that a cut
/// name still says what it is: `Caméra…​.jpg`.
pub fn bounded_filename(name: &str) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name.to_string();
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension)
        .filter(|extension| {
            (1..=10).contains(&extension.len())
                && extension.bytes().all(|byte| byte.is_ascii_alphanumeric())
        });
    match extension {
        Some(extension) => {
            let stem = &name[..name.len() - extension.len() - 1];
            let room = MAX_FILENAME_BYTES - extension.len() - 1;
            format!("{}.{extension}", truncated(stem, room))
        }
        None => truncated(name, MAX_FILENAME_BYTES),
    }
}

/// The skipped parts as the contract carries them: the first
/// [`MAX_SKIPPED_LISTED`], then one entry counting the others.
pub fn bounded_skipped(mut skipped: Vec<Skipped>) -> Vec<Skipped> {
    if skipped.len() <= MAX_SKIPPED_LISTED {
        return skipped;
    }
    let more = skipped.len() - MAX_SKIPPED_LISTED;
    skipped.truncate(MAX_SKIPPED_LISTED);
    skipped.push(Skipped {
        filename: "…".into(),
        reason: format!(
            "{more} more parts were not kept; only the first {MAX_SKIPPED_LISTED} are listed"
        ),
    });
    skipped
}

/// A detector's labels as the contract carries them: at most
/// [`MAX_LABELS`], each with its [`MAX_BOXES_PER_LABEL`] most confident
/// boxes (and [`MAX_BOXES`] in all, the labels first in the detector's
/// order served first) and [`MAX_PARENTS`] parents, names within
/// [`MAX_LABEL_NAME_BYTES`].
pub fn bounded_labels(mut labels: Vec<Label>) -> Vec<Label> {
    labels.truncate(MAX_LABELS);
    let mut boxes_left = MAX_BOXES;
    for label in &mut labels {
        if label.name.len() > MAX_LABEL_NAME_BYTES {
            label.name = truncated(&label.name, MAX_LABEL_NAME_BYTES);
        }
        label.parents.truncate(MAX_PARENTS);
        for parent in &mut label.parents {
            if parent.len() > MAX_LABEL_NAME_BYTES {
                *parent = truncated(parent, MAX_LABEL_NAME_BYTES);
            }
        }
        let room = MAX_BOXES_PER_LABEL.min(boxes_left);
        if label.boxes.len() > room {
            label
                .boxes
                .sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            label.boxes.truncate(room);
        }
        boxes_left -= label.boxes.len();
    }
    labels
}

/// Where an object lives in the object store (an S3 bucket and key, or a
/// folder and relative path for the local store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

/// How the e-mail reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Ses,
    Sendgrid,
    Local,
}

/// One received camera e-mail, as ingestion knows it before extraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Stable id of the message: the SES message id, or a digest of the
    /// message for SendGrid and local input. It names the execution.
    pub id: String,
    pub source: Source,
    /// The raw MIME message as stored.
    pub message: ObjectRef,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// RFC 3339 time at which the message was received.
    pub received_at: String,
}

/// The input of an execution: what ingestion starts the state machine with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    pub version: u32,
    pub event: Event,
}

/// One picture taken from the e-mail and stored for analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    pub bucket: String,
    pub key: String,
    /// `image/jpeg` or `image/png`: the only formats Rekognition takes.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// Size in bytes of the stored picture.
    pub size: u64,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// The part's file name, or a made-up one (`part-3.jpg`) if it had none.
    pub filename: String,
}

impl Frame {
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
        }
    }
}

/// A MIME part that was not kept as a frame, and why, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub filename: String,
    pub reason: String,
}

impl Skipped {
    /// A skipped part, its name and reason within [`MAX_FILENAME_BYTES`]
    /// and [`MAX_REASON_BYTES`] (a reason may quote a header).
    pub fn new(filename: &str, reason: &str) -> Self {
        Skipped {
            filename: bounded_filename(filename),
            reason: truncated(reason, MAX_REASON_BYTES),
        }
    }
}

/// What extract-attachments returns: the event, its camera and its frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extracted {
    pub version: u32,
    pub event: Event,
    /// The camera the e-mail was recognised as, or `unknown`.
    pub camera: String,
    pub frames: Vec<Frame>,
    pub skipped: Vec<Skipped>,
    /// Why the e-mail is not analysed at all (snoozed, quiet hours, every
    /// label cooling down); its frames are then not extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

/// A box round one instance of a label, in fractions of the image's width
/// and height (Rekognition's convention).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
    /// Confidence of this instance, in percent.
    pub confidence: f32,
}

impl BoundingBox {
    /// Share of the picture the box covers, 0 to 1.
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// The middle of the box's bottom edge: where the object stands on the
    /// ground, which decides the zone it is in.
    pub fn foot(&self) -> (f32, f32) {
        (self.left + self.width / 2.0, self.top + self.height)
    }

    /// Intersection over union with another box, 0 (apart) to 1 (the same
    /// box): how much the two are one object in one place.
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let width =
            (self.left + self.width).min(other.left + other.width) - self.left.max(other.left);
        let height =
            (self.top + self.height).min(other.top + other.height) - self.top.max(other.top);
        let intersection = width.max(0.0) * height.max(0.0);
        let union = self.area() + other.area() - intersection;
        if union > 0.0 {
            intersection / union
        } else {
            0.0
        }
    }
}

/// One label a detector found in a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// Label name as Rekognition spells it (`Person`, `Car`).
    pub name: String,
    /// Confidence in percent.
    pub confidence: f32,
    /// Parent labels in Rekognition's hierarchy (`Vehicle` for `Car`).
    #[serde(default)]
    pub parents: Vec<String>,
    /// Where the label was found; empty for scene labels such as `Tree`.
    #[serde(default)]
    pub boxes: Vec<BoundingBox>,
}

/// Everything a detector found in one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detection {
    /// Index of the frame in [`Extracted::frames`].
    pub frame: usize,
    pub labels: Vec<Label>,
}

/// A label that satisfied the camera's rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    pub frame: usize,
    /// The label as the detector named it.
    pub label: String,
    pub confidence: f32,
    /// The boxes that passed the rules; empty if the label matched as a
    /// whole-scene label.
    #[serde(default)]
    pub boxes: Vec<BoundingBox>,
}

/// Input of detect-labels: one frame of one camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameToAnalyse {
    pub camera: String,
    /// How many frames the e-mail has: the analysis says which comes next.
    pub frame_count: usize,
    /// The event's id and when it was received: what the memory of alerts
    /// judges by.
    pub event: String,
    pub received_at: String,
    pub frame_index: usize,
    pub frame: Frame,
}

/// Output of detect-labels for one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub detection: Detection,
    pub matches: Vec<Match>,
    /// True when the matches are enough to tell a person.
    pub alert: bool,
    /// The frame to analyse next when this one does not alert, while
    /// frames remain: the state machine loops on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<usize>,
    /// Why what was seen does not alert, a sentence per label: below its
    /// confidence, too small, in an ignored zone, cooling down,
    /// stationary, nothing wanted seen...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

/// Input of notify: the extracted event with the analysis that alerted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRequest {
    pub version: u32,
    pub event: Event,
    pub camera: String,
    pub frames: Vec<Frame>,
    pub analysis: Analysis,
}

/// What notify returns: where the alert went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Id the notifier gave the message (the SNS message id, a line number).
    pub message_id: String,
    pub subject: String,
    /// The alerting frame with boxes drawn on it, when it could be made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<ObjectRef>,
    /// What became of the alert e-mail, when `[alerts]` asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailOutcome>,
}

/// What became of an alert e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum EmailOutcome {
    /// Handed to the mail service, which gave it this id.
    Sent { id: String },
    /// Not sent, and why.
    Failed { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_a_character_boundary_and_says_so() {
        assert_eq!(truncated("short", 10), "short");
        // "é" is two bytes: a cut inside it moves before it.
        let cut = truncated("ééééé", 7);
        assert_eq!(cut, "éé…");
        assert!(cut.len() <= 7);
    }

    #[test]
    fn a_long_file_name_keeps_its_extension_and_a_short_one_is_untouched() {
        assert_eq!(bounded_filename("CH01.jpg"), "CH01.jpg");
        let cut = bounded_filename(&format!("{}.jpeg", "ü".repeat(400)));
        assert!(cut.len() <= MAX_FILENAME_BYTES, "{}", cut.len());
        assert!(cut.starts_with("üü") && cut.ends_with("….jpeg"), "{cut}");
        // No extension worth keeping: cut like any text.
        let cut = bounded_filename(&format!("snap.{}", "x".repeat(400)));
        assert!(cut.len() <= MAX_FILENAME_BYTES && cut.ends_with('…'));
    }

    #[test]
    fn skipped_parts_past_the_first_twenty_are_counted_in_one_entry() {
        let few: Vec<Skipped> = (0..20)
            .map(|i| Skipped::new(&format!("{i}.txt"), "text"))
            .collect();
        assert_eq!(bounded_skipped(few.clone()), few);
        let many: Vec<Skipped> = (0..25)
            .map(|i| Skipped::new(&format!("{i}.txt"), "text"))
            .collect();
        let bounded = bounded_skipped(many);
        assert_eq!(bounded.len(), 21);
        assert_eq!(bounded[19].filename, "19.txt");
        assert_eq!(
            bounded[20].reason,
            "5 more parts were not kept; only the first 20 are listed"
        );
        let long = Skipped::new(&"n".repeat(1000), &"r".repeat(10_000));
        assert!(long.filename.len() <= MAX_FILENAME_BYTES);
        assert!(long.reason.len() <= MAX_REASON_BYTES);
    }

    fn a_box(confidence: f32) -> BoundingBox {
        BoundingBox {
            left: 0.1,
            top: 0.1,
            width: 0.1,
            height: 0.1,
            confidence,
        }
    }

    #[test]
    fn a_crowd_keeps_its_most_confident_boxes() {
        let crowd = Label {
            name: "Person".into(),
            confidence: 99.0,
            parents: vec![],
            boxes: (0..500).map(|i| a_box(i as f32 / 5.0)).collect(),
        };
        let labels = bounded_labels(vec![crowd; 80]);
        assert_eq!(labels.len(), MAX_LABELS);
        let boxes = &labels[0].boxes;
        assert_eq!(boxes.len(), MAX_BOXES_PER_LABEL);
        assert_eq!(boxes[0].confidence, 99.8);
        assert!(boxes.iter().all(|b| b.confidence >= 98.0));
        // The first ten labels take the hundred boxes carried.
        assert_eq!(labels[9].boxes.len(), MAX_BOXES_PER_LABEL);
        assert!(labels[10].boxes.is_empty());
    }

    /// Everything an e-mail or a detector decides the length of, at its
    /// bound, in the state of an execution at its largest (the last of
    /// `[extract] max_frames = 100` frames alerting, with 50 labels of
    /// crowds, ten of them wanted; every text in four-byte characters):
    /// under three quarters of the limit.
    #[test]
    fn the_largest_state_is_well_under_the_limit() {
        let long = |bytes: usize| "📷".repeat(bytes / 4);
        let event = Event {
            id: "x".repeat(80),
            source: Source::Ses,
            message: ObjectRef {
                bucket: "b".repeat(63),
                key: format!("incoming/{}", "x".repeat(80)),
            },
            from: Some(long(998)),
            to: vec![long(998); 50],
            subject: Some(long(998)),
            received_at: "2026-11-29T12:00:00.123+00:00".into(),
        };
        let frame = Frame {
            bucket: "b".repeat(63),
            key: format!("frames/{}/99.jpg", "x".repeat(80)),
            content_type: "image/jpeg".into(),
            width: 8000,
            height: 5000,
            size: 15_000_000,
            sha256: "f".repeat(64),
            filename: bounded_filename(&long(100_000)),
        };
        let frames = vec![frame; 100];
        let skipped = bounded_skipped(vec![Skipped::new(&long(100_000), &long(100_000)); 5000]);
        let label = Label {
            name: long(1000),
            confidence: 99.123_45,
            parents: vec![long(1000); 60],
            boxes: vec![a_box(99.123_45); 500],
        };
        let labels = bounded_labels(vec![label; 60]);
        let analysis = Analysis {
            detection: Detection {
                frame: 99,
                labels: labels.clone(),
            },
            matches: labels
                .iter()
                .take(10)
                .map(|label| Match {
                    frame: 99,
                    label: label.name.clone(),
                    confidence: label.confidence,
                    boxes: label.boxes.clone(),
                })
                .collect(),
            alert: true,
            why: vec![],
            next: None,
        };
        let state = serde_json::json!({
            "version": 1,
            "event": event,
            "camera": "x".repeat(100),
            "frames": frames,
            "skipped": skipped,
            "analysis": analysis,
        });
        let bytes = serde_json::to_vec(&state).unwrap().len();
        assert!(bytes < STATE_LIMIT_BYTES * 3 / 4, "{bytes} bytes");
    }
}
