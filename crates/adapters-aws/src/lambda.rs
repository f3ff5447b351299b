//! What every IPCam Lambda shares, so that each function crate is only its
//! handler: JSON logs for CloudWatch, settings read from the environment,
//! the configuration file read from S3 once per cold start, and stage errors
//! reported under the error type the state machine's `Retry` and `Catch`
//! match on.
//!
//! Each function's `main` runs on tokio's current-thread runtime: Lambda
//! gives a function one event at a time, and the requests an event makes
//! can wait together on one thread; worker threads would only add their
//! start to every cold start (docs/performance.md).

use std::future::Future;

use crate::S3Store;
use ipcam_core::config::Config;
use ipcam_core::contract::ObjectRef;
use ipcam_core::ports::ObjectStore;
use ipcam_core::stages::ingest::Inbox;
use ipcam_core::stages::StageError;

use aws_config::environment::{
    EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider,
};
pub use aws_config::SdkConfig;
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
    pub sdk: SdkConfig,
    pub store: S3Store,
    pub config: Config,
}

/// Starts logging, loads the SDK configuration and reads the configuration
/// file; fails, so that the function does not start, when the file is
/// missing or wrong.
pub async fn cold_start() -> Result<ColdStart, Error> {
    let (start, ()) = cold_start_with(|_| async { Ok(()) }).await?;
    Ok(start)
}

/// [`cold_start`] for a function that needs more than the configuration
/// file before its first event (a secret from another service): `also`,
/// given the SDK configuration, runs while the file is read, so that a cold
/// start waits for the two requests at once rather than one after the
/// other. Fails when either fails, with the configuration's error when
/// both do.
pub async fn cold_start_with<T, F>(
    also: impl FnOnce(SdkConfig) -> F,
) -> Result<(ColdStart, T), Error>
where
    F: Future<Output = Result<T, Error>>,
{
    init_logging();
    let sdk = sdk_config().await?;
    let store = S3Store::new(&sdk);
    let (config, more) = read_config_beside(&store, config_object()?, also(sdk.clone())).await;
    let config = config?;
    Ok((ColdStart { sdk, store, config }, more?))
}

/// The SDK configuration of a Lambda function. Lambda gives every function
/// its region and its role's credentials in environment variables, so only
/// those are read: the SDK's default chains would build, at each cold start,
/// clients for STS and the instance metadata service that are never asked.
/// Requests go through [`aws_endpoints_client`](crate::trust::aws_endpoints_client),
/// which trusts Amazon Trust Services alone (or the bundle `SSL_CERT_FILE`
/// names). `AWS_ENDPOINT_URL` is honoured
/// (how the tests point the functions at emulated AWS).
pub async fn sdk_config() -> Result<SdkConfig, Error> {
    Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(EnvironmentVariableRegionProvider::new())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .http_client(crate::trust::aws_endpoints_client()?)
        .load()
        .await)
}

/// Reads the configuration file from `s3://$IPCAM_BUCKET/$IPCAM_CONFIG_KEY`.
pub async fn load_config(store: &impl ObjectStore) -> Result<Config, Error> {
    read_config(store, config_object()?).await
}

/// Where the configuration file is: `s3://$IPCAM_BUCKET/$IPCAM_CONFIG_KEY`.
fn config_object() -> Result<ObjectRef, Error> {
    Ok(ObjectRef {
        bucket: setting("IPCAM_BUCKET")?,
        key: setting("IPCAM_CONFIG_KEY")?,
    })
}

/// The configuration file read while `also` runs: the file's error first,
/// `also`'s outcome once the file is read.
async fn read_config_beside<T>(
    store: &impl ObjectStore,
    object: ObjectRef,
    also: impl Future<Output = Result<T, Error>>,
) -> (Result<Config, Error>, Result<T, Error>) {
    tokio::join!(read_config(store, object), also)
}

async fn read_config(store: &impl ObjectStore, object: ObjectRef) -> Result<Config, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ipcam_core::ports::PortError;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Holds a configuration, and gives it only once the request beside it
    /// has started (after a bounded wait, so that reading the two one
    /// after the other fails rather than hangs).
    struct ConfigAfterOther<'a> {
        other_started: &'a AtomicBool,
    }

    impl ObjectStore for ConfigAfterOther<'_> {
        async fn get(&self, object: &ObjectRef) -> Result<Vec<u8>, PortError> {
            for _ in 0..100 {
                if self.other_started.load(Ordering::SeqCst) {
                    return Ok(
                        b"[[cameras]]\nname = \"door\"\nfrom = \"door@cams.example.com\"\n"
                            .to_vec(),
                    );
                }
                tokio::task::yield_now().await;
            }
            Err(PortError::Transient(format!("{}: read alone", object.key)))
        }

        async fn put(&self, _: &ObjectRef, _: Vec<u8>, _: &str) -> Result<(), PortError> {
            Ok(())
        }
    }

    fn config_file() -> ObjectRef {
        ObjectRef {
            bucket: "bucket".into(),
            key: "config/ipcam.toml".into(),
        }
    }

    #[tokio::test]
    async fn the_configuration_is_read_while_the_other_request_runs() {
        let other_started = AtomicBool::new(false);
        let store = ConfigAfterOther {
            other_started: &other_started,
        };
        let other = async {
            other_started.store(true, Ordering::SeqCst);
            Ok("password")
        };
        let (config, other) = read_config_beside(&store, config_file(), other).await;
        assert_eq!(config.unwrap().cameras[0].name, "door");
        assert_eq!(other.unwrap(), "password");
    }

    #[tokio::test]
    async fn a_missing_configuration_is_named_whatever_the_other_request_did() {
        let never = AtomicBool::new(false);
        let store = ConfigAfterOther {
            other_started: &never,
        };
        let other = async { Err::<(), Error>("no such parameter".into()) };
        let (config, other) = read_config_beside(&store, config_file(), other).await;
        let err = config.unwrap_err().to_string();
        assert!(err.contains("s3://bucket/config/ipcam.toml"), "{err}");
        assert_eq!(other.unwrap_err().to_string(), "no such parameter");
    }
}
