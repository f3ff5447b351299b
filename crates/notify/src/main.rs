//! notify: publishes one alert per alerting event to `IPCAM_TOPIC_ARN`.

use ipcam_core::adapters::aws::{sdk_config, SnsNotifier};
use ipcam_core::contract::{AlertRequest, Notification};
use ipcam_core::stages::notify::notify;
use ipcam_lambda_support::{
    diagnostic, init_logging, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};

async fn handle(
    notifier: &SnsNotifier,
    event: LambdaEvent<AlertRequest>,
) -> Result<Notification, Diagnostic> {
    let notification = notify(&event.payload, notifier).await.map_err(diagnostic)?;
    tracing::info!(
        camera = %event.payload.camera,
        message_id = %notification.message_id,
        "alert published: {}",
        notification.subject
    );
    Ok(notification)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let sdk = sdk_config().await;
    let notifier = SnsNotifier::new(&sdk, setting("IPCAM_TOPIC_ARN")?);
    let notifier = &notifier;
    run(service_fn(move |event| async move {
        handle(notifier, event).await
    }))
    .await
}
