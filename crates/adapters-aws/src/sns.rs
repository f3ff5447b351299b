//! [`Notifier`] on Amazon SNS.

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;

use crate::classify;
use ipcam_core::alert::Alert;
use ipcam_core::ports::{Notifier, PortError};

/// Alerts published to one SNS topic: readable text for e-mail and SMS
/// subscribers, the JSON alert for queues, functions and HTTPS endpoints,
/// and the attributes `camera` and `labels` for filter policies.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(config: &aws_config::SdkConfig, topic_arn: String) -> Self {
        SnsNotifier {
            client: Client::new(config),
            topic_arn,
        }
    }
}

/// The per-protocol message bodies of one alert (SNS `MessageStructure=json`).
pub fn message_per_protocol(alert: &Alert) -> String {
    let json = alert.json.to_string();
    serde_json::json!({
        "default": alert.text,
        "email": alert.text,
        "sms": alert.subject,
        "sqs": json,
        "lambda": json,
        "http": json,
        "https": json,
        "firehose": json,
    })
    .to_string()
}

impl Notifier for SnsNotifier {
    async fn publish(&self, alert: &Alert) -> Result<String, PortError> {
        let string = |value: String| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|err| PortError::Permanent(err.to_string()))
        };
        let labels = MessageAttributeValue::builder()
            .data_type("String.Array")
            .string_value(serde_json::to_string(&alert.labels).unwrap_or_else(|_| "[]".into()))
            .build()
            .map_err(|err| PortError::Permanent(err.to_string()))?;
        let output = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&alert.subject)
            .message_structure("json")
            .message(message_per_protocol(alert))
            .message_attributes("camera", string(alert.camera.clone())?)
            .message_attributes("labels", labels)
            .send()
            .await
            .map_err(|err| classify("publishing the alert to SNS", &err))?;
        Ok(output.message_id().unwrap_or_default().to_string())
    }
}
