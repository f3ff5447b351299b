//! Counting refused messages for an alarm, with no metrics SDK: a log line
//! in CloudWatch's Embedded Metric Format becomes a data point of the
//! metric `IPCam/RejectedMessages` when a Lambda prints it on its own line.
//!
//! Each line counts once under its `Reason` dimension and once with no
//! dimension, so one alarm can watch the total and a graph can split it.

use serde_json::json;

use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::Rejection;

/// CloudWatch namespace of the project's own metrics.
pub const NAMESPACE: &str = "IPCam";
/// Metric counting messages refused at the door.
pub const REJECTED_MESSAGES: &str = "RejectedMessages";

/// The EMF log line that counts one refused message. `at_millis` is the
/// time of the data point (milliseconds since the Unix epoch); `message`
/// identifies the message in the log (an SES message id, a digest).
pub fn rejected_message_line(
    rejection: &Rejection,
    source: Source,
    message: &str,
    at_millis: i64,
) -> String {
    json!({
        "_aws": {
            "Timestamp": at_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Reason"], []],
                "Metrics": [{ "Name": REJECTED_MESSAGES, "Unit": "Count" }],
            }],
        },
        "Reason": rejection.reason.name(),
        REJECTED_MESSAGES: 1,
        "source": source,
        "message": message,
        "detail": rejection.detail,
    })
    .to_string()
}

/// Logs a refused message and counts it: a warning for the log, and the
/// EMF line on stdout, where the Lambda runtime hands it to CloudWatch.
pub fn report_rejection(rejection: &Rejection, source: Source, message: &str) {
    tracing::warn!(%message, reason = rejection.reason.name(), "{rejection}");
    println!(
        "{}",
        rejected_message_line(
            rejection,
            source,
            message,
            chrono::Utc::now().timestamp_millis()
        )
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcam_core::stages::ingest::RejectReason;

    #[test]
    fn line_is_an_emf_document_counting_one_rejection_by_reason() {
        let rejection = Rejection::new(RejectReason::SenderNotAllowed, "x@y is not allowed");
        let line = rejected_message_line(&rejection, Source::Ses, "abc123", 1_700_000_000_000);
        assert!(!line.contains('\n'));
        let document: serde_json::Value = serde_json::from_str(&line).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(directive["Namespace"], "IPCam");
        assert_eq!(directive["Dimensions"], json!([["Reason"], []]));
        assert_eq!(directive["Metrics"][0]["Name"], "RejectedMessages");
        assert_eq!(directive["Metrics"][0]["Unit"], "Count");
        // Every dimension and metric named in the directive is a root member.
        assert_eq!(document["Reason"], "SenderNotAllowed");
        assert_eq!(document["RejectedMessages"], 1);
        assert_eq!(document["source"], "ses");
        assert_eq!(document["message"], "abc123");
    }
}
