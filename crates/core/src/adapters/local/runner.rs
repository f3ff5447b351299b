//! The state machine, run in process: the same stage functions in the same
//! order, with the same retries.
//!
//! `statemachine/pipeline.asl.json` runs ExtractAttachments, then
//! DetectLabels frame by frame until the first frame that alerts, then
//! Notify; it retries `Throttled` (2 s, doubling, 6 attempts) and
//! `Transient` (1 s, doubling, 3 attempts) failures of each task. This
//! module does exactly that, so a run on one machine takes the path an
//! execution on AWS would.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::config::Config;
use crate::contract::{
    AlertRequest, Analysis, ExecutionInput, Extracted, FrameToAnalyse, Notification,
};
use crate::ports::{Detector, Notifier, ObjectStore};
use crate::stages::detect::detect_labels;
use crate::stages::extract::extract_attachments;
use crate::stages::notify::notify;
use crate::stages::{StageError, StageErrorKind};

/// How a failed task is retried, per error kind, as in the state machine's
/// `Retry` blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub throttled: Backoff,
    pub transient: Backoff,
}

/// One `Retry` block: first wait, growth of the wait, attempts in all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub interval: Duration,
    pub rate: f64,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// The state machine's policy.
    fn default() -> Self {
        RetryPolicy {
            throttled: Backoff {
                interval: Duration::from_secs(2),
                rate: 2.0,
                max_attempts: 6,
            },
            transient: Backoff {
                interval: Duration::from_secs(1),
                rate: 2.0,
                max_attempts: 3,
            },
        }
    }
}

impl RetryPolicy {
    /// Runs a task, retrying it as the state machine would.
    async fn run<T, F, Fut>(&self, mut task: F) -> Result<T, StageError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StageError>>,
    {
        let mut attempts = 0;
        loop {
            let err = match task().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            attempts += 1;
            let backoff = match err.kind {
                StageErrorKind::Throttled => self.throttled,
                StageErrorKind::Transient => self.transient,
                _ => return Err(err),
            };
            // `MaxAttempts` counts retries after the first attempt.
            if attempts > backoff.max_attempts {
                return Err(err);
            }
            let wait = backoff.interval.as_secs_f64() * backoff.rate.powi(attempts as i32 - 1);
            tracing::warn!(error = %err, retry_in_seconds = wait, "retrying");
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

/// The task of the state machine that failed, named as its Fail state says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    ExtractAttachments,
    DetectLabels,
    Notify,
}

impl Task {
    pub fn lambda_name(self) -> &'static str {
        match self {
            Task::ExtractAttachments => "extract-attachments",
            Task::DetectLabels => "detect-labels",
            Task::Notify => "notify",
        }
    }
}

/// A run that ended in a Fail state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailed {
    pub task: Task,
    pub error: StageError,
}

impl fmt::Display for RunFailed {
    /// Worded like the state machine's `Cause`: `detect-labels failed: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.task.lambda_name(), self.error)
    }
}

impl std::error::Error for RunFailed {}

/// Everything a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub extracted: Extracted,
    /// One analysis per frame looked at, in order; the last one alerted if
    /// any did (the loop stops there).
    pub analyses: Vec<Analysis>,
    /// The alert sent, when a frame alerted.
    pub notified: Option<(AlertRequest, Notification)>,
}

impl Run {
    /// The analysis that raised the alert, if one did.
    pub fn alerting(&self) -> Option<&Analysis> {
        self.analyses.last().filter(|analysis| analysis.alert)
    }
}

/// The pipeline with its adapters: what one execution runs on.
pub struct LocalPipeline<S, D, N> {
    pub config: Config,
    pub store: S,
    pub detector: D,
    pub notifier: N,
    pub retry: RetryPolicy,
}

impl<S: ObjectStore, D: Detector, N: Notifier> LocalPipeline<S, D, N> {
    pub fn new(config: Config, store: S, detector: D, notifier: N) -> Self {
        LocalPipeline {
            config,
            store,
            detector,
            notifier,
            retry: RetryPolicy::default(),
        }
    }

