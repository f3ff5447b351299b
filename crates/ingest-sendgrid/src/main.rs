//! ingest-sendgrid: behind an HTTP API or Function URL (payload format 2.0),
//! takes SendGrid Inbound Parse posts (raw or parsed mode), lets each
//! message through the door of the `[ingest]` configuration, stores it in
//! `IPCAM_BUCKET` and starts its execution. Credentials come from
//! `IPCAM_SENDGRID_USERNAME` and `IPCAM_SENDGRID_PASSWORD`.
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

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use ipcam_adapters_aws::lambda::{
    init_logging, load_config, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::metric::rejected_message_line;
use ipcam_adapters_aws::{sdk_config, S3Store, StepFunctions};
use ipcam_core::config::Config;
use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::sendgrid::retry_later;
use ipcam_core::stages::ingest::{
    ingest_sendgrid, BasicCredentials, HttpRequest, HttpResponse, Ingested, RejectReason, Rejection,
};

struct Function {
    config: Config,
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

fn response(answer: HttpResponse) -> ApiGatewayV2httpResponse {
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(answer.status);
    response.body = Some(Body::Text(answer.body));
    response
        .headers
        .insert("content-type", http_value("text/plain; charset=utf-8"));
    if answer.status == 401 {
        response
            .headers
            .insert("www-authenticate", http_value("Basic realm=\"ipcam\""));
    }
    response
}

fn http_value(text: &'static str) -> aws_lambda_events::http::HeaderValue {
    aws_lambda_events::http::HeaderValue::from_static(text)
}

/// Logs a refused post and counts it in `IPCam/RejectedMessages`.
fn report_rejection(rejection: &Rejection, id: Option<&str>, status: u16) {
    let id = id.unwrap_or("-");
    tracing::warn!(%id, status, reason = rejection.reason.name(), "{rejection}");
    println!(
        "{}",
        rejected_message_line(
            rejection,
            Source::Sendgrid,
            id,
            chrono::Utc::now().timestamp_millis()
        )
    );
}

async fn handle(
    function: &Function,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Diagnostic> {
    let request = match request(&event.payload) {
        Ok(request) => request,
        Err(detail) => {
            let rejection = Rejection::new(RejectReason::Unreadable, detail);
            report_rejection(&rejection, None, 200);
            return Ok(response(HttpResponse {
                status: 200,
                body: rejection.to_string(),
            }));
        }
    };
    let answer = match ingest_sendgrid(
        &function.config,
        &request,
        Some(&function.credentials),
        &function.bucket,
        &function.store,
        &function.executions,
    )
    .await
    {
        Ok(answer) => answer,
        Err(err) => {
            tracing::error!(status = 503, error_type = err.kind.error_type(), "{err}");
            return Ok(response(retry_later(&err)));
        }
    };
    let id = answer.id.as_deref();
    match &answer.outcome {
        Ingested::Started(arn) => {
            tracing::info!(id, execution = %arn, status = answer.response.status, "execution started")
        }
        Ingested::Duplicate => {
            tracing::info!(
                id,
                status = answer.response.status,
                "posted again: nothing started"
            )
        }
        Ingested::Rejected(rejection) => report_rejection(rejection, id, answer.response.status),
    }
    Ok(response(answer.response))
}

/// A required credential: set, and not empty (an empty password would let
/// anyone in who guesses the username).
fn credential(name: &str) -> Result<String, Error> {
    let value = setting(name)?;
    if value.is_empty() {
        return Err(format!("environment variable {name} is empty: set a real credential").into());
    }
    Ok(value)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let sdk = sdk_config().await;
    let store = S3Store::new(&sdk);
    let function = Function {
        config: load_config(&store).await?,
        bucket: setting("IPCAM_BUCKET")?,
        credentials: BasicCredentials {
            username: credential("IPCAM_SENDGRID_USERNAME")?,
            password: credential("IPCAM_SENDGRID_PASSWORD")?,
        },
        store,
        executions: StepFunctions::new(&sdk, setting("IPCAM_STATE_MACHINE_ARN")?),
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP API (payload 2.0) event for a post of `body`, as API Gateway
    /// sends a multipart body: base64-encoded.
    fn http_api_event(body: &[u8]) -> ApiGatewayV2httpRequest {
        serde_json::from_value(serde_json::json!({
            "version": "2.0",
            "routeKey": "POST /inbound",
            "rawPath": "/inbound",
            "rawQueryString": "",
            "headers": {
                "authorization": "Basic c2VuZGdyaWQ6czNjcmV0",
                "content-type": "multipart/form-data; boundary=xYzZY",
                "user-agent": "Sendlib/1.0 inbound.sendgrid.net"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc123",
                "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "abc123",
                "http": {
                    "method": "POST",
                    "path": "/inbound",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.10",
                    "userAgent": "Sendlib/1.0 inbound.sendgrid.net"
                },
                "requestId": "Q1w2E3r4T5y6=",
                "routeKey": "POST /inbound",
                "stage": "$default",
                "time": "29/Nov/2026:12:00:00 +0000",
                "timeEpoch": 1_795_953_600_000_i64
            },
            "body": base64::engine::general_purpose::STANDARD.encode(body),
            "isBase64Encoded": true
        }))
        .unwrap()
    }

    #[test]
    fn base64_body_and_headers_reach_the_stage_as_posted() {
        let body = b"--xYzZY\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nFrom: a@b\r\n\r\n\xff\r\n--xYzZY--\r\n";
        let request = request(&http_api_event(body)).unwrap();
        assert_eq!(request.body, body);
        assert_eq!(
            request.content_type.as_deref(),
            Some("multipart/form-data; boundary=xYzZY")
        );
        assert_eq!(
            request.authorization.as_deref(),
            Some("Basic c2VuZGdyaWQ6czNjcmV0")
        );
        assert!(
            request.received_at.starts_with("2026-11-29T"),
            "{}",
            request.received_at
        );
    }

    #[test]
    fn unauthorized_answer_asks_for_basic_credentials() {
        let answer = response(HttpResponse {
            status: 401,
            body: "rejected (Unauthorized): wrong credentials".into(),
        });
        assert_eq!(answer.status_code, 401);
        assert_eq!(
            answer.headers.get("www-authenticate").unwrap(),
            "Basic realm=\"ipcam\""
        );
    }
}
