//! [`AlertMemory`] on an Amazon DynamoDB table.
//!
//! One item per remembered alert and one per snooze, under the partition key
//! `camera` (S) and the sort key `entry` (S):
//!
//! | camera      | entry           | attributes                                              |
//! |-------------|-----------------|---------------------------------------------------------|
//! | `frontdoor` | `label#person`  | `label`, `alertedAt`, `event`, `seenAt`, `boxes` (JSON), `revision` (N), `keepUntil`, `expiresAt` (N) |
//! | `frontdoor` | `snooze`        | `until`, `expiresAt` (N)                                |
//! | `*`         | `snooze`        | a snooze of every camera                                |
//! | `frontdoor` | `notified#<event id>` | `event`, `messageId`, `notification` (JSON), `keepUntil`, `expiresAt` (N) |
//! | `#budget`   | `day#2026-12-02`, `month#2026-12` | `calls` (N), `expiresAt` (N): the detector budget's counters (budget.rs) |
//!
//! Times are RFC 3339 text; `expiresAt` is the table's TTL attribute, in
//! epoch seconds: a recollection's `keepUntil`, a snooze's `until`, a
//! notification's `keepUntil` (a day after its alert was published).
//! `make snooze` writes the snooze items with the AWS CLI in this shape.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::classify;
use ipcam_core::contract::{BoundingBox, Notification};
use ipcam_core::memory::{CameraMemory, Notified, Recollection, ALL_CAMERAS};
use ipcam_core::ports::{AlertMemory, PortError};

/// The sort key of a camera's snooze.
const SNOOZE_ENTRY: &str = "snooze";
/// The sort key of a recollection starts with this, then the label.
const LABEL_ENTRY_PREFIX: &str = "label#";
/// The sort key of an event's notification starts with this, then the
/// event's id.
const NOTIFIED_ENTRY_PREFIX: &str = "notified#";

/// A DynamoDB item: attribute names and values.
type Item = HashMap<String, AttributeValue>;

/// The memory of alerts in one DynamoDB table. Reads are strongly
/// consistent, so that a judgement made again after a lost conditional
/// write sees the write that won.
#[derive(Debug, Clone)]
pub struct DynamoAlertMemory {
    client: Client,
    table: String,
}

impl DynamoAlertMemory {
    pub fn new(config: &aws_config::SdkConfig, table: String) -> Self {
        DynamoAlertMemory {
            client: Client::new(config),
            table,
        }
    }

    /// Every item of a camera's partition.
    async fn items_of(&self, camera: &str) -> Result<Vec<Item>, PortError> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("camera = :camera")
            .expression_attribute_values(":camera", AttributeValue::S(camera.to_string()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|err| {
                classify(
                    &format!("reading camera {camera}'s alerts from table {}", self.table),
                    &err,
                )
            })
    }

    /// The item `(camera, entry)`, read strongly consistent; `doing` says
    /// what for, in the error.
    async fn item(
        &self,
        camera: &str,
        entry: &str,
        doing: &str,
    ) -> Result<Option<Item>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("camera", AttributeValue::S(camera.to_string()))
            .key("entry", AttributeValue::S(entry.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| classify(&format!("{doing} from table {}", self.table), &err))?;
        Ok(output.item)
    }

    /// The end of the snooze of every camera, if one was written.
    async fn snooze_of_every_camera(&self) -> Result<Option<DateTime<Utc>>, PortError> {
        let item = self
            .item(
                ALL_CAMERAS,
                SNOOZE_ENTRY,
                "reading the snooze of every camera",
            )
            .await?;
        Ok(item.as_ref().and_then(snooze_until))
    }
}

