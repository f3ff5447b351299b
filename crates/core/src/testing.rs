//! Test doubles of the ports and builders of camera pictures and e-mails,
//! shared by the unit tests of every crate (feature `testing`) so that no
//! module declares its own.
//!
//! The doubles stand where the real thing cannot be reached in a unit
//! test; the end-to-end tests run the real adapters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use base64::Engine;

use crate::alert::Alert;
use crate::alert_email::OutgoingMail;
use crate::contract::{
    BoundingBox, Event, ExecutionInput, Frame, Label, Notification, ObjectRef, Source,
    CONTRACT_VERSION,
};
use crate::memory::{CameraMemory, Notified, Recollection, ALL_CAMERAS};
use crate::ports::{
    AlertMemory, Detector, DetectorBudget, Executions, Mailer, Notifier, ObjectStore, PortError,
    Started,
};

fn poisoned<T>(_: T) -> PortError {
    PortError::Permanent("a test double's lock was poisoned".into())
}

/// An object store in memory, keyed by bucket and key.
#[derive(Default)]
pub struct MemoryStore(Mutex<HashMap<(String, String), Vec<u8>>>);

impl MemoryStore {
    /// A store holding one object.
    pub fn holding(object: &ObjectRef, bytes: Vec<u8>) -> Self {
        let store = MemoryStore::default();
        store.insert(object, bytes);
        store
    }

    /// Puts an object without going through the port.
    pub fn insert(&self, object: &ObjectRef, bytes: Vec<u8>) {
        if let Ok(mut objects) = self.0.lock() {
            objects.insert((object.bucket.clone(), object.key.clone()), bytes);
        }
    }

    /// The keys held, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .0
            .lock()
            .map(|objects| objects.keys().map(|(_, key)| key.clone()).collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }
}

impl ObjectStore for MemoryStore {
    async fn get(&self, object: &ObjectRef) -> Result<Vec<u8>, PortError> {
        self.0
            .lock()
            .map_err(poisoned)?
            .get(&(object.bucket.clone(), object.key.clone()))
            .cloned()
            .ok_or_else(|| PortError::NotFound(format!("{}/{}", object.bucket, object.key)))
    }

    async fn put(&self, object: &ObjectRef, bytes: Vec<u8>, _: &str) -> Result<(), PortError> {
        self.0
            .lock()
            .map_err(poisoned)?
            .insert((object.bucket.clone(), object.key.clone()), bytes);
        Ok(())
    }
}

/// Records the executions asked for; a name starts once, as in Step
/// Functions.
#[derive(Default)]
pub struct RecordedExecutions(pub Mutex<Vec<(String, ExecutionInput)>>);

impl RecordedExecutions {
    /// The executions started so far, by name and input.
    pub fn started(&self) -> Vec<(String, ExecutionInput)> {
        self.0
            .lock()
            .map(|started| started.clone())
            .unwrap_or_default()
    }
}

impl Executions for RecordedExecutions {
    async fn start(&self, name: &str, input: &ExecutionInput) -> Result<Started, PortError> {
        let mut started = self.0.lock().map_err(poisoned)?;
        if started.iter().any(|(seen, _)| seen == name) {
            return Ok(Started::AlreadyStarted);
        }
        started.push((name.to_string(), input.clone()));
        Ok(Started::New(format!("exec:{name}")))
    }
}

/// Step Functions down: every start fails in a way that may pass.
pub struct UnavailableExecutions;

impl Executions for UnavailableExecutions {
    async fn start(&self, _: &str, _: &ExecutionInput) -> Result<Started, PortError> {
        Err(PortError::Transient("service unavailable".into()))
    }
}

/// Keeps the alerts it was asked to publish.
#[derive(Default)]
pub struct KeptAlerts(pub Mutex<Vec<Alert>>);

impl KeptAlerts {
    /// The alerts published so far.
    pub fn kept(&self) -> Vec<Alert> {
        self.0.lock().map(|kept| kept.clone()).unwrap_or_default()
    }
}

impl Notifier for KeptAlerts {
    async fn publish(&self, alert: &Alert) -> Result<String, PortError> {
        let mut kept = self.0.lock().map_err(poisoned)?;
        kept.push(alert.clone());
        Ok(format!("kept-{}", kept.len()))
    }
}

