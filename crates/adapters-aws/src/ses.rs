//! [`Mailer`] on Amazon SES: the alert e-mail, written whole by
//! `ipcam-core`, sent with `SendRawEmail` from the domain the stack
//! already verifies for receiving, so no other identity is needed.

use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::RawMessage;
use aws_sdk_ses::Client;

use crate::classify;
use ipcam_core::alert_email::OutgoingMail;
use ipcam_core::ports::{Mailer, PortError};

/// Alert e-mails sent through SES.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SesMailer {
            client: Client::new(config),
        }
    }
}

impl Mailer for SesMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, PortError> {
        let message = RawMessage::builder()
            .data(Blob::new(mail.raw.clone()))
            .build()
            .map_err(|err| PortError::Permanent(format!("the alert e-mail: {err}")))?;
        let sent = self
            .client
            .send_raw_email()
            .source(&mail.from)
            .set_destinations(Some(mail.to.clone()))
            .raw_message(message)
            .send()
            .await
            .map_err(|err| classify("sending the alert e-mail through SES", &err))?;
        Ok(sent.message_id().to_string())
    }
}
