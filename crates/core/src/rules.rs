//! Deciding whether what a detector saw is worth telling a person.
//!
//! Pure functions of the camera's [`Rules`] and the detector's labels, so
//! the Lambda and the local runner decide alike.

use crate::config::{Rules, WantedLabel};
use crate::contract::{BoundingBox, Label, Match};

/// Names a detector may use for what a user calls by another name.
/// Rekognition has said `Human` as well as `Person`.
const SYNONYMS: &[(&str, &str)] = &[("person", "human"), ("person", "people")];

/// True when the wanted label (as written in the config) names this label,
/// directly, through a synonym, or through one of its parents.
pub(crate) fn label_is_wanted(wanted: &str, label: &Label) -> bool {
    std::iter::once(label.name.as_str())
        .chain(label.parents.iter().map(String::as_str))
        .any(|name| same_label(wanted, name))
}

/// True when a detector that knows every kind of object named in
/// `vocabulary` can say that none of the camera's wanted labels is in a
/// frame: each wanted label is one of those names (or a synonym of one).
pub(crate) fn vocabulary_covers(rules: &Rules, vocabulary: &[&str]) -> bool {
    !rules.labels.is_empty() && label_outside(rules, vocabulary).is_none()
}

/// The first wanted label that `vocabulary` does not name.
pub(crate) fn label_outside<'r>(rules: &'r Rules, vocabulary: &[&str]) -> Option<&'r str> {
    rules
        .labels
        .iter()
        .map(|wanted| wanted.label.trim())
        .find(|wanted| !vocabulary.iter().any(|name| same_label(wanted, name)))
}

fn same_label(wanted: &str, name: &str) -> bool {
    let wanted = wanted.trim();
    wanted.eq_ignore_ascii_case(name)
        || SYNONYMS.iter().any(|(a, b)| {
            (wanted.eq_ignore_ascii_case(a) && name.eq_ignore_ascii_case(b))
                || (wanted.eq_ignore_ascii_case(b) && name.eq_ignore_ascii_case(a))
        })
}

/// Why a box does not count, in words for the "why was I not told?"
/// answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BoxRejection {
    BelowConfidence,
    TooSmall,
    TooLarge,
    InIgnoredZone,
    OutsideRequiredZones,
}

impl BoxRejection {
    pub fn describe(self) -> &'static str {
        match self {
            BoxRejection::BelowConfidence => "below the label's confidence",
            BoxRejection::TooSmall => "too small",
            BoxRejection::TooLarge => "too large",
            BoxRejection::InIgnoredZone => "in an ignored zone",
            BoxRejection::OutsideRequiredZones => "outside the required zones",
        }
    }
}

/// Whether a box counts: confident enough for its label (`min_confidence`),
/// of a plausible size, and standing where the camera looks. Where an
/// object stands is the bottom-centre of its box, its feet or wheels on
/// the ground: a person on the pavement whose head overlaps the path is
/// still on the pavement.
pub(crate) fn judge_box(
    rules: &Rules,
    min_confidence: f32,
    bounding_box: &BoundingBox,
) -> Result<(), BoxRejection> {
    let area = bounding_box.area();
    let (x, y) = bounding_box.foot();
    if bounding_box.confidence < min_confidence {
        Err(BoxRejection::BelowConfidence)
    } else if area < rules.min_box_area.0 {
        Err(BoxRejection::TooSmall)
    } else if area > rules.max_box_area.0 {
        Err(BoxRejection::TooLarge)
    } else if rules.ignore_zones.iter().any(|zone| zone.contains(x, y)) {
        Err(BoxRejection::InIgnoredZone)
    } else if !rules.required_zones.is_empty()
        && !rules.required_zones.iter().any(|zone| zone.contains(x, y))
    {
        Err(BoxRejection::OutsideRequiredZones)
    } else {
        Ok(())
    }
}

/// The entry of `labels` that names this label, if any.
pub(crate) fn wanted_entry<'r>(rules: &'r Rules, label: &Label) -> Option<&'r WantedLabel> {
    rules
        .labels
        .iter()
        .find(|wanted| label_is_wanted(&wanted.label, label))
}

/// The confidence a label must reach: its own, or the camera's.
pub(crate) fn min_confidence_of(rules: &Rules, wanted: &WantedLabel) -> f32 {
    wanted.min_confidence.unwrap_or(rules.min_confidence).0
}

/// The lowest confidence any wanted label accepts: what the detector is
/// asked for, so that a label with a lower bar of its own is still seen.
pub(crate) fn detector_threshold(rules: &Rules) -> f32 {
    rules
        .labels
        .iter()
        .map(|wanted| min_confidence_of(rules, wanted))
        .fold(rules.min_confidence.0, f32::min)
}

/// What the rules made of one frame: the matches, and why each wanted
/// label that was seen did not match.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Evaluation {
    pub matches: Vec<Found>,
    /// One sentence per wanted label seen that did not count.
    pub rejected: Vec<String>,
}

