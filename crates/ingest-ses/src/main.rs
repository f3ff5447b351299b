//! ingest-ses: invoked by the SES receipt rule after its S3 action stored the
//! message under `IPCAM_INCOMING_PREFIX` + message id. Starts one execution
//! of `IPCAM_STATE_MACHINE_ARN` per message, named after the message id.

use aws_lambda_events::event::ses::{SimpleEmailEvent, SimpleEmailRecord};
use ipcam_core::adapters::aws::{sdk_config, StepFunctions};
use ipcam_core::stages::ingest::{ingest_ses, Ingested, SesDelivery, SesStorage};
use ipcam_lambda_support::{
    diagnostic, init_logging, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use serde_json::{json, Value};

struct Function {
    storage: SesStorage,
    executions: StepFunctions,
}

fn delivery(record: &SimpleEmailRecord) -> SesDelivery {
    let mail = &record.ses.mail;
    let receipt = &record.ses.receipt;
    SesDelivery {
        message_id: mail.message_id.clone().unwrap_or_default(),
        timestamp: mail.timestamp.to_rfc3339(),
        from: mail
            .common_headers
            .from
            .first()
            .cloned()
            .or_else(|| mail.source.clone()),
        to: mail.destination.clone(),
        subject: mail.common_headers.subject.clone(),
        spam_verdict: receipt.spam_verdict.status.clone(),
        virus_verdict: receipt.virus_verdict.status.clone(),
    }
}

async fn handle(
    function: &Function,
    event: LambdaEvent<SimpleEmailEvent>,
) -> Result<Value, Diagnostic> {
    let mut outcomes = Vec::new();
    for record in &event.payload.records {
        let delivery = delivery(record);
        let outcome = ingest_ses(&delivery, &function.storage, &function.executions)
            .await
            .map_err(diagnostic)?;
        match &outcome {
            Ingested::Started(arn) => {
                tracing::info!(message_id = %delivery.message_id, execution = %arn, "execution started")
            }
            Ingested::Duplicate => {
                tracing::info!(message_id = %delivery.message_id, "delivered twice: nothing started")
            }
            Ingested::Rejected(reason) => {
                tracing::warn!(message_id = %delivery.message_id, rejected = true, "{reason}")
            }
        }
        outcomes
            .push(json!({ "messageId": delivery.message_id, "outcome": format!("{outcome:?}") }));
    }
    Ok(json!({ "disposition": "CONTINUE", "messages": outcomes }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let config = sdk_config().await;
    let function = Function {
        storage: SesStorage {
            bucket: setting("IPCAM_BUCKET")?,
            prefix: std::env::var("IPCAM_INCOMING_PREFIX").unwrap_or_else(|_| "incoming/".into()),
        },
        executions: StepFunctions::new(&config, setting("IPCAM_STATE_MACHINE_ARN")?),
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}
