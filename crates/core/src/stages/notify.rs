//! notify: tell a person what was seen, with the picture.
//!
//! The alerting frame is drawn on (a box and a caption round each match)
//! and stored next to the frames, under `annotated/<event id>/`, in the
//! frame's own bucket; the alert points to it. The drawing is a courtesy:
//! if the frame cannot be read or drawn on, the alert goes without it
//! rather than late or not at all.

use super::StageError;
use crate::alert::{self, Snapshot};
use crate::annotate::annotate;
use crate::contract::{AlertRequest, Notification, ObjectRef};
use crate::ports::{Notifier, ObjectStore};

/// Largest frame drawn on, in pixels. Drawing holds the picture decoded
/// (3 bytes a pixel) and its encoding: 12 megapixels stay well within the
/// notify function's 256 MB, while `[extract] max_pixels` may allow up to
/// 40. A larger frame is sent without drawing rather than risk the
/// function running out of memory and the alert being lost.
const MAX_DRAWN_PIXELS: u64 = 12_000_000;

/// Draws on the alerting frame, words the alert and sends it through the
/// notifier.
pub async fn notify(
    request: &AlertRequest,
    store: &impl ObjectStore,
    notifier: &impl Notifier,
) -> Result<Notification, StageError> {
    let snapshot = match annotated_snapshot(request, store).await {
        Ok(snapshot) => Some(snapshot),
        Err(reason) => {
            tracing::warn!(event = %request.event.id, "the alert goes without its picture: {reason}");
            None
        }
    };
    let alert = alert::compose(request, snapshot.as_ref());
    let message_id = notifier
        .publish(&alert)
        .await
        .map_err(|err| StageError::from_port("publishing the alert", err))?;
    Ok(Notification {
        message_id,
        subject: alert.subject,
        snapshot: snapshot.map(|snapshot| snapshot.object),
    })
}

/// The alerting frame with its matches drawn on, stored. Its key depends on
/// the event and frame only, so a retried notification rewrites the same
/// object.
async fn annotated_snapshot(
    request: &AlertRequest,
    store: &impl ObjectStore,
) -> Result<Snapshot, String> {
    let index = request.analysis.detection.frame;
    let frame = request
        .frames
        .get(index)
        .ok_or_else(|| format!("the event has no frame {index}"))?;
    let pixels = u64::from(frame.width) * u64::from(frame.height);
    if pixels > MAX_DRAWN_PIXELS {
        return Err(format!(
            "the frame has {pixels} pixels, more than the {MAX_DRAWN_PIXELS} drawn on"
        ));
    }
    let original = store
        .get(&frame.object())
        .await
        .map_err(|err| format!("reading the frame: {err}"))?;
    let drawn = annotate(&original, &request.analysis.matches)
        .map_err(|err| format!("drawing on the frame: {err}"))?;
    let object = ObjectRef {
        bucket: frame.bucket.clone(),
        key: format!("annotated/{}/{index}.jpg", request.event.id),
    };
    store
        .put(&object, drawn, "image/jpeg")
        .await
        .map_err(|err| format!("storing the drawn picture: {err}"))?;
    Ok(Snapshot {
        location: store.locate(&object),
        object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{
        Analysis, BoundingBox, Detection, Event, Frame, Match, Source, CONTRACT_VERSION,
    };
    use crate::testing::{grey_jpeg, KeptAlerts, MemoryStore};

    /// A 320×240 grey JPEG, as a small camera sends.
    fn camera_frame() -> Vec<u8> {
        grey_jpeg(320, 240)
    }

    fn person_at_the_door() -> AlertRequest {
        AlertRequest {
            version: CONTRACT_VERSION,
            event: Event {
                id: "evt-7".into(),
                source: Source::Local,
                message: ObjectRef {
                    bucket: "b".into(),
                    key: "incoming/evt-7".into(),
                },
                from: None,
                to: vec![],
                subject: None,
                received_at: "2026-11-29T10:00:00Z".into(),
            },
            camera: "frontdoor".into(),
            frames: vec![Frame {
                bucket: "b".into(),
                key: "frames/evt-7/0.jpg".into(),
                content_type: "image/jpeg".into(),
                width: 320,
                height: 240,
                size: 0,
                sha256: String::new(),
                filename: "snap.jpg".into(),
            }],
            analysis: Analysis {
                detection: Detection {
                    frame: 0,
                    labels: vec![],
                },
                matches: vec![Match {
                    frame: 0,
                    label: "Person".into(),
                    confidence: 91.0,
                    boxes: vec![BoundingBox {
                        left: 0.25,
                        top: 0.25,
                        width: 0.5,
                        height: 0.5,
                        confidence: 91.0,
                    }],
                }],
                alert: true,
                why: vec![],
            },
        }
    }

    #[tokio::test]
    async fn the_alert_points_to_the_frame_with_its_boxes_drawn() {
        let store = MemoryStore::default();
        let request = person_at_the_door();
        let frame = camera_frame();
        store
            .put(&request.frames[0].object(), frame.clone(), "image/jpeg")
            .await
            .unwrap();
        let notifier = KeptAlerts::default();
        let notification = notify(&request, &store, &notifier).await.unwrap();

        let snapshot = notification.snapshot.expect("a snapshot was stored");
        assert_eq!(snapshot.key, "annotated/evt-7/0.jpg");
        let drawn = store.get(&snapshot).await.unwrap();
        assert_ne!(drawn, frame, "the stored snapshot is not the bare frame");
        let drawn = image::load_from_memory(&drawn).unwrap().to_rgb8();
        assert_eq!(drawn.dimensions(), (320, 240));
        // The box's top-left corner is drawn in another colour than the grey.
        assert_ne!(drawn.get_pixel(80, 60), &image::Rgb([90, 90, 90]));

        let alerts = notifier.kept();
        assert!(alerts[0]
            .text
            .contains(&format!("Picture: {}", store.locate(&snapshot))));
        assert_eq!(alerts[0].json["snapshot"]["key"], "annotated/evt-7/0.jpg");
    }

    #[tokio::test]
    async fn a_frame_too_large_to_draw_on_is_not_read_and_the_alert_goes() {
        let store = MemoryStore::default();
        let mut request = person_at_the_door();
        request.frames[0].width = 8000;
        request.frames[0].height = 5000;
        // The stored bytes could be drawn on: only the size stops it.
        store
            .put(&request.frames[0].object(), camera_frame(), "image/jpeg")
            .await
            .unwrap();
        let notifier = KeptAlerts::default();
        let notification = notify(&request, &store, &notifier).await.unwrap();
        assert_eq!(notification.snapshot, None);
        assert_eq!(notifier.kept().len(), 1);
    }

    #[tokio::test]
    async fn a_frame_that_cannot_be_read_does_not_stop_the_alert() {
        let store = MemoryStore::default();
        let notifier = KeptAlerts::default();
        let notification = notify(&person_at_the_door(), &store, &notifier)
            .await
            .unwrap();
        assert_eq!(notification.snapshot, None);
        assert_eq!(notification.subject, "Person at frontdoor");
        let alerts = notifier.kept();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].json["snapshot"].is_null());
    }
}
