//! Judging one part's bytes as a picture, and making it fit Rekognition.
//!
//! The bytes decide, not the headers: cameras label JPEGs
//! `application/octet-stream`, `image/jpg` or `image/pjpeg`. Only the header
//! of a picture is read to judge it (format, size, completeness), so a
//! picture claiming huge dimensions is refused before anything is decoded.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::dedup::Fingerprint;

/// Rekognition's smallest accepted side, in pixels.
pub const MIN_SIDE: u32 = 80;

/// Largest picture Rekognition reads from S3, in bytes.
pub const MAX_STORED_BYTES: usize = 15 * 1024 * 1024;

/// No camera sends more pixels than this (8K video is 33 Mpx): a header that
/// claims more is a decompression bomb or a damaged file, and is never
/// decoded.
pub const MOST_PIXELS_DECODED: u64 = 50_000_000;

/// Most pixels a picture may claim per byte it weighs. Camera pictures are
/// noisy: even a black night frame stays under about 350 pixels a byte in
/// JPEG or PNG. A file claiming far more is built to blow up when decoded.
pub const MOST_PIXELS_PER_BYTE: u64 = 1_000;

/// Quality of the JPEGs we write when converting or scaling down: high
/// enough that detection sees no difference.
const JPEG_QUALITY: u8 = 88;

/// The picture formats we can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Bmp,
    WebP,
}

impl Format {
    fn image_format(self) -> ImageFormat {
        match self {
            Format::Jpeg => ImageFormat::Jpeg,
            Format::Png => ImageFormat::Png,
            Format::Gif => ImageFormat::Gif,
            Format::Bmp => ImageFormat::Bmp,
            Format::WebP => ImageFormat::WebP,
        }
    }

    /// Rekognition takes JPEG and PNG as they are.
    fn is_accepted_as_is(self) -> bool {
        matches!(self, Format::Jpeg | Format::Png)
    }
}

/// Recognises a picture by its first bytes; for anything else, says what
/// it is in words for the `skipped` list.
pub fn sniff(bytes: &[u8]) -> Result<Format, &'static str> {
    match bytes {
        [] => Err("empty part"),
        [0xFF, 0xD8, 0xFF, ..] => Ok(Format::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Ok(Format::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Ok(Format::Gif),
        // "BM", then the file size, then two reserved words that are zero.
        [b'B', b'M', _, _, _, _, 0, 0, 0, 0, ..] => Ok(Format::Bmp),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Ok(Format::WebP),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'A', b'V', b'I', b' ', ..] => {
            Err("a video clip (AVI), not a picture")
        }
        [_, _, _, _, b'f', b't', b'y', b'p', b'h', b'e', b'i', b'c' | b'x', ..]
        | [_, _, _, _, b'f', b't', b'y', b'p', b'm', b'i', b'f', b'1', ..] => {
            Err("a HEIC picture, which cannot be analysed: set the camera to send JPEG")
        }
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Err("a video clip (MP4), not a picture"),
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => {
            Err("a TIFF picture, which cannot be analysed: set the camera to send JPEG")
        }
        [b'%', b'P', b'D', b'F', ..] => Err("a PDF document, not a picture"),
        _ => Err("not a picture"),
    }
}

/// A picture judged from its header: what it is and how large.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

impl Judged {
    /// True when the picture can be stored as it is: within `max_pixels`
    /// and Rekognition's 15 MB.
    fn fits(&self, size: usize, max_pixels: u64) -> bool {
        u64::from(self.width) * u64::from(self.height) <= max_pixels && size <= MAX_STORED_BYTES
    }

    /// True when [`prepare`] decodes the whole picture in colour (to convert
    /// or scale it, or to fingerprint a PNG), which takes up to 8 bytes a
    /// pixel; a JPEG that fits is fingerprinted from its compressed data
    /// (or, when that cannot be read, from its brightness alone, 1 byte a
    /// pixel).
    pub fn needs_full_decode(&self, size: usize, max_pixels: u64) -> bool {
        !(self.format == Format::Jpeg && self.fits(size, max_pixels))
    }
}

