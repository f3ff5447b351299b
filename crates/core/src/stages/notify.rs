//! notify: tell a person what was seen, with the picture.
//!
//! The alerting frame is drawn on (a box and a caption round each match)
//! and stored next to the frames, under `annotated/<event id>/`, in the
//! frame's own bucket; the alert gives a link to it that a phone opens (a
//! presigned HTTPS URL on S3). The drawing is a courtesy: if the frame
//! cannot be read or drawn on, the alert goes without it rather than late
//! or not at all; and if no link can be signed, the alert gives where the
//! picture is kept instead.

use std::time::Duration;

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

/// How long the link to the picture in an alert works, unless the caller
/// says otherwise: the evening or the working day in which an alert is
/// looked at, without leaving a forwarded link open for days.
pub const DEFAULT_LINK_VALIDITY: Duration = Duration::from_secs(6 * 60 * 60);

/// Draws on the alerting frame, words the alert and sends it through the
/// notifier, with a link to the picture that works for
/// [`DEFAULT_LINK_VALIDITY`].
pub async fn notify(
    request: &AlertRequest,
    store: &impl ObjectStore,
    notifier: &impl Notifier,
) -> Result<Notification, StageError> {
    notify_with_link_valid_for(request, store, notifier, DEFAULT_LINK_VALIDITY).await
}

/// [`notify`], with a link to the picture that works for `link_valid_for`
/// at most (a store's signature may end sooner: see
/// [`ObjectStore::share`]).
pub async fn notify_with_link_valid_for(
    request: &AlertRequest,
    store: &impl ObjectStore,
    notifier: &impl Notifier,
    link_valid_for: Duration,
) -> Result<Notification, StageError> {
    let snapshot = match annotated_snapshot(request, store, link_valid_for).await {
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

/// The alerting frame with its matches drawn on, stored, and a link to it.
/// Its key depends on the event and frame only, so a retried notification
/// rewrites the same object.
async fn annotated_snapshot(
    request: &AlertRequest,
    store: &impl ObjectStore,
    link_valid_for: Duration,
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
    let location = store.locate(&object);
    let link = match store.share(&object, link_valid_for).await {
        Ok(link) => link,
        Err(err) => {
            tracing::warn!(event = %request.event.id, "the alert gives where the picture is kept, not a link to it: {err}");
            location.clone()
        }
    };
    Ok(Snapshot {
        location,
        link,
        object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{
        Analysis, BoundingBox, Detection, Event, Frame, Match, Source, CONTRACT_VERSION,
    };
    use crate::ports::PortError;
    use crate::testing::{grey_jpeg, KeptAlerts, MemoryStore};
    use std::sync::Mutex;

    /// A store that signs links to its objects as S3 does, or cannot sign.
    #[derive(Default)]
    struct SigningStore {
        objects: MemoryStore,
        cannot_sign: bool,
        /// How long each link asked for was to work.
        asked: Mutex<Vec<Duration>>,
    }

    impl ObjectStore for SigningStore {
        async fn get(&self, object: &ObjectRef) -> Result<Vec<u8>, PortError> {
            self.objects.get(object).await
        }

        async fn put(
            &self,
            object: &ObjectRef,
            bytes: Vec<u8>,
            content_type: &str,
        ) -> Result<(), PortError> {
            self.objects.put(object, bytes, content_type).await
        }

        fn locate(&self, object: &ObjectRef) -> String {
            format!("s3://{}/{}", object.bucket, object.key)
        }

        async fn share(
            &self,
            object: &ObjectRef,
            valid_for: Duration,
        ) -> Result<String, PortError> {
            if self.cannot_sign {
                return Err(PortError::Permanent("no credentials to sign with".into()));
            }
            self.asked.lock().unwrap().push(valid_for);
            Ok(format!(
                "https://{}.s3.example/{}?X-Amz-Expires={}",
                object.bucket,
                object.key,
                valid_for.as_secs()
            ))
        }
    }

    /// A signing store holding the frame of [`person_at_the_door`].
    fn signing_store_with_the_frame() -> SigningStore {
        let store = SigningStore::default();
        store
            .objects
            .insert(&person_at_the_door().frames[0].object(), camera_frame());
        store
    }

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
    async fn the_alert_gives_a_link_a_phone_opens_for_the_time_asked() {
        let store = signing_store_with_the_frame();
        let notifier = KeptAlerts::default();
        let two_hours = Duration::from_secs(2 * 60 * 60);
        notify_with_link_valid_for(&person_at_the_door(), &store, &notifier, two_hours)
            .await
            .unwrap();

        assert_eq!(*store.asked.lock().unwrap(), vec![two_hours]);
        let link = "https://b.s3.example/annotated/evt-7/0.jpg?X-Amz-Expires=7200";
        let alerts = notifier.kept();
        assert!(
            alerts[0].text.contains(&format!("Picture: {link}\n")),
            "{}",
            alerts[0].text
        );
        assert!(!alerts[0].text.contains("s3://"));
        let snapshot = &alerts[0].json["snapshot"];
        assert_eq!(snapshot["link"], link);
        assert_eq!(snapshot["bucket"], "b");
        assert_eq!(snapshot["key"], "annotated/evt-7/0.jpg");
        assert_eq!(snapshot["location"], "s3://b/annotated/evt-7/0.jpg");
    }

    #[tokio::test]
    async fn links_work_for_six_hours_unless_the_caller_says_otherwise() {
        let store = signing_store_with_the_frame();
        notify(&person_at_the_door(), &store, &KeptAlerts::default())
            .await
            .unwrap();
        assert_eq!(
            *store.asked.lock().unwrap(),
            vec![Duration::from_secs(21_600)]
        );
    }

    #[tokio::test]
    async fn when_no_link_can_be_signed_the_alert_says_where_the_picture_is() {
        let store = SigningStore {
            cannot_sign: true,
            ..signing_store_with_the_frame()
        };
        let notifier = KeptAlerts::default();
        let notification = notify(&person_at_the_door(), &store, &notifier)
            .await
            .unwrap();

        assert!(notification.snapshot.is_some(), "the picture was drawn");
        let alerts = notifier.kept();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0]
            .text
            .contains("Picture: s3://b/annotated/evt-7/0.jpg\n"));
        assert_eq!(
            alerts[0].json["snapshot"]["link"],
            "s3://b/annotated/evt-7/0.jpg"
        );
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
