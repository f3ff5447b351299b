//! Extraction on arbitrary bytes: it must never panic, hang or run out of
//! memory, and whatever it keeps must be a picture Rekognition accepts.
//!
//! The extraction modules of ipcam-core are compiled here from their own
//! sources, with the two modules they use, rather than through the crate:
//! the crate also holds the adapters (HTTP, TLS, an async runtime), which
//! take far longer to build with the fuzzer's instrumentation than the code
//! under test.

#![no_main]
// The configuration module is compiled whole; the target uses a part of it.
#![allow(dead_code)]

#[path = "../../crates/core/src/config.rs"]
mod config;
#[path = "../../crates/core/src/contract.rs"]
mod contract;
#[path = "../../crates/core/src/mime/mod.rs"]
mod mime;

use config::ExtractSettings;
use libfuzzer_sys::fuzz_target;
use mime::MIN_SIDE;

fuzz_target!(|data: &[u8]| {
    let _ = mime::envelope(data);
    // A cap of 1 to 3 frames, taken from the length so that the bytes stay
    // the message: batches, and parts past the cap, on small inputs too.
    let settings = ExtractSettings {
        max_frames: config::Bounded(data.len() as u64 % 3 + 1),
        ..ExtractSettings::default()
    };
    let Ok(extraction) = mime::extract_pictures(data, &settings) else {
        return;
    };
    assert!(extraction.pictures.len() as u64 <= settings.max_frames.0);
    for picture in &extraction.pictures {
        assert!(picture.width >= MIN_SIDE && picture.height >= MIN_SIDE);
        assert!(u64::from(picture.width) * u64::from(picture.height) <= settings.max_pixels.0);
        let magic_ok = match picture.content_type {
            "image/jpeg" => picture.bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            "image/png" => picture.bytes.starts_with(b"\x89PNG"),
            _ => false,
        };
        assert!(
            magic_ok,
            "stored bytes do not match {}",
            picture.content_type
        );
    }
});
