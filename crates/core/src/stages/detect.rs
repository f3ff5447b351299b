//! detect-labels: what is in one frame, does it match the camera's rules,
//! and is it news, given the memory of the camera's recent alerts.

use chrono::{DateTime, Utc};

use super::{StageError, StageErrorKind};
use crate::budget::{self, CapReached, Spend};
use crate::config::Config;
use crate::contract::{self, Analysis, Detection, FrameToAnalyse};
use crate::memory;
use crate::ports::{AlertMemory, Detector, DetectorBudget, PortError};
use crate::rules;

/// How often a judgement is made again after another execution of the
/// same camera changed the memory under it. Each round reads what that
/// one wrote, so a second round normally settles it.
const MAX_JUDGEMENTS: usize = 5;

/// Asks the detector about one frame, judges its labels by the camera's
/// rules, then by what it alerted on recently (cooldowns, objects that
/// have not moved), and claims the alert in the memory. When the frame
/// does not alert and frames remain, the analysis names the next one.
///
/// Each call of the detector is first counted against `[detector]`'s
/// daily and monthly caps: past one, the frame is not analysed, nor are
/// the e-mail's other frames, and the first frame refused in the period
/// tells the operator. A call the detector fails is taken back: it was
/// not billed, and its retry counts again.
pub async fn detect_labels(
    input: &FrameToAnalyse,
    config: &Config,
    detector: &impl Detector,
    budget: &impl DetectorBudget,
    alerts: &impl AlertMemory,
) -> Result<Analysis, StageError> {
    // A frame that cannot be judged fails before a call is counted.
    let received_at = received_at(&input.received_at)?;
    let now = Utc::now();
    let spend = budget::spend(budget, &config.detector, now)
        .await
        .map_err(|err| {
            StageError::from_port("counting the call against the detector budget", err)
        })?;
    if let Spend::Refused(reached) = spend {
        return Ok(over_budget(input, &reached, budget).await);
    }
    let rules = config.rules_for(&input.camera);
    let mut analysis = match detector
        .detect(&input.frame, rules::detector_threshold(&rules))
        .await
    {
        Ok(labels) => analyse(input, &rules, received_at, labels, alerts).await?,
        Err(err) => {
            if let Err(refund_err) = budget::refund(budget, now).await {
                tracing::warn!(
                    camera = %input.camera,
                    event = %input.event,
                    frame = input.frame_index,
                    "a call the detector failed stays counted against the budget: {refund_err}"
                );
            }
            detector_failed(input, err)?
        }
    };
    let following = input.frame_index + 1;
    analysis.next = (!analysis.alert && following < input.frame_count).then_some(following);
    Ok(analysis)
}

/// [`detect_labels`] with `gate` looking first, as `[detector] kind =
/// "gated"` asks: a frame in which the gate sees none of the camera's
/// wanted labels at `gate_threshold` or more is "nothing wanted" without
/// asking `detector`, and says so. The gate only ever saves a call: a
/// camera wanting a label the gate does not know, or a gate that fails,
/// sends the frame to `detector` as if there were no gate. Only the
/// detector's calls count against the budget: the gate's looks are free.
pub async fn detect_labels_gated(
    input: &FrameToAnalyse,
    config: &Config,
    gate: &impl Detector,
    detector: &impl Detector,
    budget: &impl DetectorBudget,
    alerts: &impl AlertMemory,
) -> Result<Analysis, StageError> {
    let rules = config.rules_for(&input.camera);
    match gate_verdict(input, &rules, config.detector.gate_threshold.0, gate).await {
        GateVerdict::Pass => detect_labels(input, config, detector, budget, alerts).await,
        GateVerdict::Reject(reason) => {
            let following = input.frame_index + 1;
            Ok(Analysis {
                detection: Detection {
                    frame: input.frame_index,
                    labels: Vec::new(),
                },
                matches: Vec::new(),
                alert: false,
                why: vec![reason],
                next: (following < input.frame_count).then_some(following),
            })
        }
    }
}

/// What the gate decided about one frame.
#[derive(Debug, PartialEq)]
enum GateVerdict {
    /// Worth asking the detector.
    Pass,
    /// Nothing wanted: the reason, for the "why was I not told?" answer.
    Reject(String),
}

