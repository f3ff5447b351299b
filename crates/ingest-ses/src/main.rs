//! ingest-ses: invoked by the SES receipt rule after its S3 action stored the
//! message under `IPCAM_INCOMING_PREFIX` + message id. Lets each message
//! through the door of the `[ingest]` configuration (SES verdicts, sender
//! allow-list, size) and starts one execution of `IPCAM_STATE_MACHINE_ARN`
//! per admitted message, named after the message id.
//!
//! A refused message starts nothing: it is logged with its reason and
//! counted in the metric `IPCam/RejectedMessages`, so an alarm can watch
//! for strangers.

use aws_lambda_events::event::ses::{SimpleEmailEvent, SimpleEmailRecord};
use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, inbox, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::metric::report_rejection;
use ipcam_adapters_aws::{S3Store, StepFunctions};
use ipcam_core::config::Config;
use ipcam_core::contract::Source;
use ipcam_core::stages::ingest::{ingest_ses, Inbox, Ingested, SesDelivery};
use serde_json::{json, Value};

struct Function {
    config: Config,
    inbox: Inbox,
    store: S3Store,
    executions: StepFunctions,
}

fn delivery(record: &SimpleEmailRecord) -> SesDelivery {
    let (mail, receipt) = (&record.ses.mail, &record.ses.receipt);
    SesDelivery {
        message_id: mail.message_id.clone().unwrap_or_default(),
        timestamp: mail.timestamp.to_rfc3339(),
        from: mail.common_headers.from.clone(),
        envelope_sender: mail.source.clone(),
        to: mail.destination.clone(),
        subject: mail.common_headers.subject.clone(),
        spam_verdict: receipt.spam_verdict.status.clone(),
        virus_verdict: receipt.virus_verdict.status.clone(),
        spf_verdict: receipt.spf_verdict.status.clone(),
        dkim_verdict: receipt.dkim_verdict.status.clone(),
        dmarc_verdict: receipt.dmarc_verdict.status.clone(),
    }
}

async fn handle(f: &Function, event: LambdaEvent<SimpleEmailEvent>) -> Result<Value, Diagnostic> {
    let mut outcomes = Vec::new();
    for record in &event.payload.records {
        let delivery = delivery(record);
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
    Ok(json!({ "disposition": "CONTINUE", "messages": outcomes }))
}

#[tokio::main]
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
