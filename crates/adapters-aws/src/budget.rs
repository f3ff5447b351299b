//! [`DetectorBudget`] on AWS: the counters of Rekognition calls in the
//! alerts table, and the operational topic told when a cap is reached.
//!
//! The counters are items of the alerts table (its layout is in dynamodb.rs)
//! under the partition `#budget`, which no camera is called, with the
//! sort key `day#2026-12-02` or `month#2026-12`, the count in `calls` (N)
//! and `expiresAt` (N, the table's TTL). A count is one `UpdateItem` with
//! `ADD`, atomic in DynamoDB: executions counting at once each get a value
//! of their own, and no conditional write is needed. Taking a call back
//! adds -1, only to a counter that still exists.

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use crate::classify;
use ipcam_core::ports::{DetectorBudget, PortError};

/// The partition of the alerts table the counters are kept under.
const BUDGET_PARTITION: &str = "#budget";

/// The subject of the operational message (SNS allows 100 characters).
const CAP_REACHED_SUBJECT: &str = "IPCam: the detector budget is reached";

/// The detector budget's counters in a DynamoDB table, and the SNS topic
/// of operational alarms.
#[derive(Debug, Clone)]
pub struct DynamoBudget {
    table_client: aws_sdk_dynamodb::Client,
    table: String,
    topic_client: aws_sdk_sns::Client,
    ops_topic_arn: String,
}

impl DynamoBudget {
    pub fn new(config: &aws_config::SdkConfig, table: String, ops_topic_arn: String) -> Self {
        DynamoBudget {
            table_client: aws_sdk_dynamodb::Client::new(config),
            table,
            topic_client: aws_sdk_sns::Client::new(config),
            ops_topic_arn,
        }
    }

    /// An update of the item of counter `counter`.
    fn counter_update(&self, counter: &str) -> UpdateItemFluentBuilder {
        self.table_client
            .update_item()
            .table_name(&self.table)
            .key("camera", AttributeValue::S(BUDGET_PARTITION.into()))
            .key("entry", AttributeValue::S(counter.into()))
    }
}

impl DetectorBudget for DynamoBudget {
    async fn count(&self, counter: &str, keep_until: DateTime<Utc>) -> Result<u64, PortError> {
        let output = self
            .counter_update(counter)
            .update_expression("ADD calls :one SET expiresAt = if_not_exists(expiresAt, :expires)")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(keep_until.timestamp().to_string()),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|err| {
                classify(
                    &format!(
                        "counting a detector call in {counter} of table {}",
                        self.table
                    ),
                    &err,
                )
            })?;
        output
            .attributes()
            .and_then(|attributes| attributes.get("calls"))
            .and_then(|calls| calls.as_n().ok())
            .and_then(|calls| calls.parse().ok())
            .ok_or_else(|| {
                PortError::Permanent(format!(
                    "table {} did not return the new count of {counter}",
                    self.table
                ))
            })
    }

    async fn uncount(&self, counter: &str) -> Result<(), PortError> {
        let taken_back = self
            .counter_update(counter)
            .update_expression("ADD calls :minus_one")
            // A counter past its TTL is not made again, without one.
            .condition_expression("attribute_exists(calls)")
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
            .send()
            .await;
        match taken_back {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(err) => Err(classify(
                &format!(
                    "taking a detector call back from {counter} of table {}",
                    self.table
                ),
                &err,
            )),
        }
    }

    async fn cap_reached(&self, notice: &str) -> Result<(), PortError> {
        tracing::error!("{notice}");
        self.topic_client
            .publish()
            .topic_arn(&self.ops_topic_arn)
            .subject(CAP_REACHED_SUBJECT)
            .message(notice)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| {
                classify(
                    &format!(
                        "telling topic {} that a cap was reached",
                        self.ops_topic_arn
                    ),
                    &err,
                )
            })
    }
}