/// Keeps the e-mails it was asked to send, or refuses them all.
#[derive(Default)]
pub struct KeptMail {
    pub sent: Mutex<Vec<OutgoingMail>>,
    pub refuse: bool,
}

impl KeptMail {
    /// A mailer whose relay refuses every message.
    pub fn refusing() -> Self {
        KeptMail {
            refuse: true,
            ..KeptMail::default()
        }
    }

    /// The e-mails sent so far.
    pub fn kept(&self) -> Vec<OutgoingMail> {
        self.sent
            .lock()
            .map(|sent| sent.clone())
            .unwrap_or_default()
    }
}

impl Mailer for KeptMail {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, PortError> {
        if self.refuse {
            return Err(PortError::Permanent("550 relaying denied".into()));
        }
        let mut sent = self.sent.lock().map_err(poisoned)?;
        sent.push(mail.clone());
        Ok(format!("mail-{}", sent.len()))
    }
}

/// The memory of alerts in memory, with the conditional writes of the
/// real stores; it can be told to fail its reads and writes of
/// notifications, as a store that cannot be reached.
#[derive(Default)]
pub struct RememberedAlerts {
    pub recollections: Mutex<Vec<Recollection>>,
    pub snoozes: Mutex<HashMap<String, chrono::DateTime<chrono::Utc>>>,
    pub notified: Mutex<Vec<Notified>>,
    pub notifications_unreachable: bool,
}

impl RememberedAlerts {
    /// The notifications recorded so far.
    pub fn notified(&self) -> Vec<Notified> {
        self.notified
            .lock()
            .map(|notified| notified.clone())
            .unwrap_or_default()
    }

    fn notifications(&self) -> Result<std::sync::MutexGuard<'_, Vec<Notified>>, PortError> {
        if self.notifications_unreachable {
            return Err(PortError::Transient("the memory cannot be reached".into()));
        }
        self.notified.lock().map_err(poisoned)
    }
}

impl AlertMemory for RememberedAlerts {
    async fn recall(&self, camera: &str) -> Result<CameraMemory, PortError> {
        let recollections = self.recollections.lock().map_err(poisoned)?;
        let snoozes = self.snoozes.lock().map_err(poisoned)?;
        Ok(CameraMemory {
            recollections: recollections
                .iter()
                .filter(|r| r.camera == camera)
                .cloned()
                .collect(),
            snoozed_until: [camera, ALL_CAMERAS]
                .iter()
                .filter_map(|name| snoozes.get(*name).copied())
                .max(),
        })
    }

    async fn remember(
        &self,
        recollection: &Recollection,
        replaces: Option<u64>,
    ) -> Result<bool, PortError> {
        let mut recollections = self.recollections.lock().map_err(poisoned)?;
        let same =
            |r: &Recollection| r.camera == recollection.camera && r.label == recollection.label;
        if recollections.iter().find(|r| same(r)).map(|r| r.revision) != replaces {
            return Ok(false);
        }
        recollections.retain(|r| !same(r));
        recollections.push(recollection.clone());
        Ok(true)
    }

    async fn notified(&self, camera: &str, event: &str) -> Result<Option<Notification>, PortError> {
        Ok(self
            .notifications()?
            .iter()
            .find(|n| n.camera == camera && n.event == event)
            .map(|n| n.notification.clone()))
    }

    async fn remember_notified(&self, notified: &Notified) -> Result<(), PortError> {
        let mut kept = self.notifications()?;
        kept.retain(|n| !(n.camera == notified.camera && n.event == notified.event));
        kept.push(notified.clone());
        Ok(())
    }

    async fn snooze(
        &self,
        camera: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PortError> {
        self.snoozes
            .lock()
            .map_err(poisoned)?
            .insert(camera.to_string(), until);
        Ok(())
    }
}

/// The detector budget's counters in memory, and the notices the
/// operator was sent; it can be told to fail, as a table that cannot be
/// reached.
#[derive(Default)]
pub struct CountingBudget {
    counters: Mutex<HashMap<String, u64>>,
    notices: Mutex<Vec<String>>,
    unreachable: bool,
}

impl CountingBudget {
    /// A budget whose counters cannot be reached.
    pub fn failing() -> Self {
        CountingBudget {
            unreachable: true,
            ..CountingBudget::default()
        }
    }

