//! The memory of recent alerts, and what it silences: cooldowns, objects
//! that have not moved (a parked car), snoozes.
//!
//! Pure functions of the camera's rules, what is remembered, and the time
//! the e-mail was received: the stores behind the
//! [`AlertMemory`](crate::ports::AlertMemory) port (DynamoDB, a folder)
//! only keep [`Recollection`]s and answer conditional writes, so two
//! executions of one camera judged at the same moment give one alert; and
//! the notification of each event alerted on ([`Notified`]), so that a
//! notify retried after publishing does not publish again.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Rules;
use crate::contract::{BoundingBox, Match, Notification};
use crate::rules::Found;
use crate::schedule;

/// The camera name under which a snooze of every camera is kept.
pub const ALL_CAMERAS: &str = "*";

/// The last alert of one camera about one wanted label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recollection {
    pub camera: String,
    /// The entry of the camera's `labels` that alerted, lower-cased.
    pub label: String,
    /// When the e-mail that alerted was received.
    pub alerted_at: DateTime<Utc>,
    /// The event that alerted, so a suppression can say which alert it
    /// follows.
    pub event: String,
    /// When the remembered boxes were last seen: at the alert, or later by
    /// a suppressed sighting of the same objects.
    pub seen_at: DateTime<Utc>,
    /// Where the objects were, for telling a parked car from a new one.
    pub boxes: Vec<BoundingBox>,
    /// Counts the writes; a write names the revision it replaces, so two
    /// writers cannot both win.
    pub revision: u64,
    /// When the store may forget it: past both its cooldown and its
    /// stationary window (a DynamoDB TTL, a file's sweep).
    pub keep_until: DateTime<Utc>,
}

/// The notification of one event, kept once its alert is published, so
/// that a notify run again for the same event (the state machine retrying
/// it after its answer was lost) returns it instead of alerting twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notified {
    pub camera: String,
    /// The event that alerted.
    pub event: String,
    pub notification: Notification,
    /// When the store may forget it: past any retry of the execution (a
    /// DynamoDB TTL, a file's sweep).
    pub keep_until: DateTime<Utc>,
}

/// How long the notification of an event is kept: far longer than the
/// retries of one execution take.
pub const NOTIFIED_KEPT_FOR: TimeDelta = TimeDelta::days(1);

/// All a store remembers about one camera.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CameraMemory {
    pub recollections: Vec<Recollection>,
    /// The end of the latest snooze covering the camera: its own, or one
    /// of every camera.
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl CameraMemory {
    fn of(&self, label: &str) -> Option<&Recollection> {
        self.recollections.iter().find(|r| r.label == label)
    }
}

/// Why an e-mail is not analysed at all: each frame analysed is billed,
/// and these are known from the time and the memory alone.
pub(crate) fn hold(rules: &Rules, memory: &CameraMemory, at: DateTime<Utc>) -> Option<String> {
    if let Some(until) = memory.snoozed_until.filter(|until| at < *until) {
        return Some(format!(
            "snoozed until {}",
            schedule::local_time(rules, until)
        ));
    }
    if !schedule::is_active(rules, at) {
        return Some(format!(
            "quiet hours: {} is outside the camera's active windows",
            schedule::local_time(rules, at)
        ));
    }
    // Every wanted label cooling down: nothing could alert.
    let cooling: Option<Vec<DateTime<Utc>>> = rules
        .labels
        .iter()
        .map(|wanted| cooling_until(rules, memory.of(&key(&wanted.label)), at))
        .collect();
    match cooling.and_then(|ends| ends.into_iter().max()) {
        Some(until) if !rules.labels.is_empty() => Some(format!(
            "cooling down: every label the camera alerts on alerted recently, quiet until {}",
            schedule::local_time(rules, until)
        )),
        _ => None,
    }
}

/// The memory key of a wanted label.
fn key(label: &str) -> String {
    label.trim().to_lowercase()
}

/// When the label's cooldown ends, if it is running at `at`. An e-mail
/// received before the last alert (a late redelivery) is within it.
fn cooling_until(
    rules: &Rules,
    recollection: Option<&Recollection>,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let cooldown = delta(rules.cooldown.0);
    let last = recollection?;
    let until = last.alerted_at + cooldown;
    (cooldown > TimeDelta::zero() && at < until).then_some(until)
}

fn delta(duration: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// A write the judgement asks of the store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Write {
    pub recollection: Recollection,
    /// The revision it replaces; `None` when nothing was remembered.
    pub replaces: Option<u64>,
    /// True for the claim of an alert, which must win for the alert to go;
    /// false for refreshing the boxes of a suppressed sighting.
    pub claims_alert: bool,
}

