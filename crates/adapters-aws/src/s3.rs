//! [`ObjectStore`] on Amazon S3.

use std::time::Duration;

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
            .map_err(|err| classify(&doing, &err))?;
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
            Err(err) => Err(classify(
                &format!("looking up s3://{}/{}", object.bucket, object.key),
                &err,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};

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
