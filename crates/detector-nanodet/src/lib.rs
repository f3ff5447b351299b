//! # ipcam-detector-nanodet
//!
//! The detector IPCam AI Retrofit uses when there is no Amazon Rekognition:
//! NanoDet, an 80-class COCO object detector, run on the CPU by `tract`
//! (pure Rust), and answering in DetectLabels' terms (label names, parents,
//! percent, boxes as fractions of the picture) so that the same camera rules
//! apply to both.
//!
//! The model is compiled into the binary: nothing is downloaded when building
//! or running. See `models/NOTICE` for where it comes from.

mod consensus;
mod decode;
mod labels;
mod postprocess;
mod preprocess;
mod shape;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use ipcam_core::contract::{Frame, Label};
use ipcam_core::ports::{Detector, ObjectStore, PortError};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::RunOptions;

pub use labels::{ClassName, COCO_CLASSES};
pub use shape::InputShape;

/// The ONNX model, NanoDet trained at 416×416, weights stored as float16.
static MODEL: &[u8] = include_bytes!("../../../models/nanodet-coco-416.onnx");

/// The picture most cameras send: prepared when the model is loaded.
const COMMON_FRAME: (usize, usize) = (1920, 1080);

/// The grid strides of the model's three output pairs.
const STRIDES: [usize; 3] = [8, 16, 32];

/// The model's outputs in the order we read them: class scores at strides 8,
/// 16 and 32, then box distributions at the same strides. The file lists
/// them in another order, so they are picked by name.
const OUTPUT_NAMES: [&str; 6] = [
    "Identity:0",
    "Identity_1:0",
    "Identity_2:0",
    "Identity_3:0",
    "Identity_4:0",
    "Identity_5:0",
];

/// The share of a wide picture's width, in fifths, that each side view of
/// [`NanoDet::detect_closely`] takes: the two overlap by a fifth, so that a
/// person in the middle is whole in one of them.
const SIDE_VIEW_FIFTHS: usize = 3;

/// Scores below this (percent) are never reported whatever the caller asks:
/// below it the model's answers are noise, and there are thousands of them.
pub const CONFIDENCE_FLOOR: f32 = 5.0;

/// Threads that run the model's matrix products. The machines this runs on
/// (a small Lambda, a home server) have about two cores.
const INFERENCE_THREADS: usize = 2;

/// Why a picture could not be looked at.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    /// The bytes are not a picture the decoder understands (JPEG, PNG, GIF,
    /// BMP, WebP), or are a damaged one.
    #[error("not a readable picture: {0}")]
    NotAPicture(String),
    /// The embedded model could not be loaded or run.
    #[error("the detection model failed: {0}")]
    Model(String),
}

/// The NanoDet model, loaded and optimised, ready to look at pictures.
///
/// Each input size (see [`InputShape`]) needs its own optimised plan. The
/// plan for 16:9 frames is made when loading; others are made the first
/// time a picture of their proportions comes, which costs about as much as
/// loading, once. Load once and share: clones share the plans, and it is
/// `Send + Sync` (`detect` takes `&self`).
#[derive(Debug, Clone)]
pub struct NanoDet {
    model: Arc<InferenceModel>,
    options: RunOptions,
    plans: Arc<Mutex<HashMap<InputShape, Arc<TypedRunnableModel>>>>,
}

