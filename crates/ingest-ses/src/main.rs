//! ingest-ses: invoked by the SES receipt rule after its S3 action stored the
//! message under `IPCAM_INCOMING_PREFIX` + message id. Lets each message
//! through the door of the `[ingest]` configuration (SES verdicts, sender
//! allow-list, size) and starts one execution of `IPCAM_STATE_MACHINE_ARN`
//! per admitted message, named after the message id.
//!
//! A refused message starts nothing: it is logged with its reason and
//! counted in the metric `IPCam/RejectedMessages`, so an alarm can watch
//! for strangers.
//!
//! The event is read leniently ([`ses_event`](ipcam_adapters_aws::ses_event)): a verdict or header SES did not
//! give counts as not given. A record that cannot be read at all is logged
//! with the message id it carries and fails the invocation (error type
//! `InvalidInput`) once the other records are handled, so that Lambda's
//! retries and the function's failure destination keep the event; it is
//! never dropped in silence.

use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, inbox, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::metric::report_rejection;
use ipcam_adapters_aws::{S3Store, StepFunctions};
use ipcam_core::config::Config;
use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::{ingest_ses, Inbox, Ingested};
use ipcam_core::stages::StageErrorKind;
use serde_json::{json, Value};

use ipcam_adapters_aws::ses_event::{read_event, Unreadable};

struct Function {
    config: Config,
    inbox: Inbox,
    store: S3Store,
    executions: StepFunctions,
}

async fn handle(f: &Function, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let records = read_event(&event.payload).map_err(|unreadable| failed(&[unreadable]))?;
    let mut outcomes = Vec::new();
    let mut unreadable = Vec::new();
    for record in records {
        let delivery = match record {
            Ok(delivery) => delivery,
            Err(err) => {
                unreadable.push(err);
                continue;
            }
        };
        let outcome = ingest_ses(&f.config, &delivery, &f.inbox, &f.store, &f.executions)
            .await
            .map_err(diagnostic)?;
        let message_id = &delivery.message_id;
        let from = delivery.from.join(", ");
        let envelope_sender = delivery.envelope_sender.as_deref().unwrap_or_default();
        outcomes.push(match &outcome {
            Ingested::Started(arn) => {
                tracing::info!(%message_id, %from, %envelope_sender, execution = %arn, "execution started");
                json!({ "messageId": message_id, "outcome": "Started", "execution": arn })
            }
            Ingested::Duplicate => {
                tracing::info!(%message_id, "delivered twice: nothing started");
                json!({ "messageId": message_id, "outcome": "Duplicate" })
            }
            Ingested::Rejected(rejection) => {
                tracing::info!(%message_id, %from, %envelope_sender, "refused at the door");
                report_rejection(rejection, Source::Ses, message_id);
                json!({ "messageId": message_id, "outcome": "Rejected", "reason": rejection.reason.name() })
            }
        });
    }
    if !unreadable.is_empty() {
        return Err(failed(&unreadable));
    }
    Ok(json!({ "disposition": "CONTINUE", "messages": outcomes }))
}

/// The failure of an invocation whose event, or some of whose records,
/// could not be read: each logged with the message id it carries.
fn failed(unreadable: &[Unreadable]) -> Diagnostic {
    for record in unreadable {
        let message_id = record.message_id.as_deref().unwrap_or("unknown");
        tracing::error!(%message_id, reason = %record.reason, "an SES receipt record that cannot be read");
    }
    let reasons: Vec<String> = unreadable.iter().map(ToString::to_string).collect();
    Diagnostic {
        error_type: StageErrorKind::InvalidInput.error_type().to_string(),
        error_message: format!(
            "the SES receipt event cannot be read: {}",
            reasons.join("; ")
        ),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let function = Function {
        executions: StepFunctions::new(&start.sdk, setting("IPCAM_STATE_MACHINE_ARN")?),
        config: start.config,
        inbox: inbox()?,
        store: start.store,
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}

#[cfg(test)]
mod tests;
