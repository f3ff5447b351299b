//! detect-labels: what is in one frame, and does it match the camera's rules.

use super::StageError;
use crate::config::Config;
use crate::contract::{Analysis, Detection, FrameToAnalyse};
use crate::ports::Detector;
use crate::rules;

/// Asks the detector about one frame and judges its labels by the camera's
/// rules.
pub async fn detect_labels(
    input: &FrameToAnalyse,
    config: &Config,
    detector: &impl Detector,
) -> Result<Analysis, StageError> {
    let rules = config.rules_for(&input.camera);
    let labels = detector
        .detect(&input.frame, rules.min_confidence.0)
        .await
        .map_err(|err| {
            StageError::from_port(
                &format!(
                    "detecting labels in frame {} ({}/{})",
                    input.frame_index, input.frame.bucket, input.frame.key
                ),
                err,
            )
        })?;
    let matches = rules::evaluate(&rules, input.frame_index, &labels);
    Ok(Analysis {
        alert: !matches.is_empty(),
        detection: Detection {
            frame: input.frame_index,
            labels,
        },
        matches,
    })
}