impl NanoDet {
    /// Reads the embedded model and optimises it for 16:9 frames on this
    /// machine.
    pub fn load() -> Result<NanoDet, DetectorError> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(MODEL))
            .and_then(|model| model.with_outputs_by_name(OUTPUT_NAMES))
            .map_err(model_error)?;
        let detector = NanoDet {
            model: Arc::new(model),
            options: RunOptions {
                executor: inference_executor(),
                ..RunOptions::default()
            },
            plans: Arc::default(),
        };
        detector.plan(InputShape::for_picture(COMMON_FRAME.0, COMMON_FRAME.1))?;
        Ok(detector)
    }

    /// The optimised plan for inputs of `shape`, made on first use.
    fn plan(&self, shape: InputShape) -> Result<Arc<TypedRunnableModel>, DetectorError> {
        // A panic elsewhere while the lock was held cannot leave the map
        // half-written: insertion is the last step.
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(plan) = plans.get(&shape) {
            return Ok(plan.clone());
        }
        let input = f32::fact([1, 3, shape.height, shape.width]);
        let plan = (*self.model)
            .clone()
            .with_input_fact(0, input.into())
            .and_then(|model| model.into_optimized())
            .and_then(|model| model.into_runnable_with_options(&self.options))
            .map_err(model_error)?;
        plans.insert(shape, plan.clone());
        Ok(plan)
    }

    /// The objects in a picture (JPEG, PNG, …) with at least
    /// `min_confidence` percent, one label per kind of object with a box
    /// round each one, best first.
    pub fn detect(
        &self,
        image_bytes: &[u8],
        min_confidence: f32,
    ) -> Result<Vec<Label>, DetectorError> {
        let (width, height) = dimensions(image_bytes)?;
        let shape = InputShape::for_picture(width, height);
        let picture = decoded(image_bytes, shape.width, shape.height)?;
        self.detect_input(
            preprocess::to_input(picture.rgb(), shape),
            shape,
            min_confidence,
        )
    }

    /// Makes ahead the plan [`NanoDet::detect_closely`] needs for the side
    /// views of 16:9 frames, so that the first frame looked at closely
    /// does not pay for it. Costs about what loading did.
    pub fn prepare_close_looks(&self) -> Result<(), DetectorError> {
        let (width, height) = COMMON_FRAME;
        self.plan(side_view_shape(width, height)).map(drop)
    }

    /// Like [`NanoDet::detect`], looking three times at a picture wider
    /// than tall: whole, then its left and its right three fifths, each
    /// at the model's full input width, so that a far or dim person is
    /// larger to the model. Each object is then at the mean confidence of
    /// the looks that see its place ([`consensus`]), with the box of the
    /// look surest of it. This is how the gate looks: in the test scenes
    /// it found every person, where a single look at 1920×1080 missed a far
    /// one at night, and the noise only one look finds is not added up
    /// (docs/detector-gate.md).
    pub fn detect_closely(
        &self,
        image_bytes: &[u8],
        min_confidence: f32,
    ) -> Result<Vec<Label>, DetectorError> {
        let (width, height) = dimensions(image_bytes)?;
        if width <= height {
            return self.detect(image_bytes, min_confidence);
        }
        let whole = InputShape::for_picture(width, height);
        let side = side_view_shape(width, height);
        // Decoded large enough that each side view still covers its input.
        let picture = decoded(image_bytes, side.width * 5 / SIDE_VIEW_FIFTHS, side.height)?;
        // Each look reports down to the floor: a look's faint sighting is
        // part of the mean even when the mean is asked for more.
        let mut looks = vec![consensus::Look {
            left: 0.0,
            width: 1.0,
            labels: self.detect_input(
                preprocess::to_input(picture.rgb(), whole),
                whole,
                CONFIDENCE_FLOOR,
            )?,
        }];
        let view_width = (picture.width * SIDE_VIEW_FIFTHS / 5).max(1);
        for left in [0, picture.width - view_width] {
            let pixels: Vec<u8> = picture
                .pixels
                .chunks_exact(picture.width * 3)
                .flat_map(|row| &row[left * 3..(left + view_width) * 3])
                .copied()
                .collect();
            let view = preprocess::Rgb {
                width: view_width,
                height: picture.height,
                pixels: &pixels,
            };
            let mut labels =
                self.detect_input(preprocess::to_input(view, side), side, CONFIDENCE_FLOOR)?;
            let offset = left as f32 / picture.width as f32;
            let scale = view_width as f32 / picture.width as f32;
            for found in labels.iter_mut().flat_map(|label| &mut label.boxes) {
                found.left = offset + found.left * scale;
                found.width *= scale;
            }
            looks.push(consensus::Look {
                left: offset,
                width: scale,
                labels,
            });
        }
        Ok(consensus::agreed(&looks, min_confidence))
    }

    /// Runs the model on a prepared input and reads its answer.
    fn detect_input(
        &self,
        input: Vec<f32>,
        shape: InputShape,
        min_confidence: f32,
    ) -> Result<Vec<Label>, DetectorError> {
        let plan = self.plan(shape)?;
        let input =
            Tensor::from_shape(&[1, 3, shape.height, shape.width], &input).map_err(model_error)?;
        let outputs = plan.run(tvec!(input.into())).map_err(model_error)?;
        if outputs.len() != 2 * STRIDES.len() {
            return Err(DetectorError::Model(format!(
                "the model gave {} outputs where {} were expected",
                outputs.len(),
                2 * STRIDES.len()
            )));
        }
        let mut heads = Vec::with_capacity(STRIDES.len());
        for (index, stride) in STRIDES.into_iter().enumerate() {
            heads.push(postprocess::Head {
                stride,
                scores: as_floats(&outputs[index]).map_err(model_error)?,
                distributions: as_floats(&outputs[index + STRIDES.len()]).map_err(model_error)?,
            });
        }
        let threshold = min_confidence.max(CONFIDENCE_FLOOR) / 100.0;
        let candidates = postprocess::decode(&heads, shape, threshold)
            .map_err(|error| DetectorError::Model(error.to_string()))?;
        let kept = postprocess::non_maximum_suppression(candidates, postprocess::IOU_THRESHOLD);
        Ok(postprocess::into_labels(&kept, shape))
    }
}

