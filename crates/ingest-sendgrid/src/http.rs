//! The HTTP side of the function: the API's request as the SendGrid stage
//! takes it, and what became of the post as an HTTP answer.

use ipcam_adapters_aws::metric::report_rejection;
use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::{Ingested, SendgridAnswer, SendgridPost};
use ipcam_core::stages::StageError;
use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};

/// The post as the stage takes it, timed by API Gateway's clock.
pub(crate) fn post(request: &Request) -> SendgridPost {
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

/// The answer to a post, logged, and counted when refused: 401 asks for
/// the credentials again, 503 for a failure that may pass (SendGrid posts
/// again later), 200 for everything else, taken or refused for good.
pub(crate) fn respond(
    outcome: Result<SendgridAnswer, StageError>,
) -> Result<Response<Body>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ipcam_core::stages::ingest::{RejectReason, Rejection};
    use ipcam_core::stages::StageErrorKind;

    /// An HTTP API (payload 2.0) event for a post of `body`, as API Gateway
    /// sends a multipart body: base64-encoded.
    fn http_api_event(body: &[u8]) -> Request {
        use base64::Engine;
        let event = serde_json::json!({
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
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn base64_body_and_headers_reach_the_stage_as_posted() {
        let body = b"--xYzZY\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nFrom: a@b\r\n\r\n\xff\r\n--xYzZY--\r\n";
        let post = post(&http_api_event(body));
        assert_eq!(post.body, body);
        assert_eq!(
            post.content_type.as_deref(),
            Some("multipart/form-data; boundary=xYzZY")
        );
        assert_eq!(
            post.authorization.as_deref(),
            Some("Basic c2VuZGdyaWQ6czNjcmV0")
        );
        assert!(
            post.received_at.starts_with("2026-11-29T"),
            "{}",
            post.received_at
        );
    }

    fn refused(reason: RejectReason) -> Result<SendgridAnswer, StageError> {
        Ok(SendgridAnswer {
            outcome: Ingested::Rejected(Rejection::new(reason, "as the stage said")),
            id: None,
        })
    }

    #[test]
    fn wrong_credentials_are_asked_for_again_and_only_they() {
        let answer = respond(refused(RejectReason::Unauthorized)).unwrap();
        assert_eq!(answer.status(), 401);
        assert_eq!(
            answer.headers().get(WWW_AUTHENTICATE).unwrap(),
            "Basic realm=\"ipcam\""
        );
        let stranger = respond(refused(RejectReason::SenderNotAllowed)).unwrap();
        assert_eq!(
            stranger.status(),
            200,
            "SendGrid must not post a stranger again"
        );
        assert!(stranger.headers().get(WWW_AUTHENTICATE).is_none());
    }

    #[test]
    fn a_failure_that_may_pass_is_answered_503_and_a_taken_post_200() {
        let down = StageError::new(StageErrorKind::Transient, "Step Functions unavailable");
        assert_eq!(respond(Err(down)).unwrap().status(), 503);
        let taken = Ok(SendgridAnswer {
            outcome: Ingested::Started("arn:exec".into()),
            id: Some("sendgrid-abc".into()),
        });
        let answer = respond(taken).unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.body().as_ref(), b"accepted");
    }
}
