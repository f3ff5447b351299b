//! The logic of each pipeline stage, written against the [ports](crate::ports).
//!
//! A Lambda handler parses its event, builds the AWS adapters and calls one
//! function here; `ipcam` calls the same functions with local adapters.
//! Errors carry a [`StageErrorKind`] whose name becomes the Lambda's error
//! type, so the state machine can retry what is worth retrying.

pub mod detect;
pub mod extract;
pub mod ingest;
pub mod notify;

use std::fmt;

use crate::ports::PortError;

/// What kind of failure a stage met; the state machine's `Retry` and
/// `Catch` blocks match on [`StageErrorKind::error_type`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageErrorKind {
    /// A service throttled us: retry with backoff.
    Throttled,
    /// A failure that may pass: retry.
    Transient,
    /// Something the stage needs is gone (a deleted message): do not retry.
    NotFound,
    /// The input cannot be processed (not an e-mail, a bad event): do not retry.
    InvalidInput,
    /// Any other failure: do not retry.
    Failed,
}

impl StageErrorKind {
    /// The error type the Lambda reports, as named in the state machine.
    pub fn error_type(self) -> &'static str {
        match self {
            StageErrorKind::Throttled => "Throttled",
            StageErrorKind::Transient => "Transient",
            StageErrorKind::NotFound => "NotFound",
            StageErrorKind::InvalidInput => "InvalidInput",
            StageErrorKind::Failed => "Failed",
        }
    }
}

/// A stage failure: its kind, and a message saying what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageError {
    pub kind: StageErrorKind,
    pub message: String,
}

impl StageError {
    pub fn new(kind: StageErrorKind, message: impl Into<String>) -> Self {
        StageError {
            kind,
            message: message.into(),
        }
    }

    /// A port failure, with what the stage was doing when it happened.
    pub fn from_port(doing: &str, err: PortError) -> Self {
        let kind = match err {
            PortError::NotFound(_) => StageErrorKind::NotFound,
            PortError::Throttled(_) => StageErrorKind::Throttled,
            PortError::Transient(_) => StageErrorKind::Transient,
            PortError::Permanent(_) => StageErrorKind::Failed,
            PortError::Refused(_) => StageErrorKind::InvalidInput,
        };
        StageError::new(kind, format!("{doing}: {err}"))
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StageError {}