/// Reads a picture's header and refuses what cannot or should not be
/// analysed, with the reason: not a picture, damaged, cut off, too small,
/// or claiming more pixels than any camera sends.
pub fn judge(bytes: &[u8]) -> Result<Judged, String> {
    let format = sniff(bytes).map_err(str::to_string)?;
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format.image_format())
        .into_dimensions()
        .map_err(|err| format!("damaged picture: {err}"))?;
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(format!(
            "too small to analyse: {width}x{height} px, at least {MIN_SIDE} px a side is needed"
        ));
    }
    if u64::from(width) * u64::from(height) > MOST_PIXELS_DECODED {
        return Err(format!(
            "claims {width}x{height} px, more than any camera sends: refused without decoding"
        ));
    }
    if u64::from(width) * u64::from(height) > MOST_PIXELS_PER_BYTE * bytes.len() as u64 {
        return Err(format!(
            "claims {width}x{height} px in only {} bytes, which no camera picture does: refused without decoding",
            bytes.len()
        ));
    }
    if is_cut_off(format, bytes) {
        return Err(format!(
            "cut off: the picture stops before its end ({} bytes arrived); the e-mail was probably truncated",
            bytes.len()
        ));
    }
    Ok(Judged {
        format,
        width,
        height,
    })
}

/// True when a JPEG or PNG lacks its end marker. Other formats are checked
/// by decoding them, which they always need.
fn is_cut_off(format: Format, bytes: &[u8]) -> bool {
    match format {
        // The end-of-image marker must follow the first scan. Compressed data
        // cannot contain it (0xFF is stuffed), but an EXIF thumbnail before
        // the scan has its own, hence the search after the scan start.
        Format::Jpeg => match jpeg_scan_start(bytes) {
            Some(scan) => !contains(&bytes[scan..], &[0xFF, 0xD9]),
            None => true,
        },
        Format::Png => !contains(bytes, b"IEND"),
        Format::Gif | Format::Bmp | Format::WebP => false,
    }
}

/// Offset of the first start-of-scan marker, found by walking the marker
/// segments from the top (so that markers inside an EXIF block are skipped).
fn jpeg_scan_start(bytes: &[u8]) -> Option<usize> {
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            // Fill byte before a marker.
            0xFF => at += 1,
            0xDA => return Some(at),
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let length = u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]);
                at += 2 + usize::from(length);
            }
        }
    }
}

/// True when `needle` occurs in `haystack`, searching from the end, where
/// end markers are.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).rev().any(|w| w == needle)
}

/// A picture ready to store: the bytes Rekognition will read, and the
/// fingerprint used to recognise near-duplicates.
pub struct Prepared {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub fingerprint: Fingerprint,
    /// True when `bytes` are not the bytes received but a conversion.
    pub is_converted: bool,
}

/// Makes a judged picture fit Rekognition: a JPEG or PNG within limits is
/// kept byte for byte; GIF (first frame), BMP and WebP are converted to
/// JPEG; anything above `max_pixels` or the 15 MB limit is scaled down.
pub fn prepare(bytes: Vec<u8>, judged: Judged, max_pixels: u64) -> Result<Prepared, String> {
    if !judged.needs_full_decode(bytes.len(), max_pixels) {
        let fingerprint = jpeg_fingerprint(&bytes, judged)?;
        return Ok(Prepared {
            bytes,
            content_type: "image/jpeg",
            width: judged.width,
            height: judged.height,
            fingerprint,
            is_converted: false,
        });
    }
    let decoded = decode(&bytes, judged)?;
    if judged.format.is_accepted_as_is() && judged.fits(bytes.len(), max_pixels) {
        let fingerprint = Fingerprint::of_image(&decoded);
        return Ok(Prepared {
            bytes,
            content_type: "image/png",
            width: judged.width,
            height: judged.height,
            fingerprint,
            is_converted: false,
        });
    }
    let scaled = scale_within(decoded, max_pixels);
    let fingerprint = Fingerprint::of_image(&scaled);
    let rgb = scaled.to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|err| format!("could not convert to JPEG: {err}"))?;
    if jpeg.len() > MAX_STORED_BYTES {
        return Err(format!(
            "still {} bytes once converted to JPEG, more than Rekognition's 15 MB",
            jpeg.len()
        ));
    }
    Ok(Prepared {
        bytes: jpeg,
        content_type: "image/jpeg",
        width: rgb.width(),
        height: rgb.height(),
        fingerprint,
        is_converted: true,
    })
}

/// Decodes a whole picture (the first frame of a GIF) with the decoder's
/// allocation bounded by the dimensions already checked.
fn decode(bytes: &[u8], judged: Judged) -> Result<DynamicImage, String> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), judged.format.image_format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(judged.width);
    limits.max_image_height = Some(judged.height);
    // RGBA at 16 bits a channel is the widest a decoder may need.
    limits.max_alloc = Some(u64::from(judged.width) * u64::from(judged.height) * 8 + (1 << 20));
    reader.limits(limits);
    reader
        .decode()
        .map_err(|err| format!("damaged picture: {err}"))
}

