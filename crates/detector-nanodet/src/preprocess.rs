//! From a picture to the model's input: a BGR tensor of the picture's
//! [`InputShape`], normalised with the mean and deviation NanoDet was
//! trained with.
//!
//! The picture is stretched over the whole input rather than letterboxed
//! (the input already has nearly its proportions), so a box's position in
//! the input is directly its fraction of the picture.
//!
//! Shrinking averages every source pixel into the output pixel it falls in
//! (an area filter), which is what a camera frame four or five times larger
//! than the input needs to avoid aliasing, and is done straight into the
//! tensor in one pass over the decoded picture.

use crate::shape::InputShape;

/// Mean of each input channel in B, G, R order, in 0–255 pixel units.
const MEAN_BGR: [f32; 3] = [103.53, 116.28, 123.675];
/// Standard deviation of each input channel in B, G, R order.
const STD_BGR: [f32; 3] = [57.375, 57.12, 58.395];

/// An RGB picture, three bytes a pixel, rows top to bottom.
#[derive(Debug, Clone, Copy)]
pub struct Rgb<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [u8],
}

/// For each of `target` output positions, the range of the `source`
/// positions it covers (at least one).
fn spans(source: usize, target: usize) -> Vec<(usize, usize)> {
    (0..target)
        .map(|i| {
            let start = (i * source / target).min(source - 1);
            let end = ((i + 1) * source).div_ceil(target).clamp(start + 1, source);
            (start, end)
        })
        .collect()
}

/// The model's input for `picture`, `shape.width`×`shape.height`, planar B, G, R
/// (NCHW without the batch axis), each value `(pixel - mean) / std`.
///
/// `picture` must have at least one pixel and `pixels` must hold
/// `width × height × 3` bytes; the caller checks this.
pub fn to_input(picture: Rgb<'_>, shape: InputShape) -> Vec<f32> {
    let Rgb {
        width,
        height,
        pixels,
    } = picture;
    debug_assert_eq!(pixels.len(), width * height * 3);
    let columns = spans(width, shape.width);
    let rows = spans(height, shape.height);
    let plane = shape.width * shape.height;
    let mut input = vec![0.0f32; 3 * plane];
    // Sum of each R, G, B value of the source rows of one output row.
    let mut row_sums = vec![0u32; width * 3];
    for (out_y, &(y0, y1)) in rows.iter().enumerate() {
        row_sums.fill(0);
        for y in y0..y1 {
            let row = &pixels[y * width * 3..(y + 1) * width * 3];
            for (sum, &value) in row_sums.iter_mut().zip(row) {
                *sum += u32::from(value);
            }
        }
        let row_count = (y1 - y0) as u32;
        for (out_x, &(x0, x1)) in columns.iter().enumerate() {
            let mut rgb = [0u32; 3];
            for x in x0..x1 {
                for (channel, total) in rgb.iter_mut().enumerate() {
                    *total += row_sums[x * 3 + channel];
                }
            }
            let count = (row_count * (x1 - x0) as u32) as f32;
            let at = out_y * shape.width + out_x;
            for bgr in 0..3 {
                let mean = rgb[2 - bgr] as f32 / count;
                input[bgr * plane + at] = (mean - MEAN_BGR[bgr]) / STD_BGR[bgr];
            }
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(side: usize) -> InputShape {
        InputShape {
            width: side,
            height: side,
        }
    }

    #[test]
    fn spans_cover_the_source_without_gaps_when_shrinking() {
        let spans = spans(1920, 416);
        assert_eq!(spans.len(), 416);
        assert_eq!(spans[0].0, 0);
        assert_eq!(spans[415].1, 1920);
        for pair in spans.windows(2) {
            assert!(pair[1].0 <= pair[0].1, "gap between {pair:?}");
        }
    }

    #[test]
    fn spans_never_go_empty_when_enlarging() {
        for (start, end) in spans(100, 416) {
            assert!(start < end && end <= 100);
        }
    }

    #[test]
    fn a_uniform_picture_gives_a_uniform_normalised_bgr_input() {
        let (r, g, b) = (200u8, 100u8, 50u8);
        let pixels: Vec<u8> = std::iter::repeat_n([r, g, b], 30 * 20).flatten().collect();
        let input = to_input(
            Rgb {
                width: 30,
                height: 20,
                pixels: &pixels,
            },
            InputShape {
                width: 8,
                height: 4,
            },
        );
        assert_eq!(input.len(), 3 * 32);
        let expect = [
            (f32::from(b) - 103.53) / 57.375,
            (f32::from(g) - 116.28) / 57.12,
            (f32::from(r) - 123.675) / 58.395,
        ];
        for (plane, want) in input.chunks(32).zip(expect) {
            assert!(plane.iter().all(|v| (v - want).abs() < 1e-5), "{plane:?}");
        }
    }

    #[test]
    fn shrinking_averages_the_pixels_of_each_area() {
        // A 4×2 picture: left half black, right half white, shrunk to 2×2
        // keeps the halves apart; shrunk to 1×1 it is mid grey.
        let mut pixels = Vec::new();
        for _row in 0..2 {
            pixels.extend_from_slice(&[0; 6]);
            pixels.extend_from_slice(&[255; 6]);
        }
        let picture = Rgb {
            width: 4,
            height: 2,
            pixels: &pixels,
        };
        let halves = to_input(picture, square(2));
        let red = &halves[2 * 4..];
        assert!((red[0] - (0.0 - 123.675) / 58.395).abs() < 1e-5);
        assert!((red[1] - (255.0 - 123.675) / 58.395).abs() < 1e-5);
        let grey = to_input(picture, square(1));
        assert!((grey[2] - (127.5 - 123.675) / 58.395).abs() < 1e-5);
    }
}
