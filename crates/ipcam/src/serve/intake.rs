//! From a received message to a started execution, for both entry points:
//! each goes through the door of ipcam-core ([`ingest`]), which stores the
//! message in the folder before its execution is recorded and started.
//! Only then is the sender told it was accepted.

use std::sync::Arc;

use ipcam_adapters_local::FolderStore;
use ipcam_core::config::Config;
use ipcam_core::contract::{ExecutionInput, Source};
use ipcam_core::ports::{Executions, ObjectStore};
use ipcam_core::stages::ingest::{
    admit, ingest, ingest_sendgrid, Admission, BasicCredentials, Inbox, Incoming, Ingested,
    RejectReason, SenderRules, SendgridAnswer, SendgridPost,
};
use ipcam_core::stages::StageError;

use super::disk::Disk;
use super::smtp::{Mailbox, Received, Refusal};

/// Takes messages from SMTP and HTTP into the store and the executions.
pub struct Intake<E> {
    /// What is let in at the door (`[ingest]`), as on AWS.
    pub config: Config,
    pub store: FolderStore,
    /// Where messages are kept in the store.
    pub inbox: Inbox,
    pub executions: Arc<E>,
    /// Credentials posts must carry; none asked when unset.
    pub credentials: Option<BasicCredentials>,
    /// Whether the store's disk has room for another message.
    pub disk: Disk,
}

impl<E: Executions + 'static> Intake<E> {
    /// The input of the execution `name`, from its message kept in the
    /// store: for a record that could not be read at a start. The
    /// message goes through the door again; the envelope of an SMTP
    /// delivery is not kept, so only the message's own headers count.
    pub async fn recover(&self, name: String) -> Option<ExecutionInput> {
        for source in [Source::Local, Source::Sendgrid] {
            let Ok(raw) = self.store.get(&self.inbox.message(source, &name)).await else {
                continue;
            };
            let incoming = Incoming::whole(source, raw, chrono::Utc::now().to_rfc3339());
            if incoming.id() != name {
                continue;
            }
            let admitted = admit(
                &self.config,
                incoming,
                SenderRules::Local,
                &self.inbox,
                &self.store,
            )
            .await;
            if let Ok(Admission::Admitted(admitted)) = admitted {
                if admitted.name == name {
                    return Some(admitted.input);
                }
            }
        }
        None
    }

    /// One SendGrid Inbound Parse post, by the same stage code as the
    /// Lambda behind the API.
    pub async fn sendgrid(&self, post: &SendgridPost) -> Result<SendgridAnswer, StageError> {
        ingest_sendgrid(
            &self.config,
            post,
            self.credentials.as_ref(),
            SenderRules::Local,
            &self.inbox,
            &self.store,
            &*self.executions,
        )
        .await
    }
}

impl<E: Executions + 'static> Mailbox for Intake<E> {
    async fn deliver(&self, message: Received) -> Result<String, Refusal> {
        if self.disk.check() {
            return Err(Refusal::NoRoom);
        }
        let mut incoming =
            Incoming::whole(Source::Local, message.raw, chrono::Utc::now().to_rfc3339());
        incoming.envelope_sender = Some(message.mail_from);
        incoming.envelope_recipients = message.rcpt_to;
        let id = incoming.id().to_string();
        let outcome = ingest(
            &self.config,
            incoming,
            SenderRules::Local,
            &self.inbox,
            &self.store,
            &*self.executions,
        )
        .await
        // Storing or recording failed: the disk may come back (full, busy),
        // so the camera is asked to try again later.
        .map_err(|err| Refusal::Transient(err.to_string()))?;
        match outcome {
            Ingested::Started(_) => Ok(id),
            Ingested::Duplicate => {
                tracing::info!(message = %id, "smtp: the same message again: nothing new started");
                Ok(id)
            }
            // The log says why in full; the sender hears only the kind of
            // refusal, not how the door is set.
            Ingested::Rejected(rejection) if rejection.reason == RejectReason::Unreadable => {
                tracing::warn!(message = %id, "smtp: {rejection}");
                Err(Refusal::Permanent("not a readable e-mail message".into()))
            }
            Ingested::Rejected(rejection) => {
                tracing::warn!(message = %id, "smtp: {rejection}");
                Err(Refusal::Policy(format!(
                    "message not accepted ({})",
                    rejection.reason.name()
                )))
            }
        }
    }
}
