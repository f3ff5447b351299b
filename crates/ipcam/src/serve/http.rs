//! The HTTP endpoint for SendGrid Inbound Parse ("raw" mode) posts.
//!
//! hyper directly rather than a framework: there is one endpoint, hyper is
//! already in the build through the AWS SDK, and a router would add crates
//! for nothing. The request is handed to the same stage function as the
//! `ingest-sendgrid` Lambda, so both answer alike.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ipcam_core::ports::Executions;
use ipcam_core::stages::ingest::{Ingested, SendgridPost};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::intake::Intake;

/// Serves posts on `listener` until `shutdown` turns true; requests under
/// way are answered before the connections close.
pub async fn serve<E: Executions + 'static>(
    listener: TcpListener,
    intake: Arc<Intake<E>>,
    max_body_bytes: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = super::stopped(&mut shutdown) => break,
        };
        while connections.try_join_next().is_some() {}
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "http: accepting a connection failed");
                continue;
            }
        };
        let intake = Arc::clone(&intake);
        let mut shutdown = shutdown.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let intake = Arc::clone(&intake);
                async move { Ok::<_, Infallible>(answer(request, &intake, max_body_bytes, peer).await) }
            });
            let connection = http1::Builder::new().serve_connection(TokioIo::new(socket), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(err) = result {
                        tracing::debug!(%peer, error = %err, "http: connection ended with an error");
                    }
                }
                _ = super::stopped(&mut shutdown) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    while connections.join_next().await.is_some() {}
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn answer<E: Executions + 'static>(
    request: Request<Incoming>,
    intake: &Intake<E>,
    max_body_bytes: u64,
    peer: std::net::SocketAddr,
) -> Response<Full<Bytes>> {
    if request.method() == Method::GET && request.uri().path() == "/health" {
        return text(StatusCode::OK, "ok");
    }
    if request.method() != Method::POST {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "POST SendGrid Inbound Parse requests here",
        );
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header(CONTENT_TYPE);
    let authorization = header(AUTHORIZATION);
    let limit = usize::try_from(max_body_bytes).unwrap_or(usize::MAX);
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes().to_vec(),
        Err(err) => {
            let too_large = err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            if too_large {
                tracing::warn!(%peer, limit = max_body_bytes, "http: post refused: larger than the limit");
                return text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("larger than the limit of {max_body_bytes} bytes"),
                );
            }
            return text(StatusCode::BAD_REQUEST, format!("unreadable body: {err}"));
        }
    };
    let size = body.len();
    let post = SendgridPost {
        content_type,
        authorization,
        body,
        received_at: chrono::Utc::now().to_rfc3339(),
    };
    match intake.sendgrid(&post).await {
        // SendGrid asks again with the right credentials; a refusal for any
        // other reason is final, and answered 200 so that SendGrid does not
        // post it again for days.
        Ok(answer) if answer.unauthorized() => {
            tracing::warn!(%peer, bytes = size, status = 401, "http: post refused: {}", answer.summary());
            let mut response = text(StatusCode::UNAUTHORIZED, answer.summary());
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ipcam\""),
            );
            response
        }
        Ok(answer) => {
            if matches!(answer.outcome, Ingested::Rejected(_)) {
                tracing::warn!(%peer, bytes = size, status = 200, "http: post refused: {}", answer.summary());
            } else {
                tracing::info!(%peer, bytes = size, status = 200, "http: post accepted: {}", answer.summary());
            }
            text(StatusCode::OK, answer.summary())
        }
        Err(err) => {
            // Storage failed: 503 makes SendGrid retry later, and the retry
            // starts nothing new if this attempt got further than it seems.
            tracing::error!(%peer, bytes = size, "http: post not kept: {err}");
            text(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
        }
    }
}
