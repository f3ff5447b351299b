//! ingest-sendgrid: behind an HTTP API or Function URL, takes SendGrid
//! Inbound Parse posts (raw or parsed mode), lets each message through the
//! door of the `[ingest]` configuration, stores it in `IPCAM_BUCKET` and
//! starts its execution. The credentials SendGrid presents are
//! `IPCAM_SENDGRID_USERNAME` and the password kept in the SSM Parameter
//! Store SecureString `IPCAM_SENDGRID_PASSWORD_PARAMETER` names (`make
//! deploy` writes it), read once per cold start: the password is in no
//! environment variable, stack parameter or template. `lambda_http` turns
//! the API's event into a request (base64 bodies decoded) and the response
//! back.
//!
//! Answers: 200 for what was taken and for what can never be taken (logged
//! and counted in `IPCam/RejectedMessages`, so SendGrid does not retry it
//! for three days), 401 for wrong credentials, 503 for a failure that may
//! pass. Posts over about 4.4 MB (6 MB of event, base64) never reach it:
//! API Gateway answers them itself (see docs/deploy.md).

use aws_sdk_ssm::error::DisplayErrorContext;
use ipcam_adapters_aws::lambda::{cold_start_with, inbox, secret_setting, setting, SdkConfig};
use ipcam_adapters_aws::{S3Store, StepFunctions};
use ipcam_core::config::Config;
use ipcam_core::stages::ingest::{ingest_sendgrid, BasicCredentials, Inbox, SenderRules};
use lambda_http::{run, service_fn, Body, Error, Request, Response};

mod http;

struct Function {
    config: Config,
    inbox: Inbox,
    credentials: BasicCredentials,
    store: S3Store,
    executions: StepFunctions,
}

async fn handle(f: &Function, request: Request) -> Result<Response<Body>, Error> {
    let post = http::post(&request);
    let outcome = ingest_sendgrid(
        &f.config,
        &post,
        Some(&f.credentials),
        SenderRules::Apply,
        &f.inbox,
        &f.store,
        &f.executions,
    )
    .await;
    http::respond(outcome)
}

/// The password SendGrid presents, from the SecureString parameter named by
/// `IPCAM_SENDGRID_PASSWORD_PARAMETER`, decrypted by SSM; an empty one is
/// refused (it would let in anyone who guesses the username).
async fn sendgrid_password(sdk: SdkConfig) -> Result<String, Error> {
    let name = setting("IPCAM_SENDGRID_PASSWORD_PARAMETER")?;
    let answer = aws_sdk_ssm::Client::new(&sdk)
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|err| {
            format!(
                "reading the SendGrid password from the SSM parameter {name} (make deploy writes it): {}",
                DisplayErrorContext(&err)
            )
        })?;
    let password = answer
        .parameter()
        .and_then(|parameter| parameter.value())
        .unwrap_or_default();
    if password.is_empty() {
        return Err(format!("the SSM parameter {name} is empty: set a real password").into());
    }
    Ok(password.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // The password is read while the configuration is: one wait at cold
    // start instead of two.
    let (start, password) = cold_start_with(sendgrid_password).await?;
    let function = Function {
        executions: StepFunctions::new(&start.sdk, setting("IPCAM_STATE_MACHINE_ARN")?),
        config: start.config,
        inbox: inbox()?,
        credentials: BasicCredentials {
            username: secret_setting("IPCAM_SENDGRID_USERNAME")?,
            password,
        },
        store: start.store,
    };
    let function = &function;
    run(service_fn(move |request| async move {
        handle(function, request).await
    }))
    .await
}
