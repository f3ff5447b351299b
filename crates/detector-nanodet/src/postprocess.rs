//! From the model's raw outputs to Rekognition-shaped labels: decoding the
//! boxes, non-maximum suppression, grouping by class.
//!
//! NanoDet predicts, for every cell of three grids (strides 8, 16 and 32
//! over the input), one already-sigmoided score per class and, for
//! each side of the box (left, top, right, bottom), a distribution over
//! [`BINS`] distances (distribution focal loss). The distance of a side is
//! the expectation of that distribution times the stride, measured from the
//! cell's centre.

use ipcam_core::contract::{BoundingBox, Label};

use crate::labels::COCO_CLASSES;
use crate::shape::InputShape;

/// Number of classes the model scores.
pub const CLASSES: usize = COCO_CLASSES.len();

/// Bins of each side's distance distribution (distances 0 to 10 strides).
pub const BINS: usize = 11;

/// Two boxes of one class that overlap more than this (intersection over
/// union) show the same thing; the weaker one is dropped. NanoDet's own
/// evaluation uses 0.6.
pub const IOU_THRESHOLD: f32 = 0.6;

/// At most this many candidates go into suppression, the best ones: a low
/// threshold on a busy picture must not make suppression quadratic in the
/// thousands.
pub const MAX_CANDIDATES: usize = 1000;

/// One output pair of the model: the scores and box distributions of one
/// grid, as flat row-major slices (`cells × CLASSES`, `cells × 4·BINS`).
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub stride: usize,
    pub scores: &'a [f32],
    pub distributions: &'a [f32],
}

/// A box the model proposes for one class, in input pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class: usize,
    /// Score from 0 to 1.
    pub score: f32,
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl Candidate {
    fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }

    fn intersection_over_union(&self, other: &Candidate) -> f32 {
        let width = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let height = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let intersection = width * height;
        let union = self.area() + other.area() - intersection;
        if union > 0.0 {
            intersection / union
        } else {
            0.0
        }
    }
}

/// Why the outputs could not be read: the model is not the one this code
/// was written for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("output of stride {stride} has {found} values where {expected} were expected")]
pub struct ShapeMismatch {
    pub stride: usize,
    pub expected: usize,
    pub found: usize,
}

/// Every (cell, class) whose score reaches `threshold` (0 to 1), with its
/// box decoded and clipped to the input.
pub fn decode(
    heads: &[Head<'_>],
    input: InputShape,
    threshold: f32,
) -> Result<Vec<Candidate>, ShapeMismatch> {
    let mut candidates = Vec::new();
    let (right_edge, bottom_edge) = (input.width as f32, input.height as f32);
    for head in heads {
        let (columns, rows) = input.grid(head.stride);
        let cells = columns * rows;
        for (found, per_cell) in [
            (head.scores.len(), CLASSES),
            (head.distributions.len(), 4 * BINS),
        ] {
            if found != cells * per_cell {
                return Err(ShapeMismatch {
                    stride: head.stride,
                    expected: cells * per_cell,
                    found,
                });
            }
        }
        let stride = head.stride as f32;
        for (cell, scores) in head.scores.chunks_exact(CLASSES).enumerate() {
            let mut sides = None;
            for (class, &score) in scores.iter().enumerate() {
                if score < threshold {
                    continue;
                }
                let [left, top, right, bottom] = *sides.get_or_insert_with(|| {
                    let distribution = &head.distributions[cell * 4 * BINS..(cell + 1) * 4 * BINS];
                    side_distances(distribution, stride)
                });
                let centre_x = ((cell % columns) as f32 + 0.5) * stride;
                let centre_y = ((cell / columns) as f32 + 0.5) * stride;
                candidates.push(Candidate {
                    class,
                    score,
                    x1: (centre_x - left).clamp(0.0, right_edge),
                    y1: (centre_y - top).clamp(0.0, bottom_edge),
                    x2: (centre_x + right).clamp(0.0, right_edge),
                    y2: (centre_y + bottom).clamp(0.0, bottom_edge),
                });
            }
        }
    }
    Ok(candidates)
}

/// Distances from the cell centre to the left, top, right and bottom sides,
/// in input pixels: the expected bin of each side's softmax, times the stride.
fn side_distances(distribution: &[f32], stride: f32) -> [f32; 4] {
    let mut sides = [0.0; 4];
    for (side, logits) in sides.iter_mut().zip(distribution.chunks_exact(BINS)) {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        let mut weighted = 0.0;
        for (bin, &logit) in logits.iter().enumerate() {
            let weight = (logit - max).exp();
            total += weight;
            weighted += weight * bin as f32;
        }
        *side = weighted / total * stride;
    }
    sides
}

/// Keeps, class by class, the best box of every group of boxes that overlap
/// by more than `iou_threshold`. Best first.
pub fn non_maximum_suppression(
    mut candidates: Vec<Candidate>,
    iou_threshold: f32,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    candidates.truncate(MAX_CANDIDATES);
    let mut kept: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        let overlaps_a_better_one = kept.iter().any(|better| {
            better.class == candidate.class
                && better.intersection_over_union(&candidate) > iou_threshold
        });
        if !overlaps_a_better_one {
            kept.push(candidate);
        }
    }
    kept
}