impl AlertMemory for DynamoAlertMemory {
    async fn recall(&self, camera: &str) -> Result<CameraMemory, PortError> {
        let mut memory = CameraMemory::default();
        for item in self.items_of(camera).await? {
            match text(&item, "entry") {
                Some(SNOOZE_ENTRY) => memory.snoozed_until = snooze_until(&item),
                Some(entry) if entry.starts_with(LABEL_ENTRY_PREFIX) => {
                    let recollection = recollection_from_item(&item).map_err(|why| {
                        PortError::Permanent(format!(
                            "table {}: the item ({camera}, {entry}) {why}",
                            self.table
                        ))
                    })?;
                    memory.recollections.push(recollection);
                }
                // Another kind of entry: not one this version knows.
                _ => {}
            }
        }
        if camera != ALL_CAMERAS {
            let every = self.snooze_of_every_camera().await?;
            memory.snoozed_until = memory.snoozed_until.max(every);
        }
        Ok(memory)
    }

    async fn remember(
        &self,
        recollection: &Recollection,
        replaces: Option<u64>,
    ) -> Result<bool, PortError> {
        let item = recollection_item(recollection)?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match replaces {
            None => request.condition_expression("attribute_not_exists(camera)"),
            Some(revision) => request
                .condition_expression("revision = :replaces")
                .expression_attribute_values(":replaces", AttributeValue::N(revision.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(err) => Err(classify(
                &format!(
                    "remembering camera {}'s alert on {} in table {}",
                    recollection.camera, recollection.label, self.table
                ),
                &err,
            )),
        }
    }

    async fn notified(&self, camera: &str, event: &str) -> Result<Option<Notification>, PortError> {
        let entry = notified_entry(event);
        let item = self
            .item(
                camera,
                &entry,
                &format!("reading the notification of event {event}"),
            )
            .await?;
        item.as_ref()
            .map(notification_from_item)
            .transpose()
            .map_err(|why| {
                PortError::Permanent(format!(
                    "table {}: the item ({camera}, {entry}) {why}",
                    self.table
                ))
            })
    }

    async fn remember_notified(&self, notified: &Notified) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(notified_item(notified)?))
            .send()
            .await
            .map_err(|err| {
                classify(
                    &format!(
                        "remembering the notification of event {} in table {}",
                        notified.event, self.table
                    ),
                    &err,
                )
            })?;
        Ok(())
    }

    async fn snooze(&self, camera: &str, until: DateTime<Utc>) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(snooze_item(camera, until)))
            .send()
            .await
            .map_err(|err| {
                classify(
                    &format!("snoozing camera {camera} in table {}", self.table),
                    &err,
                )
            })?;
        Ok(())
    }
}

/// The sort key of a camera's recollection of `label`.
fn label_entry(label: &str) -> String {
    format!("{LABEL_ENTRY_PREFIX}{label}")
}

fn time_text(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The TTL attribute: whole epoch seconds, rounded up so that an item is
/// never forgotten before its time.
fn expires_at(at: DateTime<Utc>) -> AttributeValue {
    let seconds = at.timestamp() + i64::from(at.timestamp_subsec_nanos() > 0);
    AttributeValue::N(seconds.to_string())
}

fn recollection_item(recollection: &Recollection) -> Result<Item, PortError> {
    let boxes = serde_json::to_string(&recollection.boxes)
        .map_err(|err| PortError::Permanent(format!("encoding the remembered boxes: {err}")))?;
    Ok(HashMap::from([
        (
            "camera".into(),
            AttributeValue::S(recollection.camera.clone()),
        ),
        (
            "entry".into(),
            AttributeValue::S(label_entry(&recollection.label)),
        ),
        (
            "label".into(),
            AttributeValue::S(recollection.label.clone()),
        ),
        ("alertedAt".into(), time_text(recollection.alerted_at)),
        (
            "event".into(),
            AttributeValue::S(recollection.event.clone()),
        ),
        ("seenAt".into(), time_text(recollection.seen_at)),
        ("boxes".into(), AttributeValue::S(boxes)),
        (
            "revision".into(),
            AttributeValue::N(recollection.revision.to_string()),
        ),
        ("keepUntil".into(), time_text(recollection.keep_until)),
        ("expiresAt".into(), expires_at(recollection.keep_until)),
    ]))
}

/// A recollection from its item, or what is wrong with the item.
fn recollection_from_item(item: &Item) -> Result<Recollection, String> {
    let required = |name: &str| text(item, name).ok_or_else(|| format!("has no text `{name}`"));
    let time = |name: &str| {
        let value = required(name)?;
        DateTime::parse_from_rfc3339(value)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|err| format!("has `{name}` {value:?}, not an RFC 3339 time: {err}"))
    };
    let boxes: Vec<BoundingBox> = serde_json::from_str(required("boxes")?)
        .map_err(|err| format!("has `boxes` that are not a JSON list of boxes: {err}"))?;
    let revision = match item.get("revision") {
        Some(AttributeValue::N(number)) => number
            .parse()
            .map_err(|_| format!("has `revision` {number}, not a whole number"))?,
        _ => return Err("has no number `revision`".into()),
    };
    Ok(Recollection {
        camera: required("camera")?.to_string(),
        label: required("label")?.to_string(),
        alerted_at: time("alertedAt")?,
        event: required("event")?.to_string(),
        seen_at: time("seenAt")?,
        boxes,
        revision,
        keep_until: time("keepUntil")?,
    })
}

