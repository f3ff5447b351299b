//! The HTTP endpoint for SendGrid Inbound Parse ("raw" mode) posts.
//!
//! hyper directly rather than a framework: there is one endpoint, hyper is
//! already in the build through the AWS SDK, and a router would add crates
//! for nothing. The request is handed to the same stage function as the
//! `ingest-sendgrid` Lambda, so both answer alike.
//!
//! A client cannot hold the endpoint: the headers must arrive within
//! [`HttpSettings::header_timeout`] and the body within
//! [`HttpSettings::body_timeout`]; one request per connection; at most
//! [`HttpSettings::max_connections`] at once, the next answered `503`. The
//! credentials, and the room on the disk, are checked before a byte of the
//! body is read, and the body is never held beyond the size a message can
//! need.
//!
//! Which status for what: SendGrid retries every answer that is not 2xx
//! for up to three days. So a post that can never succeed, a post too
//! large included, is answered `200` (and logged as refused): `413` would
//! have SendGrid send the same oversized post again for three days. A
//! failure that may pass (the disk nearly full, storage failing, too many
//! connections) is `503`, which SendGrid retries; wrong credentials are
//! `401`, kept queued by SendGrid until they are fixed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use ipcam_core::ports::Executions;
use ipcam_core::stages::ingest::{Ingested, SendgridPost};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::accept::{Acceptor, Admitted};
use super::intake::Intake;

/// How the endpoint bounds its clients.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The largest post a message within `[ingest] max_message_bytes`
    /// can need; a larger one is read to its end, dropped and answered
    /// `200`.
    pub max_body_bytes: u64,
    /// The request line and headers must arrive within this.
    pub header_timeout: Duration,
    /// The body must arrive within this.
    pub body_timeout: Duration,
    /// Connections served at once; one more is answered `503`.
    pub max_connections: usize,
    /// After a stop, a request under way has this long to finish.
    pub shutdown_grace: Duration,
}