async fn gate_verdict(
    input: &FrameToAnalyse,
    rules: &crate::config::Rules,
    threshold: f32,
    gate: &impl Detector,
) -> GateVerdict {
    if !rules::vocabulary_covers(rules, gate.gate_vocabulary()) {
        return GateVerdict::Pass;
    }
    let seen = match gate.detect(&input.frame, threshold).await {
        Ok(labels) => labels,
        Err(err) => {
            // Whatever the gate could not do, the detector of record may:
            // a failing gate costs a call, never a missed person.
            tracing::warn!(
                camera = %input.camera,
                event = %input.event,
                frame = input.frame_index,
                "the gate could not look at the frame, which goes to the detector: {err}"
            );
            return GateVerdict::Pass;
        }
    };
    if seen
        .iter()
        .any(|label| rules::wanted_entry(rules, label).is_some())
    {
        return GateVerdict::Pass;
    }
    let wanted: Vec<&str> = rules.labels.iter().map(|w| w.label.trim()).collect();
    let best = seen
        .iter()
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .map(|label| format!(" (it saw {} at {:.1}%)", label.name, label.confidence))
        .unwrap_or_default();
    GateVerdict::Reject(format!(
        "gate: the embedded model saw no {} at {threshold}% or more{best}, so the detector was not asked",
        wanted.join(" or ")
    ))
}

/// What a failure of the detector makes of the frame: the analysis of a
/// frame skipped, or the stage's error.
fn detector_failed(input: &FrameToAnalyse, err: PortError) -> Result<Analysis, StageError> {
    match err {
        // One picture the detector cannot read must not hide the next
        // one: this frame is skipped, and says why.
        PortError::Refused(reason) => {
            tracing::warn!(
                camera = %input.camera,
                event = %input.event,
                frame = input.frame_index,
                "frame refused by the detector: {reason}"
            );
            Ok(refused(input.frame_index, &reason))
        }
        err => Err(StageError::from_port(
            &format!(
                "detecting labels in frame {} ({}/{})",
                input.frame_index, input.frame.bucket, input.frame.key
            ),
            err,
        )),
    }
}

/// Judges the labels the detector found in the frame by the camera's
/// rules and memory.
async fn analyse(
    input: &FrameToAnalyse,
    rules: &crate::config::Rules,
    received_at: DateTime<Utc>,
    labels: Vec<crate::contract::Label>,
    alerts: &impl AlertMemory,
) -> Result<Analysis, StageError> {
    let labels = contract::bounded_labels(labels);
    let evaluation = rules::evaluate(rules, input.frame_index, &labels);
    let mut why = evaluation.rejected;
    let mut matches = Vec::new();
    if evaluation.matches.is_empty() && why.is_empty() {
        why.push(nothing_wanted(&labels));
    } else if !evaluation.matches.is_empty() {
        let judgement =
            judge_and_claim(input, rules, received_at, &evaluation.matches, alerts).await?;
        why.extend(judgement.silenced);
        matches = judgement.alerting;
    }
    Ok(Analysis {
        alert: !matches.is_empty(),
        detection: Detection {
            frame: input.frame_index,
            labels,
        },
        matches,
        why,
        next: None,
    })
}

/// The analysis of a frame not analysed because a cap of the detector
/// budget is reached: no alert, no next frame (it would be refused too),
/// and the cap in `why`. The first such frame of the period tells the
/// operator; if that fails, the refusals are still logged.
async fn over_budget(
    input: &FrameToAnalyse,
    reached: &CapReached,
    budget: &impl DetectorBudget,
) -> Analysis {
    let reason = reached.reason();
    tracing::warn!(
        camera = %input.camera,
        event = %input.event,
        frame = input.frame_index,
        "{reason}"
    );
    if reached.first {
        if let Err(err) = budget.cap_reached(&reached.notice()).await {
            tracing::error!(
                "the operator could not be told that a cap of the detector budget was reached: {err}"
            );
        }
    }
    Analysis {
        detection: Detection {
            frame: input.frame_index,
            labels: Vec::new(),
        },
        matches: Vec::new(),
        alert: false,
        why: vec![reason],
        next: None,
    }
}

/// The analysis of a frame the detector refused: nothing seen, no alert,
/// and the detector's reason.
fn refused(frame: usize, reason: &str) -> Analysis {
    Analysis {
        detection: Detection {
            frame,
            labels: Vec::new(),
        },
        matches: Vec::new(),
        alert: false,
        why: vec![format!("frame refused by the detector: {reason}")],
        next: None,
    }
}

