//! # ipcam-adapters-aws
//!
//! The ports of `ipcam-core` on AWS (S3, Rekognition, SNS, SES, Step
//! Functions and DynamoDB) and what every Lambda function shares ([`lambda`]: JSON
//! logs, settings, the configuration from S3, stage errors as Lambda errors;
//! [`metric`]: CloudWatch metrics as Embedded Metric Format log lines).
//!
//! Each adapter wraps one SDK client. Clients are built once per Lambda cold
//! start from [`lambda::sdk_config`] (or, in the command-line tools, from
//! [`sdk_config`]), which honours `AWS_ENDPOINT_URL` (how the tests point
//! them at emulated AWS).

mod budget;
mod dynamodb;
pub mod lambda;
pub mod metric;
mod rekognition;
mod s3;
mod ses;
pub mod ses_event;
mod sfn;
mod sns;
mod sqs;
mod trust;

pub use budget::DynamoBudget;
pub use dynamodb::DynamoAlertMemory;
pub use rekognition::RekognitionDetector;
pub use s3::S3Store;
pub use ses::SesMailer;
pub use sfn::StepFunctions;
pub use sns::SnsNotifier;
pub use sqs::{QueuedMessage, SqsQueue};

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use ipcam_core::ports::PortError;

/// The shared SDK configuration from the environment, as the SDK's default
/// chains find it (variables, profiles, single sign-on, instance roles): for
/// the command-line tools. The Lambda functions load theirs with
/// [`lambda::sdk_config`].
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}

/// Error codes with which AWS services ask a caller to slow down.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// Sorts an SDK error by what the caller should do about it.
pub(crate) fn classify<E, R>(doing: &str, err: &SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = format!("{doing}: {}", aws_sdk_s3::error::DisplayErrorContext(err));
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if THROTTLING_CODES.contains(&code) {
                PortError::Throttled(detail)
            } else if matches!(
                code,
                "NoSuchKey" | "NoSuchBucket" | "NotFound" | "ResourceNotFoundException"
            ) {
                PortError::NotFound(detail)
            } else if code.starts_with("InternalServer")
                || code == "ServiceUnavailable"
                || code == "InternalError"
            {
                PortError::Transient(detail)
            } else {
                PortError::Permanent(detail)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient(detail)
        }
        _ => PortError::Permanent(detail),
    }
}
