//! One 1920×1080 camera frame from JPEG bytes to labels: decoding, shrinking,
//! inference, box decoding and suppression, as the pipeline does per frame.

use criterion::{criterion_group, criterion_main, Criterion};
use ipcam_detector_nanodet::NanoDet;

/// A 1080p frame of the front-door sample (see `samples/make_samples.py`).
static FRAME: &[u8] = include_bytes!("fixtures/frontdoor_1080p.jpg");

fn detect_one_frame(c: &mut Criterion) {
    let model = match NanoDet::load() {
        Ok(model) => model,
        Err(error) => panic!("the embedded model does not load: {error}"),
    };
    c.bench_function("detect 1920x1080 jpeg", |b| {
        b.iter(|| model.detect(std::hint::black_box(FRAME), 50.0))
    });
}

criterion_group!(benches, detect_one_frame);
criterion_main!(benches);
