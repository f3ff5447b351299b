//! [`ObjectStore`] on Amazon S3.

use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use crate::classify;
use ipcam_core::contract::ObjectRef;
use ipcam_core::ports::{ObjectStore, PortError};

/// Raw messages and frames in S3.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        // Path-style addressing works with every endpoint, emulated or not.
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build();
        S3Store {
            client: Client::from_conf(s3_config),
        }
    }
}

impl ObjectStore for S3Store {
    async fn get(&self, object: &ObjectRef) -> Result<Vec<u8>, PortError> {
        let doing = format!("reading s3://{}/{}", object.bucket, object.key);
        let output = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|err| classify_read(&doing, &err))?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|err| PortError::Transient(format!("{doing}: {err}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn put(
        &self,
        object: &ObjectRef,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|err| {
                classify(
                    &format!("writing s3://{}/{}", object.bucket, object.key),
                    &err,
                )
            })?;
        Ok(())
    }

    fn locate(&self, object: &ObjectRef) -> String {
        format!("s3://{}/{}", object.bucket, object.key)
    }

    /// A presigned HTTPS URL that GETs the object, signed here with the
    /// function's own credentials (no call to AWS). S3 honours it for
    /// `valid_for`, at most 7 days, and never longer than the credentials
    /// that signed it: a Lambda role's session may end first.
    async fn share(&self, object: &ObjectRef, valid_for: Duration) -> Result<String, PortError> {
        let doing = format!(
            "signing a link to s3://{}/{} for {} s",
            object.bucket,
            object.key,
            valid_for.as_secs()
        );
        let presigning = PresigningConfig::expires_in(valid_for)
            .map_err(|err| PortError::Permanent(format!("{doing}: {err}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .presigned(presigning)
            .await
            .map_err(|err| classify(&doing, &err))?;
        Ok(request.uri().to_string())
    }

    async fn size(&self, object: &ObjectRef) -> Result<u64, PortError> {
        let head = self
            .head(object)
            .await?
            .ok_or_else(|| PortError::NotFound(format!("s3://{}/{}", object.bucket, object.key)))?;
        Ok(head
            .content_length()
            .and_then(|length| u64::try_from(length).ok())
            .unwrap_or_default())
    }
}

impl S3Store {
    /// The objects stored under `prefix` in `bucket`, in key order, with
    /// when each was written (RFC 3339). Needs `s3:ListBucket`, which the
    /// functions do not have: this is for the operator's tools.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<(ObjectRef, String)>, PortError> {
        let doing = format!("listing s3://{bucket}/{prefix}");
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| classify(&doing, &err))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let written = object
                    .last_modified()
                    .and_then(|time| {
                        time.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
                            .ok()
                    })
                    .unwrap_or_default();
                objects.push((
                    ObjectRef {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                    },
                    written,
                ));
            }
        }
        Ok(objects)
    }

    /// The object's metadata (HEAD), or `None` when there is no such object.
    async fn head(&self, object: &ObjectRef) -> Result<Option<HeadObjectOutput>, PortError> {
        match self
            .client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head)),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) if denied(&err) => {
                tracing::debug!(key = %object.key, "S3 answered 403 to a HEAD: taken as missing");
                Ok(None)
            }
            Err(err) => Err(classify(
                &format!("looking up s3://{}/{}", object.bucket, object.key),
                &err,
            )),
        }
    }
}

/// Whether S3 refused a read with 403.
///
/// S3 answers a read of a missing key 403 (`AccessDenied`; a HEAD has no
/// body, so a bare 403), not 404, when the caller lacks `s3:ListBucket`,
/// so as not to tell it which keys exist. The functions are granted
/// `s3:GetObject` on exactly the keys they read (stored messages, frames,
/// the configuration) and deliberately not `s3:ListBucket`, which would
/// let them enumerate every stored e-mail. A 403 on a read here therefore
/// means the object is not there, and it is reported as not found: the
/// "missing message" branch of ingest-ses and extract-attachments'
/// `NotFound` then happen on AWS as on emulated AWS. Writes are not
/// concerned: a 403 on a write stays a refusal. Should a role ever lose
/// `s3:GetObject` by mistake, every read is "not found" and says that S3
/// answered 403, in the detail the failed execution shows.
fn denied<E>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(service) if service.raw().status().as_u16() == 403)
}