/// Scales a picture down to at most `max_pixels`, keeping its proportions,
/// by averaging pixel areas: fast on large pictures and sharp enough for
/// detection.
fn scale_within(picture: DynamicImage, max_pixels: u64) -> DynamicImage {
    let pixels = u64::from(picture.width()) * u64::from(picture.height());
    if pixels <= max_pixels {
        return picture;
    }
    let ratio = (max_pixels as f64 / pixels as f64).sqrt();
    let width = ((f64::from(picture.width()) * ratio).floor() as u32).max(1);
    let height = ((f64::from(picture.height()) * ratio).floor() as u32).max(1);
    picture.thumbnail_exact(width, height)
}

/// Fingerprints a JPEG from its brightness summed over the cells straight
/// from the compressed data, without decoding it; a JPEG that reader does
/// not handle (progressive, say) is decoded.
fn jpeg_fingerprint(bytes: &[u8], judged: Judged) -> Result<Fingerprint, String> {
    match Fingerprint::of_jpeg(bytes) {
        Some((width, height, fingerprint)) if (width, height) == (judged.width, judged.height) => {
            Ok(fingerprint)
        }
        _ => jpeg_fingerprint_decoded(bytes, judged),
    }
}

/// Fingerprints a JPEG from its brightness alone: decoding only the luma
/// channel skips colour conversion and chroma upsampling, the larger part of
/// a decode.
pub(super) fn jpeg_fingerprint_decoded(
    bytes: &[u8],
    judged: Judged,
) -> Result<Fingerprint, String> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(judged.width as usize)
        .set_max_height(judged.height as usize);
    let mut decoder =
        JpegDecoder::new_with_options(zune_core::bytestream::ZCursor::new(bytes), options);
    let luma = decoder
        .decode()
        .map_err(|err| format!("damaged picture: {err}"))?;
    let (width, height) = decoder
        .info()
        .map(|info| (u32::from(info.width), u32::from(info.height)))
        .unwrap_or((judged.width, judged.height));
    Fingerprint::of_luma(width, height, &luma)
        .ok_or_else(|| "damaged picture: no pixels".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        crate::testing::grey_jpeg(width, height)
    }

    #[test]
    fn formats_are_recognised_by_their_bytes_whatever_the_header_said() {
        assert_eq!(sniff(&jpeg(8, 8)), Ok(Format::Jpeg));
        assert_eq!(sniff(b"GIF89a......"), Ok(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(Format::WebP));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0AVI LIST"),
            Err("a video clip (AVI), not a picture")
        );
        assert_eq!(sniff(b"BMW service report"), Err("not a picture"));
    }

    #[test]
    fn jpeg_without_end_marker_is_cut_off() {
        let whole = jpeg(120, 90);
        assert!(judge(&whole).is_ok());
        let cut = &whole[..whole.len() - 40];
        let reason = judge(cut).unwrap_err();
        assert!(reason.starts_with("cut off"), "{reason}");
    }

    #[test]
    fn jpeg_claiming_huge_dimensions_is_refused_before_decoding() {
        let mut bomb = jpeg(120, 90);
        // The start-of-frame segment holds height then width, big-endian.
        let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        bomb[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let reason = judge(&bomb).unwrap_err();
        assert!(reason.contains("65535x65535"), "{reason}");
        assert!(reason.contains("refused without decoding"), "{reason}");
    }

    #[test]
    fn tiny_file_claiming_many_pixels_is_refused_before_decoding() {
        let mut bomb = jpeg(120, 90);
        let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        // 4000x3000 in well under 12 kB.
        bomb[sof + 5..sof + 9].copy_from_slice(&[0x0B, 0xB8, 0x0F, 0xA0]);
        let reason = judge(&bomb).unwrap_err();
        assert!(
            reason.starts_with("claims 4000x3000 px in only"),
            "{reason}"
        );
    }

    #[test]
    fn picture_above_the_pixel_budget_is_scaled_down_to_a_jpeg() {
        let big = jpeg(400, 300);
        let judged = judge(&big).unwrap();
        let prepared = prepare(big, judged, 200 * 150).unwrap();
        assert_eq!((prepared.width, prepared.height), (200, 150));
        assert_eq!(judge(&prepared.bytes).unwrap().width, 200);
    }
}
