//! A queue of kept events on Amazon SQS: ingest-ses's on-failure
//! destination, read by `redrive`.

use aws_sdk_sqs::Client;

use crate::classify;
use ipcam_core::ports::PortError;

/// An SQS queue read one batch at a time.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

/// A message taken from the queue: hidden from other readers until its
/// visibility timeout ends, gone once [`SqsQueue::delete`]d.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    pub id: String,
    pub body: String,
    /// What [`SqsQueue::delete`] needs.
    pub receipt: String,
}

impl SqsQueue {
    pub fn new(config: &aws_config::SdkConfig, url: String) -> Self {
        SqsQueue {
            client: Client::new(config),
            url,
        }
    }

    /// Up to ten messages, hidden from other readers for
    /// `hide_for_seconds`; none when the queue is empty.
    pub async fn receive(&self, hide_for_seconds: i32) -> Result<Vec<QueuedMessage>, PortError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .visibility_timeout(hide_for_seconds)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|err| classify(&format!("reading the queue {}", self.url), &err))?;
        Ok(output
            .messages()
            .iter()
            .map(|message| QueuedMessage {
                id: message.message_id().unwrap_or_default().to_string(),
                body: message.body().unwrap_or_default().to_string(),
                receipt: message.receipt_handle().unwrap_or_default().to_string(),
            })
            .collect())
    }

    /// Deletes a message taken from the queue.
    pub async fn delete(&self, message: &QueuedMessage) -> Result<(), PortError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .map_err(|err| {
                classify(
                    &format!("deleting message {} from {}", message.id, self.url),
                    &err,
                )
            })?;
        Ok(())
    }
}
