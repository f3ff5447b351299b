//! POSTing an alert's JSON to a URL (Home Assistant, ntfy, a chat bridge).
//!
//! Built on hyper's client with rustls on the `ring` provider, which
//! builds in seconds where rustls' default (aws-lc) takes a minute of a
//! first build; `https://` URLs work with the machine's own certificate
//! store.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use ipcam_core::ports::PortError;

/// How long one POST may take before it counts as failed and is retried.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A URL alerts are POSTed to as `application/json`.
#[derive(Clone)]
pub struct Webhook {
    url: Uri,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url).finish()
    }
}

impl Webhook {
    /// A webhook for an `http://` or `https://` URL.
    pub fn new(url: &str) -> Result<Webhook, String> {
        let parsed: Uri = url
            .parse()
            .map_err(|err| format!("webhook URL `{url}` is not a URL: {err}"))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(format!(
                "webhook URL `{url}` must start with http:// or https:// and name a host"
            ));
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config()?)
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Webhook {
            url: parsed,
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// POSTs one JSON document; any 2xx answer is success.
    pub async fn post(&self, json: &serde_json::Value) -> Result<(), PortError> {
        let body = serde_json::to_vec(json)
            .map_err(|err| PortError::Permanent(format!("encoding the alert: {err}")))?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("ipcam/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| PortError::Permanent(format!("building the webhook request: {err}")))?;
        let answer = tokio::time::timeout(TIMEOUT, async {
            let response = self.client.request(request).await?;
            let status = response.status();
            // Read the body so the connection can be reused; its text helps
            // when the hook refuses the alert.
            let body = response.into_body().collect().await.ok();
            Ok::<_, hyper_util::client::legacy::Error>((status, body))
        })
        .await;
        let (status, body) = match answer {
            Err(_) => {
                return Err(PortError::Transient(format!(
                    "webhook {} did not answer within {}s",
                    self.url,
                    TIMEOUT.as_secs()
                )))
            }
            Ok(Err(err)) => {
                return Err(PortError::Transient(format!(
                    "webhook {}: {}",
                    self.url,
                    describe(&err)
                )))
            }
            Ok(Ok(answer)) => answer,
        };
        if status.is_success() {
            return Ok(());
        }
        let text = body
            .map(|collected| String::from_utf8_lossy(&collected.to_bytes()).into_owned())
            .unwrap_or_default();
        let message = format!(
            "webhook {} answered {status}: {}",
            self.url,
            text.trim().chars().take(200).collect::<String>()
        );
        Err(match status.as_u16() {
            429 => PortError::Throttled(message),
            500..=599 => PortError::Transient(message),
            _ => PortError::Permanent(message),
        })
    }
}

/// TLS with the machine's root certificates. A machine without any still
/// gets a webhook: `http://` URLs work, and `https://` ones fail with a
/// certificate error that says why.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        // A certificate the store cannot parse is skipped, like browsers do.
        let _ = roots.add(certificate);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("setting up TLS for the webhook: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The innermost cause of a client error: "connection refused" rather than
/// "client error (Connect)".
fn describe(err: &hyper_util::client::legacy::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        assert!(Webhook::new("http://127.0.0.1:8123/api/webhook/cam").is_ok());
        assert!(Webhook::new("https://ntfy.example.com/door").is_ok());
        let err = Webhook::new("ftp://example.com/x").unwrap_err();
        assert!(err.contains("http:// or https://"), "{err}");
        assert!(Webhook::new("not a url").is_err());
    }

    /// A webhook on a port that was free a moment ago: nothing listens
    /// there, as when the receiving service is down.
    pub(crate) fn unreachable_hook() -> Webhook {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Webhook::new(&format!("http://127.0.0.1:{port}/hook")).unwrap()
    }

    #[tokio::test]
    async fn unreachable_hook_is_a_failure_worth_retrying() {
        let hook = unreachable_hook();
        let err = hook.post(&serde_json::json!({"a": 1})).await.unwrap_err();
        assert!(matches!(err, PortError::Transient(_)), "{err}");
    }
}