/// Judges the matches against the memory and writes what the judgement
/// asks; when another execution claimed a label in between, reads the
/// memory again and judges anew.
async fn judge_and_claim(
    input: &FrameToAnalyse,
    rules: &crate::config::Rules,
    at: DateTime<Utc>,
    found: &[rules::Found],
    alerts: &impl AlertMemory,
) -> Result<memory::Judgement, StageError> {
    let remembering = |err| StageError::from_port("reading the memory of alerts", err);
    for _ in 0..MAX_JUDGEMENTS {
        let remembered = alerts.recall(&input.camera).await.map_err(remembering)?;
        let judgement = memory::judge(rules, &remembered, &input.camera, &input.event, at, found);
        let mut all_claimed = true;
        for write in &judgement.writes {
            let kept = alerts
                .remember(&write.recollection, write.replaces)
                .await
                .map_err(|err| StageError::from_port("remembering the alert", err))?;
            // A refresh that lost only means another sighting refreshed it.
            all_claimed &= kept || !write.claims_alert;
        }
        if all_claimed {
            return Ok(judgement);
        }
    }
    Err(StageError::new(
        StageErrorKind::Transient,
        format!(
            "the memory of camera {}'s alerts kept changing during {MAX_JUDGEMENTS} judgements",
            input.camera
        ),
    ))
}

/// The reason given when no label the camera wants was seen at all.
fn nothing_wanted(labels: &[crate::contract::Label]) -> String {
    if labels.is_empty() {
        return "nothing seen".to_string();
    }
    let seen: Vec<&str> = labels.iter().take(8).map(|l| l.name.as_str()).collect();
    format!(
        "nothing the camera alerts on was seen (seen: {})",
        seen.join(", ")
    )
}