/// The sort key of the notification of `event`.
fn notified_entry(event: &str) -> String {
    format!("{NOTIFIED_ENTRY_PREFIX}{event}")
}

fn notified_item(notified: &Notified) -> Result<Item, PortError> {
    let notification = serde_json::to_string(&notified.notification)
        .map_err(|err| PortError::Permanent(format!("encoding the notification: {err}")))?;
    Ok(HashMap::from([
        ("camera".into(), AttributeValue::S(notified.camera.clone())),
        (
            "entry".into(),
            AttributeValue::S(notified_entry(&notified.event)),
        ),
        ("event".into(), AttributeValue::S(notified.event.clone())),
        (
            "messageId".into(),
            AttributeValue::S(notified.notification.message_id.clone()),
        ),
        ("notification".into(), AttributeValue::S(notification)),
        ("keepUntil".into(), time_text(notified.keep_until)),
        ("expiresAt".into(), expires_at(notified.keep_until)),
    ]))
}

/// The notification an item keeps, or what is wrong with the item.
fn notification_from_item(item: &Item) -> Result<Notification, String> {
    let text = text(item, "notification").ok_or("has no text `notification`")?;
    serde_json::from_str(text)
        .map_err(|err| format!("has a `notification` that is not one in JSON: {err}"))
}

fn snooze_item(camera: &str, until: DateTime<Utc>) -> Item {
    HashMap::from([
        ("camera".into(), AttributeValue::S(camera.to_string())),
        ("entry".into(), AttributeValue::S(SNOOZE_ENTRY.into())),
        ("until".into(), time_text(until)),
        ("expiresAt".into(), expires_at(until)),
    ])
}