    /// A budget whose counter `counter` already stands at `value`.
    pub fn at(counter: &str, value: u64) -> Self {
        let budget = CountingBudget::default();
        if let Ok(mut counters) = budget.counters.lock() {
            counters.insert(counter.to_string(), value);
        }
        budget
    }

    /// The value of a counter (0 when never counted).
    pub fn value(&self, counter: &str) -> u64 {
        self.counters
            .lock()
            .map(|counters| counters.get(counter).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// What the operator was told, in order.
    pub fn notices(&self) -> Vec<String> {
        self.notices
            .lock()
            .map(|notices| notices.clone())
            .unwrap_or_default()
    }
}

impl DetectorBudget for CountingBudget {
    async fn count(
        &self,
        counter: &str,
        _keep_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, PortError> {
        if self.unreachable {
            return Err(PortError::Transient(
                "the budget's counters cannot be reached".into(),
            ));
        }
        let mut counters = self.counters.lock().map_err(poisoned)?;
        let value = counters.entry(counter.to_string()).or_insert(0);
        *value += 1;
        Ok(*value)
    }

    async fn uncount(&self, counter: &str) -> Result<(), PortError> {
        if self.unreachable {
            return Err(PortError::Transient(
                "the budget's counters cannot be reached".into(),
            ));
        }
        let mut counters = self.counters.lock().map_err(poisoned)?;
        if let Some(value) = counters.get_mut(counter) {
            *value = value.saturating_sub(1);
        }
        Ok(())
    }

    async fn cap_reached(&self, notice: &str) -> Result<(), PortError> {
        self.notices
            .lock()
            .map_err(poisoned)?
            .push(notice.to_string());
        Ok(())
    }
}

/// A detector that answers from a script keyed by the frame's file name
/// (file, label, confidence), counts the frames it was asked about, can be
/// told to throttle its first calls, and to refuse some files as a picture
/// it cannot read.
pub struct ScriptedDetector {
    pub script: Vec<(&'static str, &'static str, f32)>,
    pub asked: AtomicUsize,
    pub throttle_first: AtomicUsize,
    /// Files refused, with the reason given.
    pub refused: Vec<(&'static str, &'static str)>,
    /// What it can rule out when used as a gate.
    pub vocabulary: Vec<&'static str>,
}

impl ScriptedDetector {
    pub fn new(script: Vec<(&'static str, &'static str, f32)>) -> Self {
        ScriptedDetector {
            script,
            asked: AtomicUsize::new(0),
            throttle_first: AtomicUsize::new(0),
            refused: Vec::new(),
            vocabulary: Vec::new(),
        }
    }

    /// The same detector, able to serve as a gate for these labels.
    pub fn gating(mut self, vocabulary: &[&'static str]) -> Self {
        self.vocabulary = vocabulary.to_vec();
        self
    }

    /// The same detector, refusing the frame of that file name with
    /// [`PortError::Refused`] and `reason`, as Rekognition refuses a
    /// picture it cannot read.
    pub fn refusing(mut self, file: &'static str, reason: &'static str) -> Self {
        self.refused.push((file, reason));
        self
    }

    /// How many frames it has analysed.
    pub fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl Detector for ScriptedDetector {
    fn gate_vocabulary(&self) -> &[&str] {
        &self.vocabulary
    }

    async fn detect(&self, frame: &Frame, min_confidence: f32) -> Result<Vec<Label>, PortError> {
        if self.throttle_first.load(Ordering::SeqCst) > 0 {
            self.throttle_first.fetch_sub(1, Ordering::SeqCst);
            return Err(PortError::Throttled("slow down".into()));
        }
        self.asked.fetch_add(1, Ordering::SeqCst);
        if let Some((_, reason)) = self
            .refused
            .iter()
            .find(|(file, _)| *file == frame.filename)
        {
            return Err(PortError::Refused((*reason).to_string()));
        }
        Ok(self
            .script
            .iter()
            .filter(|(file, _, confidence)| {
                *file == frame.filename && *confidence >= min_confidence
            })
            .map(|(_, name, confidence)| Label {
                name: (*name).into(),
                confidence: *confidence,
                parents: vec![],
                boxes: vec![BoundingBox {
                    left: 0.3,
                    top: 0.2,
                    width: 0.2,
                    height: 0.5,
                    confidence: *confidence,
                }],
            })
            .collect())
    }
}

/// A flat grey JPEG of the given size, as a small camera sends.
pub fn grey_jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(width, height, image::Rgb([90, 90, 90]));
    encode(
        image::DynamicImage::ImageRgb8(picture),
        image::ImageFormat::Jpeg,
    )
}

/// A JPEG of a colour gradient, a picture with something in it that
/// every decoder keeps apart from a flat one.
pub fn gradient_jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([((x * 2) % 256) as u8, ((y * 2) % 256) as u8, 128])
    });
    encode(
        image::DynamicImage::ImageRgb8(picture),
        image::ImageFormat::Jpeg,
    )
}

/// A PNG of a dull scene with a bright figure standing at a place of its
/// own for each `moment`, so that extraction keeps every moment of a burst
/// as a different frame.
pub fn moment_png(width: u32, height: u32, moment: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        let figure = (moment * 50..moment * 50 + 30).contains(&x) && (20..100).contains(&y);
        if figure {
            image::Rgb([250, 240, 230])
        } else {
            image::Rgb([90, 120, 60])
        }
    });
    encode(
        image::DynamicImage::ImageRgb8(picture),
        image::ImageFormat::Png,
    )
}

