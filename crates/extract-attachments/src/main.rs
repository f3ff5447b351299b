//! extract-attachments: names the camera, holds the e-mail when the memory
//! of alerts says the camera cannot alert (snoozed, quiet hours, every label
//! cooling down), else reads the stored message, writes each picture to S3
//! as a frame and returns the frames and the camera (the contract's
//! `Extracted`).

use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::{DynamoAlertMemory, S3Store};
use ipcam_core::config::Config;
use ipcam_core::contract::{ExecutionInput, Extracted};
use ipcam_core::stages::extract::extract_attachments;

struct Function {
    config: Config,
    store: S3Store,
    alerts: DynamoAlertMemory,
}

async fn handle(
    function: &Function,
    event: LambdaEvent<ExecutionInput>,
) -> Result<Extracted, Diagnostic> {
    let extracted = extract_attachments(
        event.payload,
        &function.config,
        &function.store,
        &function.alerts,
    )
    .await
    .map_err(diagnostic)?;
    tracing::info!(
        event = %extracted.event.id,
        camera = %extracted.camera,
        frames = extracted.frames.len(),
        skipped = extracted.skipped.len(),
        hold = extracted.hold.as_deref().unwrap_or_default(),
        "extracted"
    );
    Ok(extracted)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let function = Function {
        alerts: DynamoAlertMemory::new(&start.sdk, setting("IPCAM_ALERTS_TABLE")?),
        config: start.config,
        store: start.store,
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}
