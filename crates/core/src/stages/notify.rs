//! notify: tell a person what was seen, with the picture.
//!
//! The alerting frame is drawn on (a box and a caption round each match)
//! and stored next to the frames, under `annotated/<event id>/`, in the
//! frame's own bucket; the alert gives a link to it that a phone opens (a
//! presigned HTTPS URL on S3). The drawing is a courtesy: if the frame
//! cannot be read or drawn on, the alert goes without it rather than late
//! or not at all; and if no link can be signed, the alert gives where the
//! picture is kept instead.
//!
//! When `[alerts] email_to` names people, the alert also goes to them as an
//! e-mail with the picture, after it is published. The published alert is
//! the one of record: an e-mail that cannot be sent is logged and said in
//! the notification, and does not fail the task, whose retry would publish
//! the alert twice.
//!
//! One alert per event: once published, the notification is kept in the
//! memory of alerts for a day, and a notify run again for the same event
//! (the state machine retrying it after its answer was lost) returns it
//! without publishing or e-mailing again.

use std::time::Duration;

use chrono::Utc;

use super::StageError;
use crate::alert::{self, Alert, Snapshot};
use crate::alert_email;
use crate::annotate::annotate;
use crate::config::Config;
use crate::contract::{AlertRequest, EmailOutcome, Notification, ObjectRef};
use crate::memory::{Notified, NOTIFIED_KEPT_FOR};
use crate::ports::{AlertMemory, Mailer, Notifier, ObjectStore};

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

/// Draws on the alerting frame, words the alert in the camera's time zone
/// and sends it through the notifier, with a link to the picture that works
/// for `link_valid_for` at most (a store's signature may end sooner: see
/// [`ObjectStore::share`]); then e-mails it to `[alerts] email_to`, if set.
///
/// An event whose notification the memory `alerts` keeps was notified
/// already: its notification is returned, and nothing is sent again. A
/// memory that cannot be read or written does not stop the alert: it is
/// logged, and a retry may then alert twice, which is better than not at
/// all.
pub async fn notify(
    request: &AlertRequest,
    config: &Config,
    store: &impl ObjectStore,
    notifier: &impl Notifier,
    mailer: &impl Mailer,
    alerts: &impl AlertMemory,
    link_valid_for: Duration,
) -> Result<Notification, StageError> {
    let (camera, event) = (&request.camera, &request.event.id);
    match alerts.notified(camera, event).await {
        Ok(Some(notification)) => {
            tracing::info!(%camera, %event, message_id = %notification.message_id, "the alert of this event was published already: not again");
            return Ok(notification);
        }
        Ok(None) => {}
        Err(err) => {
            tracing::warn!(%camera, %event, "the alert goes without knowing whether it went before: {err}");
        }
    }
    let drawn = match annotated_snapshot(request, store, link_valid_for).await {
        Ok(drawn) => Some(drawn),
        Err(reason) => {
            tracing::warn!(event = %request.event.id, "the alert goes without its picture: {reason}");
            None
        }
    };
    let snapshot = drawn.as_ref().map(|(snapshot, _)| snapshot);
    let rules = config.rules_for(&request.camera);
    let alert = alert::compose(request, snapshot, &rules);
    let message_id = notifier
        .publish(&alert)
        .await
        .map_err(|err| StageError::from_port("publishing the alert", err))?;
    let mut notification = Notification {
        message_id,
        subject: alert.subject.clone(),
        snapshot: drawn.as_ref().map(|(snapshot, _)| snapshot.object.clone()),
        email: None,
    };
    // Kept at once, before anything else can fail or time out.
    remember(request, &notification, alerts).await;
    let picture = drawn.as_ref().map(|(_, jpeg)| jpeg.as_slice());
    notification.email = email(request, config, &alert, picture, snapshot, mailer).await;
    if notification.email.is_some() {
        remember(request, &notification, alerts).await;
    }
    Ok(notification)
}

/// Keeps the notification of the request's event for
/// [`NOTIFIED_KEPT_FOR`]; a failure is logged, not returned: the alert is
/// out, and failing the task would have it retried and published again.
async fn remember(request: &AlertRequest, notification: &Notification, alerts: &impl AlertMemory) {
    let notified = Notified {
        camera: request.camera.clone(),
        event: request.event.id.clone(),
        notification: notification.clone(),
        keep_until: Utc::now() + NOTIFIED_KEPT_FOR,
    };
    if let Err(err) = alerts.remember_notified(&notified).await {
        tracing::warn!(camera = %request.camera, event = %request.event.id, "the alert was published, but not remembered: a retry would publish it again: {err}");
    }
}

