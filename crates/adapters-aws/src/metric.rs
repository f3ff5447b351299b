//! Counting refused messages for an alarm, with no metrics SDK: a log line
//! in CloudWatch's Embedded Metric Format becomes a data point of the
//! metric `IPCam/RejectedMessages` when a Lambda prints it on its own line.
//!
//! Each line counts once under its `Reason` dimension and once with no
//! dimension, so one alarm can watch the total and a graph can split it.
//!
//! Lambda filters a function's JSON log lines by their `level` before they
//! reach CloudWatch (the stack's `LogLevel`), and a line without a level, or
//! without an RFC 3339 `timestamp`, counts as INFO: a bare EMF line would be
//! dropped, and the metric with it, under `LogLevel=WARN`. So the line
//! carries `"level": "WARN"` (a refused message is worth a warning) and its
//! time as `timestamp`: it reaches CloudWatch whenever warnings do, which
//! the stack's `LogLevel` always lets through.

use serde_json::json;

use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::Rejection;

/// CloudWatch namespace of the project's own metrics.
pub const NAMESPACE: &str = "IPCam";
/// Metric counting messages refused at the door.
pub const REJECTED_MESSAGES: &str = "RejectedMessages";
/// The level the line is logged at, for Lambda's log-level filter.
pub const REJECTION_LEVEL: &str = "WARN";

/// The EMF log line that counts one refused message. `at_millis` is the
/// time of the data point (milliseconds since the Unix epoch); `message`
/// identifies the message in the log (an SES message id, a digest).
pub fn rejected_message_line(
    rejection: &Rejection,
    source: Source,
    message: &str,
    at_millis: i64,
) -> String {
    let timestamp = chrono::DateTime::from_timestamp_millis(at_millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "level": REJECTION_LEVEL,
        "timestamp": timestamp,
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

    /// The level Lambda gives a JSON log line of a custom runtime: its
    /// `level` when that is one Lambda knows and the line has an RFC 3339
    /// `timestamp`, INFO otherwise (the Lambda developer guide, "Log-level
    /// filtering").
    fn lambda_level(line: &str) -> &'static str {
        let document: serde_json::Value = serde_json::from_str(line).unwrap();
        let timestamp_valid = document["timestamp"]
            .as_str()
            .is_some_and(|time| chrono::DateTime::parse_from_rfc3339(time).is_ok());
        let level = document["level"].as_str().map(str::to_ascii_uppercase);
        let known = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
        match level {
            Some(level) if timestamp_valid => known
                .into_iter()
                .find(|name| *name == level)
                .unwrap_or("INFO"),
            _ => "INFO",
        }
    }

    /// Whether Lambda sends a line of `level` on with `ApplicationLogLevel`
    /// set to `filter`.
    fn kept_under(level: &str, filter: &str) -> bool {
        let order = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
        let rank = |name: &str| order.iter().position(|known| *known == name).unwrap();
        rank(level) >= rank(filter)
    }

    #[test]
    fn the_line_reaches_cloudwatch_under_every_log_level_the_stack_allows() {
        let rejection = Rejection::new(RejectReason::SenderNotAllowed, "x@y is not allowed");
        let line = rejected_message_line(&rejection, Source::Ses, "abc123", 1_700_000_000_000);
        let level = lambda_level(&line);
        for filter in ["TRACE", "DEBUG", "INFO", "WARN"] {
            assert!(
                kept_under(level, filter),
                "a {level} line is dropped under LogLevel={filter}: {line}"
            );
        }
        let document: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(document["timestamp"], "2023-11-14T22:13:20.000Z");
    }

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