/// The model's input for a side view of a `width`×`height` picture.
fn side_view_shape(width: usize, height: usize) -> InputShape {
    InputShape::for_picture(width * SIDE_VIEW_FIFTHS / 5, height)
}

/// Width and height of a picture, from its header.
fn dimensions(image_bytes: &[u8]) -> Result<(usize, usize), DetectorError> {
    decode::dimensions(image_bytes).map_err(|error| DetectorError::NotAPicture(error.0))
}

/// The picture's pixels, decoded no smaller than `min_width`×`min_height`
/// where the format allows decoding smaller than the picture.
fn decoded(
    image_bytes: &[u8],
    min_width: usize,
    min_height: usize,
) -> Result<decode::Decoded, DetectorError> {
    decode::decode_rgb(image_bytes, min_width, min_height)
        .map_err(|error| DetectorError::NotAPicture(error.0))
}

fn model_error(error: TractError) -> DetectorError {
    DetectorError::Model(format!("{error:#}"))
}

/// The values of an output tensor, row-major.
fn as_floats(output: &Tensor) -> TractResult<&[f32]> {
    output.try_as_plain_ram()?.as_slice::<f32>()
}

/// A pool of [`INFERENCE_THREADS`] threads for the model's matrix products,
/// or none (the calling thread alone) if threads cannot be started.
fn inference_executor() -> Option<tract_linalg::multithread::Executor> {
    rayon::ThreadPoolBuilder::new()
        .thread_name(|index| format!("nanodet-{index}"))
        .num_threads(INFERENCE_THREADS)
        .build()
        .ok()
        .map(|pool| tract_linalg::multithread::Executor::MultiThread(Arc::new(pool)))
}

/// What the model can rule out as a gate in front of Rekognition: each of
/// its 80 classes, and `Vehicle`, whose members a camera sees on a road (a
/// van, a pick-up) it takes for a car or a truck. Not `Animal` nor `Pet`:
/// Rekognition knows foxes, deer and rabbits, which this model has never
/// been taught.
static GATE_VOCABULARY: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    COCO_CLASSES
        .iter()
        .map(|class| class.name)
        .chain(["Vehicle"])
        .collect()
});

/// The [`Detector`] port on the embedded model: reads the frame from the
/// object store and looks at it.
pub struct NanoDetDetector<S> {
    model: NanoDet,
    store: S,
    closely: bool,
}

impl<S: ObjectStore> NanoDetDetector<S> {
    pub fn new(model: NanoDet, store: S) -> NanoDetDetector<S> {
        NanoDetDetector {
            model,
            store,
            closely: false,
        }
    }

    /// The same detector looking at each frame as the gate does, three
    /// times ([`NanoDet::detect_closely`]): about three times the work, for
    /// far and dim people that one look misses. [`NanoDet::prepare_close_looks`]
    /// makes their plan ahead.
    pub fn looking_closely(mut self) -> NanoDetDetector<S> {
        self.closely = true;
        self
    }
}

/// The labels the model can rule out as a gate (see [`Detector::gate_vocabulary`]).
pub fn gate_vocabulary() -> &'static [&'static str] {
    &GATE_VOCABULARY
}

impl<S: ObjectStore> Detector for NanoDetDetector<S> {
    fn gate_vocabulary(&self) -> &[&str] {
        gate_vocabulary()
    }

    async fn detect(&self, frame: &Frame, min_confidence: f32) -> Result<Vec<Label>, PortError> {
        let bytes = self.store.get(&frame.object()).await?;
        let model = self.model.clone();
        // Inference keeps a core busy for tens of milliseconds: run it where
        // blocking is allowed, not on the runtime's worker threads.
        let closely = self.closely;
        let labels = tokio::task::spawn_blocking(move || {
            if closely {
                model.detect_closely(&bytes, min_confidence)
            } else {
                model.detect(&bytes, min_confidence)
            }
        })
        .await
        .map_err(|error| PortError::Transient(format!("the detector stopped: {error}")))?;
        // Neither a damaged picture nor a broken model gets better by
        // retrying; a damaged picture is that frame's alone.
        labels.map_err(|error| match error {
            DetectorError::NotAPicture(_) => PortError::Refused(error.to_string()),
            DetectorError::Model(_) => PortError::Permanent(error.to_string()),
        })
    }
}
