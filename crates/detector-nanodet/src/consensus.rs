//! What the gate's looks at one frame agree is there.
//!
//! [`crate::NanoDet::detect_closely`] looks at a wide frame three times:
//! whole, and its left and right three fifths. Something really there is
//! found by every look that sees its place, more surely by the closer
//! ones; the model's noise at night (a branch's shadow on gravel taken for
//! a person at 19 %) is mostly found by one look alone. So an object's
//! confidence is the *mean* of what each look that sees its place gave it,
//! a look that found nothing there giving 0: the way test-time
//! augmentations are fused (as in weighted boxes fusion), here with the
//! looks as the augmentations. Taking the best of the looks instead, as the
//! gate first did, added up the noise of all three.

use ipcam_core::contract::{BoundingBox, Label};

/// Two boxes of one label from different looks are one object when they
/// overlap at least this much (intersection over union). The gate's test
/// scenes and the samples score alike at every threshold of `make
/// gate-recall` with 0.2 and with 0.5 here.
const SAME_OBJECT_IOU: f32 = 0.3;

/// A look sees an object's place when at least this share of the object's
/// width is inside the look: a person cut in two by a side view's edge is
/// judged by the looks that see them whole.
const SEES_PLACE: f32 = 0.9;

/// What one look at a frame found, its boxes in fractions of the frame.
#[derive(Debug, Clone)]
pub struct Look {
    /// Where the look starts, as a fraction of the frame's width.
    pub left: f32,
    /// How much of the frame's width it spans.
    pub width: f32,
    pub labels: Vec<Label>,
}

impl Look {
    fn sees(&self, place: &BoundingBox) -> bool {
        let inside =
            (self.left + self.width).min(place.left + place.width) - self.left.max(place.left);
        inside >= SEES_PLACE * place.width
    }
}

/// One object, as the looks found it: the box of the look most sure of
/// it, and how sure each look was (0 for a look that did not find it).
struct Object {
    place: BoundingBox,
    by_look: Vec<f32>,
}

/// The labels the looks agree on, each object at the mean confidence of
/// the looks that see its place, those at `min_confidence` or more kept.
/// One label per name (its confidence that of its most agreed object, its
/// parents those the looks gave it), one box per object, best first.
pub fn agreed(looks: &[Look], min_confidence: f32) -> Vec<Label> {
    let mut names: Vec<&Label> = Vec::new();
    for label in looks.iter().flat_map(|look| &look.labels) {
        if !names.iter().any(|known| known.name == label.name) {
            names.push(label);
        }
    }
    let mut labels: Vec<Label> = names
        .into_iter()
        .filter_map(|label| {
            let mut boxes: Vec<BoundingBox> = objects(looks, &label.name)
                .into_iter()
                .map(|object| BoundingBox {
                    confidence: mean_of_seeing_looks(looks, &object),
                    ..object.place
                })
                .filter(|place| place.confidence >= min_confidence)
                .collect();
            boxes.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            Some(Label {
                name: label.name.clone(),
                confidence: boxes.first()?.confidence,
                parents: label.parents.clone(),
                boxes,
            })
        })
        .collect();
    labels.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    labels
}

/// The objects of label `name`: each look's boxes, surest first, joined to
/// the first object they overlap by [`SAME_OBJECT_IOU`], or a new object.
fn objects(looks: &[Look], name: &str) -> Vec<Object> {
    let mut found: Vec<(usize, &BoundingBox)> = looks
        .iter()
        .enumerate()
        .flat_map(|(index, look)| {
            look.labels
                .iter()
                .filter(|label| label.name == name)
                .flat_map(move |label| label.boxes.iter().map(move |place| (index, place)))
        })
        .collect();
    found.sort_by(|a, b| b.1.confidence.total_cmp(&a.1.confidence));
    let mut objects: Vec<Object> = Vec::new();
    for (look, place) in found {
        match objects
            .iter_mut()
            .find(|object| object.place.iou(place) >= SAME_OBJECT_IOU)
        {
            Some(object) => object.by_look[look] = object.by_look[look].max(place.confidence),
            None => {
                let mut by_look = vec![0.0; looks.len()];
                by_look[look] = place.confidence;
                objects.push(Object {
                    place: *place,
                    by_look,
                });
            }
        }
    }
    objects
}

