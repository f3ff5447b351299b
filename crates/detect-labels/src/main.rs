//! detect-labels: Rekognition DetectLabels on one stored frame, judged by
//! the camera's rules and by the memory of its recent alerts, where an
//! alert is claimed (the contract's `FrameToAnalyse` in, `Analysis` out).

use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::{DynamoAlertMemory, RekognitionDetector};
use ipcam_core::config::Config;
use ipcam_core::contract::{Analysis, FrameToAnalyse};
use ipcam_core::stages::detect::detect_labels;

struct Function {
    config: Config,
    detector: RekognitionDetector,
    alerts: DynamoAlertMemory,
}

async fn handle(
    function: &Function,
    event: LambdaEvent<FrameToAnalyse>,
) -> Result<Analysis, Diagnostic> {
    let input = event.payload;
    let analysis = detect_labels(
        &input,
        &function.config,
        &function.detector,
        &function.alerts,
    )
    .await
    .map_err(diagnostic)?;
    tracing::info!(
        camera = %input.camera,
        frame = input.frame_index,
        labels = analysis.detection.labels.len(),
        matches = analysis.matches.len(),
        alert = analysis.alert,
        why = ?analysis.why,
        "analysed"
    );
    Ok(analysis)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let function = Function {
        detector: RekognitionDetector::new(&start.sdk),
        alerts: DynamoAlertMemory::new(&start.sdk, setting("IPCAM_ALERTS_TABLE")?),
        config: start.config,
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}
