//! The state machine, run in process: the same stage functions in the same
//! order, with the same retries.
//!
//! `statemachine/pipeline.asl.json` runs ExtractAttachments, then
//! DetectLabels frame by frame until the first frame that alerts, then
//! Notify; it retries `Throttled` (2 s, doubling, 6 retries, full jitter)
//! and `Transient` (1 s, doubling, 3 retries) failures of each task, each
//! retrier counting its own retries, and ends every other failure in the
//! task's Fail state. This module does exactly that, so a run on one
//! machine takes the path an execution on AWS would; the tests in
//! `runner/asl.rs` read the ASL and fail when the two part ways. The ASL
//! also retries Lambda's own failures (`Lambda.ServiceException`...), which
//! a run in process cannot have, but never `Lambda.Unknown`, which includes
//! a function's timeout and its running out of memory: running the task
//! again would cost as much again, and a notify that had published would
//! alert twice.

use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use ipcam_core::config::Config;
use ipcam_core::contract::{
    AlertRequest, Analysis, ExecutionInput, Extracted, FrameToAnalyse, Notification,
};
use ipcam_core::ports::{AlertMemory, Detector, DetectorBudget, Notifier, ObjectStore};
use ipcam_core::stages::detect::detect_labels;
use ipcam_core::stages::extract::extract_attachments;
use ipcam_core::stages::notify::{notify, DEFAULT_LINK_VALIDITY};
use ipcam_core::stages::{StageError, StageErrorKind};

use crate::SmtpMailer;

/// How a failed task is retried, per error kind, as in the state machine's
/// `Retry` blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub throttled: Backoff,
    pub transient: Backoff,
}

/// One `Retry` block: first wait, growth of the wait, retries after the
/// first attempt, and whether the wait is drawn at random below that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub interval: Duration,
    pub rate: f64,
    pub max_attempts: u32,
    pub jitter: Jitter,
}

/// The `JitterStrategy` of a `Retry` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// `NONE`: wait exactly the backoff.
    None,
    /// `FULL`: wait a random time from zero to the backoff, so executions
    /// throttled together do not all come back together.
    Full,
}

impl Default for RetryPolicy {
    /// The state machine's policy.
    fn default() -> Self {
        RetryPolicy {
            throttled: Backoff {
                interval: Duration::from_secs(2),
                rate: 2.0,
                max_attempts: 6,
                jitter: Jitter::Full,
            },
            transient: Backoff {
                interval: Duration::from_secs(1),
                rate: 2.0,
                max_attempts: 3,
                jitter: Jitter::None,
            },
        }
    }
}

impl Backoff {
    /// The wait before retry number `retried + 1`; `draw`, from 0 to 1, is
    /// the share of it taken under full jitter. Kept apart from the random
    /// draw so that tests can give their own.
    fn wait(&self, retried: u32, draw: f64) -> Duration {
        let backoff = self.interval.as_secs_f64() * self.rate.powi(retried as i32);
        let wait = match self.jitter {
            Jitter::None => backoff,
            Jitter::Full => backoff * draw.clamp(0.0, 1.0),
        };
        Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX)
    }
}

/// A number from 0 to 1, different on each call: the hasher keys of
/// `RandomState` are random, which is all full jitter needs, without a
/// random number crate.
fn random_draw() -> f64 {
    (RandomState::new().hash_one(0u8) >> 11) as f64 / (1u64 << 53) as f64
}

