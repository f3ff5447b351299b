//! [`Detector`] on Amazon Rekognition DetectLabels.

use aws_sdk_rekognition::error::ProvideErrorMetadata;
use aws_sdk_rekognition::types::{Image, S3Object};
use aws_sdk_rekognition::Client;

use crate::classify;
use ipcam_core::contract::{BoundingBox, Frame, Label};
use ipcam_core::ports::{Detector, PortError};

/// Labels returned per frame; enough for every object in a camera's view.
const MAX_LABELS: i32 = 50;

/// The errors with which Rekognition refuses one picture as such: one it
/// cannot read, one too large, one it cannot get from S3. Asking again
/// will not help, but the next frame of the e-mail may be fine.
const REFUSED_PICTURE_CODES: &[&str] = &[
    "InvalidImageFormatException",
    "ImageTooLargeException",
    "InvalidS3ObjectException",
];

/// The code of an error that refuses the picture, if it is one.
fn refusal(code: Option<&str>) -> Option<&str> {
    code.filter(|code| REFUSED_PICTURE_CODES.contains(code))
}

/// Rekognition reading the frame straight from S3: the picture never passes
/// through the Lambda's memory.
#[derive(Debug, Clone)]
pub struct RekognitionDetector {
    client: Client,
}

impl RekognitionDetector {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        RekognitionDetector {
            client: Client::new(config),
        }
    }
}

impl Detector for RekognitionDetector {
    async fn detect(&self, frame: &Frame, min_confidence: f32) -> Result<Vec<Label>, PortError> {
        let image = Image::builder()
            .s3_object(
                S3Object::builder()
                    .bucket(&frame.bucket)
                    .name(&frame.key)
                    .build(),
            )
            .build();
        let output = self
            .client
            .detect_labels()
            .image(image)
            .min_confidence(min_confidence)
            .max_labels(MAX_LABELS)
            .send()
            .await
            .map_err(|err| {
                let doing = format!("DetectLabels on s3://{}/{}", frame.bucket, frame.key);
                match refusal(err.as_service_error().and_then(ProvideErrorMetadata::code)) {
                    Some(code) => PortError::Refused(format!(
                        "{code}: {}",
                        err.as_service_error()
                            .and_then(ProvideErrorMetadata::message)
                            .unwrap_or(&doing)
                    )),
                    None => classify(&doing, &err),
                }
            })?;
        Ok(output.labels().iter().map(label_from_rekognition).collect())
    }
}

fn label_from_rekognition(label: &aws_sdk_rekognition::types::Label) -> Label {
    Label {
        name: label.name().unwrap_or_default().to_string(),
        confidence: label.confidence().unwrap_or_default(),
        parents: label
            .parents()
            .iter()
            .filter_map(|parent| parent.name().map(str::to_string))
            .collect(),
        boxes: label
            .instances()
            .iter()
            .filter_map(|instance| {
                let found = instance.bounding_box()?;
                Some(BoundingBox {
                    left: found.left().unwrap_or_default(),
                    top: found.top().unwrap_or_default(),
                    width: found.width().unwrap_or_default(),
                    height: found.height().unwrap_or_default(),
                    confidence: instance.confidence().unwrap_or_default(),
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_rekognition_cannot_take_is_refused_and_other_errors_are_not() {
        for code in [
            "InvalidImageFormatException",
            "ImageTooLargeException",
            "InvalidS3ObjectException",
        ] {
            assert_eq!(refusal(Some(code)), Some(code));
        }
        for code in [
            "ThrottlingException",
            "AccessDeniedException",
            "InvalidParameterException",
        ] {
            assert_eq!(refusal(Some(code)), None);
        }
        assert_eq!(refusal(None), None);
    }
}