/// The end of a snooze item's snooze. One that cannot be read (written by
/// hand, wrongly) is ignored with a warning: a camera's alerts are not
/// stopped by a typo.
fn snooze_until(item: &Item) -> Option<DateTime<Utc>> {
    let until = text(item, "until");
    let parsed = until.and_then(|value| DateTime::parse_from_rfc3339(value).ok());
    if parsed.is_none() {
        tracing::warn!(
            camera = text(item, "camera").unwrap_or_default(),
            until = until.unwrap_or_default(),
            "a snooze item without an RFC 3339 `until` is ignored"
        );
    }
    parsed.map(|at| at.with_timezone(&Utc))
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_runtime_api::shared::IntoShared;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn parked_car() -> Recollection {
        Recollection {
            camera: "drive".into(),
            label: "car".into(),
            alerted_at: utc("2026-12-01T08:00:00.218Z"),
            event: "q8e2tb41pl7gv0drive".into(),
            seen_at: utc("2026-12-01T09:30:00Z"),
            boxes: vec![BoundingBox {
                left: 0.6,
                top: 0.5,
                width: 0.2,
                height: 0.3,
                confidence: 95.5,
            }],
            revision: 3,
            keep_until: utc("2026-12-01T11:30:00.5Z"),
        }
    }

    /// DynamoDB as a test scripts it: the answer (status and JSON body) to
    /// each operation, and every request's operation and body, recorded.
    #[derive(Debug, Clone, Default)]
    struct Answering {
        answers: Arc<Mutex<HashMap<&'static str, (u16, String)>>>,
        requests: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    }

    impl Answering {
        fn answers(self, operation: &'static str, status: u16, body: serde_json::Value) -> Self {
            self.answers
                .lock()
                .unwrap()
                .insert(operation, (status, body.to_string()));
            self
        }

        fn memory(&self) -> DynamoAlertMemory {
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
                .retry_config(RetryConfig::disabled())
                .http_client(self.clone())
                .build();
            DynamoAlertMemory {
                client: Client::from_conf(config),
                table: "ipcam-alerts".into(),
            }
        }

        fn requests(&self) -> Vec<(String, serde_json::Value)> {
            self.requests.lock().unwrap().clone()
        }
    }

    impl HttpConnector for Answering {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            // `X-Amz-Target: DynamoDB_20120810.PutItem`
            let operation = request
                .headers()
                .get("x-amz-target")
                .and_then(|target| target.split('.').nth(1))
                .unwrap_or_default()
                .to_string();
            let body = request
                .body()
                .bytes()
                .and_then(|bytes| serde_json::from_slice(bytes).ok())
                .unwrap_or_default();
            self.requests
                .lock()
                .unwrap()
                .push((operation.clone(), body));
            let (status, body) = self
                .answers
                .lock()
                .unwrap()
                .get(operation.as_str())
                .cloned()
                .unwrap_or((200, "{}".into()));
            let response =
                HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    impl HttpClient for Answering {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.clone().into_shared()
        }
    }

    /// An item as DynamoDB's JSON protocol writes it.
    fn wire(item: &Item) -> serde_json::Value {
        item.iter()
            .map(|(name, value)| {
                let value = match value {
                    AttributeValue::S(text) => serde_json::json!({ "S": text }),
                    AttributeValue::N(number) => serde_json::json!({ "N": number }),
                    other => panic!("no wire form for {other:?} in these tests"),
                };
                (name.clone(), value)
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    fn service_error(code: &str) -> serde_json::Value {
        serde_json::json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
            "message": "as DynamoDB says it",
        })
    }

    #[test]
    fn a_recollection_comes_back_from_its_item_as_it_was_kept() {
        let car = parked_car();
        let item = recollection_item(&car).unwrap();
        assert_eq!(text(&item, "entry"), Some("label#car"));
        assert_eq!(text(&item, "alertedAt"), Some("2026-12-01T08:00:00.218Z"));
        assert_eq!(item["revision"], AttributeValue::N("3".into()));
        assert_eq!(recollection_from_item(&item), Ok(car));
    }

    #[test]
    fn items_expire_at_the_whole_second_after_they_may_be_forgotten() {
        let item = recollection_item(&parked_car()).unwrap();
        let keep_until = utc("2026-12-01T11:30:00Z").timestamp();
        assert_eq!(
            item["expiresAt"],
            AttributeValue::N((keep_until + 1).to_string())
        );
        let snooze = snooze_item("*", utc("2026-12-01T11:30:00Z"));
        assert_eq!(
            snooze["expiresAt"],
            AttributeValue::N(keep_until.to_string())
        );
        assert_eq!(text(&snooze, "entry"), Some("snooze"));
        assert_eq!(snooze_until(&snooze), Some(utc("2026-12-01T11:30:00Z")));
    }

    #[test]
    fn an_item_that_is_not_a_recollection_says_what_is_wrong() {
        let mut item = recollection_item(&parked_car()).unwrap();
        item.insert("seenAt".into(), AttributeValue::S("yesterday".into()));
        let why = recollection_from_item(&item).unwrap_err();
        assert!(why.starts_with("has `seenAt` \"yesterday\""), "{why}");
        item.remove("revision");
        item.insert(
            "seenAt".into(),
            AttributeValue::S("2026-12-01T09:30:00Z".into()),
        );
        assert_eq!(
            recollection_from_item(&item),
            Err("has no number `revision`".into())
        );
    }

    #[test]
    fn a_snooze_written_by_hand_without_a_time_is_ignored() {
        let mut item = snooze_item("drive", utc("2026-12-01T11:30:00Z"));
        item.insert("until".into(), AttributeValue::S("2h".into()));
        assert_eq!(snooze_until(&item), None);
    }

    #[tokio::test]
    async fn recall_reads_the_cameras_items_and_the_latest_snooze_wins() {
        let car = parked_car();
        let own_snooze = snooze_item("drive", utc("2026-12-01T12:00:00Z"));
        let every_camera = snooze_item("*", utc("2026-12-01T14:00:00Z"));
        let dynamodb = Answering::default()
            .answers(
                "Query",
                200,
                serde_json::json!({
                    "Count": 2,
                    "Items": [wire(&recollection_item(&car).unwrap()), wire(&own_snooze)],
                }),
            )
            .answers(
                "GetItem",
                200,
                serde_json::json!({ "Item": wire(&every_camera) }),
            );

        let memory = dynamodb.memory().recall("drive").await.unwrap();

        assert_eq!(memory.recollections, [car]);
        assert_eq!(memory.snoozed_until, Some(utc("2026-12-01T14:00:00Z")));
        let requests = dynamodb.requests();
        assert_eq!(requests[0].0, "Query");
        assert_eq!(requests[0].1["TableName"], "ipcam-alerts");
        assert_eq!(
            requests[0].1["ExpressionAttributeValues"][":camera"],
            serde_json::json!({ "S": "drive" })
        );
        assert_eq!(requests[0].1["ConsistentRead"], true);
        assert_eq!(requests[1].0, "GetItem");
        assert_eq!(
            requests[1].1["Key"],
            serde_json::json!({ "camera": { "S": "*" }, "entry": { "S": "snooze" } })
        );
    }

    #[tokio::test]
    async fn the_cameras_own_snooze_wins_when_it_ends_later() {
        let dynamodb = Answering::default()
            .answers(
                "Query",
                200,
                serde_json::json!({
                    "Items": [wire(&snooze_item("drive", utc("2026-12-02T08:00:00Z")))],
                }),
            )
            .answers(
                "GetItem",
                200,
                serde_json::json!({ "Item": wire(&snooze_item("*", utc("2026-12-01T14:00:00Z"))) }),
            );
        let memory = dynamodb.memory().recall("drive").await.unwrap();
        assert_eq!(memory.snoozed_until, Some(utc("2026-12-02T08:00:00Z")));
        assert!(memory.recollections.is_empty());
    }

    #[tokio::test]
    async fn a_first_claim_is_written_only_where_nothing_is_remembered() {
        let dynamodb = Answering::default();
        let kept = dynamodb.memory().remember(&parked_car(), None).await;
        assert_eq!(kept, Ok(true));
        let [(operation, request)] = &dynamodb.requests()[..] else {
            panic!("one request expected: {:?}", dynamodb.requests());
        };
        assert_eq!(operation, "PutItem");
        assert_eq!(
            request["ConditionExpression"],
            "attribute_not_exists(camera)"
        );
        assert_eq!(
            request["Item"]["entry"],
            serde_json::json!({ "S": "label#car" })
        );
        assert_eq!(request["Item"]["revision"], serde_json::json!({ "N": "3" }));
    }

    #[tokio::test]
    async fn a_write_that_lost_the_race_is_false_not_an_error() {
        let dynamodb = Answering::default().answers(
            "PutItem",
            400,
            service_error("ConditionalCheckFailedException"),
        );
        let kept = dynamodb.memory().remember(&parked_car(), Some(2)).await;
        assert_eq!(kept, Ok(false));
        let request = &dynamodb.requests()[0].1;
        assert_eq!(request["ConditionExpression"], "revision = :replaces");
        assert_eq!(
            request["ExpressionAttributeValues"][":replaces"],
            serde_json::json!({ "N": "2" })
        );
    }

    #[tokio::test]
    async fn dynamodb_errors_are_sorted_like_every_other_service_error() {
        for (code, throttled, missing) in [
            ("ProvisionedThroughputExceededException", true, false),
            ("ThrottlingException", true, false),
            ("ResourceNotFoundException", false, true),
        ] {
            let dynamodb = Answering::default().answers("Query", 400, service_error(code));
            let err = dynamodb.memory().recall("drive").await.unwrap_err();
            assert_eq!(matches!(err, PortError::Throttled(_)), throttled, "{err}");
            assert_eq!(matches!(err, PortError::NotFound(_)), missing, "{err}");
            assert!(err.to_string().contains("table ipcam-alerts"), "{err}");
        }
        let dynamodb =
            Answering::default().answers("PutItem", 500, service_error("InternalServerError"));
        let err = dynamodb.memory().remember(&parked_car(), None).await;
        assert!(matches!(err, Err(PortError::Transient(_))), "{err:?}");
    }

    fn notified_person() -> Notified {
        Notified {
            camera: "frontdoor".into(),
            event: "q8e2tb41pl7gv0frontdoor".into(),
            notification: Notification {
                message_id: "5d4c2a8e-sns".into(),
                subject: "Person at frontdoor".into(),
                snapshot: None,
                email: None,
            },
            keep_until: utc("2026-12-02T08:00:00Z"),
        }
    }

    #[tokio::test]
    async fn the_notification_of_an_event_is_kept_under_its_camera_until_a_day_later() {
        let dynamodb = Answering::default();
        let notified = notified_person();
        dynamodb
            .memory()
            .remember_notified(&notified)
            .await
            .unwrap();
        let [(operation, request)] = &dynamodb.requests()[..] else {
            panic!("one request expected: {:?}", dynamodb.requests());
        };
        assert_eq!(operation, "PutItem");
        let item = notified_item(&notified).unwrap();
        assert_eq!(request["Item"], wire(&item));
        assert_eq!(
            text(&item, "entry"),
            Some("notified#q8e2tb41pl7gv0frontdoor")
        );
        assert_eq!(text(&item, "messageId"), Some("5d4c2a8e-sns"));
        assert_eq!(
            item["expiresAt"],
            AttributeValue::N(utc("2026-12-02T08:00:00Z").timestamp().to_string())
        );
        assert_eq!(
            notification_from_item(&item),
            Ok(notified.notification.clone())
        );
    }

    #[tokio::test]
    async fn a_notification_is_looked_up_by_camera_and_event_with_a_consistent_read() {
        let notified = notified_person();
        let dynamodb = Answering::default().answers(
            "GetItem",
            200,
            serde_json::json!({ "Item": wire(&notified_item(&notified).unwrap()) }),
        );
        let found = dynamodb
            .memory()
            .notified("frontdoor", "q8e2tb41pl7gv0frontdoor")
            .await
            .unwrap();
        assert_eq!(found, Some(notified.notification));
        let request = &dynamodb.requests()[0].1;
        assert_eq!(
            request["Key"],
            serde_json::json!({
                "camera": { "S": "frontdoor" },
                "entry": { "S": "notified#q8e2tb41pl7gv0frontdoor" },
            })
        );
        assert_eq!(request["ConsistentRead"], true);

        let nothing = Answering::default().answers("GetItem", 200, serde_json::json!({}));
        let found = nothing.memory().notified("frontdoor", "other").await;
        assert_eq!(found, Ok(None));
    }

    #[tokio::test]
    async fn a_recalled_camera_skips_its_notifications() {
        let dynamodb = Answering::default().answers(
            "Query",
            200,
            serde_json::json!({ "Items": [wire(&notified_item(&notified_person()).unwrap())] }),
        );
        let memory = dynamodb.memory().recall("frontdoor").await.unwrap();
        assert!(memory.recollections.is_empty());
        assert_eq!(memory.snoozed_until, None);
    }

    #[tokio::test]
    async fn a_snooze_is_one_item_under_the_camera() {
        let dynamodb = Answering::default();
        let until = utc("2026-12-01T14:00:00Z");
        dynamodb.memory().snooze(ALL_CAMERAS, until).await.unwrap();
        let request = &dynamodb.requests()[0].1;
        assert_eq!(request["Item"], wire(&snooze_item("*", until)));
        assert!(request.get("ConditionExpression").is_none());
    }
}
