//! detect-labels: Rekognition DetectLabels on one stored frame, judged by
//! the camera's rules (the contract's `FrameToAnalyse` in, `Analysis` out).

use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, run, service_fn, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::RekognitionDetector;
use ipcam_core::config::Config;
use ipcam_core::contract::{Analysis, FrameToAnalyse};
use ipcam_core::stages::detect::detect_labels;

struct Function {
    config: Config,
    detector: RekognitionDetector,
}

async fn handle(
    function: &Function,
    event: LambdaEvent<FrameToAnalyse>,
) -> Result<Analysis, Diagnostic> {
    let input = event.payload;
    let analysis = detect_labels(&input, &function.config, &function.detector)
        .await
        .map_err(diagnostic)?;
    tracing::info!(
        camera = %input.camera,
        frame = input.frame_index,
        labels = analysis.detection.labels.len(),
        matches = analysis.matches.len(),
        alert = analysis.alert,
        "analysed"
    );
    Ok(analysis)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let function = Function {
        detector: RekognitionDetector::new(&start.sdk),
        config: start.config,
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}