impl HttpSettings {
    pub fn new(max_body_bytes: u64, max_connections: usize) -> Self {
        HttpSettings {
            max_body_bytes,
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(60),
            max_connections,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// A body past this is not read on: the connection is closed.
    fn drain_limit(&self) -> u64 {
        self.max_body_bytes.saturating_mul(4)
    }
}

/// Serves posts on `listener` until `shutdown` turns true; requests under
/// way are answered before the connections close.
pub async fn serve<E: Executions + 'static>(
    listener: TcpListener,
    intake: Arc<Intake<E>>,
    settings: HttpSettings,
    mut shutdown: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let mut acceptor = Acceptor::new(
        listener,
        settings.max_connections,
        "http",
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nbusy, try again later",
    );
    let mut connections = JoinSet::new();
    while let Some(Admitted { socket, peer, slot }) = acceptor.next(&mut shutdown).await {
        while connections.try_join_next().is_some() {}
        let intake = Arc::clone(&intake);
        let settings = Arc::clone(&settings);
        let mut shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service = service_fn({
                let settings = Arc::clone(&settings);
                move |request| {
                    let intake = Arc::clone(&intake);
                    let settings = Arc::clone(&settings);
                    async move {
                        Ok::<_, Infallible>(answer(request, &intake, &settings, peer).await)
                    }
                }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(settings.header_timeout)
                // One request per connection: no idle connection to hold.
                .keep_alive(false)
                .serve_connection(TokioIo::new(socket), service);
            tokio::pin!(connection);
            // Past the header and body deadlines nothing is left to wait
            // for but the answer: a connection lasting longer is cut.
            let lifetime = settings.header_timeout + settings.body_timeout + Duration::from_secs(60);
            tokio::select! {
                result = tokio::time::timeout(lifetime, connection.as_mut()) => {
                    match result {
                        Ok(Err(err)) => tracing::debug!(%peer, error = %err, "http: connection ended with an error"),
                        Err(_) => tracing::warn!(%peer, "http: connection cut: it lasted too long"),
                        Ok(Ok(())) => {}
                    }
                }
                _ = super::stopped(&mut shutdown) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(settings.shutdown_grace, connection).await;
                }
            }
        });
    }
    let bound = settings.shutdown_grace + Duration::from_secs(2);
    let all_ended = tokio::time::timeout(bound, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if all_ended.is_err() {
        connections.shutdown().await;
    }
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

/// An answer given before the body is read: the connection closes after
/// it, since the unread body cannot be skipped.
fn early(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut response = text(status, body);
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// What reading a body gave.
enum Body {
    Complete(Vec<u8>),
    /// Larger than the limit: read to its end (or to the drain limit) and
    /// dropped; the count of bytes.
    TooLarge(u64),
}

/// Reads the body, keeping at most `limit` bytes; past it the rest is read
/// and dropped, up to `drain_limit`, so that the client hears the answer
/// rather than a reset.
async fn read_body(mut body: Incoming, limit: u64, drain_limit: u64) -> Result<Body, hyper::Error> {
    let mut kept = Vec::new();
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len() as u64);
        if total <= limit {
            kept.extend_from_slice(&data);
        } else {
            kept = Vec::new();
            if total > drain_limit {
                break;
            }
        }
    }
    Ok(if total > limit {
        Body::TooLarge(total)
    } else {
        Body::Complete(kept)
    })
}

async fn answer<E: Executions + 'static>(
    request: Request<Incoming>,
    intake: &Intake<E>,
    settings: &HttpSettings,
    peer: std::net::SocketAddr,
) -> Response<Full<Bytes>> {
    if request.method() == Method::GET && request.uri().path() == "/health" {
        return text(StatusCode::OK, "ok");
    }
    if request.method() != Method::POST {
        return early(
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
    let declared = header(CONTENT_LENGTH).and_then(|length| length.trim().parse::<u64>().ok());
    // Who posts is known before a byte of the body is read: a stranger
    // cannot make the server buffer anything.
    if let Some(credentials) = &intake.credentials {
        if !credentials.admit(authorization.as_deref()) {
            let detail = if authorization.is_some() {
                "wrong credentials"
            } else {
                "no credentials"
            };
            tracing::warn!(%peer, status = 401, "http: post refused: {detail}");
            let mut response = early(StatusCode::UNAUTHORIZED, detail);
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"ipcam\""),
            );
            return response;
        }
    }
    if intake.disk.check() {
        tracing::error!(%peer, status = 503, "http: post not taken: the disk is nearly full");
        let mut response = early(
            StatusCode::SERVICE_UNAVAILABLE,
            "the disk is nearly full: try again later",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("600"));
        return response;
    }
    let limit = settings.max_body_bytes;
    if declared.is_some_and(|declared| declared > settings.drain_limit()) {
        tracing::warn!(%peer, bytes = declared, limit, status = 200, "http: post refused: larger than the limit (not read)");
        return early(
            StatusCode::OK,
            format!("refused: larger than the limit of {limit} bytes"),
        );
    }
    let read = tokio::time::timeout(
        settings.body_timeout,
        read_body(request.into_body(), limit, settings.drain_limit()),
    )
    .await;
    let body = match read {
        Err(_) => {
            tracing::warn!(%peer, status = 408, "http: post dropped: its body came too slowly");
            return early(StatusCode::REQUEST_TIMEOUT, "the body came too slowly");
        }
        Ok(Err(err)) => return early(StatusCode::BAD_REQUEST, format!("unreadable body: {err}")),
        // Answered 200 so that SendGrid does not post it again for days.
        Ok(Ok(Body::TooLarge(size))) => {
            tracing::warn!(%peer, bytes = size, limit, status = 200, "http: post refused: larger than the limit");
            return early(
                StatusCode::OK,
                format!("refused: larger than the limit of {limit} bytes"),
            );
        }
        Ok(Ok(Body::Complete(body))) => body,
    };
    let size = body.len();
    let post = SendgridPost {
        content_type,
        authorization,
        body,
        received_at: chrono::Utc::now().to_rfc3339(),
    };
    match intake.sendgrid(&post).await {
        // Checked above already; the stage checks again, as on AWS.
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