/// The time an e-mail was received, from the contract's RFC 3339 text.
pub(crate) fn received_at(text: &str) -> Result<DateTime<Utc>, StageError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|err| {
            StageError::new(
                StageErrorKind::InvalidInput,
                format!("receivedAt `{text}` is not an RFC 3339 time: {err}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Frame;
    use crate::testing::{CountingBudget, RememberedAlerts, ScriptedDetector};

    fn frame_of(camera: &str, event: &str, received_at: &str) -> FrameToAnalyse {
        FrameToAnalyse {
            camera: camera.into(),
            frame_count: 1,
            event: event.into(),
            received_at: received_at.into(),
            frame_index: 0,
            frame: Frame {
                bucket: "b".into(),
                key: format!("frames/{event}/0.jpg"),
                content_type: "image/jpeg".into(),
                width: 640,
                height: 480,
                size: 1,
                sha256: String::new(),
                filename: "snap.jpg".into(),
            },
        }
    }

    #[tokio::test]
    async fn two_executions_of_one_camera_judged_together_give_one_alert() {
        let config = Config::parse("").unwrap();
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        let alerts = RememberedAlerts::default();
        let first = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        let second = frame_of("door", "e2", "2026-12-01T08:00:01Z");
        let budget = CountingBudget::default();
        let (a, b) = tokio::join!(
            detect_labels(&first, &config, &detector, &budget, &alerts),
            detect_labels(&second, &config, &detector, &budget, &alerts),
        );
        let alerted = [a.unwrap(), b.unwrap()];
        assert_eq!(alerted.iter().filter(|analysis| analysis.alert).count(), 1);
        let silenced = alerted.iter().find(|analysis| !analysis.alert).unwrap();
        assert!(
            silenced.why[0].starts_with("person: stationary"),
            "{:?}",
            silenced.why
        );
    }

    #[tokio::test]
    async fn an_analysis_names_the_next_frame_while_frames_remain_and_none_alerted() {
        let config = Config::parse("[defaults]\nlabels = [\"person\"]\n").unwrap();
        let alerts = RememberedAlerts::default();
        let cat = ScriptedDetector::new(vec![("snap.jpg", "Cat", 95.0)]);
        let mut frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        frame.frame_count = 3;
        frame.frame_index = 1;
        let middle = detect_labels(&frame, &config, &cat, &CountingBudget::default(), &alerts)
            .await
            .unwrap();
        assert_eq!(middle.next, Some(2));
        frame.frame_index = 2;
        let last = detect_labels(&frame, &config, &cat, &CountingBudget::default(), &alerts)
            .await
            .unwrap();
        assert_eq!(last.next, None);
        let person = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        frame.frame_index = 0;
        let alerting = detect_labels(
            &frame,
            &config,
            &person,
            &CountingBudget::default(),
            &alerts,
        )
        .await
        .unwrap();
        assert!(alerting.alert);
        assert_eq!(alerting.next, None, "the first alert ends the loop");
    }

    #[tokio::test]
    async fn a_frame_with_nothing_wanted_says_what_was_seen() {
        let config = Config::parse("[defaults]\nlabels = [\"person\"]\n").unwrap();
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Cat", 95.0)]);
        let analysis = detect_labels(
            &frame_of("door", "e1", "2026-12-01T08:00:00Z"),
            &config,
            &detector,
            &CountingBudget::default(),
            &RememberedAlerts::default(),
        )
        .await
        .unwrap();
        assert!(!analysis.alert);
        assert_eq!(
            analysis.why,
            ["nothing the camera alerts on was seen (seen: Cat)"]
        );
    }

    #[tokio::test]
    async fn a_frame_the_detector_refuses_is_skipped_with_its_reason() {
        let config = Config::parse("").unwrap();
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]).refusing(
            "snap.jpg",
            "InvalidImageFormatException: unsupported image format",
        );
        let alerts = RememberedAlerts::default();
        let mut frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        frame.frame_count = 2;
        let analysis = detect_labels(
            &frame,
            &config,
            &detector,
            &CountingBudget::default(),
            &alerts,
        )
        .await
        .unwrap();
        assert!(!analysis.alert);
        assert_eq!(analysis.next, Some(1), "the next frame is still looked at");
        assert!(analysis.detection.labels.is_empty());
        assert_eq!(
            analysis.why,
            ["frame refused by the detector: InvalidImageFormatException: unsupported image format"]
        );
        // Nothing was claimed for a frame not seen.
        assert!(alerts
            .recall("door")
            .await
            .unwrap()
            .recollections
            .is_empty());
    }

    #[tokio::test]
    async fn a_detector_that_fails_otherwise_still_fails_the_frame() {
        let config = Config::parse("").unwrap();
        let detector = ScriptedDetector::new(vec![]);
        detector
            .throttle_first
            .store(1, std::sync::atomic::Ordering::SeqCst);
        let err = detect_labels(
            &frame_of("door", "e1", "2026-12-01T08:00:00Z"),
            &config,
            &detector,
            &CountingBudget::default(),
            &RememberedAlerts::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, StageErrorKind::Throttled);
    }

    #[tokio::test]
    async fn a_receive_time_that_is_not_rfc_3339_is_invalid_input() {
        let config = Config::parse("").unwrap();
        let detector = ScriptedDetector::new(vec![]);
        let err = detect_labels(
            &frame_of("door", "e1", "yesterday"),
            &config,
            &detector,
            &CountingBudget::default(),
            &RememberedAlerts::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, StageErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn past_the_daily_cap_a_frame_is_not_analysed_and_the_operator_is_told_once() {
        let config = Config::parse("[detector]\ndaily_cap = 2\n").unwrap();
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        let today = budget::Period::Day.counter(Utc::now());
        // Two calls made today already.
        let budget = CountingBudget::at(&today, 2);
        let alerts = RememberedAlerts::default();
        let mut frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        frame.frame_count = 3;
        for event in ["e1", "e2"] {
            frame.event = event.into();
            let analysis = detect_labels(&frame, &config, &detector, &budget, &alerts)
                .await
                .unwrap();
            assert!(!analysis.alert);
            assert_eq!(
                analysis.next, None,
                "the e-mail's other frames would be refused too"
            );
            assert!(
                analysis.why[0]
                    .starts_with("budget: the daily cap of 2 detector calls is reached until "),
                "{:?}",
                analysis.why
            );
        }
        assert_eq!(detector.asked(), 0);
        let notices = budget.notices();
        assert_eq!(
            notices.len(),
            1,
            "one notice for the day, not one per e-mail: {notices:?}"
        );
        assert!(notices[0].contains("daily_cap"), "{notices:?}");
    }

    #[tokio::test]
    async fn under_the_cap_each_call_is_counted() {
        let config = Config::parse("").unwrap();
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Cat", 95.0)]);
        let budget = CountingBudget::default();
        let frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        for _ in 0..3 {
            detect_labels(
                &frame,
                &config,
                &detector,
                &budget,
                &RememberedAlerts::default(),
            )
            .await
            .unwrap();
        }
        assert_eq!(detector.asked(), 3);
        assert_eq!(budget.value(&budget::Period::Day.counter(Utc::now())), 3);
        assert!(budget.notices().is_empty());
    }

    #[tokio::test]
    async fn a_budget_that_cannot_be_counted_fails_the_frame_for_a_retry() {
        let config = Config::parse("").unwrap();
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        let err = detect_labels(
            &frame_of("door", "e1", "2026-12-01T08:00:00Z"),
            &config,
            &detector,
            &CountingBudget::failing(),
            &RememberedAlerts::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, StageErrorKind::Transient);
        assert_eq!(detector.asked(), 0);
    }

    /// The day's and the month's counts of detector calls in `budget`.
    fn counted(budget: &CountingBudget) -> (u64, u64) {
        let now = Utc::now();
        (
            budget.value(&budget::Period::Day.counter(now)),
            budget.value(&budget::Period::Month.counter(now)),
        )
    }

    /// The door camera's analysis of `frame` by `detector`, counted in
    /// `budget`, with no alert remembered.
    async fn analysed_at_the_door(
        frame: &FrameToAnalyse,
        detector: &ScriptedDetector,
        budget: &CountingBudget,
    ) -> Result<Analysis, StageError> {
        let config = Config::parse("").unwrap();
        detect_labels(
            frame,
            &config,
            detector,
            budget,
            &RememberedAlerts::default(),
        )
        .await
    }

    #[tokio::test]
    async fn a_call_the_detector_throttles_is_taken_back_and_its_retry_counts_once() {
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        detector
            .throttle_first
            .store(2, std::sync::atomic::Ordering::SeqCst);
        let budget = CountingBudget::default();
        let frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        for _ in 0..2 {
            let err = analysed_at_the_door(&frame, &detector, &budget)
                .await
                .unwrap_err();
            assert_eq!(err.kind, StageErrorKind::Throttled);
            assert_eq!(counted(&budget), (0, 0), "a throttled call is not billed");
        }
        let analysis = analysed_at_the_door(&frame, &detector, &budget)
            .await
            .unwrap();
        assert!(analysis.alert);
        assert_eq!(counted(&budget), (1, 1));
    }

    #[tokio::test]
    async fn a_picture_the_detector_refuses_is_taken_back_from_the_budget() {
        let detector = ScriptedDetector::new(vec![]).refusing(
            "snap.jpg",
            "InvalidImageFormatException: unsupported image format",
        );
        let budget = CountingBudget::default();
        let analysis = analysed_at_the_door(
            &frame_of("door", "e1", "2026-12-01T08:00:00Z"),
            &detector,
            &budget,
        )
        .await
        .unwrap();
        assert!(analysis.why[0].starts_with("frame refused by the detector"));
        assert_eq!(counted(&budget), (0, 0));
    }

    #[tokio::test]
    async fn a_frame_with_an_unreadable_receipt_time_is_failed_before_it_is_counted() {
        let detector = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        let budget = CountingBudget::default();
        let err = analysed_at_the_door(
            &frame_of("door", "e1", "yesterday at eight"),
            &detector,
            &budget,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind, StageErrorKind::InvalidInput);
        assert_eq!(detector.asked(), 0);
        assert_eq!(counted(&budget), (0, 0));
    }

    #[tokio::test]
    async fn frames_the_gate_stops_cost_nothing_of_the_budget() {
        let config = gated_config(r#"["person"]"#);
        let gate = ScriptedDetector::new(vec![("snap.jpg", "Bench", 41.0)]).gating(GATE_KNOWS);
        let rekognition = ScriptedDetector::new(vec![]);
        let budget = CountingBudget::default();
        let analysis = detect_labels_gated(
            &frame_of("door", "e1", "2026-12-01T08:00:00Z"),
            &config,
            &gate,
            &rekognition,
            &budget,
            &RememberedAlerts::default(),
        )
        .await
        .unwrap();
        assert!(analysis.why[0].starts_with("gate:"), "{:?}", analysis.why);
        assert_eq!(budget.value(&budget::Period::Day.counter(Utc::now())), 0);
    }

    /// What the embedded model can rule out, in these tests.
    const GATE_KNOWS: &[&str] = &["Person", "Car", "Cat"];

    /// The analysis of the door's frame, `gate` looking before `rekognition`.
    async fn gated(
        config: &Config,
        gate: &ScriptedDetector,
        rekognition: &ScriptedDetector,
    ) -> Analysis {
        let frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        detect_labels_gated(
            &frame,
            config,
            gate,
            rekognition,
            &CountingBudget::default(),
            &RememberedAlerts::default(),
        )
        .await
        .unwrap()
    }

    fn gated_config(labels: &str) -> Config {
        Config::parse(&format!(
            "[defaults]\nlabels = {labels}\n[detector]\nkind = \"gated\"\ngate_threshold = 20\n"
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn a_frame_the_gate_sees_nothing_wanted_in_is_not_shown_to_the_detector() {
        let config = gated_config(r#"["person", "car"]"#);
        // The embedded model's best guess is a bench, and a person too
        // faint to count: below the gate's 20 %.
        let gate = ScriptedDetector::new(vec![
            ("snap.jpg", "Bench", 41.0),
            ("snap.jpg", "Person", 12.0),
        ])
        .gating(GATE_KNOWS);
        let rekognition = ScriptedDetector::new(vec![("snap.jpg", "Person", 95.0)]);
        let mut frame = frame_of("door", "e1", "2026-12-01T08:00:00Z");
        frame.frame_count = 3;
        let analysis = detect_labels_gated(
            &frame,
            &config,
            &gate,
            &rekognition,
            &CountingBudget::default(),
            &RememberedAlerts::default(),
        )
        .await
        .unwrap();
        assert_eq!(rekognition.asked(), 0);
        assert_eq!(gate.asked(), 1);
        assert!(!analysis.alert);
        assert_eq!(
            analysis.why,
            ["gate: the embedded model saw no person or car at 20% or more (it saw Bench at 41.0%), so the detector was not asked"]
        );
        assert_eq!(analysis.next, Some(1), "the next frame is still looked at");
    }

    #[tokio::test]
    async fn a_frame_the_gate_sees_a_wanted_label_in_is_judged_on_the_detectors_answer() {
        let config = gated_config(r#"["person"]"#);
        let gate = ScriptedDetector::new(vec![("snap.jpg", "Person", 23.0)]).gating(GATE_KNOWS);
        let rekognition = ScriptedDetector::new(vec![("snap.jpg", "Person", 97.0)]);
        let analysis = gated(&config, &gate, &rekognition).await;
        assert_eq!(rekognition.asked(), 1);
        assert!(analysis.alert);
        assert_eq!(
            analysis.matches[0].confidence, 97.0,
            "Rekognition's answer, not the gate's"
        );
    }

    #[tokio::test]
    async fn a_camera_wanting_a_label_the_gate_does_not_know_is_not_gated() {
        // Rekognition knows parcels; the embedded model does not, so its
        // seeing nothing proves nothing.
        let config = gated_config(r#"["person", "package"]"#);
        let gate = ScriptedDetector::new(vec![]).gating(GATE_KNOWS);
        let rekognition = ScriptedDetector::new(vec![("snap.jpg", "Package", 91.0)]);
        let analysis = gated(&config, &gate, &rekognition).await;
        assert_eq!(gate.asked(), 0, "the gate is not even asked");
        assert!(analysis.alert);
    }

    #[tokio::test]
    async fn a_gate_that_cannot_look_sends_the_frame_to_the_detector() {
        let config = gated_config(r#"["person"]"#);
        let gate = ScriptedDetector::new(vec![])
            .refusing("snap.jpg", "not a readable picture")
            .gating(GATE_KNOWS);
        let rekognition = ScriptedDetector::new(vec![("snap.jpg", "Person", 97.0)]);
        let analysis = gated(&config, &gate, &rekognition).await;
        assert_eq!(rekognition.asked(), 1);
        assert!(analysis.alert);
    }

    #[tokio::test]
    async fn a_detector_that_is_no_gate_never_rejects_a_frame() {
        let config = gated_config(r#"["person"]"#);
        let not_a_gate = ScriptedDetector::new(vec![]);
        let rekognition = ScriptedDetector::new(vec![("snap.jpg", "Person", 97.0)]);
        let analysis = gated(&config, &not_a_gate, &rekognition).await;
        assert_eq!(rekognition.asked(), 1);
        assert!(analysis.alert);
    }
}
