//! From picture bytes to RGB pixels, no larger than the model needs.
//!
//! Decoding a 1080p JPEG at full size costs a good part of what running the
//! model does, and the model only sees about 416×256. A JPEG can be decoded
//! directly at a half, a quarter or an eighth of its size (the scaling
//! happens in the inverse DCT), so JPEGs are decoded at the smallest such
//! size that still covers the model's input on both sides. Other formats,
//! and JPEGs the fast decoder refuses, go through the `image` crate at full
//! size.

/// Pixels decoded from a picture: RGB, three bytes a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Decoded {
    /// The pixels as the model's input is prepared from them.
    pub fn rgb(&self) -> crate::preprocess::Rgb<'_> {
        crate::preprocess::Rgb {
            width: self.width,
            height: self.height,
            pixels: &self.pixels,
        }
    }
}

/// Why the bytes gave no pixels, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAPicture(pub String);

const JPEG_MAGIC: [u8; 3] = [0xFF, 0xD8, 0xFF];

/// Width and height of the picture in `bytes`, read from its header only.
pub fn dimensions(bytes: &[u8]) -> Result<(usize, usize), NotAPicture> {
    let (width, height) = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| NotAPicture(error.to_string()))?
        .into_dimensions()
        .map_err(|error| NotAPicture(error.to_string()))?;
    if width == 0 || height == 0 {
        return Err(NotAPicture("the picture is empty".into()));
    }
    Ok((width as usize, height as usize))
}

/// Decodes `bytes`, shrinking JPEGs on the way to no less than
/// `min_width`×`min_height`.
pub fn decode_rgb(
    bytes: &[u8],
    min_width: usize,
    min_height: usize,
) -> Result<Decoded, NotAPicture> {
    if bytes.starts_with(&JPEG_MAGIC) {
        // The fast decoder panics on a few malformed headers (an unusual
        // component count); such a file must not take the program down, and
        // the general decoder gets its chance at it.
        let scaled = std::panic::catch_unwind(|| decode_jpeg_scaled(bytes, min_width, min_height));
        if let Ok(Some(decoded)) = scaled {
            return Ok(decoded);
        }
    }
    let picture = image::load_from_memory(bytes)
        .map_err(|error| NotAPicture(error.to_string()))?
        .into_rgb8();
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    if width == 0 || height == 0 {
        return Err(NotAPicture("the picture is empty".into()));
    }
    Ok(Decoded {
        width,
        height,
        pixels: picture.into_raw(),
    })
}

/// The JPEG decoded at the smallest DCT scale that keeps it at least
/// `min_width`×`min_height`, or `None` if this decoder cannot read it
/// (CMYK, 12-bit, damaged) and the general one should try.
fn decode_jpeg_scaled(bytes: &[u8], min_width: usize, min_height: usize) -> Option<Decoded> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    if width == 0 || height == 0 {
        return None;
    }
    // The decoder picks the smallest scale that reaches the requested size
    // on either side, so both sides are asked for in the picture's own
    // proportions, at the factor the more demanding side needs.
    let factor = (min_width as f64 / width as f64).max(min_height as f64 / height as f64);
    let wanted = |side: usize| ((side as f64 * factor).ceil() as usize).min(usize::from(u16::MAX));
    let (width, height) = decoder
        .scale(wanted(width) as u16, wanted(height) as u16)
        .ok()?;
    let (width, height) = (usize::from(width), usize::from(height));
    let samples = decoder.decode().ok()?;
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => samples,
        jpeg_decoder::PixelFormat::L8 => samples.iter().flat_map(|&l| [l, l, l]).collect(),
        _ => return None,
    };
    (pixels.len() == width * height * 3).then_some(Decoded {
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    fn encoded(picture: &image::DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .unwrap();
        bytes
    }

    /// A 1920×1080 frame, half dark, half light, as a JPEG.
    fn camera_frame() -> image::DynamicImage {
        image::DynamicImage::ImageRgb8(RgbImage::from_fn(1920, 1080, |x, _| {
            if x < 960 {
                image::Rgb([20, 40, 60])
            } else {
                image::Rgb([220, 200, 180])
            }
        }))
    }

    #[test]
    fn a_1080p_jpeg_is_decoded_at_a_quarter_keeping_both_sides_above_the_minimum() {
        let decoded = decode_rgb(&encoded(&camera_frame(), ImageFormat::Jpeg), 416, 256).unwrap();
        assert_eq!((decoded.width, decoded.height), (480, 270));
        let left = &decoded.pixels[..3];
        let right = &decoded.pixels[(480 - 1) * 3..480 * 3];
        assert!(left
            .iter()
            .zip([20u8, 40, 60])
            .all(|(&got, want)| got.abs_diff(want) < 8));
        assert!(right
            .iter()
            .zip([220u8, 200, 180])
            .all(|(&got, want)| got.abs_diff(want) < 8));
    }

    #[test]
    fn the_more_demanding_side_sets_the_scale() {
        // A quarter would give 480×270, short of 300 rows: a half it is.
        let decoded = decode_rgb(&encoded(&camera_frame(), ImageFormat::Jpeg), 416, 300).unwrap();
        assert_eq!((decoded.width, decoded.height), (960, 540));
    }

    #[test]
    fn a_small_jpeg_is_decoded_at_full_size() {
        let small = camera_frame().thumbnail_exact(400, 300);
        let decoded = decode_rgb(&encoded(&small, ImageFormat::Jpeg), 416, 320).unwrap();
        assert_eq!((decoded.width, decoded.height), (400, 300));
    }

    #[test]
    fn a_grey_jpeg_becomes_rgb() {
        let grey = image::DynamicImage::ImageLuma8(camera_frame().to_luma8());
        let decoded = decode_rgb(&encoded(&grey, ImageFormat::Jpeg), 416, 256).unwrap();
        assert_eq!(decoded.pixels.len(), decoded.width * decoded.height * 3);
        assert_eq!(decoded.pixels[0], decoded.pixels[1]);
    }

    #[test]
    fn png_goes_through_the_general_decoder_at_full_size() {
        let decoded = decode_rgb(&encoded(&camera_frame(), ImageFormat::Png), 416, 256).unwrap();
        assert_eq!((decoded.width, decoded.height), (1920, 1080));
    }

    #[test]
    fn dimensions_come_from_the_header() {
        for format in [ImageFormat::Jpeg, ImageFormat::Png] {
            assert_eq!(
                dimensions(&encoded(&camera_frame(), format)),
                Ok((1920, 1080))
            );
        }
        assert!(dimensions(b"hello").is_err());
    }

    #[test]
    fn nonsense_is_not_a_picture() {
        assert!(decode_rgb(b"hello", 416, 416).is_err());
        assert!(decode_rgb(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 3, 1, 0xFF, 0xD9], 416, 416).is_err());
    }
}
