//! redrive: starts the pipeline executions that ingest-ses never started.
//!
//! SES invokes ingest-ses asynchronously. An event the function still fails
//! on after Lambda's retries goes to its on-failure destination, an SQS
//! queue (`IPCAM_FAILURE_QUEUE_URL`), as Lambda's record of the failure,
//! whose `requestPayload` is the SES event. redrive then
//!
//! 1. takes each record from the queue, lets each message of its SES event
//!    through the door as ingest-ses would (`ingest_ses`), and deletes the
//!    record once every message in it was started, had been started
//!    already, or was refused by the door; a record it cannot read or whose
//!    start failed stays in the queue, hidden for five minutes;
//! 2. lists the stored SES messages (`IPCAM_BUCKET`, under
//!    `IPCAM_INCOMING_PREFIX`) and lets each through the door in the same
//!    way, with the verdicts SES wrote into its header ([`stored`]): this
//!    starts the messages whose event was lost altogether (a record that
//!    expired from the queue, an event dropped before the queue existed).
//!
//! Each execution is named after the message id, so a message started
//! before starts nothing: running redrive again, or at the same time as
//! ingest-ses, starts nothing twice. It reads the configuration
//! (`IPCAM_CONFIG_KEY`) and starts executions of `IPCAM_STATE_MACHINE_ARN`
//! with the operator's credentials, which need `s3:ListBucket` on the
//! prefix, `sqs:ReceiveMessage` and `sqs:DeleteMessage` on the queue, and
//! what ingest-ses's role has.

mod stored;

use anyhow::Context;
use serde_json::Value;

use ipcam_adapters_aws::lambda::{load_config, setting};
use ipcam_adapters_aws::ses_event;
use ipcam_adapters_aws::{QueuedMessage, S3Store, SqsQueue, StepFunctions};
use ipcam_core::config::Config;
use ipcam_core::ports::ObjectStore;
use ipcam_core::stages::ingest::{ingest_ses, Inbox, Ingested, SesDelivery};

/// The object the SES receipt rule writes under its prefix when it is
/// created: not a message.
const SES_SETUP_NOTIFICATION: &str = "AMAZON_SES_SETUP_NOTIFICATION";

/// How long a record redrive took and kept stays hidden from the next
/// receive: longer than one run.
const HIDE_KEPT_SECONDS: i32 = 300;

struct Redrive {
    config: Config,
    inbox: Inbox,
    store: S3Store,
    executions: StepFunctions,
}

/// What a run did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    started: usize,
    already_started: usize,
    refused: usize,
    /// Queue records left in the queue, and stored messages not started,
    /// for a reason logged.
    kept: usize,
}

impl Redrive {
    /// One message through the door; what it did, or why it failed.
    async fn start(&self, delivery: &SesDelivery, tally: &mut Tally) -> bool {
        let message_id = &delivery.message_id;
        match ingest_ses(
            &self.config,
            delivery,
            &self.inbox,
            &self.store,
            &self.executions,
        )
        .await
        {
            Ok(Ingested::Started(execution)) => {
                tracing::info!(%message_id, %execution, "execution started");
                tally.started += 1;
                true
            }
            Ok(Ingested::Duplicate) => {
                tally.already_started += 1;
                true
            }
            Ok(Ingested::Rejected(rejection)) => {
                tracing::info!(%message_id, reason = rejection.reason.name(), "refused at the door");
                tally.refused += 1;
                true
            }
            Err(err) => {
                tracing::error!(%message_id, "not started: {}", err.message);
                false
            }
        }
    }

    /// Step 1: the failure queue, until it has nothing more to give.
    async fn drain(&self, queue: &SqsQueue, tally: &mut Tally) -> anyhow::Result<()> {
        loop {
            let batch = queue.receive(HIDE_KEPT_SECONDS).await?;
            if batch.is_empty() {
                return Ok(());
            }
            for message in batch {
                if self.redrive_record(&message, tally).await {
                    queue.delete(&message).await?;
                } else {
                    tally.kept += 1;
                }
            }
        }
    }

