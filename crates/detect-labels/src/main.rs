//! detect-labels: what is in one stored frame, judged by the camera's rules
//! and by the memory of its recent alerts, where an alert is claimed (the
//! contract's `FrameToAnalyse` in, `Analysis` out).
//!
//! `[detector] kind` chooses who looks: Rekognition DetectLabels, the
//! embedded model (run here, on the frame read from S3), or the embedded
//! model as a gate that lets only promising frames through to Rekognition.
//! The model is loaded at cold start only when the configuration needs it.

use ipcam_adapters_aws::lambda::{
    cold_start, diagnostic, run, service_fn, setting, Diagnostic, Error, LambdaEvent,
};
use ipcam_adapters_aws::{DynamoAlertMemory, DynamoBudget, RekognitionDetector, S3Store};
use ipcam_core::config::{Config, DetectorKind};
use ipcam_core::contract::{Analysis, FrameToAnalyse};
use ipcam_core::stages::detect::{detect_labels, detect_labels_gated};
use ipcam_detector_nanodet::{NanoDet, NanoDetDetector};

/// The embedded model, shared by its two uses.
struct Embedded {
    detector: NanoDetDetector<S3Store>,
    gate: NanoDetDetector<S3Store>,
}

struct Function {
    config: Config,
    rekognition: RekognitionDetector,
    /// The embedded model, when `[detector]` or a camera uses it: as the
    /// detector, and as the gate (which looks at each frame more closely).
    embedded: Option<Embedded>,
    /// Counts the calls of the detector of record against `[detector]`'s
    /// caps, and tells the operational topic when one is reached.
    budget: DynamoBudget,
    alerts: DynamoAlertMemory,
}

async fn handle(
    function: &Function,
    event: LambdaEvent<FrameToAnalyse>,
) -> Result<Analysis, Diagnostic> {
    let input = event.payload;
    let config = &function.config;
    let (budget, alerts) = (&function.budget, &function.alerts);
    let analysis = match (config.detector_for(&input.camera), &function.embedded) {
        (DetectorKind::Embedded, Some(embedded)) => {
            detect_labels(&input, config, &embedded.detector, budget, alerts).await
        }
        (DetectorKind::Gated, Some(embedded)) => {
            let (gate, rekognition) = (&embedded.gate, &function.rekognition);
            detect_labels_gated(&input, config, gate, rekognition, budget, alerts).await
        }
        // The model is loaded whenever the configuration names it.
        _ => detect_labels(&input, config, &function.rekognition, budget, alerts).await,
    }
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = cold_start().await?;
    let embedded = if start.config.uses_embedded_model() {
        let model = NanoDet::load()?;
        if start.config.uses_detector(DetectorKind::Gated) {
            // The gate's side views are planned now, not in the first
            // gated frame's time; a stack without a gated camera skips it.
            model.prepare_close_looks()?;
        }
        Some(Embedded {
            detector: NanoDetDetector::new(model.clone(), start.store.clone()),
            gate: NanoDetDetector::new(model, start.store).looking_closely(),
        })
    } else {
        None
    };
    let table = setting("IPCAM_ALERTS_TABLE")?;
    let function = Function {
        rekognition: RekognitionDetector::new(&start.sdk),
        embedded,
        budget: DynamoBudget::new(&start.sdk, table.clone(), setting("IPCAM_OPS_TOPIC")?),
        alerts: DynamoAlertMemory::new(&start.sdk, table),
        config: start.config,
    };
    let function = &function;
    run(service_fn(move |event| async move {
        handle(function, event).await
    }))
    .await
}
