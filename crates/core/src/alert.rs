//! Wording an alert: a subject and a text for people (e-mail, SMS, the
//! terminal), a JSON document for programs (queues, functions, webhooks),
//! and the attributes subscribers filter on.

use serde::Serialize;

use crate::config::Rules;
use crate::contract::{AlertRequest, Match, ObjectRef};
use crate::schedule;

/// SNS refuses subjects longer than this.
const MAX_SUBJECT_CHARS: usize = 100;

/// One alert, ready for any channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub camera: String,
    /// Distinct label names that matched, most confident first.
    pub labels: Vec<String>,
    pub subject: String,
    /// Readable text for e-mail, SMS and terminals.
    pub text: String,
    /// The machine-readable alert.
    pub json: serde_json::Value,
}

/// The alerting frame with boxes and captions drawn on it, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Snapshot {
    pub object: ObjectRef,
    /// Where it is kept: `s3://bucket/key`, or a file's path.
    pub location: String,
    /// What a person opens to see it: a link that works for a while (a
    /// presigned HTTPS URL), or its location when the store gave no link.
    pub link: String,
}

/// Words the alert for an event whose analysis matched, pointing to the
/// annotated `snapshot` when there is one.
pub(crate) fn compose(request: &AlertRequest, snapshot: Option<&Snapshot>, rules: &Rules) -> Alert {
    let matches = &request.analysis.matches;
    let labels = distinct_labels(matches);
    let seen = if labels.is_empty() {
        "something".to_string()
    } else {
        labels.join(", ")
    };
    let subject = truncate(&format!("{seen} at {}", request.camera), MAX_SUBJECT_CHARS);

    let frame_index = request.analysis.detection.frame;
    let frame = request.frames.get(frame_index);
    // For people, the camera's local time; the JSON keeps RFC 3339.
    let when = chrono::DateTime::parse_from_rfc3339(&request.event.received_at)
        .map(|at| schedule::local_time(rules, at.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| request.event.received_at.clone());
    let mut text = format!("Camera {} saw {seen}.\nWhen: {when}\n", request.camera);
    for found in matches {
        let count = found.boxes.len();
        let boxes = match count {
            0 => String::new(),
            1 => " (1 in view)".to_string(),
            n => format!(" ({n} in view)"),
        };
        text.push_str(&format!(
            "- {} {:.1}%{boxes}\n",
            found.label, found.confidence
        ));
    }
    text.push_str(&format!(
        "Frame {} of {}",
        frame_index + 1,
        request.frames.len()
    ));
    if let Some(frame) = frame {
        text.push_str(&format!(": {}", frame.filename));
    }
    text.push('\n');
    if let Some(subject) = &request.event.subject {
        text.push_str(&format!("E-mail subject: {subject}\n"));
    }
    if let Some(snapshot) = snapshot {
        text.push_str(&format!("Picture: {}\n", snapshot.link));
    }

    let json = serde_json::json!({
        "camera": request.camera,
        "labels": labels,
        "matches": matches,
        "frame": frame,
        "snapshot": snapshot.map(|snapshot| serde_json::json!({
            "bucket": snapshot.object.bucket,
            "key": snapshot.object.key,
            "location": snapshot.location,
            "link": snapshot.link,
        })),
        "event": request.event,
    });
    Alert {
        camera: request.camera.clone(),
        labels,
        subject,
        text,
        json,
    }
}

fn distinct_labels(matches: &[Match]) -> Vec<String> {
    let mut sorted: Vec<&Match> = matches.iter().collect();
    sorted.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut labels: Vec<String> = Vec::new();
    for found in sorted {
        if !labels.contains(&found.label) {
            labels.push(found.label.clone());
        }
    }
    labels
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{
        Analysis, BoundingBox, Detection, Event, Frame, ObjectRef, Source, CONTRACT_VERSION,
    };

    fn person_at_frontdoor() -> AlertRequest {
        let frame = Frame {
            bucket: "b".into(),
            key: "frames/m1/0.jpg".into(),
            content_type: "image/jpeg".into(),
            width: 1280,
            height: 720,
            size: 1000,
            sha256: "00".into(),
            filename: "snap01.jpg".into(),
        };
        let found = Match {
            frame: 0,
            label: "Person".into(),
            confidence: 98.14,
            boxes: vec![BoundingBox {
                left: 0.1,
                top: 0.2,
                width: 0.1,
                height: 0.3,
                confidence: 97.0,
            }],
        };
        AlertRequest {
            version: CONTRACT_VERSION,
            event: Event {
                id: "m1".into(),
                source: Source::Ses,
                message: ObjectRef {
                    bucket: "b".into(),
                    key: "incoming/m1".into(),
                },
                from: Some("cam@example.com".into()),
                to: vec![],
                subject: Some("Motion alarm".into()),
                received_at: "2026-11-29T10:00:00Z".into(),
            },
            camera: "frontdoor".into(),
            frames: vec![frame],
            analysis: Analysis {
                detection: Detection {
                    frame: 0,
                    labels: vec![],
                },
                matches: vec![found],
                alert: true,
                why: vec![],
                next: None,
            },
        }
    }

    #[test]
    fn alert_names_camera_label_confidence_time_and_frame() {
        let alert = compose(&person_at_frontdoor(), None, &Rules::default());
        assert_eq!(alert.subject, "Person at frontdoor");
        assert_eq!(alert.labels, vec!["Person"]);
        assert!(alert.text.contains("Camera frontdoor saw Person."));
        assert!(alert.text.contains("- Person 98.1% (1 in view)"));
        assert!(
            alert.text.contains("When: Sun 29 Nov 2026, 10:00:00 UTC"),
            "{}",
            alert.text
        );
        assert_eq!(alert.json["event"]["receivedAt"], "2026-11-29T10:00:00Z");
        assert!(alert.text.contains("Frame 1 of 1: snap01.jpg"));
        assert_eq!(alert.json["camera"], "frontdoor");
        assert_eq!(alert.json["frame"]["key"], "frames/m1/0.jpg");
        assert!(alert.json["snapshot"].is_null());
        assert!(!alert.text.contains("Picture:"));
    }

    #[test]
    fn alert_points_to_the_annotated_snapshot() {
        let snapshot = Snapshot {
            object: ObjectRef {
                bucket: "b".into(),
                key: "annotated/m1/0.jpg".into(),
            },
            location: "s3://b/annotated/m1/0.jpg".into(),
            link: "https://b.s3.example/annotated/m1/0.jpg?X-Amz-Expires=21600".into(),
        };
        let alert = compose(&person_at_frontdoor(), Some(&snapshot), &Rules::default());
        assert!(alert
            .text
            .contains("Picture: https://b.s3.example/annotated/m1/0.jpg?X-Amz-Expires=21600\n"));
        assert!(!alert.text.contains("s3://"), "a phone cannot open s3://");
        assert_eq!(alert.json["snapshot"]["bucket"], "b");
        assert_eq!(alert.json["snapshot"]["key"], "annotated/m1/0.jpg");
        assert_eq!(
            alert.json["snapshot"]["location"],
            "s3://b/annotated/m1/0.jpg"
        );
        assert_eq!(
            alert.json["snapshot"]["link"],
            "https://b.s3.example/annotated/m1/0.jpg?X-Amz-Expires=21600"
        );
    }

    #[test]
    fn labels_are_distinct_and_most_confident_first() {
        let mut request = person_at_frontdoor();
        let mut car = request.analysis.matches[0].clone();
        car.label = "Car".into();
        car.confidence = 99.5;
        let again = request.analysis.matches[0].clone();
        request.analysis.matches.extend([car, again]);
        let alert = compose(&request, None, &Rules::default());
        assert_eq!(alert.labels, vec!["Car", "Person"]);
        assert_eq!(alert.subject, "Car, Person at frontdoor");
    }

    #[test]
    fn long_subject_is_cut_to_what_sns_accepts() {
        let mut request = person_at_frontdoor();
        request.camera = "c".repeat(300);
        assert_eq!(
            compose(&request, None, &Rules::default())
                .subject
                .chars()
                .count(),
            MAX_SUBJECT_CHARS
        );
    }
}
