//! [`ObjectStore`] on Amazon S3.

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
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
