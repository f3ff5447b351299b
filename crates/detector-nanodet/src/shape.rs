//! The size of the model's input for a given picture.
//!
//! NanoDet is fully convolutional: it accepts any input whose sides are
//! multiples of its largest stride, and its work grows with the input's
//! area. It was trained on pictures resized with their proportions kept,
//! the longer side 416 pixels. A camera frame is usually 16:9, so a square
//! 416×416 input would stretch it vertically by 1.78 and spend 40 % of the
//! inference on that stretch. Instead the longer side is 416 and the
//! shorter one follows the picture's proportions, rounded *up* to the
//! stride (a 16:9 frame gets 416×256, a 4:3 one 416×320), so the picture
//! is never squeezed, only stretched by less than one stride.

/// The longer side of the input, in pixels: the size NanoDet was trained at.
pub const LONG_SIDE: usize = 416;

/// Input sides are multiples of the largest output stride, so that every
/// grid has whole cells.
pub const GRANULE: usize = 32;

/// The shorter side never goes below this, however elongated the picture
/// (a panorama strip): below it the grids get too coarse to find anything,
/// and it bounds the number of distinct input sizes to prepare.
pub const MIN_SHORT_SIDE: usize = 128;

/// Width and height of the model's input, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputShape {
    pub width: usize,
    pub height: usize,
}

impl InputShape {
    /// The input for a picture of `width`×`height` pixels (both at least 1).
    pub fn for_picture(width: usize, height: usize) -> InputShape {
        let (long, short) = (width.max(height).max(1), width.min(height).max(1));
        let proportional = (LONG_SIDE * short).div_ceil(long);
        let rounded = proportional.div_ceil(GRANULE) * GRANULE;
        let short_side = rounded.clamp(MIN_SHORT_SIDE, LONG_SIDE);
        if width >= height {
            InputShape {
                width: LONG_SIDE,
                height: short_side,
            }
        } else {
            InputShape {
                width: short_side,
                height: LONG_SIDE,
            }
        }
    }

    /// Cells of the output grid at `stride`, across and down.
    pub fn grid(self, stride: usize) -> (usize, usize) {
        (self.width / stride, self.height / stride)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(width: usize, height: usize) -> (usize, usize) {
        let shape = InputShape::for_picture(width, height);
        (shape.width, shape.height)
    }

    #[test]
    fn camera_frames_keep_their_proportions_rounded_up_to_the_stride() {
        assert_eq!(shape(1920, 1080), (416, 256));
        assert_eq!(shape(1280, 720), (416, 256));
        assert_eq!(shape(640, 480), (416, 320));
        assert_eq!(shape(2592, 1944), (416, 320));
        assert_eq!(shape(1280, 1024), (416, 352));
        assert_eq!(shape(800, 800), (416, 416));
    }

    #[test]
    fn portrait_pictures_get_the_transposed_input() {
        assert_eq!(shape(1080, 1920), (256, 416));
    }

    #[test]
    fn extreme_proportions_are_bounded() {
        assert_eq!(shape(10_000, 10), (416, MIN_SHORT_SIDE));
        assert_eq!(shape(1, 1), (416, 416));
    }

    #[test]
    fn every_side_is_a_whole_number_of_cells_at_every_stride() {
        for (width, height) in [(1920, 1080), (333, 500), (4000, 3000), (100, 7000)] {
            let shape = InputShape::for_picture(width, height);
            assert_eq!(shape.width % GRANULE, 0);
            assert_eq!(shape.height % GRANULE, 0);
        }
    }
}
