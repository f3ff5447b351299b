//! extract-attachments: from the stored message to stored frames.

use super::{StageError, StageErrorKind};
use crate::config::Config;
use crate::contract::{ExecutionInput, Extracted, Frame, ObjectRef, CONTRACT_VERSION};
use crate::mime;
use crate::ports::ObjectStore;

/// Reads the message, identifies its camera, stores each picture worth
/// analysing as a frame under `frames/<event id>/` and returns them. Which
/// pictures (duplicates dropped, at most `max_frames`) is decided by
/// [`mime::extract_pictures`] with the `[extract]` settings, exactly as
/// `ipcam extract` decides.
pub async fn extract_attachments(
    input: ExecutionInput,
    config: &Config,
    store: &impl ObjectStore,
) -> Result<Extracted, StageError> {
    let event = input.event;
    let raw = store.get(&event.message).await.map_err(|err| {
        StageError::from_port(
            &format!(
                "reading the message s3://{}/{}",
                event.message.bucket, event.message.key
            ),
            err,
        )
    })?;
    let extraction = mime::extract_pictures(&raw, &config.extract)
        .map_err(|err| StageError::new(StageErrorKind::InvalidInput, err.to_string()))?;
    let camera = config
        .identify_camera(event.from.as_deref(), &event.to, event.subject.as_deref())
        .to_string();

    let mut frames = Vec::new();
    for picture in extraction.pictures {
        let object = ObjectRef {
            bucket: event.message.bucket.clone(),
            key: format!(
                "frames/{}/{}.{}",
                event.id,
                frames.len(),
                picture.extension()
            ),
        };
        let frame = Frame {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            content_type: picture.content_type.to_string(),
            width: picture.width,
            height: picture.height,
            size: picture.bytes.len() as u64,
            sha256: picture.sha256(),
            filename: picture.filename,
        };
        store
            .put(&object, picture.bytes, picture.content_type)
            .await
            .map_err(|err| StageError::from_port("storing a frame", err))?;
        frames.push(frame);
    }
    Ok(Extracted {
        version: CONTRACT_VERSION,
        event,
        camera,
        frames,
        skipped: extraction.skipped,
    })
}