    /// Runs one execution from its input to its end state.
    pub async fn run(&self, input: ExecutionInput) -> Result<Run, RunFailed> {
        let failed = |task| move |error| RunFailed { task, error };
        let extracted = self
            .retry
            .run(|| extract_attachments(input.clone(), &self.config, &self.store))
            .await
            .map_err(failed(Task::ExtractAttachments))?;

        let mut analyses = Vec::new();
        for (frame_index, frame) in extracted.frames.iter().enumerate() {
            let task = FrameToAnalyse {
                camera: extracted.camera.clone(),
                frame_index,
                frame: frame.clone(),
            };
            let analysis = self
                .retry
                .run(|| detect_labels(&task, &self.config, &self.detector))
                .await
                .map_err(failed(Task::DetectLabels))?;
            let alert = analysis.alert;
            analyses.push(analysis);
            if alert {
                break;
            }
        }

        let notified = match analyses.last().filter(|analysis| analysis.alert) {
            None => None,
            Some(analysis) => {
                let request = AlertRequest {
                    version: extracted.version,
                    event: extracted.event.clone(),
                    camera: extracted.camera.clone(),
                    frames: extracted.frames.clone(),
                    analysis: analysis.clone(),
                };
                let notification = self
                    .retry
                    .run(|| notify(&request, &self.store, &self.notifier))
                    .await
                    .map_err(failed(Task::Notify))?;
                Some((request, notification))
            }
        };
        Ok(Run {
            extracted,
            analyses,
            notified,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::adapters::local::FolderStore;
    use crate::alert::Alert;
    use crate::contract::{BoundingBox, Event, Frame, Label, ObjectRef, Source, CONTRACT_VERSION};
    use crate::ports::PortError;

    /// Test double for the detector: answers from a script keyed by the
    /// frame's file name, and counts the frames it was asked about (the
    /// real model is exercised by the `ipcam` end-to-end tests).
    pub(crate) struct ScriptedDetector {
        pub script: Vec<(&'static str, &'static str, f32)>,
        pub asked: AtomicUsize,
        pub throttle_first: AtomicUsize,
    }

    impl ScriptedDetector {
        pub(crate) fn new(script: Vec<(&'static str, &'static str, f32)>) -> Self {
            ScriptedDetector {
                script,
                asked: AtomicUsize::new(0),
                throttle_first: AtomicUsize::new(0),
            }
        }
    }

    impl Detector for ScriptedDetector {
        async fn detect(
            &self,
            frame: &Frame,
            min_confidence: f32,
        ) -> Result<Vec<Label>, PortError> {
            if self.throttle_first.load(Ordering::SeqCst) > 0 {
                self.throttle_first.fetch_sub(1, Ordering::SeqCst);
                return Err(PortError::Throttled("slow down".into()));
            }
            self.asked.fetch_add(1, Ordering::SeqCst);
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

    /// Test double for the notifier: keeps the alerts in memory.
    #[derive(Default)]
    pub(crate) struct KeptAlerts(pub Mutex<Vec<Alert>>);

    impl Notifier for KeptAlerts {
        async fn publish(&self, alert: &Alert) -> Result<String, PortError> {
            let mut kept = self
                .0
                .lock()
                .map_err(|_| PortError::Permanent("poisoned".into()))?;
            kept.push(alert.clone());
            Ok(format!("kept-{}", kept.len()))
        }
    }

    /// A PNG as a camera might attach: a dull scene with a bright figure
    /// standing at a place of its own for each frame, so that extraction
    /// keeps every frame of the burst as a different moment.
    fn png(width: u32, height: u32, frame: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(width, height, |x, y| {
            let figure = (frame * 50..frame * 50 + 30).contains(&x) && (20..100).contains(&y);
            if figure {
                image::Rgb([250, 240, 230])
            } else {
                image::Rgb([90, 120, 60])
            }
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        picture
            .write_to(&mut bytes, image::ImageFormat::Png)
            .unwrap();
        bytes.into_inner()
    }

    /// A camera e-mail with one attached snapshot per file name.
    pub(crate) fn burst_email(from: &str, files: &[&str]) -> Vec<u8> {
        use base64::Engine;
        let mut mail = format!(
            "From: {from}\r\nTo: alerts@home.example\r\nSubject: Motion alarm\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nMotion detected\r\n"
        );
        for (index, file) in files.iter().enumerate() {
            let body =
                base64::engine::general_purpose::STANDARD.encode(png(160, 120, index as u32));
            mail.push_str(&format!(
                "--b\r\nContent-Type: image/png; name=\"{file}\"\r\nContent-Disposition: attachment; filename=\"{file}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
            ));
        }
        mail.push_str("--b--\r\n");
        mail.into_bytes()
    }

    pub(crate) fn temp_store(name: &str) -> (std::path::PathBuf, FolderStore) {
        let root = std::env::temp_dir().join(format!("ipcam-runner-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        (root.clone(), FolderStore::new(root))
    }

    pub(crate) async fn stored_input(
        store: &FolderStore,
        id: &str,
        mail: Vec<u8>,
    ) -> ExecutionInput {
        let message = ObjectRef {
            bucket: "local".into(),
            key: format!("incoming/{id}"),
        };
        store.put(&message, mail, "message/rfc822").await.unwrap();
        ExecutionInput {
            version: CONTRACT_VERSION,
            event: Event {
                id: id.into(),
                source: Source::Local,
                message,
                from: Some("frontdoor@cams.example.com".into()),
                to: vec![],
                subject: Some("Motion alarm".into()),
                received_at: "2026-11-29T10:00:00Z".into(),
            },
        }
    }

    const FRONTDOOR: &str = "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\nlabels = [\"person\"]\n";

    #[tokio::test]
    async fn frames_are_analysed_in_order_until_the_first_alert() {
        let (root, store) = temp_store("first-alert");
        let mail = burst_email("frontdoor@cams.example.com", &["a.png", "b.png", "c.png"]);
        let input = stored_input(&store, "m1", mail).await;
        let detector = ScriptedDetector::new(vec![
            ("a.png", "Cat", 90.0),
            ("b.png", "Person", 88.0),
            ("c.png", "Person", 99.0),
        ]);
        let pipeline = LocalPipeline::new(
            Config::parse(FRONTDOOR).unwrap(),
            store,
            detector,
            KeptAlerts::default(),
        );
        let run = pipeline.run(input).await.unwrap();
        assert_eq!(run.extracted.camera, "frontdoor");
        assert_eq!(run.extracted.frames.len(), 3);
        assert_eq!(run.analyses.len(), 2, "the third frame is never analysed");
        assert_eq!(pipeline.detector.asked.load(Ordering::SeqCst), 2);
        let alerting = run.alerting().unwrap();
        assert_eq!(alerting.matches[0].label, "Person");
        let alerts = pipeline.notifier.0.lock().unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].subject, "Person at frontdoor");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn nothing_of_interest_analyses_every_frame_and_tells_nobody() {
        let (root, store) = temp_store("nothing");
        let mail = burst_email("frontdoor@cams.example.com", &["a.png", "b.png"]);
        let input = stored_input(&store, "m2", mail).await;
        let pipeline = LocalPipeline::new(
            Config::parse(FRONTDOOR).unwrap(),
            store,
            ScriptedDetector::new(vec![("a.png", "Cat", 90.0)]),
            KeptAlerts::default(),
        );
        let run = pipeline.run(input).await.unwrap();
        assert_eq!(run.analyses.len(), 2);
        assert!(run.alerting().is_none());
        assert!(run.notified.is_none());
        assert!(pipeline.notifier.0.lock().unwrap().is_empty());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn throttled_detector_is_retried_like_the_state_machine_does() {
        let (root, store) = temp_store("throttled");
        let mail = burst_email("frontdoor@cams.example.com", &["a.png"]);
        let input = stored_input(&store, "m3", mail).await;
        let detector = ScriptedDetector::new(vec![("a.png", "Person", 95.0)]);
        detector.throttle_first.store(2, Ordering::SeqCst);
        let mut pipeline = LocalPipeline::new(
            Config::parse(FRONTDOOR).unwrap(),
            store,
            detector,
            KeptAlerts::default(),
        );
        let quick = Backoff {
            interval: Duration::from_millis(1),
            rate: 2.0,
            max_attempts: 6,
        };
        pipeline.retry = RetryPolicy {
            throttled: quick,
            transient: quick,
        };
        let run = pipeline.run(input).await.unwrap();
        assert!(run.alerting().is_some());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_missing_message_fails_in_extract_attachments() {
        let (root, store) = temp_store("missing");
        let mut input = stored_input(&store, "m4", b"From: x\r\n\r\nhi".to_vec()).await;
        input.event.message.key = "incoming/gone".into();
        let pipeline = LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![]),
            KeptAlerts::default(),
        );
        let failed = pipeline.run(input).await.unwrap_err();
        assert_eq!(failed.task, Task::ExtractAttachments);
        assert!(failed
            .to_string()
            .starts_with("extract-attachments failed: reading the message"));
        std::fs::remove_dir_all(root).unwrap();
    }
}
