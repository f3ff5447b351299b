//! extract-attachments: from the stored message to stored frames.

use super::ingest::admission::check_size;
use super::{StageError, StageErrorKind};
use crate::config::Config;
use crate::contract::{self, ExecutionInput, Extracted, Frame, ObjectRef, CONTRACT_VERSION};
use crate::memory;
use crate::mime;
use crate::ports::{AlertMemory, ObjectStore};

/// Identifies the message's camera and, when the camera may alert at the
/// time the message was received, reads the message, stores each picture
/// worth analysing as a frame under `frames/<event id>/` and returns them.
/// Which pictures (duplicates dropped, at most `max_frames`) is decided by
/// [`mime::extract_pictures`] with the `[extract]` settings, exactly as
/// `ipcam extract` decides.
///
/// A camera snoozed, in its quiet hours, or with every label cooling down
/// cannot alert: its e-mail is held, with the reason, before anything is
/// read, stored or analysed.
pub async fn extract_attachments(
    input: ExecutionInput,
    config: &Config,
    store: &impl ObjectStore,
    alerts: &impl AlertMemory,
) -> Result<Extracted, StageError> {
    let event = input.event;
    let camera = config
        .identify_camera(event.from.as_deref(), &event.to, event.subject.as_deref())
        .to_string();
    let received_at = super::detect::received_at(&event.received_at)?;
    let remembered = alerts
        .recall(&camera)
        .await
        .map_err(|err| StageError::from_port("reading the memory of alerts", err))?;
    if let Some(reason) = memory::hold(&config.rules_for(&camera), &remembered, received_at) {
        return Ok(Extracted {
            version: CONTRACT_VERSION,
            event,
            camera,
            frames: Vec::new(),
            skipped: Vec::new(),
            hold: Some(reason),
        });
    }
    let raw = store.get(&event.message).await.map_err(|err| {
        StageError::from_port(
            &format!("reading the message {}", store.locate(&event.message)),
            err,
        )
    })?;
    let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
    check_size(config, size).map_err(|rejection| {
        StageError::new(StageErrorKind::InvalidInput, rejection.to_string())
    })?;
    // Decoding pictures keeps the cores busy for tens of milliseconds: do it
    // where blocking is allowed, not on the runtime's worker threads, which
    // `ipcam serve` shares with its SMTP and HTTP intake.
    let settings = config.extract;
    let extraction = tokio::task::spawn_blocking(move || mime::extract_pictures(&raw, &settings))
        .await
        .map_err(|err| {
            StageError::new(StageErrorKind::Failed, format!("extraction stopped: {err}"))
        })?
        .map_err(|err| StageError::new(StageErrorKind::InvalidInput, err.to_string()))?;

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
        skipped: contract::bounded_skipped(extraction.skipped),
        hold: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{execution_input, MemoryStore, RememberedAlerts};
    use sha2::{Digest, Sha256};

    /// A store holding one fixture message, and the execution input that
    /// points at it.
    fn store_with(fixture: &str) -> (MemoryStore, ExecutionInput) {
        let message = ObjectRef {
            bucket: "mail".into(),
            key: format!("incoming/{fixture}"),
        };
        let path = format!(
            "{}/tests/fixtures/mail/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).unwrap();
        let store = MemoryStore::holding(&message, bytes);
        (
            store,
            execution_input("evt-1", message, "camera@cams.example.com"),
        )
    }

    #[tokio::test]
    async fn burst_is_stored_once_per_scene_with_the_digest_of_the_stored_bytes() {
        let (store, input) = store_with("burst_of_four_two_near_duplicates.eml");
        let config = Config::parse("").unwrap();
        let extracted = extract_attachments(input, &config, &store, &RememberedAlerts::default())
            .await
            .unwrap();
        let keys: Vec<_> = extracted.frames.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["frames/evt-1/0.jpg", "frames/evt-1/1.jpg"]);
        for frame in &extracted.frames {
            let stored = store.get(&frame.object()).await.unwrap();
            assert_eq!(frame.size, stored.len() as u64);
            assert_eq!(frame.sha256, hex::encode(Sha256::digest(&stored)));
        }
        let near: Vec<_> = extracted
            .skipped
            .iter()
            .filter(|s| s.reason.starts_with("near-duplicate"))
            .map(|s| s.filename.as_str())
            .collect();
        assert_eq!(near, ["burst_2.jpg", "burst_4.jpg"]);
    }

    #[tokio::test]
    async fn frame_cap_comes_from_the_extract_table() {
        let (store, input) = store_with("twelve_distinct_frames_over_the_cap.eml");
        let config = Config::parse("[extract]\nmax_frames = 2\n").unwrap();
        let extracted = extract_attachments(input, &config, &store, &RememberedAlerts::default())
            .await
            .unwrap();
        assert_eq!(extracted.frames.len(), 2);
    }

    #[tokio::test]
    async fn five_thousand_parts_that_are_not_pictures_are_counted_not_listed() {
        let message = ObjectRef {
            bucket: "mail".into(),
            key: "incoming/many".into(),
        };
        let raw = crate::testing::email_with_text_parts("camera@cams.example.com", 5_000);
        let store = MemoryStore::holding(&message, raw);
        let input = execution_input("evt-1", message, "camera@cams.example.com");
        let config = Config::parse("").unwrap();
        let extracted = extract_attachments(input, &config, &store, &RememberedAlerts::default())
            .await
            .unwrap();
        assert_eq!(extracted.frames.len(), 1);
        assert_eq!(
            extracted.skipped.len(),
            21,
            "20 listed, and one counting the rest"
        );
        assert_eq!(extracted.skipped[1].filename, "note-1.txt");
        let rest = &extracted.skipped[20];
        assert_eq!(
            rest.reason,
            "4981 more parts were not kept; only the first 20 are listed"
        );
        let state = serde_json::to_vec(&extracted).unwrap();
        assert!(state.len() < 16 * 1024, "{} bytes", state.len());
    }

    #[tokio::test]
    async fn message_over_the_size_limit_is_invalid_input() {
        let (store, input) = store_with("gif_bmp_webp_converted_to_jpeg.eml");
        let config = Config::parse("[ingest]\nmax_message_bytes = 1_000_000\n").unwrap();
        let big = vec![b'x'; 1_200_000];
        store
            .put(&input.event.message, big, "message/rfc822")
            .await
            .unwrap();
        let err = extract_attachments(input, &config, &store, &RememberedAlerts::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind, StageErrorKind::InvalidInput);
        assert!(err.message.contains("max_message_bytes"), "{err}");
    }

    #[tokio::test]
    async fn a_snoozed_or_quiet_camera_is_held_before_its_message_is_read() {
        let (store, input) = store_with("burst_of_four_two_near_duplicates.eml");
        // Nights only; the input was received at 10:00 UTC.
        let config =
            Config::parse("[defaults]\nactive = [{ from = \"22:00\", to = \"06:00\" }]\n").unwrap();
        let extracted =
            extract_attachments(input.clone(), &config, &store, &RememberedAlerts::default())
                .await
                .unwrap();
        assert!(extracted.frames.is_empty());
        let hold = extracted.hold.unwrap_or_default();
        assert!(
            hold.starts_with("quiet hours: Sun 29 Nov 2026, 10:00:00 UTC"),
            "{hold}"
        );

        let alerts = RememberedAlerts::default();
        alerts
            .snooze(
                crate::memory::ALL_CAMERAS,
                "2026-11-29T12:00:00Z".parse().unwrap(),
            )
            .await
            .unwrap();
        let anytime = Config::parse("").unwrap();
        let extracted = extract_attachments(input, &anytime, &store, &alerts)
            .await
            .unwrap();
        assert_eq!(
            extracted.hold.as_deref(),
            Some("snoozed until Sun 29 Nov 2026, 12:00:00 UTC")
        );
        // Nothing was stored: the message was never read.
        let frame = ObjectRef {
            bucket: "mail".into(),
            key: "frames/evt-1/0.jpg".into(),
        };
        assert!(store.get(&frame).await.is_err());
    }
}