/// Sends the alert as an e-mail when `[alerts]` names recipients; what
/// became of it, for the notification.
async fn email(
    request: &AlertRequest,
    config: &Config,
    alert: &Alert,
    picture: Option<&[u8]>,
    snapshot: Option<&Snapshot>,
    mailer: &impl Mailer,
) -> Option<EmailOutcome> {
    let recipients = &config.alerts.email_to;
    let from = config.alerts.email_from.as_ref()?;
    if recipients.is_empty() {
        return None;
    }
    let link = snapshot.map(|snapshot| snapshot.link.as_str());
    let sent = match alert_email::compose(alert, picture, link, from, recipients) {
        Ok(mail) => mailer.send(&mail).await.map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    };
    Some(match sent {
        Ok(id) => EmailOutcome::Sent { id },
        Err(reason) => {
            tracing::warn!(event = %request.event.id, "the alert e-mail was not sent: {reason}");
            EmailOutcome::Failed { reason }
        }
    })
}

/// The alerting frame with its matches drawn on, stored, a link to it, and
/// its JPEG. Its key depends on the event and frame only, so a retried
/// notification rewrites the same object.
async fn annotated_snapshot(
    request: &AlertRequest,
    store: &impl ObjectStore,
    link_valid_for: Duration,
) -> Result<(Snapshot, Vec<u8>), String> {
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
        .put(&object, drawn.clone(), "image/jpeg")
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
    let snapshot = Snapshot {
        location,
        link,
        object,
    };
    Ok((snapshot, drawn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{
        Analysis, BoundingBox, Detection, Event, Frame, Match, Source, CONTRACT_VERSION,
    };
    use crate::ports::PortError;
    use crate::testing::{grey_jpeg, KeptAlerts, KeptMail, MemoryStore, RememberedAlerts};

    /// No e-mail, the default link validity: what most tests need.
    async fn notify_without_email(
        request: &AlertRequest,
        store: &impl ObjectStore,
        notifier: &impl Notifier,
    ) -> Result<Notification, StageError> {
        let config = Config::parse("").unwrap();
        notify(
            request,
            &config,
            store,
            notifier,
            &KeptMail::default(),
            &RememberedAlerts::default(),
            DEFAULT_LINK_VALIDITY,
        )
        .await
    }
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
                next: None,
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
        let notification = notify_without_email(&request, &store, &notifier)
            .await
            .unwrap();

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
        let config = Config::parse("").unwrap();
        notify(
            &person_at_the_door(),
            &config,
            &store,
            &notifier,
            &KeptMail::default(),
            &RememberedAlerts::default(),
            two_hours,
        )
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
    async fn the_alert_is_emailed_with_the_drawn_picture_and_the_link() {
        let store = signing_store_with_the_frame();
        let notifier = KeptAlerts::default();
        let mail = KeptMail::default();
        let config = Config::parse(
            "[defaults]\ntimezone = \"Europe/Rome\"\n[alerts]\nemail_to = [\"me@home.example\"]\nemail_from = \"alerts@cams.example.com\"\n",
        )
        .unwrap();
        let notification = notify(
            &person_at_the_door(),
            &config,
            &store,
            &notifier,
            &mail,
            &RememberedAlerts::default(),
            DEFAULT_LINK_VALIDITY,
        )
        .await
        .unwrap();
        assert_eq!(
            notification.email,
            Some(EmailOutcome::Sent {
                id: "mail-1".into()
            })
        );
        let sent = mail.kept();
        assert_eq!(sent[0].to, ["me@home.example"]);
        let message = mailparse::parse_mail(&sent[0].raw).unwrap();
        let drawn = store.get(&notification.snapshot.unwrap()).await.unwrap();
        let attached = &message.subparts[1];
        assert_eq!(
            attached.get_body_raw().unwrap(),
            drawn,
            "the drawn picture is attached"
        );
        let text = message.subparts[0].subparts[0].subparts[0]
            .get_body()
            .unwrap();
        assert!(
            text.contains("https://b.s3.example/annotated/evt-7/0.jpg"),
            "{text}"
        );
        // The time is the camera's: 10:00 UTC is 11:00 in Rome in November.
        assert!(
            text.contains("When: Sun 29 Nov 2026, 11:00:00 CET"),
            "{text}"
        );
        assert!(notifier.kept()[0]
            .text
            .contains("When: Sun 29 Nov 2026, 11:00:00 CET"));
    }

    #[tokio::test]
    async fn an_email_that_cannot_be_sent_does_not_fail_the_published_alert() {
        let store = signing_store_with_the_frame();
        let notifier = KeptAlerts::default();
        let mail = KeptMail::refusing();
        let config = Config::parse(
            "[alerts]\nemail_to = [\"me@home.example\"]\nemail_from = \"alerts@cams.example.com\"\n",
        )
        .unwrap();
        let notification = notify(
            &person_at_the_door(),
            &config,
            &store,
            &notifier,
            &mail,
            &RememberedAlerts::default(),
            DEFAULT_LINK_VALIDITY,
        )
        .await
        .unwrap();
        assert_eq!(notifier.kept().len(), 1);
        assert!(matches!(
            notification.email,
            Some(EmailOutcome::Failed { .. })
        ));
    }

    #[tokio::test]
    async fn links_work_for_six_hours_unless_the_caller_says_otherwise() {
        let store = signing_store_with_the_frame();
        notify_without_email(&person_at_the_door(), &store, &KeptAlerts::default())
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
        let notification = notify_without_email(&person_at_the_door(), &store, &notifier)
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
        let notification = notify_without_email(&request, &store, &notifier)
            .await
            .unwrap();
        assert_eq!(notification.snapshot, None);
        assert_eq!(notifier.kept().len(), 1);
    }

    #[tokio::test]
    async fn a_frame_that_cannot_be_read_does_not_stop_the_alert() {
        let store = MemoryStore::default();
        let notifier = KeptAlerts::default();
        let notification = notify_without_email(&person_at_the_door(), &store, &notifier)
            .await
            .unwrap();
        assert_eq!(notification.snapshot, None);
        assert_eq!(notification.subject, "Person at frontdoor");
        let alerts = notifier.kept();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].json["snapshot"].is_null());
    }

    #[tokio::test]
    async fn notify_run_twice_for_one_event_publishes_and_emails_once() {
        let store = signing_store_with_the_frame();
        let notifier = KeptAlerts::default();
        let mail = KeptMail::default();
        let alerts = RememberedAlerts::default();
        let config = Config::parse(
            "[alerts]\nemail_to = [\"me@home.example\"]\nemail_from = \"alerts@cams.example.com\"\n",
        )
        .unwrap();
        let request = person_at_the_door();
        let run = || {
            notify(
                &request,
                &config,
                &store,
                &notifier,
                &mail,
                &alerts,
                DEFAULT_LINK_VALIDITY,
            )
        };
        let first = run().await.unwrap();
        // The state machine retries the task: its first answer was lost.
        let second = run().await.unwrap();

        assert_eq!(notifier.kept().len(), 1, "one alert published");
        assert_eq!(mail.kept().len(), 1, "one alert e-mailed");
        assert_eq!(second, first);
        assert_eq!(first.message_id, "kept-1");
        assert!(matches!(first.email, Some(EmailOutcome::Sent { .. })));
        let [notified] = &alerts.notified()[..] else {
            panic!("one notification kept: {:?}", alerts.notified());
        };
        assert_eq!(
            (notified.camera.as_str(), notified.event.as_str()),
            ("frontdoor", "evt-7")
        );
        assert_eq!(notified.notification, first);
        let kept_for = notified.keep_until - Utc::now();
        assert!(kept_for > chrono::TimeDelta::hours(23), "{kept_for}");
        assert!(kept_for <= chrono::TimeDelta::days(1), "{kept_for}");
    }

    #[tokio::test]
    async fn another_event_of_the_camera_still_alerts() {
        let store = signing_store_with_the_frame();
        let notifier = KeptAlerts::default();
        let alerts = RememberedAlerts::default();
        let config = Config::parse("").unwrap();
        let first = person_at_the_door();
        let mut second = person_at_the_door();
        second.event.id = "evt-8".into();
        for request in [&first, &second] {
            notify(
                request,
                &config,
                &store,
                &notifier,
                &KeptMail::default(),
                &alerts,
                DEFAULT_LINK_VALIDITY,
            )
            .await
            .unwrap();
        }
        assert_eq!(notifier.kept().len(), 2);
    }

    #[tokio::test]
    async fn a_memory_that_cannot_be_reached_does_not_stop_the_alert() {
        let store = signing_store_with_the_frame();
        let notifier = KeptAlerts::default();
        let alerts = RememberedAlerts {
            notifications_unreachable: true,
            ..RememberedAlerts::default()
        };
        let notification = notify(
            &person_at_the_door(),
            &Config::parse("").unwrap(),
            &store,
            &notifier,
            &KeptMail::default(),
            &alerts,
            DEFAULT_LINK_VALIDITY,
        )
        .await
        .unwrap();
        assert_eq!(notification.message_id, "kept-1");
        assert_eq!(notifier.kept().len(), 1);
    }
}