/// [`classify`] for a read of an object: a 403 is a missing object.
fn classify_read<E>(doing: &str, err: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if denied(err) {
        PortError::NotFound(format!(
            "{doing}: S3 answered 403 ({}): no such object, to a role without s3:ListBucket",
            err.code().unwrap_or("no code")
        ))
    } else {
        classify(doing, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_runtime_api::shared::IntoShared;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;

    /// A store with fixed credentials in a fixed region: signing needs no
    /// network.
    fn store() -> S3Store {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            )))
            .build();
        S3Store::new(&sdk)
    }

    fn snapshot() -> ObjectRef {
        ObjectRef {
            bucket: "ipcam-bucket".into(),
            key: "annotated/evt-7/0.jpg".into(),
        }
    }

    /// S3 as a test scripts it: one status and body for every request.
    #[derive(Debug, Clone)]
    struct Answering {
        status: u16,
        body: &'static str,
    }

    impl HttpConnector for Answering {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let response = HttpResponse::new(
                StatusCode::try_from(self.status).unwrap(),
                SdkBody::from(self.body),
            );
            HttpConnectorFuture::ready(Ok(response))
        }
    }

    impl HttpClient for Answering {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            self.clone().into_shared()
        }
    }

    fn answering(status: u16, body: &'static str) -> S3Store {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .http_client(Answering { status, body })
            .build();
        S3Store {
            client: Client::from_conf(config),
        }
    }

    fn stored_message() -> ObjectRef {
        ObjectRef {
            bucket: "ipcam-bucket".into(),
            key: "incoming/o3vrnil0e2ic28trm7dfhrc2v0clambdaco8v2ut5g01".into(),
        }
    }

    const ACCESS_DENIED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
    const NO_SUCH_KEY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";

    #[tokio::test]
    async fn a_head_answered_404_is_a_missing_object() {
        assert!(matches!(
            answering(404, "").size(&stored_message()).await,
            Err(PortError::NotFound(_))
        ));
    }

    /// S3 answers 403, not 404, for a missing key to a role without
    /// s3:ListBucket: the role may read the key, so the object is missing.
    #[tokio::test]
    async fn a_head_answered_403_is_a_missing_object() {
        assert!(matches!(
            answering(403, "").size(&stored_message()).await,
            Err(PortError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_get_answered_access_denied_is_a_missing_object() {
        match answering(403, ACCESS_DENIED).get(&stored_message()).await {
            Err(PortError::NotFound(detail)) => {
                assert!(detail.contains("AccessDenied"), "{detail}")
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert!(matches!(
            answering(404, NO_SUCH_KEY).get(&stored_message()).await,
            Err(PortError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn a_write_answered_access_denied_stays_a_refusal() {
        assert!(matches!(
            answering(403, ACCESS_DENIED)
                .put(&stored_message(), b"x".to_vec(), "text/plain")
                .await,
            Err(PortError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn a_shared_object_is_an_https_link_signed_for_the_time_asked() {
        let link = store()
            .share(&snapshot(), Duration::from_secs(6 * 60 * 60))
            .await
            .unwrap();
        assert!(
            link.starts_with(
                "https://s3.eu-west-1.amazonaws.com/ipcam-bucket/annotated/evt-7/0.jpg?"
            ),
            "{link}"
        );
        assert!(link.contains("X-Amz-Expires=21600"), "{link}");
        assert!(link.contains("X-Amz-Signature="), "{link}");
        assert!(link.contains("X-Amz-Credential=AKIDEXAMPLE"), "{link}");
    }

    #[tokio::test]
    async fn a_link_for_longer_than_a_signature_allows_is_refused() {
        let eight_days = Duration::from_secs(8 * 24 * 60 * 60);
        assert!(matches!(
            store().share(&snapshot(), eight_days).await,
            Err(PortError::Permanent(_))
        ));
    }
}