impl RetryPolicy {
    /// Runs a task, retrying it as the state machine would: each retrier
    /// counts its own retries, so throttling does not use up the retries of
    /// transient failures, nor lengthen their waits.
    async fn run<T, F, Fut>(&self, mut task: F) -> Result<T, StageError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StageError>>,
    {
        let (mut throttled, mut transient) = (0, 0);
        loop {
            let err = match task().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let (backoff, retried) = match err.kind {
                StageErrorKind::Throttled => (self.throttled, &mut throttled),
                StageErrorKind::Transient => (self.transient, &mut transient),
                _ => return Err(err),
            };
            // `MaxAttempts` counts retries after the first attempt.
            if *retried >= backoff.max_attempts {
                return Err(err);
            }
            let wait = backoff.wait(*retried, random_draw());
            *retried += 1;
            tracing::warn!(error = %err, retry_in_seconds = wait.as_secs_f64(), "retrying");
            tokio::time::sleep(wait).await;
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
pub struct LocalPipeline<S, D, N, M, B> {
    pub config: Config,
    pub store: S,
    pub detector: D,
    pub notifier: N,
    /// The memory of recent alerts (cooldowns, parked objects, snoozes).
    pub alerts: M,
    /// The counters of the detector's calls, against `[detector]`'s caps.
    pub budget: B,
    /// The relay alert e-mails go through, when `[alerts.smtp]` names one.
    pub mailer: Option<SmtpMailer>,
    pub retry: RetryPolicy,
}

impl<S, D, N, M, B> LocalPipeline<S, D, N, M, B>
where
    S: ObjectStore,
    D: Detector,
    N: Notifier,
    M: AlertMemory,
    B: DetectorBudget,
{
    pub fn new(config: Config, store: S, detector: D, notifier: N, alerts: M, budget: B) -> Self {
        LocalPipeline {
            config,
            store,
            detector,
            notifier,
            alerts,
            budget,
            mailer: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The pipeline with alert e-mails relayed as `config`'s
    /// `[alerts.smtp]` says, when it says so.
    pub fn with_mail_relay_of(mut self, config: &Config) -> Result<Self, String> {
        self.mailer = config
            .alerts
            .smtp
            .as_ref()
            .map(SmtpMailer::new)
            .transpose()?;
        Ok(self)
    }

    /// Runs one execution from its input to its end state.
    pub async fn run(&self, input: ExecutionInput) -> Result<Run, RunFailed> {
        let failed = |task| move |error| RunFailed { task, error };
        let extracted = self
            .retry
            .run(|| extract_attachments(input.clone(), &self.config, &self.store, &self.alerts))
            .await
            .map_err(failed(Task::ExtractAttachments))?;

        // As the state machine: from the first frame, each analysis names
        // the next, until one alerts or none is left.
        let mut analyses = Vec::new();
        let mut next = (!extracted.frames.is_empty() && extracted.hold.is_none()).then_some(0);
        while let Some(frame_index) = next {
            let frame = extracted.frames.get(frame_index).ok_or_else(|| RunFailed {
                task: Task::DetectLabels,
                error: StageError::new(
                    StageErrorKind::Failed,
                    format!(
                        "the analysis named frame {frame_index}, which the e-mail does not have"
                    ),
                ),
            })?;
            let task = FrameToAnalyse {
                camera: extracted.camera.clone(),
                frame_count: extracted.frames.len(),
                event: extracted.event.id.clone(),
                received_at: extracted.event.received_at.clone(),
                frame_index,
                frame: frame.clone(),
            };
            let analysis = self
                .retry
                .run(|| {
                    detect_labels(
                        &task,
                        &self.config,
                        &self.detector,
                        &self.budget,
                        &self.alerts,
                    )
                })
                .await
                .map_err(failed(Task::DetectLabels))?;
            next = analysis.next;
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
                    .run(|| {
                        notify(
                            &request,
                            &self.config,
                            &self.store,
                            &self.notifier,
                            &self.mailer,
                            &self.alerts,
                            DEFAULT_LINK_VALIDITY,
                        )
                    })
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
mod asl;

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::FolderStore;
    use ipcam_core::contract::ObjectRef;
    use ipcam_core::testing::{
        burst_email, execution_input, CountingBudget, KeptAlerts, RememberedAlerts,
        ScriptedDetector,
    };

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
        execution_input(id, message, "frontdoor@cams.example.com")
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
            RememberedAlerts::default(),
            CountingBudget::default(),
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
    async fn a_frame_the_detector_refuses_does_not_hide_the_person_in_the_next() {
        let (root, store) = temp_store("refused");
        let mail = burst_email("frontdoor@cams.example.com", &["a.png", "b.png"]);
        let input = stored_input(&store, "m5", mail).await;
        let detector = ScriptedDetector::new(vec![("b.png", "Person", 95.0)])
            .refusing("a.png", "not a readable picture");
        let pipeline = LocalPipeline::new(
            Config::parse(FRONTDOOR).unwrap(),
            store,
            detector,
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        );
        let run = pipeline.run(input).await.unwrap();
        assert_eq!(run.analyses.len(), 2);
        assert_eq!(
            run.analyses[0].why,
            ["frame refused by the detector: not a readable picture"]
        );
        assert_eq!(run.alerting().unwrap().detection.frame, 1);
        assert_eq!(pipeline.notifier.kept().len(), 1);
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
            RememberedAlerts::default(),
            CountingBudget::default(),
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
            RememberedAlerts::default(),
            CountingBudget::default(),
        );
        let quick = Backoff {
            interval: Duration::from_millis(1),
            rate: 2.0,
            max_attempts: 6,
            jitter: Jitter::None,
        };
        pipeline.retry = RetryPolicy {
            throttled: quick,
            transient: quick,
        };
        let run = pipeline.run(input).await.unwrap();
        assert!(run.alerting().is_some());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn full_jitter_takes_the_drawn_share_of_the_backoff() {
        let policy = RetryPolicy::default();
        let throttled = policy.throttled;
        assert_eq!(throttled.wait(0, 1.0), Duration::from_secs(2));
        assert_eq!(throttled.wait(2, 1.0), Duration::from_secs(8));
        assert_eq!(throttled.wait(2, 0.25), Duration::from_secs(2));
        assert_eq!(throttled.wait(5, 0.0), Duration::ZERO);
        assert_eq!(policy.transient.wait(1, 0.0), Duration::from_secs(2));
        let draws: Vec<f64> = (0..100).map(|_| random_draw()).collect();
        assert!(draws.iter().all(|draw| (0.0..1.0).contains(draw)));
        assert!(draws.windows(2).any(|pair| pair[0] != pair[1]));
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
            RememberedAlerts::default(),
            CountingBudget::default(),
        );
        let failed = pipeline.run(input).await.unwrap_err();
        assert_eq!(failed.task, Task::ExtractAttachments);
        assert!(failed
            .to_string()
            .starts_with("extract-attachments failed: reading the message"));
        std::fs::remove_dir_all(root).unwrap();
    }
}