/// One label per class, as Rekognition answers: its boxes as fractions of
/// the picture (the `input` being the picture stretched over it),
/// confidences in percent, the label's confidence that of its best box.
/// Labels and boxes best first.
pub fn into_labels(kept: &[Candidate], input: InputShape) -> Vec<Label> {
    let (width, height) = (input.width as f32, input.height as f32);
    let mut labels: Vec<Label> = Vec::new();
    for candidate in kept {
        let class = &COCO_CLASSES[candidate.class];
        let confidence = candidate.score * 100.0;
        let bounding_box = BoundingBox {
            left: candidate.x1 / width,
            top: candidate.y1 / height,
            width: (candidate.x2 - candidate.x1) / width,
            height: (candidate.y2 - candidate.y1) / height,
            confidence,
        };
        match labels.iter_mut().find(|label| label.name == class.name) {
            Some(label) => {
                label.confidence = label.confidence.max(confidence);
                label.boxes.push(bounding_box);
            }
            None => labels.push(Label {
                name: class.name.to_string(),
                confidence,
                parents: class.parents.iter().map(|p| p.to_string()).collect(),
                boxes: vec![bounding_box],
            }),
        }
    }
    for label in &mut labels {
        label
            .boxes
            .sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    }
    labels.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: InputShape = InputShape {
        width: 64,
        height: 64,
    };

    /// Logits that put all of a side's weight on one bin.
    fn certain(bin: usize) -> [f32; BINS] {
        let mut logits = [-50.0; BINS];
        logits[bin] = 50.0;
        logits
    }

    /// A synthetic output for one 64-pixel input at stride 32 (a 2×2 grid):
    /// only `cell` scores `score` for `class`, with the given side bins.
    fn synthetic_head(
        cell: usize,
        class: usize,
        score: f32,
        bins: [usize; 4],
    ) -> (Vec<f32>, Vec<f32>) {
        let mut scores = vec![0.01; 4 * CLASSES];
        scores[cell * CLASSES + class] = score;
        let mut distributions = vec![0.0; 4 * 4 * BINS];
        for (side, bin) in bins.iter().enumerate() {
            let start = cell * 4 * BINS + side * BINS;
            distributions[start..start + BINS].copy_from_slice(&certain(*bin));
        }
        (scores, distributions)
    }

    #[test]
    fn a_certain_distribution_puts_the_sides_whole_bins_from_the_cell_centre() {
        // Cell 3 of a 2×2 grid at stride 32 is the bottom-right one, centred
        // on (48, 48). One bin left and up is 32 px; none right and down.
        let (scores, distributions) = synthetic_head(3, 16, 0.9, [1, 1, 0, 0]);
        let head = Head {
            stride: 32,
            scores: &scores,
            distributions: &distributions,
        };
        let candidates = decode(&[head], INPUT, 0.5).unwrap();
        assert_eq!(candidates.len(), 1);
        let found = candidates[0];
        assert_eq!(found.class, 16);
        assert_eq!(found.score, 0.9);
        for (got, want) in [
            (found.x1, 16.0),
            (found.y1, 16.0),
            (found.x2, 48.0),
            (found.y2, 48.0),
        ] {
            assert!((got - want).abs() < 1e-3, "{found:?}");
        }
    }

    #[test]
    fn an_even_distribution_gives_the_middle_bin_and_boxes_are_clipped() {
        // Uniform logits: the expected bin is 5, i.e. 160 px at stride 32,
        // far past the 64 px input, so every side is clipped to the edge.
        let mut scores = vec![0.0; 4 * CLASSES];
        scores[0] = 0.7;
        let distributions = vec![0.3; 4 * 4 * BINS];
        let head = Head {
            stride: 32,
            scores: &scores,
            distributions: &distributions,
        };
        let found = decode(&[head], INPUT, 0.5).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].x1, found[0].y1, found[0].x2, found[0].y2),
            (0.0, 0.0, 64.0, 64.0)
        );
        assert!((side_distances(&[0.3; 4 * BINS], 32.0)[0] - 160.0).abs() < 1e-3);
    }

    #[test]
    fn cells_of_a_wide_input_are_numbered_row_by_row() {
        // A 96×64 input at stride 32 is a 3×2 grid: cell 4 is the middle
        // of the bottom row, centred on (48, 48), and boxes are clipped to
        // 96 across but 64 down.
        let mut scores = vec![0.0; 6 * CLASSES];
        scores[4 * CLASSES + 2] = 0.8;
        let mut distributions = vec![0.0; 6 * 4 * BINS];
        for (side, bin) in [1, 1, 2, 1].into_iter().enumerate() {
            let start = 4 * 4 * BINS + side * BINS;
            distributions[start..start + BINS].copy_from_slice(&certain(bin));
        }
        let head = Head {
            stride: 32,
            scores: &scores,
            distributions: &distributions,
        };
        let wide = InputShape {
            width: 96,
            height: 64,
        };
        let found = decode(&[head], wide, 0.5).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].x1, found[0].y1, found[0].x2, found[0].y2),
            (16.0, 16.0, 96.0, 64.0)
        );
        let labels = into_labels(&found, wide);
        let car = labels[0].boxes[0];
        assert!((car.left - 16.0 / 96.0).abs() < 1e-6);
        assert!((car.top - 16.0 / 64.0).abs() < 1e-6);
        assert!((car.width - 80.0 / 96.0).abs() < 1e-6);
        assert!((car.height - 48.0 / 64.0).abs() < 1e-6);
    }

    #[test]
    fn scores_below_the_threshold_give_nothing() {
        let (scores, distributions) = synthetic_head(0, 0, 0.4, [1, 1, 1, 1]);
        let head = Head {
            stride: 32,
            scores: &scores,
            distributions: &distributions,
        };
        assert!(decode(&[head], INPUT, 0.5).unwrap().is_empty());
    }

    #[test]
    fn outputs_of_the_wrong_size_are_an_error_not_a_panic() {
        let scores = vec![0.9; 3 * CLASSES];
        let distributions = vec![0.0; 4 * 4 * BINS];
        let head = Head {
            stride: 32,
            scores: &scores,
            distributions: &distributions,
        };
        assert_eq!(
            decode(&[head], INPUT, 0.5),
            Err(ShapeMismatch {
                stride: 32,
                expected: 4 * CLASSES,
                found: 3 * CLASSES
            })
        );
    }

    fn candidate(class: usize, score: f32, x1: f32) -> Candidate {
        Candidate {
            class,
            score,
            x1,
            y1: 0.0,
            x2: x1 + 10.0,
            y2: 10.0,
        }
    }

    #[test]
    fn suppression_keeps_the_best_of_overlapping_boxes_of_one_class() {
        let kept = non_maximum_suppression(
            vec![
                candidate(0, 0.6, 1.0),  // overlaps the 0.9 one by 9/11
                candidate(0, 0.9, 0.0),  // best person
                candidate(0, 0.5, 30.0), // another person, elsewhere
                candidate(2, 0.8, 0.0),  // a car in the same place
            ],
            IOU_THRESHOLD,
        );
        assert_eq!(
            kept,
            vec![
                candidate(0, 0.9, 0.0),
                candidate(2, 0.8, 0.0),
                candidate(0, 0.5, 30.0)
            ]
        );
    }

    #[test]
    fn boxes_that_merely_touch_are_both_kept() {
        let kept = non_maximum_suppression(
            vec![candidate(0, 0.9, 0.0), candidate(0, 0.8, 5.0)],
            IOU_THRESHOLD,
        );
        // Overlap 50 of union 150: a third, under the threshold.
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn labels_group_instances_by_class_with_rekognition_names_and_fractions() {
        let kept = [
            candidate(0, 0.9, 0.0),
            candidate(2, 0.95, 32.0),
            candidate(0, 0.7, 40.0),
        ];
        let labels = into_labels(&kept, INPUT);
        assert_eq!(labels.len(), 2);
        assert_eq!(labels[0].name, "Car");
        assert_eq!(labels[0].parents, ["Vehicle", "Transportation"]);
        assert!((labels[0].confidence - 95.0).abs() < 1e-3);
        let person = &labels[1];
        assert_eq!(person.name, "Person");
        assert!(person.parents.is_empty());
        assert!((person.confidence - 90.0).abs() < 1e-3);
        assert_eq!(person.boxes.len(), 2);
        let second = person.boxes[1];
        assert!((second.left - 40.0 / 64.0).abs() < 1e-6);
        assert!((second.width - 10.0 / 64.0).abs() < 1e-6);
        assert!((second.height - 10.0 / 64.0).abs() < 1e-6);
        assert!((second.confidence - 70.0).abs() < 1e-3);
    }
}