/// What the memory makes of a frame's matches.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Judgement {
    /// The matches that still alert (with only their new boxes when some
    /// are objects already alerted on).
    pub alerting: Vec<Match>,
    /// One sentence per wanted label silenced, saying why.
    pub silenced: Vec<String>,
    pub writes: Vec<Write>,
}

/// Judges a frame's matches against what is remembered of the camera, as
/// of `at`, the time the e-mail of event `event` was received.
///
/// Per wanted label: within its cooldown it is silenced; otherwise boxes
/// that overlap (IoU at least `stationary.iou`) a box remembered within
/// the stationary window are the same objects standing still, and a label
/// left with none is silenced and its boxes refreshed; a label with a new
/// object alerts, and its claim remembers all its boxes.
pub(crate) fn judge(
    rules: &Rules,
    memory: &CameraMemory,
    camera: &str,
    event: &str,
    at: DateTime<Utc>,
    found: &[Found],
) -> Judgement {
    let mut judgement = Judgement::default();
    // Each wanted label once, in the order first found.
    let mut labels: Vec<&str> = Vec::new();
    for wanted in found.iter().map(|f| f.wanted.as_str()) {
        if !labels.contains(&wanted) {
            labels.push(wanted);
        }
    }
    let keep_for = delta(rules.cooldown.0).max(delta(rules.stationary.window.0));
    for label in labels {
        let matches: Vec<&Match> = found
            .iter()
            .filter(|f| f.wanted == label)
            .map(|f| &f.found)
            .collect();
        let last = memory.of(label);
        // This event's own claim, already written (a retried task): it
        // alerts again, and nothing more is written.
        if last.is_some_and(|last| last.event == event && last.alerted_at == at) {
            judgement
                .alerting
                .extend(matches.iter().map(|m| (*m).clone()));
            continue;
        }
        let all_boxes: Vec<BoundingBox> = matches
            .iter()
            .flat_map(|m| m.boxes.iter().copied())
            .collect();
        let remember = |alerted_at, event: &str, seen_at| Recollection {
            camera: camera.to_string(),
            label: label.to_string(),
            alerted_at,
            event: event.to_string(),
            seen_at,
            boxes: all_boxes.clone(),
            revision: last.map_or(1, |r| r.revision + 1),
            keep_until: at.max(alerted_at) + keep_for,
        };
        if let Some(until) = cooling_until(rules, last, at) {
            judgement.silenced.push(format!(
                "{label}: cooling down until {}",
                schedule::local_time(rules, until)
            ));
            continue;
        }
        // Within the window either way: an e-mail received before the
        // sighting remembered (judged late, or racing a later one that
        // claimed first) saw the same object there too.
        let standing = last.filter(|last| {
            let window = delta(rules.stationary.window.0);
            window > TimeDelta::zero() && (at - last.seen_at).abs() <= window
        });
        let is_still = |b: &BoundingBox| {
            standing.is_some_and(|last| {
                last.boxes
                    .iter()
                    .any(|old| old.iou(b) >= rules.stationary.iou.0)
            })
        };
        let fresh: Vec<Match> = matches
            .iter()
            .filter_map(|m| {
                let boxes: Vec<BoundingBox> =
                    m.boxes.iter().filter(|b| !is_still(b)).copied().collect();
                // A label without boxes cannot be told apart: it alerts.
                (m.boxes.is_empty() || !boxes.is_empty()).then(|| Match {
                    boxes,
                    ..(*m).clone()
                })
            })
            .collect();
        if fresh.is_empty() {
            if let Some(last) = standing {
                judgement.silenced.push(format!(
                    "{label}: stationary, where it was at the alert of {} (event {})",
                    schedule::local_time(rules, last.alerted_at),
                    last.event
                ));
                judgement.writes.push(Write {
                    recollection: remember(last.alerted_at, &last.event, at.max(last.seen_at)),
                    replaces: Some(last.revision),
                    claims_alert: false,
                });
            }
            continue;
        }
        judgement.alerting.extend(fresh);
        judgement.writes.push(Write {
            recollection: remember(at, event, at),
            replaces: last.map(|r| r.revision),
            claims_alert: true,
        });
    }
    judgement
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Span};

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn rules(toml: &str) -> Rules {
        Config::parse(toml)
            .unwrap_or_else(|errors| panic!("{errors}"))
            .defaults
    }

    fn boxed(left: f32, top: f32) -> BoundingBox {
        BoundingBox {
            left,
            top,
            width: 0.2,
            height: 0.3,
            confidence: 95.0,
        }
    }

    fn found(wanted: &str, label: &str, boxes: &[BoundingBox]) -> Found {
        Found {
            wanted: wanted.into(),
            found: Match {
                frame: 0,
                label: label.into(),
                confidence: 95.0,
                boxes: boxes.to_vec(),
            },
        }
    }

    /// One camera through a test: its rules, and its memory kept as a
    /// store keeps it.
    struct Scene {
        rules: Rules,
        memory: CameraMemory,
    }

    impl Scene {
        fn with(toml: &str) -> Scene {
            Scene {
                rules: rules(toml),
                memory: CameraMemory::default(),
            }
        }

        /// Judges the e-mail `event` received at `at`, without writing.
        fn judge(&self, event: &str, at: &str, found: &[Found]) -> Judgement {
            judge(&self.rules, &self.memory, "cam", event, utc(at), found)
        }

        /// Judges, then writes what the judgement asks, claims and
        /// refreshes alike.
        fn see(&mut self, event: &str, at: &str, found: &[Found]) -> Judgement {
            let judgement = self.judge(event, at, found);
            for write in &judgement.writes {
                let label = &write.recollection.label;
                self.memory.recollections.retain(|r| &r.label != label);
                self.memory.recollections.push(write.recollection.clone());
            }
            judgement
        }
    }

    #[test]
    fn a_parked_car_alerts_once_and_a_person_walking_past_still_alerts() {
        let mut drive = Scene::with("");
        let car = boxed(0.6, 0.5);
        let first = drive.see("e1", "2026-12-01T08:00:00Z", &[found("car", "Car", &[car])]);
        assert_eq!(first.alerting.len(), 1);
        assert!(first.writes[0].claims_alert);

        // The car has not moved (a little jitter of the box): silenced.
        let jittered = [found("car", "Car", &[boxed(0.61, 0.5)])];
        let second = drive.see("e2", "2026-12-01T09:30:00Z", &jittered);
        assert!(second.alerting.is_empty());
        let why = &second.silenced[0];
        assert!(
            why.starts_with("car: stationary") && why.contains("event e1"),
            "{why}"
        );

        // Past two hours from the alert, but seen an hour ago: still quiet.
        let person = found("person", "Person", &[boxed(0.1, 0.4)]);
        let third = drive.see(
            "e3",
            "2026-12-01T11:00:00Z",
            &[found("car", "Car", &[car]), person],
        );
        assert_eq!(third.alerting.len(), 1);
        assert_eq!(third.alerting[0].label, "Person");
        assert_eq!(third.silenced.len(), 1);
    }

    #[test]
    fn a_retried_judgement_of_the_event_that_claimed_the_alert_alerts_again() {
        let mut door = Scene::with("[defaults]\ncooldown = \"10m\"\n");
        let person = [found("person", "Person", &[boxed(0.1, 0.4)])];
        door.see("e1", "2026-12-01T08:00:00Z", &person);
        let retried = door.judge("e1", "2026-12-01T08:00:00Z", &person);
        assert_eq!(retried.alerting.len(), 1);
        assert!(retried.writes.is_empty());
        // Another e-mail of the same second is another event: silenced.
        let other = door.judge("e2", "2026-12-01T08:00:00Z", &person);
        assert!(other.alerting.is_empty());
    }

    #[test]
    fn a_label_found_apart_in_the_list_is_judged_once_with_all_its_boxes() {
        let garden = Scene::with("");
        let (dog, cat) = (boxed(0.1, 0.5), boxed(0.6, 0.5));
        let found = [
            found("animal", "Dog", &[dog]),
            found("person", "Person", &[boxed(0.3, 0.2)]),
            found("animal", "Cat", &[cat]),
        ];
        let judgement = garden.judge("e1", "2026-12-01T08:00:00Z", &found);
        let labels: Vec<&str> = judgement
            .writes
            .iter()
            .map(|w| w.recollection.label.as_str())
            .collect();
        assert_eq!(labels, ["animal", "person"]);
        assert_eq!(judgement.writes[0].recollection.boxes, [dog, cat]);
        assert_eq!(judgement.alerting.len(), 3);
    }

    #[test]
    fn a_new_car_beside_the_parked_one_alerts_with_its_own_box_only() {
        let mut drive = Scene::with("");
        let (parked, arriving) = (boxed(0.6, 0.5), boxed(0.1, 0.5));
        drive.see(
            "e1",
            "2026-12-01T08:00:00Z",
            &[found("car", "Car", &[parked])],
        );
        let second = drive.see(
            "e2",
            "2026-12-01T08:05:00Z",
            &[found("car", "Car", &[parked, arriving])],
        );
        assert_eq!(second.alerting.len(), 1);
        assert_eq!(second.alerting[0].boxes, [arriving]);
        // Both are remembered, so neither alerts next time.
        assert_eq!(second.writes[0].recollection.boxes, [parked, arriving]);
        assert_eq!(second.writes[0].replaces, Some(1));
    }

    #[test]
    fn an_earlier_email_judged_after_a_later_one_claimed_is_the_same_object() {
        let mut door = Scene::with("");
        let person = [found("person", "Person", &[boxed(0.1, 0.4)])];
        door.see("e2", "2026-12-01T08:00:05Z", &person);
        let earlier = door.judge("e1", "2026-12-01T08:00:00Z", &person);
        assert!(earlier.alerting.is_empty(), "{earlier:?}");
        assert!(earlier.silenced[0].starts_with("person: stationary"));
        // Its refresh keeps the later sighting's time.
        assert_eq!(
            earlier.writes[0].recollection.seen_at,
            utc("2026-12-01T08:00:05Z")
        );
    }

    #[test]
    fn an_object_unseen_for_longer_than_the_window_alerts_again() {
        let mut drive = Scene::with("[defaults]\nstationary = { window = \"30m\" }\n");
        let car = [found("car", "Car", &[boxed(0.6, 0.5)])];
        drive.see("e1", "2026-12-01T08:00:00Z", &car);
        assert_eq!(
            drive.see("e2", "2026-12-01T08:31:00Z", &car).alerting.len(),
            1
        );
    }

    #[test]
    fn a_zero_window_turns_stationary_suppression_off() {
        let mut drive = Scene::with("[defaults]\nstationary = { window = \"0s\" }\n");
        let car = [found("car", "Car", &[boxed(0.6, 0.5)])];
        drive.see("e1", "2026-12-01T08:00:00Z", &car);
        assert_eq!(
            drive.see("e2", "2026-12-01T08:00:30Z", &car).alerting.len(),
            1
        );
    }

    #[test]
    fn a_cooldown_silences_the_label_until_it_has_passed() {
        let mut door =
            Scene::with("[defaults]\ncooldown = \"10m\"\nstationary = { window = \"0s\" }\n");
        let person = [found("person", "Person", &[boxed(0.1, 0.4)])];
        door.see("e1", "2026-12-01T08:00:00Z", &person);
        let soon = door.judge("e2", "2026-12-01T08:09:59Z", &person);
        assert!(soon.alerting.is_empty());
        assert_eq!(
            soon.silenced,
            ["person: cooling down until Tue 1 Dec 2026, 08:10:00 UTC"]
        );
        assert!(soon.writes.is_empty());
        assert_eq!(
            door.judge("e3", "2026-12-01T08:10:00Z", &person)
                .alerting
                .len(),
            1
        );
        // A late redelivery of an older e-mail is within the cooldown.
        assert!(door
            .judge("e0", "2026-12-01T07:59:00Z", &person)
            .alerting
            .is_empty());
    }

    #[test]
    fn hold_says_snoozed_quiet_hours_or_every_label_cooling_down() {
        let at = utc("2026-12-01T12:00:00Z");
        let mut memory = CameraMemory {
            snoozed_until: Some(utc("2026-12-01T14:00:00Z")),
            ..CameraMemory::default()
        };
        let plain = rules("[defaults]\nlabels = [\"person\", \"car\"]\ncooldown = \"1h\"\n");
        assert_eq!(
            hold(&plain, &memory, at).as_deref(),
            Some("snoozed until Tue 1 Dec 2026, 14:00:00 UTC")
        );
        memory.snoozed_until = Some(utc("2026-12-01T11:00:00Z"));
        assert_eq!(hold(&plain, &memory, at), None);

        let nights = rules("[defaults]\nactive = [{ from = \"22:00\", to = \"06:00\" }]\n");
        assert!(hold(&nights, &memory, at)
            .unwrap()
            .starts_with("quiet hours"));

        let recollection = |label: &str, minutes_ago| Recollection {
            camera: "door".into(),
            label: label.into(),
            alerted_at: at - TimeDelta::minutes(minutes_ago),
            event: "e".into(),
            seen_at: at,
            boxes: vec![],
            revision: 1,
            keep_until: at,
        };
        memory.recollections = vec![recollection("person", 10)];
        assert_eq!(hold(&plain, &memory, at), None, "car may still alert");
        memory.recollections.push(recollection("car", 30));
        assert_eq!(
            hold(&plain, &memory, at).as_deref(),
            Some("cooling down: every label the camera alerts on alerted recently, quiet until Tue 1 Dec 2026, 12:50:00 UTC")
        );
        assert_eq!(plain.cooldown, Span::from_secs(3600));
    }
}
