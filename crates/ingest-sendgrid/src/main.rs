//! ingest-sendgrid: behind an HTTP API or Function URL (payload format 2.0),
//! takes SendGrid Inbound Parse posts, stores the message in
//! `IPCAM_BUCKET` and starts its execution. Credentials come from
//! `IPCAM_SENDGRID_USERNAME` and `IPCAM_SENDGRID_PASSWORD`.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use ipcam_core::adapters::aws::{sdk_config, S3Store, StepFunctions};
use ipcam_core::stages::ingest::{ingest_sendgrid, BasicCredentials, HttpRequest};
use ipcam_lambda_support::{
    diagnostic, init_logging, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};

struct Function {
    bucket: String,
    credentials: BasicCredentials,
    store: S3Store,
    executions: StepFunctions,
}

fn request(event: &ApiGatewayV2httpRequest) -> Result<HttpRequest, String> {
    let header = |name: &str| {
        event
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let body = event.body.as_deref().unwrap_or_default();
    let body = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|err| format!("body is not valid base64: {err}"))?
    } else {
        body.as_bytes().to_vec()
    };
    let received_at = chrono::DateTime::from_timestamp_millis(event.request_context.time_epoch)
        .unwrap_or_else(chrono::Utc::now)
        .to_rfc3339();
    Ok(HttpRequest {
        content_type: header("content-type"),
        authorization: header("authorization"),
        body,
        received_at,
    })
}

fn response(status: u16, body: String) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response.body = Some(Body::Text(body));
    response.headers.insert(
        "content-type",
        "text/plain; charset=utf-8"
            .parse()
            .expect("static header value"),
    );
    if status == 401 {
        response.headers.insert(
            "www-authenticate",
            "Basic realm=\"ipcam\""
                .parse()
                .expect("static header value"),
        );
    }
    response
}

async fn handle(
    function: &Function,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Diagnostic> {
    let request = match request(&event.payload) {
        Ok(request) => request,
        Err(reason) => {
            tracing::warn!(status = 400, "{reason}");
            return Ok(response(400, reason));
        }
    };
    let answer = ingest_sendgrid(
        &request,
        &function.credentials,
        &function.bucket,
        &function.store,
        &function.executions,
    )
    .await
    .map_err(diagnostic)?;
    if answer.status == 200 {
        tracing::info!(status = answer.status, "{}", answer.body);
    } else {
        tracing::warn!(status = answer.status, "{}", answer.body);
    }
    Ok(response(answer.status, answer.body))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let function = Function {
        bucket: setting("IPCAM_BUCKET")?,
        credentials: BasicCredentials {
            username: setting("IPCAM_SENDGRID_USERNAME")?,
            password: setting("IPCAM_SENDGRID_PASSWORD")?,
        },
        store: S3Store::new(&config),
        executions: StepFunctions::new(&config, setting("IPCAM_STATE_MACHINE_ARN")?),
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}
