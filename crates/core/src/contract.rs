//! The JSON that the stages pass to each other through the state machine.
//!
//! Every stage reads and writes these types, so the Lambdas, the local runner
//! and the tests agree on one shape. Field names are camelCase on the wire.
//! The payload of an execution is limited to 256 KB: frames travel as S3
//! references, never as bytes.

use serde::{Deserialize, Serialize};

/// Version of the stage contract; bumped on any incompatible change.
pub const CONTRACT_VERSION: u32 = 1;

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
