//! The ports: one trait per outside system the pipeline talks to.
//!
//! Stage logic is written against these traits only. Each has an AWS
//! adapter (S3, Rekognition, SNS, Step Functions) and a local one (a folder,
//! the embedded detector, the terminal, an in-process run), so the same code
//! runs in Lambda, in `ipcam` and in tests.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::Alert;
use crate::alert_email::OutgoingMail;
use crate::contract::{ExecutionInput, Frame, Label, Notification, ObjectRef};
use crate::memory::{CameraMemory, Notified, Recollection};

/// Why a call to an outside system failed, sorted by what the caller should
/// do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The object or resource does not exist; retrying will not help.
    #[error("not found: {0}")]
    NotFound(String),
    /// The service asked us to slow down; retry with backoff.
    #[error("throttled: {0}")]
    Throttled(String),
    /// A failure that may pass (network, 5xx, timeout); retry.
    #[error("temporarily unavailable: {0}")]
    Transient(String),
    /// The request itself is wrong (access denied, a broken setting); do
    /// not retry.
    #[error("{0}")]
    Permanent(String),
    /// The service refused this one input as such (a picture the detector
    /// cannot read, too large, or gone): retrying it will not help, but the
    /// next input may pass, so the caller goes on without it.
    #[error("{0}")]
    Refused(String),
}

/// Where raw messages and frames are kept: S3, or a folder.
pub trait ObjectStore: Send + Sync {
    /// Reads a whole object.
    fn get(&self, object: &ObjectRef) -> impl Future<Output = Result<Vec<u8>, PortError>> + Send;

    /// Writes a whole object, replacing any with the same key.
    fn put(
        &self,
        object: &ObjectRef,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Where a person finds the object, for messages: `bucket/key` unless
    /// the store knows better (`s3://…`, a file's path).
    fn locate(&self, object: &ObjectRef) -> String {
        format!("{}/{}", object.bucket, object.key)
    }

    /// A link through which a person sees the object, for `valid_for` or
    /// less, for alerts: a presigned HTTPS URL where the store can sign
    /// one; by default where [`locate`](ObjectStore::locate) says the
    /// object is (a folder's file path is already what its owner opens).
    fn share(
        &self,
        object: &ObjectRef,
        valid_for: Duration,
    ) -> impl Future<Output = Result<String, PortError>> + Send {
        let _ = valid_for;
        let location = self.locate(object);
        async move { Ok(location) }
    }

    /// Size of an object in bytes. Stores that can tell without reading the
    /// object (S3's HEAD) override this; the default reads it.
    fn size(&self, object: &ObjectRef) -> impl Future<Output = Result<u64, PortError>> + Send {
        async move {
            let bytes = self.get(object).await?;
            Ok(u64::try_from(bytes.len()).unwrap_or(u64::MAX))
        }
    }
}

/// What looks at a stored frame: Rekognition DetectLabels, or the embedded
/// model. Answers in Rekognition's terms (label names, percent, fractional
/// boxes) so one set of rules fits both.
pub trait Detector: Send + Sync {
    /// Labels found in the frame, with at least `min_confidence` percent.
    fn detect(
        &self,
        frame: &Frame,
        min_confidence: f32,
    ) -> impl Future<Output = Result<Vec<Label>, PortError>> + Send;

    /// The labels, as Rekognition names them, of which this detector knows
    /// every kind of object: when it finds none of them in a frame, a
    /// better detector would not find one either, short of this one's
    /// misses. Only a camera whose wanted labels are all among them can be
    /// gated by it. Empty (the default) for a detector that is no gate.
    fn gate_vocabulary(&self) -> &[&str] {
        &[]
    }
}

/// Where alerts go: an SNS topic, or the terminal and a JSON-lines file.
pub trait Notifier: Send + Sync {
    /// Sends one alert; returns the id the channel gave it.
    fn publish(&self, alert: &Alert) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// The memory of recent alerts: a DynamoDB table, or a folder.
///
/// Writes are conditional, so that two executions of one camera judged at
/// the same moment cannot both claim the alert. It also keeps the
/// notification of each event alerted on, for a day, so that a notify run
/// again after publishing returns it rather than alerting twice.
pub trait AlertMemory: Send + Sync {
    /// What is remembered of a camera, with the latest snooze covering it
    /// (its own or every camera's).
    fn recall(&self, camera: &str) -> impl Future<Output = Result<CameraMemory, PortError>> + Send;

    /// Keeps `recollection` in place of the one of the same camera and
    /// label, if that one still has revision `replaces` (`None`: if there
    /// is none). False when another writer got there first.
    fn remember(
        &self,
        recollection: &Recollection,
        replaces: Option<u64>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// The notification recorded for an event of a camera, if its alert
    /// was published already.
    fn notified(
        &self,
        camera: &str,
        event: &str,
    ) -> impl Future<Output = Result<Option<Notification>, PortError>> + Send;

    /// Records the notification of an event, in place of any earlier one
    /// of the same event, until its `keep_until`.
    fn remember_notified(
        &self,
        notified: &Notified,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Mutes a camera, or every camera with
    /// [`ALL_CAMERAS`](crate::memory::ALL_CAMERAS), until `until`; a time
    /// in the past lifts the snooze.
    fn snooze(
        &self,
        camera: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The bookkeeping of the detector budget: counters of the calls made to
/// the detector of record, per period, in a DynamoDB table or a file; and
/// the operator, told when a cap is reached. What the counts mean is
/// decided in [`budget`](crate::budget).
pub trait DetectorBudget: Send + Sync {
    /// Adds one to the counter named `counter` (a new counter starts at
    /// zero) and returns its new value. Atomic: of any number of
    /// executions counting at once, each gets a value of its own. The
    /// store may forget the counter after `keep_until`.
    fn count(
        &self,
        counter: &str,
        keep_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, PortError>> + Send;

    /// Takes one off the counter named `counter`: a call counted that the
    /// detector failed and did not bill. Atomic, like [`Self::count`]; a
    /// counter the store has forgotten stays forgotten.
    fn uncount(&self, counter: &str) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Tells whoever looks after the installation that a cap was reached
    /// (the operational alarm); asked once per period.
    fn cap_reached(&self, notice: &str) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Where alert e-mails are handed over: SES, or an SMTP relay.
pub trait Mailer: Send + Sync {
    /// Sends one whole message to its envelope's recipients; returns the
    /// id the service gave it.
    fn send(&self, mail: &OutgoingMail) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// No mailer: where no relay is configured, an e-mail asked for fails with
/// a reason that says so.
impl<M: Mailer> Mailer for Option<M> {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, PortError> {
        match self {
            Some(mailer) => mailer.send(mail).await,
            None => Err(PortError::Permanent(
                "no mail relay is configured to send it through: set [alerts.smtp]".into(),
            )),
        }
    }
}

/// What happened when an execution was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new execution runs; its id (an execution ARN, or a local id).
    New(String),
    /// An execution of that name exists already: the message was delivered
    /// twice, and nothing new was started.
    AlreadyStarted,
}

/// What runs the pipeline for one message: Step Functions, or an in-process
/// run.
pub trait Executions: Send + Sync {
    /// Starts the pipeline for one message under a unique, stable name.
    fn start(
        &self,
        name: &str,
        input: &ExecutionInput,
    ) -> impl Future<Output = Result<Started, PortError>> + Send;
}
