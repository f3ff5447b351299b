//! Deciding whether what a detector saw is worth telling a person.
//!
//! Pure functions of the camera's [`Rules`] and the detector's labels, so
//! the Lambda and the local runner decide alike.

use crate::config::Rules;
use crate::contract::{BoundingBox, Label, Match};

/// Names a detector may use for what a user calls by another name.
/// Rekognition has said `Human` as well as `Person`.
const SYNONYMS: &[(&str, &str)] = &[("person", "human"), ("person", "people")];

/// True when the wanted label (as written in the config) names this label,
/// directly, through a synonym, or through one of its parents.
pub fn label_is_wanted(wanted: &str, label: &Label) -> bool {
    std::iter::once(label.name.as_str())
        .chain(label.parents.iter().map(String::as_str))
        .any(|name| same_label(wanted, name))
}

fn same_label(wanted: &str, name: &str) -> bool {
    let wanted = wanted.trim();
    wanted.eq_ignore_ascii_case(name)
        || SYNONYMS.iter().any(|(a, b)| {
            (wanted.eq_ignore_ascii_case(a) && name.eq_ignore_ascii_case(b))
                || (wanted.eq_ignore_ascii_case(b) && name.eq_ignore_ascii_case(a))
        })
}

/// True when a box counts: confident enough, of a plausible size, and not
/// centred in a zone the camera ignores.
pub fn box_counts(rules: &Rules, bounding_box: &BoundingBox) -> bool {
    let area = bounding_box.area();
    let centre_x = bounding_box.left + bounding_box.width / 2.0;
    let centre_y = bounding_box.top + bounding_box.height / 2.0;
    bounding_box.confidence >= rules.min_confidence.0
        && area >= rules.min_box_area.0
        && area <= rules.max_box_area.0
        && !rules
            .ignore_zones
            .iter()
            .any(|zone| zone.contains(centre_x, centre_y))
}

/// The labels of one frame that satisfy the rules.
///
/// A label with boxes matches when at least one of its boxes counts; a label
/// without boxes (a whole-scene label) matches on its confidence alone, and
/// only when no box-size limit or zone is set, since such rules could not be
/// checked.
pub fn evaluate(rules: &Rules, frame: usize, labels: &[Label]) -> Vec<Match> {
    let box_rules_set =
        rules.min_box_area.0 > 0.0 || rules.max_box_area.0 < 1.0 || !rules.ignore_zones.is_empty();
    labels
        .iter()
        .filter(|label| label.confidence >= rules.min_confidence.0)
        .filter(|label| rules.labels.iter().any(|w| label_is_wanted(w, label)))
        .filter_map(|label| {
            let boxes: Vec<BoundingBox> = label
                .boxes
                .iter()
                .filter(|b| box_counts(rules, b))
                .copied()
                .collect();
            let matched = if label.boxes.is_empty() {
                !box_rules_set
            } else {
                !boxes.is_empty()
            };
            matched.then(|| Match {
                frame,
                label: label.name.clone(),
                confidence: label.confidence,
                boxes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Fraction, Percent, Zone};

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
            labels: labels.iter().map(|l| l.to_string()).collect(),
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
    fn box_centred_in_an_ignored_zone_does_not_count() {
        let mut rules = rules(&["person"], 50.0);
        rules.ignore_zones = vec![Zone {
            left: Fraction(0.0),
            top: Fraction(0.0),
            width: Fraction(0.5),
            height: Fraction(1.0),
        }];
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
}
