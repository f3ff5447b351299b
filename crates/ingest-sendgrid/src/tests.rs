//! The HTTP API event as lambda_http hands it over, and the answers' form.

use super::*;

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

#[test]
fn unauthorized_answer_asks_for_basic_credentials() {
    let answer = text(StatusCode::UNAUTHORIZED, "rejected (Unauthorized)".into()).unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer.headers().get(WWW_AUTHENTICATE).unwrap(),
        "Basic realm=\"ipcam\""
    );
    let ok = text(StatusCode::OK, "accepted".into()).unwrap();
    assert!(ok.headers().get(WWW_AUTHENTICATE).is_none());
}
