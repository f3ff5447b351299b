//! The pictures of the camera e-mails, drawn here (a house, a lawn, a
//! person walking by) rather than kept as files, so each case says what its
//! pictures show. The sensor noise is seeded: every run draws the same
//! pixels, and the committed fixtures can be checked byte for byte.

use std::io::Cursor;

use anyhow::{Context, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// A small deterministic random source (xorshift), so fixtures never change.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value from -amplitude to +amplitude.
    fn jitter(&mut self, amplitude: i32) -> i32 {
        if amplitude == 0 {
            return 0;
        }
        (self.next() % (2 * amplitude as u64 + 1)) as i32 - amplitude
    }
}

/// What a scene shows.
#[derive(Clone, Copy)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    /// Where a person stands, as a share of the width; none if absent.
    pub person_at: Option<f32>,
    /// Seed of the sensor noise.
    pub seed: u64,
    /// Amplitude of the sensor noise, in brightness levels.
    pub noise: i32,
}

impl Scene {
    pub fn garden(width: u32, height: u32) -> Scene {
        Scene {
            width,
            height,
            person_at: None,
            seed: 1,
            noise: 4,
        }
    }

    pub fn with_person(self, at: f32) -> Scene {
        Scene {
            person_at: Some(at),
            ..self
        }
    }

    pub fn with_seed(self, seed: u64) -> Scene {
        Scene { seed, ..self }
    }

    pub fn draw(&self) -> RgbImage {
        let (w, h) = (self.width as f32, self.height as f32);
        let mut noise = Noise(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        RgbImage::from_fn(self.width, self.height, |x, y| {
            let (fx, fy) = (x as f32 / w, y as f32 / h);
            let mut colour = if fy < 0.45 {
                [120.0 + 80.0 * fy, 160.0 + 60.0 * fy, 230.0]
            } else {
                [60.0, 130.0 - 30.0 * fy, 50.0]
            };
            let in_house = (0.55..0.85).contains(&fx) && (0.25..0.6).contains(&fy);
            let in_roof = (0.52..0.88).contains(&fx) && (0.15..0.25).contains(&fy);
            let in_door = (0.66..0.72).contains(&fx) && (0.45..0.6).contains(&fy);
            if in_door {
                colour = [90.0, 50.0, 30.0];
            } else if in_roof {
                colour = [150.0, 40.0, 40.0];
            } else if in_house {
                colour = [210.0, 200.0, 180.0];
            }
            if let Some(at) = self.person_at {
                let body = (fx - at).abs() < 0.03 && (0.42..0.78).contains(&fy);
                let head = ((fx - at) * w).hypot((fy - 0.38) * h) < 0.035 * h;
                if body || head {
                    colour = [35.0, 35.0, 60.0];
                }
            }
            let grain = noise.jitter(self.noise) as f32;
            Rgb(colour.map(|c| (c + grain).clamp(0.0, 255.0) as u8))
        })
    }

    pub fn jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        encode_jpeg(&self.draw(), quality)
    }
}

pub fn encode_jpeg(picture: &RgbImage, quality: u8) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(picture)
        .context("encoding a drawn picture as JPEG")?;
    Ok(bytes)
}

pub fn encode(picture: &RgbImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(picture.clone())
        .write_to(&mut Cursor::new(&mut bytes), format)
        .with_context(|| format!("encoding a drawn picture as {format:?}"))?;
    Ok(bytes)
}

/// Lossless WebP, which `image` writes with its own encoder rather than
/// through [`encode`].
pub fn encode_webp(picture: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
        .encode(
            picture.as_raw(),
            picture.width(),
            picture.height(),
            image::ExtendedColorType::Rgb8,
        )
        .context("encoding a drawn picture as WebP")?;
    Ok(bytes)
}
