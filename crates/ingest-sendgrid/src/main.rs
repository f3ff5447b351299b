//! ingest-sendgrid: behind an HTTP API or Function URL, takes SendGrid
//! Inbound Parse posts (raw or parsed mode), lets each message through the
//! door of the `[ingest]` configuration, stores it in `IPCAM_BUCKET` and
//! starts its execution. Credentials come from `IPCAM_SENDGRID_USERNAME`
//! and `IPCAM_SENDGRID_PASSWORD`. `lambda_http` turns the API's event into
//! a request (base64 bodies decoded) and the response back.
//!
//! Answers: 200 for what was taken and for what can never be taken (logged
//! and counted in `IPCam/RejectedMessages`, so SendGrid does not retry it
//! for three days), 401 for wrong credentials, 503 for a failure that may
//! pass. Posts over about 4.4 MB (6 MB of event, base64) never reach it:
//! API Gateway answers them itself (see docs/deploy.md).

use ipcam_adapters_aws::lambda::{cold_start, inbox, secret_setting, setting};
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

#[tokio::main]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let function = Function {
        executions: StepFunctions::new(&start.sdk, setting("IPCAM_STATE_MACHINE_ARN")?),
        config: start.config,
        inbox: inbox()?,
        credentials: BasicCredentials {
            username: secret_setting("IPCAM_SENDGRID_USERNAME")?,
            password: secret_setting("IPCAM_SENDGRID_PASSWORD")?,
        },
        store: start.store,
    };
    let function = &function;
    run(service_fn(move |request| async move {
        handle(function, request).await
    }))
    .await
}