fn encode(picture: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, format)
        .expect("encoding a picture in memory");
    bytes.into_inner()
}

/// A camera e-mail from `from` with one attached snapshot per file name,
/// each a different moment of the scene.
pub fn burst_email(from: &str, files: &[&str]) -> Vec<u8> {
    let mut mail = format!(
        "From: {from}\r\nTo: alerts@home.example\r\nSubject: Motion alarm\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nMotion detected\r\n"
    );
    for (moment, file) in (0u32..).zip(files) {
        let body = base64::engine::general_purpose::STANDARD.encode(moment_png(160, 120, moment));
        mail.push_str(&format!(
            "--b\r\nContent-Type: image/png; name=\"{file}\"\r\nContent-Disposition: attachment; filename=\"{file}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        ));
    }
    mail.push_str("--b--\r\n");
    mail.into_bytes()
}

/// A camera e-mail with one snapshot whose file name is `name`, written as
/// RFC 2231 continuations (`filename*0*=utf-8''…; filename*1*=…`) of 60
/// characters each, percent-encoded: how a name of any length and script
/// travels in a header.
pub fn picture_named_by_rfc2231(from: &str, name: &str) -> Vec<u8> {
    let encoded: String = name
        .bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect();
    let mut params = String::new();
    let mut rest = encoded.as_str();
    let mut index = 0;
    while !rest.is_empty() {
        // Never between a % and its two digits.
        let mut cut = rest.len().min(60);
        while rest[..cut].rfind('%').is_some_and(|at| at + 3 > cut) {
            cut -= 1;
        }
        let charset = if index == 0 { "utf-8''" } else { "" };
        params.push_str(&format!(
            ";\r\n filename*{index}*={charset}{}",
            &rest[..cut]
        ));
        rest = &rest[cut..];
        index += 1;
    }
    let body = base64::engine::general_purpose::STANDARD.encode(moment_png(160, 120, 0));
    format!(
        "From: {from}\r\nTo: alerts@home.example\r\nSubject: Motion alarm\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment{params}\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n--b--\r\n"
    )
    .into_bytes()
}

/// A camera e-mail with one snapshot, `snap.png`, and `count` small text
/// attachments that are not pictures (`note-1.txt`…).
pub fn email_with_text_parts(from: &str, count: usize) -> Vec<u8> {
    let mut mail = burst_email(from, &["snap.png"]);
    mail.truncate(mail.len() - "--b--\r\n".len());
    for index in 1..=count {
        mail.extend_from_slice(
            format!("--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"note-{index}.txt\"\r\n\r\nnothing\r\n").as_bytes(),
        );
    }
    mail.extend_from_slice(b"--b--\r\n");
    mail
}

/// The execution input of a message stored at `message`, as a camera
/// `from` sent it.
pub fn execution_input(id: &str, message: ObjectRef, from: &str) -> ExecutionInput {
    ExecutionInput {
        version: CONTRACT_VERSION,
        event: Event {
            id: id.into(),
            source: Source::Local,
            message,
            from: Some(from.into()),
            to: vec!["alerts@cams.example.com".into()],
            subject: Some("Motion alarm".into()),
            received_at: "2026-11-29T10:00:00Z".into(),
        },
    }
}
