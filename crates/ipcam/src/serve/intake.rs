//! From a received message to a started execution, for both entry points:
//! the message is stored in the folder, then its execution is recorded and
//! started. Only then is the sender told it was accepted.

use std::sync::Arc;

use ipcam_adapters_local::FolderStore;
use ipcam_core::config::Config;
use ipcam_core::contract::{Event, ExecutionInput, ObjectRef, Source, CONTRACT_VERSION};
use ipcam_core::mime;
use ipcam_core::ports::{Executions, ObjectStore, PortError, Started};
use ipcam_core::stages::ingest::{
    admission, execution_name, ingest_sendgrid, BasicCredentials, HttpRequest, HttpResponse,
};
use ipcam_core::stages::StageError;
use sha2::{Digest, Sha256};

use super::smtp::{Mailbox, Received, Refusal};

/// The bucket name of the local store: objects live in `STORE/local/...`.
pub const BUCKET: &str = "local";

/// Takes messages from SMTP and HTTP into the store and the executions.
pub struct Intake<E> {
    /// What is let in at the door (`[ingest]`), as on AWS.
    pub config: Config,
    pub store: FolderStore,
    pub executions: Arc<E>,
    /// Credentials posts must carry; none asked when unset.
    pub credentials: Option<BasicCredentials>,
}

impl<E: Executions + 'static> Intake<E> {
    /// One SendGrid Inbound Parse post, by the same stage code as the
    /// Lambda behind the API.
    pub async fn sendgrid(&self, request: &HttpRequest) -> Result<HttpResponse, StageError> {
        let answer = ingest_sendgrid(
            &self.config,
            request,
            self.credentials.as_ref(),
            BUCKET,
            &self.store,
            &*self.executions,
        )
        .await?;
        Ok(answer.response)
    }
}

/// A failure to keep the message: the disk may come back (full, busy), so
/// the camera is asked to try again later.
fn refusal(doing: &str, err: PortError) -> Refusal {
    Refusal::Transient(format!("{doing}: {err}"))
}

impl<E: Executions + 'static> Mailbox for Intake<E> {
    async fn deliver(&self, message: Received) -> Result<String, Refusal> {
        let envelope =
            mime::envelope(&message.raw).map_err(|err| Refusal::Permanent(err.to_string()))?;
        // Named from a digest of the message: a camera that sends the same
        // message again (it missed our answer) starts nothing new.
        let id = format!("smtp-{}", &hex::encode(Sha256::digest(&message.raw))[..40]);
        // The same door as on AWS: a stranger's message is refused before
        // anything is stored or started. The log says why in full; the
        // sender hears only the kind of refusal, not how the door is set.
        if let Err(rejection) = admission::admit_raw(&self.config, &message.raw, &message.mail_from)
        {
            tracing::warn!(message = %id, "smtp: {rejection}");
            return Err(Refusal::Policy(format!(
                "message not accepted ({})",
                rejection.reason.name()
            )));
        }
        let object = ObjectRef {
            bucket: BUCKET.to_string(),
            key: format!("incoming/smtp/{id}"),
        };
        self.store
            .put(&object, message.raw, "message/rfc822")
            .await
            .map_err(|err| refusal("storing the message", err))?;
        // The camera is recognised by the headers, and by the envelope
        // where the headers say nothing (some cameras leave `To` out).
        let mut to = envelope.to;
        for recipient in message.rcpt_to {
            if !to.iter().any(|known| {
                ipcam_core::config::bare_address(known).eq_ignore_ascii_case(&recipient)
            }) {
                to.push(recipient);
            }
        }
        let from = envelope
            .from
            .or_else(|| (!message.mail_from.is_empty()).then_some(message.mail_from));
        let input = ExecutionInput {
            version: CONTRACT_VERSION,
            event: Event {
                id: id.clone(),
                source: Source::Local,
                message: object,
                from,
                to,
                subject: envelope.subject,
                received_at: chrono::Utc::now().to_rfc3339(),
            },
        };
        match self.executions.start(&execution_name(&id), &input).await {
            Ok(Started::New(_)) => Ok(id),
            Ok(Started::AlreadyStarted) => {
                tracing::info!(message = %id, "smtp: the same message again: nothing new started");
                Ok(id)
            }
            Err(err) => Err(refusal("starting its execution", err)),
        }
    }
}
