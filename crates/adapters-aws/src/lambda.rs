//! What every IPCam Lambda shares, so that each function crate is only its
//! handler: JSON logs for CloudWatch, settings read from the environment,
//! the configuration file read from S3 once per cold start, and stage errors
//! reported under the error type the state machine's `Retry` and `Catch`
//! match on.

use crate::S3Store;
use ipcam_core::config::Config;
use ipcam_core::contract::ObjectRef;
use ipcam_core::ports::ObjectStore;
use ipcam_core::stages::ingest::Inbox;
use ipcam_core::stages::StageError;

pub use lambda_runtime::{run, service_fn, Diagnostic, Error, LambdaEvent};

/// JSON logs, one object per line, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}

/// A required setting from the environment, or an error naming it.
pub fn setting(name: &str) -> Result<String, Error> {
    std::env::var(name)
        .map_err(|_| format!("environment variable {name} is not set: the stack sets it").into())
}

/// A required secret from the environment: set, and not empty (an empty
/// password would let in anyone who guesses the username).
pub fn secret_setting(name: &str) -> Result<String, Error> {
    let value = setting(name)?;
    if value.is_empty() {
        return Err(format!("environment variable {name} is empty: set a real credential").into());
    }
    Ok(value)
}

/// Where received messages are kept: `IPCAM_BUCKET`, under
/// `IPCAM_INCOMING_PREFIX` (the SES receipt rule's S3 action prefix,
/// `incoming/` when unset).
pub fn inbox() -> Result<Inbox, Error> {
    Ok(Inbox {
        bucket: setting("IPCAM_BUCKET")?,
        prefix: std::env::var("IPCAM_INCOMING_PREFIX").unwrap_or_else(|_| "incoming/".into()),
    })
}

/// What a function builds once per cold start, before its first event:
/// JSON logs, the SDK configuration, the S3 store, and the configuration
/// file read from it.
pub struct ColdStart {
    pub sdk: aws_config::SdkConfig,
    pub store: S3Store,
    pub config: Config,
}

/// Starts logging, loads the SDK configuration and reads the configuration
/// file; fails, so that the function does not start, when the file is
/// missing or wrong.
pub async fn cold_start() -> Result<ColdStart, Error> {
    init_logging();
    let sdk = crate::sdk_config().await;
    let store = S3Store::new(&sdk);
    let config = load_config(&store).await?;
    Ok(ColdStart { sdk, store, config })
}

/// Reads the configuration file from `s3://$IPCAM_BUCKET/$IPCAM_CONFIG_KEY`.
pub async fn load_config(store: &impl ObjectStore) -> Result<Config, Error> {
    let object = ObjectRef {
        bucket: setting("IPCAM_BUCKET")?,
        key: setting("IPCAM_CONFIG_KEY")?,
    };
    let bytes = store.get(&object).await.map_err(|err| {
        format!(
            "reading the configuration s3://{}/{}: {err}",
            object.bucket, object.key
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "configuration s3://{}/{} is not UTF-8 text",
            object.bucket, object.key
        )
    })?;
    Config::parse(&text)
        .map_err(|err| format!("configuration s3://{}/{}: {err}", object.bucket, object.key).into())
}

/// A stage error as the Lambda reports it: its kind becomes the error type.
pub fn diagnostic(err: StageError) -> Diagnostic {
    tracing::error!(error_type = err.kind.error_type(), "{}", err.message);
    Diagnostic {
        error_type: err.kind.error_type().to_string(),
        error_message: err.message,
    }
}