    /// Starts the messages of one failure record: whether all were done
    /// with, so that the record can go.
    async fn redrive_record(&self, message: &QueuedMessage, tally: &mut Tally) -> bool {
        let records = match failed_event(&message.body)
            .and_then(|event| ses_event::read_event(&event).map_err(|err| err.to_string()))
        {
            Ok(records) => records,
            Err(reason) => {
                tracing::error!(record = %message.id, "a failure record that cannot be read, left in the queue: {reason}");
                return false;
            }
        };
        let mut done = true;
        for record in records {
            match record {
                Ok(delivery) => done &= self.start(&delivery, tally).await,
                Err(unreadable) => {
                    tracing::error!(record = %message.id, "left in the queue: {unreadable}");
                    done = false;
                }
            }
        }
        done
    }

    /// Step 2: every stored SES message.
    async fn sweep(&self, tally: &mut Tally) -> anyhow::Result<()> {
        let objects = self
            .store
            .list(&self.inbox.bucket, &self.inbox.prefix)
            .await?;
        for (object, written) in objects {
            let Some(message_id) = object.key.strip_prefix(&self.inbox.prefix) else {
                continue;
            };
            // SendGrid's messages (under sendgrid/) are stored by their
            // function only once admitted and retried by SendGrid itself.
            if message_id.is_empty()
                || message_id.contains('/')
                || message_id == SES_SETUP_NOTIFICATION
            {
                continue;
            }
            let raw = match self.store.get(&object).await {
                Ok(raw) => raw,
                Err(err) => {
                    tracing::error!(%message_id, "cannot read the stored message: {err}");
                    tally.kept += 1;
                    continue;
                }
            };
            let delivery = stored::delivery(message_id, &raw, &written);
            if !self.start(&delivery, tally).await {
                tally.kept += 1;
            }
        }
        Ok(())
    }
}

/// The SES event of one of Lambda's on-failure records: its
/// `requestPayload`.
fn failed_event(body: &str) -> Result<Value, String> {
    let record: Value = serde_json::from_str(body).map_err(|err| format!("not JSON: {err}"))?;
    match record.get("requestPayload") {
        Some(payload @ Value::Object(_)) => Ok(payload.clone()),
        Some(_) => Err("its requestPayload is not an event".into()),
        None => Err("not a Lambda failure record: no requestPayload".into()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let setting = |name: &str| setting(name).map_err(|err| anyhow::anyhow!("{err}"));
    let sdk = ipcam_adapters_aws::sdk_config().await;
    let store = S3Store::new(&sdk);
    let config = load_config(&store)
        .await
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let redrive = Redrive {
        config,
        inbox: Inbox {
            bucket: setting("IPCAM_BUCKET")?,
            prefix: std::env::var("IPCAM_INCOMING_PREFIX").unwrap_or_else(|_| "incoming/".into()),
        },
        executions: StepFunctions::new(&sdk, setting("IPCAM_STATE_MACHINE_ARN")?),
        store,
    };
    let queue = SqsQueue::new(&sdk, setting("IPCAM_FAILURE_QUEUE_URL")?);
    let mut tally = Tally::default();
    redrive
        .drain(&queue, &mut tally)
        .await
        .context("redriving the failure queue")?;
    redrive
        .sweep(&mut tally)
        .await
        .context("redriving the stored messages")?;
    println!(
        "{}",
        serde_json::json!({
            "started": tally.started,
            "alreadyStarted": tally.already_started,
            "refused": tally.refused,
            "kept": tally.kept,
        })
    );
    if tally.kept > 0 {
        anyhow::bail!("{} not started: see the log above", tally.kept);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lambda's on-failure destination record, as it sends it to SQS.
    fn failure_record(payload: &Value) -> String {
        serde_json::json!({
            "version": "1.0",
            "timestamp": "2026-12-01T08:00:05.123Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:ipcam-ingest-ses:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3
            },
            "requestPayload": payload,
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "responsePayload": { "errorType": "Transient", "errorMessage": "starting the execution: throttled" }
        })
        .to_string()
    }

    #[test]
    fn a_failure_record_gives_back_the_ses_event() {
        let event = serde_json::json!({ "Records": [{ "eventSource": "aws:ses" }] });
        assert_eq!(failed_event(&failure_record(&event)), Ok(event));
    }

    #[test]
    fn a_record_that_is_not_lambdas_is_refused() {
        assert!(failed_event("not json").is_err());
        assert!(failed_event(r#"{"Records": []}"#).is_err());
        assert!(failed_event(r#"{"requestPayload": "text"}"#).is_err());
    }
}
