//! notify: draws the boxes on the alerting frame (stored under
//! `annotated/`) and publishes one alert per alerting event to
//! `IPCAM_TOPIC_ARN`.

use ipcam_adapters_aws::lambda::{
    diagnostic, init_logging, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::{sdk_config, S3Store, SnsNotifier};
use ipcam_core::contract::{AlertRequest, Notification};
use ipcam_core::stages::notify::notify;

async fn handle(
    store: &S3Store,
    notifier: &SnsNotifier,
    event: LambdaEvent<AlertRequest>,
) -> Result<Notification, Diagnostic> {
    let notification = notify(&event.payload, store, notifier)
        .await
        .map_err(diagnostic)?;
    tracing::info!(
        camera = %event.payload.camera,
        message_id = %notification.message_id,
        snapshot = notification.snapshot.as_ref().map(|object| object.key.as_str()).unwrap_or("none"),
        "alert published: {}",
        notification.subject
    );
    Ok(notification)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let sdk = sdk_config().await;
    let store = S3Store::new(&sdk);
    let notifier = SnsNotifier::new(&sdk, setting("IPCAM_TOPIC_ARN")?);
    let (store, notifier) = (&store, &notifier);
    run(service_fn(move |event| async move {
        handle(store, notifier, event).await
    }))
    .await
}
