//! [`Mailer`] on an SMTP relay (`[alerts.smtp]`): the alert e-mails of
//! `ipcam process` and `ipcam serve` reach the owner's mailbox through
//! their provider's submission server, or the home router's.
//!
//! lettre's client, on rustls with the `ring` provider and the machine's
//! certificate store, as the webhook.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use ipcam_core::alert_email::OutgoingMail;
use ipcam_core::config::SmtpRelay;
use ipcam_core::ports::{Mailer, PortError};

/// How long one conversation with the relay may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// A relay the alert e-mails are handed to.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    relay: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("relay", &self.relay)
            .finish()
    }
}

impl SmtpMailer {
    /// A mailer for `[alerts.smtp]`. With `starttls`, the connection must
    /// be upgraded before anything (credentials, pictures) is sent.
    pub fn new(relay: &SmtpRelay) -> Result<SmtpMailer, String> {
        let builder = if relay.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&relay.host)
                .map_err(|err| format!("[alerts.smtp] host `{}`: {err}", relay.host))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
        };
        let mut builder = builder.port(relay.port).timeout(Some(TIMEOUT));
        if let (Some(username), Some(password)) = (&relay.username, &relay.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        Ok(SmtpMailer {
            transport: builder.build(),
            relay: format!("{}:{}", relay.host, relay.port),
        })
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<String, PortError> {
        let address = |text: &str| {
            text.parse::<Address>()
                .map_err(|err| PortError::Permanent(format!("`{text}`: {err}")))
        };
        let recipients = mail
            .to
            .iter()
            .map(|to| address(to))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(address(&mail.from)?), recipients)
            .map_err(|err| PortError::Permanent(format!("the alert e-mail's envelope: {err}")))?;
        let response = self
            .transport
            .send_raw(&envelope, &mail.raw)
            .await
            .map_err(|err| port_error(&self.relay, err))?;
        Ok(response.message().collect::<Vec<_>>().join(" "))
    }
}

/// A refusal (5xx) is permanent; a temporary refusal (4xx), a timeout or
/// a lost connection may pass.
fn port_error(relay: &str, err: SmtpError) -> PortError {
    let message = format!("relaying the alert e-mail through {relay}: {err}");
    if err.is_permanent() {
        PortError::Permanent(message)
    } else {
        PortError::Transient(message)
    }
}