/// A match, with the entry of the camera's `labels` it answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// The entry, lower-cased: what cooldowns and the memory of alerts are
    /// kept by (`vehicle` for a `Car` when the camera asks for vehicles).
    pub wanted: String,
    pub found: Match,
}

/// The labels of one frame that satisfy the rules, and why the others
/// wanted did not.
///
/// A label with boxes matches when at least one of its boxes counts; a label
/// without boxes (a whole-scene label) matches on its confidence alone, and
/// only when no box-size limit or zone is set, since such rules could not be
/// checked.
pub(crate) fn evaluate(rules: &Rules, frame: usize, labels: &[Label]) -> Evaluation {
    let box_rules_set = rules.min_box_area.0 > 0.0
        || rules.max_box_area.0 < 1.0
        || !rules.ignore_zones.is_empty()
        || !rules.required_zones.is_empty();
    let mut evaluation = Evaluation::default();
    for label in labels {
        let Some(wanted) = wanted_entry(rules, label) else {
            continue;
        };
        let min_confidence = min_confidence_of(rules, wanted);
        if label.confidence < min_confidence {
            evaluation.rejected.push(format!(
                "{} {:.1}%: below the {min_confidence}% asked for {}",
                label.name, label.confidence, wanted.label
            ));
            continue;
        }
        let mut reasons = Vec::new();
        let boxes: Vec<BoundingBox> = label
            .boxes
            .iter()
            .filter(|b| match judge_box(rules, min_confidence, b) {
                Ok(()) => true,
                Err(rejection) => {
                    reasons.push(rejection.describe());
                    false
                }
            })
            .copied()
            .collect();
        let matched = if label.boxes.is_empty() {
            !box_rules_set
        } else {
            !boxes.is_empty()
        };
        if matched {
            evaluation.matches.push(Found {
                wanted: wanted.label.trim().to_lowercase(),
                found: Match {
                    frame,
                    label: label.name.clone(),
                    confidence: label.confidence,
                    boxes,
                },
            });
        } else if label.boxes.is_empty() {
            evaluation.rejected.push(format!(
                "{}: seen in the whole picture, without a box the camera's size and zone rules could judge",
                label.name
            ));
        } else {
            reasons.dedup();
            evaluation
                .rejected
                .push(format!("{}: {}", label.name, reasons.join(", ")));
        }
    }
    evaluation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Fraction, Percent, Zone};

    fn evaluate(rules: &Rules, frame: usize, labels: &[Label]) -> Vec<Match> {
        super::evaluate(rules, frame, labels)
            .matches
            .into_iter()
            .map(|found| found.found)
            .collect()
    }

    fn person_at(left: f32, top: f32, size: f32, confidence: f32) -> Label {
        Label {
            name: "Person".into(),
            confidence,
            parents: vec![],
            boxes: vec![BoundingBox {
                left,
                top,
                width: size,
                height: size,
                confidence,
            }],
        }
    }

    fn rules(labels: &[&str], min_confidence: f32) -> Rules {
        Rules {
            labels: labels.iter().copied().map(WantedLabel::named).collect(),
            min_confidence: Percent(min_confidence),
            ..Rules::default()
        }
    }

    #[test]
    fn person_above_threshold_matches_case_insensitively() {
        let matches = evaluate(
            &rules(&["PERSON"], 70.0),
            2,
            &[person_at(0.4, 0.4, 0.2, 98.1)],
        );
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].label, "Person");
        assert_eq!(matches[0].frame, 2);
        assert_eq!(matches[0].boxes.len(), 1);
    }

    #[test]
    fn person_below_threshold_does_not_match() {
        assert!(evaluate(
            &rules(&["person"], 70.0),
            0,
            &[person_at(0.4, 0.4, 0.2, 65.0)]
        )
        .is_empty());
    }

    #[test]
    fn human_counts_as_person_and_car_counts_as_vehicle() {
        let human = Label {
            name: "Human".into(),
            confidence: 90.0,
            parents: vec![],
            boxes: vec![],
        };
        assert_eq!(evaluate(&rules(&["person"], 70.0), 0, &[human]).len(), 1);
        let car = Label {
            name: "Car".into(),
            confidence: 90.0,
            parents: vec!["Vehicle".into(), "Transportation".into()],
            boxes: vec![],
        };
        assert_eq!(evaluate(&rules(&["vehicle"], 70.0), 0, &[car]).len(), 1);
    }

    #[test]
    fn scene_labels_of_no_interest_do_not_match() {
        let tree = Label {
            name: "Tree".into(),
            confidence: 99.0,
            parents: vec!["Plant".into()],
            boxes: vec![],
        };
        assert!(evaluate(&rules(&["person", "car"], 70.0), 0, &[tree]).is_empty());
    }

    #[test]
    fn spider_on_the_lens_is_too_big_and_a_speck_too_small() {
        let mut rules = rules(&["person"], 50.0);
        rules.min_box_area = Fraction(0.001);
        rules.max_box_area = Fraction(0.6);
        assert!(evaluate(&rules, 0, &[person_at(0.0, 0.0, 0.95, 80.0)]).is_empty());
        assert!(evaluate(&rules, 0, &[person_at(0.5, 0.5, 0.01, 80.0)]).is_empty());
        assert_eq!(
            evaluate(&rules, 0, &[person_at(0.3, 0.3, 0.3, 80.0)]).len(),
            1
        );
    }

    #[test]
    fn box_standing_in_an_ignored_zone_does_not_count() {
        let mut rules = rules(&["person"], 50.0);
        rules.ignore_zones = vec![Zone::rectangle(0.0, 0.0, 0.5, 1.0)];
        assert!(evaluate(&rules, 0, &[person_at(0.1, 0.4, 0.2, 90.0)]).is_empty());
        assert_eq!(
            evaluate(&rules, 0, &[person_at(0.6, 0.4, 0.2, 90.0)]).len(),
            1
        );
    }

    #[test]
    fn only_the_boxes_that_count_are_kept() {
        let mut two_people = person_at(0.0, 0.0, 0.2, 90.0);
        two_people.boxes.push(BoundingBox {
            left: 0.5,
            top: 0.5,
            width: 0.2,
            height: 0.2,
            confidence: 40.0,
        });
        let matches = evaluate(&rules(&["person"], 70.0), 0, &[two_people]);
        assert_eq!(matches[0].boxes.len(), 1);
    }

    #[test]
    fn a_box_stands_where_its_bottom_centre_is() {
        // The road is the top half; a person on the path below whose head
        // reaches into it still stands on the path.
        let mut rules = rules(&["person"], 50.0);
        rules.ignore_zones = vec![Zone::rectangle(0.0, 0.0, 1.0, 0.5)];
        let tall_on_the_path = person_at(0.4, 0.3, 0.3, 90.0);
        assert_eq!(tall_on_the_path.boxes[0].foot(), (0.55, 0.6));
        assert_eq!(evaluate(&rules, 0, &[tall_on_the_path]).len(), 1);
        let on_the_road = person_at(0.4, 0.1, 0.3, 90.0);
        assert!(evaluate(&rules, 0, &[on_the_road]).is_empty());
    }

    #[test]
    fn required_zones_keep_the_person_at_the_door_and_drop_the_one_on_the_road() {
        let mut rules = rules(&["person"], 50.0);
        // The path to the door: a triangle narrowing towards the house.
        rules.required_zones = vec![Zone::Polygon(
            [[0.3, 1.0], [0.5, 0.5], [0.7, 1.0]]
                .map(|[x, y]| [Fraction(x), Fraction(y)])
                .to_vec(),
        )];
        let at_the_door = person_at(0.4, 0.6, 0.2, 90.0);
        let on_the_road = person_at(0.0, 0.2, 0.2, 90.0);
        let evaluation = super::evaluate(&rules, 0, &[on_the_road]);
        assert!(evaluation.matches.is_empty());
        assert_eq!(evaluation.rejected, ["Person: outside the required zones"]);
        assert_eq!(evaluate(&rules, 0, &[at_the_door]).len(), 1);
    }

    #[test]
    fn a_label_with_its_own_confidence_is_judged_by_it() {
        let mut rules = rules(&["person"], 70.0);
        rules.labels.push(WantedLabel {
            label: "dog".into(),
            min_confidence: Some(Percent(40.0)),
        });
        let dog = |confidence| Label {
            name: "Dog".into(),
            confidence,
            parents: vec!["Animal".into()],
            boxes: vec![],
        };
        assert_eq!(evaluate(&rules, 0, &[dog(45.0)]).len(), 1);
        assert_eq!(
            super::evaluate(&rules, 0, &[dog(45.0)]).matches[0].wanted,
            "dog"
        );
        assert!(evaluate(&rules, 0, &[dog(35.0)]).is_empty());
        // The person still needs 70.
        assert!(evaluate(&rules, 0, &[person_at(0.4, 0.4, 0.2, 50.0)]).is_empty());
        assert_eq!(detector_threshold(&rules), 40.0);
    }

    #[test]
    fn each_wanted_label_seen_says_why_it_did_not_count() {
        let mut rules = rules(&["person", "car"], 70.0);
        rules.max_box_area = Fraction(0.5);
        let faint = person_at(0.1, 0.1, 0.1, 60.0);
        let huge = Label {
            name: "Car".into(),
            confidence: 95.0,
            parents: vec!["Vehicle".into()],
            boxes: vec![BoundingBox {
                left: 0.0,
                top: 0.0,
                width: 0.9,
                height: 0.9,
                confidence: 95.0,
            }],
        };
        let tree = Label {
            name: "Tree".into(),
            confidence: 99.0,
            parents: vec![],
            boxes: vec![],
        };
        let evaluation = super::evaluate(&rules, 0, &[faint, huge, tree]);
        assert!(evaluation.matches.is_empty());
        assert_eq!(
            evaluation.rejected,
            [
                "Person 60.0%: below the 70% asked for person",
                "Car: too large"
            ]
        );
    }
}