/// The mean confidence the looks that see the object's place gave it.
fn mean_of_seeing_looks(looks: &[Look], object: &Object) -> f32 {
    let (total, seeing) = looks
        .iter()
        .zip(&object.by_look)
        .filter(|(look, _)| look.sees(&object.place))
        .fold((0.0, 0), |(total, seeing), (_, confidence)| {
            (total + confidence, seeing + 1)
        });
    // The whole frame sees every place; `max` only keeps a look list
    // without it from dividing by zero.
    total / seeing.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(left: f32, width: f32, confidence: f32) -> Label {
        Label {
            name: "Person".into(),
            confidence,
            parents: vec![],
            boxes: vec![BoundingBox {
                left,
                top: 0.7,
                width,
                height: 0.2,
                confidence,
            }],
        }
    }

    /// The gate's three looks at a wide frame, with what each found.
    fn three_looks(whole: Vec<Label>, left: Vec<Label>, right: Vec<Label>) -> Vec<Look> {
        vec![
            Look {
                left: 0.0,
                width: 1.0,
                labels: whole,
            },
            Look {
                left: 0.0,
                width: 0.6,
                labels: left,
            },
            Look {
                left: 0.4,
                width: 0.6,
                labels: right,
            },
        ]
    }

    #[test]
    fn a_person_found_by_only_one_of_the_three_looks_that_see_them_counts_a_third() {
        // A branch's shadow in the middle of a night drive: only one look
        // took it for a person; all three see that place.
        let looks = three_looks(vec![person(0.5, 0.06, 19.0)], vec![], vec![]);
        let labels = agreed(&looks, 5.0);
        assert_eq!(labels.len(), 1);
        assert!((labels[0].confidence - 19.0 / 3.0).abs() < 1e-4);
    }

    #[test]
    fn a_far_person_found_by_both_looks_that_see_them_keeps_their_mean() {
        // At the left edge, only the whole frame and the left view see them;
        // the right view's not finding them says nothing.
        let looks = three_looks(
            vec![person(0.24, 0.08, 10.0)],
            vec![person(0.245, 0.08, 17.0)],
            vec![],
        );
        let labels = agreed(&looks, 5.0);
        assert_eq!(labels[0].boxes.len(), 1, "one person, one box");
        assert!((labels[0].confidence - 13.5).abs() < 1e-4);
        // The box is the one of the look most sure of it.
        assert_eq!(labels[0].boxes[0].left, 0.245);
    }

    #[test]
    fn a_person_cut_by_a_side_views_edge_is_judged_by_the_looks_that_see_them_whole() {
        // Across the left view's right edge (0.6): the right view and the
        // whole frame see them; the left view's half a person is not asked.
        let looks = three_looks(
            vec![person(0.55, 0.1, 40.0)],
            vec![],
            vec![person(0.55, 0.1, 60.0)],
        );
        assert!((agreed(&looks, 5.0)[0].confidence - 50.0).abs() < 1e-4);
    }

    #[test]
    fn objects_apart_are_judged_apart_and_below_the_minimum_are_dropped() {
        let looks = three_looks(
            vec![person(0.1, 0.05, 30.0), person(0.8, 0.05, 9.0)],
            vec![person(0.1, 0.05, 50.0)],
            vec![],
        );
        let labels = agreed(&looks, 10.0);
        let boxes = &labels[0].boxes;
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        assert!((boxes[0].confidence - 40.0).abs() < 1e-4);
        assert!(agreed(&looks, 45.0).is_empty(), "no label without a box");
    }

    #[test]
    fn a_single_look_is_its_own_consensus() {
        let looks = vec![Look {
            left: 0.0,
            width: 1.0,
            labels: vec![person(0.3, 0.1, 61.6)],
        }];
        assert_eq!(agreed(&looks, 5.0), vec![person(0.3, 0.1, 61.6)]);
    }
}
