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
//! pass.
//!
//! Posts the platform refuses never reach this function: an HTTP API takes
//! at most 10 MB, and a synchronous Lambda invocation at most 6 MB of event,
//! in which a multipart body travels base64-encoded (4/3 larger), so posts
//! beyond about 4.4 MB are answered by API Gateway itself (413 or 5xx) and
//! SendGrid retries them. Only the API's own metrics (`4xx`, `5xx`) and
//! access log can show those.

use ipcam_adapters_aws::lambda::{inbox, init_logging, load_config, secret_setting, setting};
use ipcam_adapters_aws::metric::report_rejection;
use ipcam_adapters_aws::{sdk_config, S3Store, StepFunctions};
use ipcam_core::config::Config;
use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::{
    ingest_sendgrid, BasicCredentials, Inbox, Ingested, SendgridPost,
};
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};

struct Function {
    config: Config,
    inbox: Inbox,
    credentials: BasicCredentials,
    store: S3Store,
    executions: StepFunctions,
}

/// The post as the stage takes it, timed by API Gateway's clock.
fn post(request: &Request) -> SendgridPost {
    let header = |name| {
        let value = request.headers().get(name)?;
        value.to_str().ok().map(str::to_string)
    };
    let received_at = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            chrono::DateTime::from_timestamp_millis(context.time_epoch)
        }
        _ => None,
    };
    SendgridPost {
        content_type: header(CONTENT_TYPE),
        authorization: header(AUTHORIZATION),
        body: request.body().to_vec(),
        received_at: received_at.unwrap_or_else(chrono::Utc::now).to_rfc3339(),
    }
}

fn text(status: StatusCode, body: String) -> Result<Response<Body>, Error> {
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8");
    if status == StatusCode::UNAUTHORIZED {
        response = response.header(WWW_AUTHENTICATE, "Basic realm=\"ipcam\"");
    }
    Ok(response.body(Body::Text(body))?)
}

async fn handle(f: &Function, request: Request) -> Result<Response<Body>, Error> {
    let post = post(&request);
    let outcome = ingest_sendgrid(
        &f.config,
        &post,
        Some(&f.credentials),
        &f.inbox,
        &f.store,
        &f.executions,
    )
    .await;
    let answer = match outcome {
        Ok(answer) => answer,
        Err(err) => {
            tracing::error!(status = 503, error_type = err.kind.error_type(), "{err}");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("temporarily unable to accept: {err}"),
            );
        }
    };
    let id = answer.id.as_deref().unwrap_or("-");
    match &answer.outcome {
        Ingested::Started(arn) => tracing::info!(id, execution = %arn, "execution started"),
        Ingested::Duplicate => tracing::info!(id, "posted again: nothing started"),
        Ingested::Rejected(rejection) => report_rejection(rejection, Source::Sendgrid, id),
    }
    let status = if answer.unauthorized() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    text(status, answer.summary())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let sdk = sdk_config().await;
    let store = S3Store::new(&sdk);
    let function = Function {
        config: load_config(&store).await?,
        inbox: inbox()?,
        credentials: BasicCredentials {
            username: secret_setting("IPCAM_SENDGRID_USERNAME")?,
            password: secret_setting("IPCAM_SENDGRID_PASSWORD")?,
        },
        store,
        executions: StepFunctions::new(&sdk, setting("IPCAM_STATE_MACHINE_ARN")?),
    };
    let function = &function;
    run(service_fn(move |request| async move {
        handle(function, request).await
    }))
    .await
}

#[cfg(test)]
mod tests;
