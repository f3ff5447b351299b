//! Recognising the frames of a burst that show the same moment.
//!
//! A camera often sends two to five frames of one motion event. Analysing
//! each bills Rekognition for the same picture, so a frame that looks like
//! one already kept is dropped. The danger is the opposite mistake: taking a
//! frame where a person just walked in for a copy of the empty scene. A
//! global perceptual hash (64 bits over the whole picture) lets a small
//! change through, so the comparison here is local: the picture is reduced
//! to a grid of average brightness, and two frames are the same moment only
//! if *every* cell matches, after allowing for an overall brightness change
//! (auto-exposure, a cloud). Sensor noise and re-compression average out
//! within a cell; a person covering a cell does not.

use image::DynamicImage;

use super::jpeg_sums;

/// Cells on each side of the grid.
const GRID: usize = 32;

/// Largest difference of a cell's average brightness (0-255), beyond the
/// overall change, for two frames to count as the same moment.
///
/// Measured on the burst fixture (320x240): other sensor noise and another
/// JPEG quality of one scene move no cell by more than 2; a person walking
/// in moves the cells it covers by more than 100. 12 keeps a wide margin on
/// both sides: a change must be faint *and* small to be taken for noise.
pub const NEAR_DUPLICATE_MAX_DIFFERENCE: u8 = 12;

/// Picture rows summed into 16-bit column sums at a time: 257 rows of 255
/// fill 16 bits exactly.
const ROWS_PER_STRIP: usize = 257;

/// The pixels of each cell of the grid along a side `length` pixels long:
/// pixel x falls in grid column x * GRID / width (and row y in grid row
/// y * GRID / height), each a run of whole pixels.
fn runs(length: usize) -> Vec<(usize, usize)> {
    (0..GRID)
        .map(|cell| {
            (
                (cell * length).div_ceil(GRID),
                ((cell + 1) * length).div_ceil(GRID),
            )
        })
        .collect()
}

/// A picture reduced to a grid of average brightness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    cells: [u8; GRID * GRID],
}

impl Fingerprint {
    /// Fingerprints a row-major 8-bit brightness buffer; `None` when the
    /// buffer is smaller than its dimensions say.
    pub fn of_luma(width: u32, height: u32, luma: &[u8]) -> Option<Fingerprint> {
        let (width, height) = (width as usize, height as usize);
        if width == 0 || height == 0 || luma.len() < width * height {
            return None;
        }
        let column_runs = runs(width);
        // A grid row's pixels are summed column by column, whole picture
        // rows at a time (which vectorises, 16 bits a lane), then each
        // column run into its cell.
        let mut column_sums = vec![0u16; width];
        let mut rows = luma.chunks_exact(width);
        let mut cells = [0u8; GRID * GRID];
        for (grid_row, (top, bottom)) in runs(height).into_iter().enumerate() {
            let mut cell_sums = [0u64; GRID];
            let mut rows_left = bottom - top;
            while rows_left > 0 {
                let strip = rows_left.min(ROWS_PER_STRIP);
                rows_left -= strip;
                column_sums.fill(0);
                for row in rows.by_ref().take(strip) {
                    for (sum, &value) in column_sums.iter_mut().zip(row) {
                        *sum += u16::from(value);
                    }
                }
                for (cell_sum, &(left, right)) in cell_sums.iter_mut().zip(&column_runs) {
                    *cell_sum += column_sums[left..right]
                        .iter()
                        .map(|&sum| u64::from(sum))
                        .sum::<u64>();
                }
            }
            for ((cell, sum), &(left, right)) in cells[grid_row * GRID..][..GRID]
                .iter_mut()
                .zip(cell_sums)
                .zip(&column_runs)
            {
                let count = ((right - left) * (bottom - top)) as u64;
                // A picture narrower or shorter than the grid leaves cells
                // empty: they stay 0 in every frame of that size, so they
                // compare equal.
                *cell = sum.checked_div(count).unwrap_or(0) as u8;
            }
        }
        Some(Fingerprint { cells })
    }

    /// Fingerprints a JPEG without decoding it, from its brightness summed
    /// over the cells straight from the compressed data ([`jpeg_sums`]):
    /// the cells of [`Fingerprint::of_luma`], short of the rounding and
    /// clipping of each pixel. `None` when that reader does not handle the
    /// file.
    pub fn of_jpeg(bytes: &[u8]) -> Option<(u32, u32, Fingerprint)> {
        let found = jpeg_sums::cell_sums(bytes, runs)?;
        let pixels = |(start, end): (usize, usize)| (end - start) as f64;
        let (columns, rows) = (runs(found.width as usize), runs(found.height as usize));
        let mut cells = [0u8; GRID * GRID];
        for (index, (cell, sum)) in cells.iter_mut().zip(&found.sums).enumerate() {
            let count = pixels(rows[index / GRID]) * pixels(columns[index % GRID]);
            // A picture narrower or shorter than the grid leaves cells
            // empty, 0 as in `of_luma`.
            if count > 0.0 {
                *cell = (sum / count).floor().clamp(0.0, 255.0) as u8;
            }
        }
        Some((found.width, found.height, Fingerprint { cells }))
    }

    /// Fingerprints a decoded picture.
    pub fn of_image(picture: &DynamicImage) -> Fingerprint {
        let luma = picture.to_luma8();
        let cells = [0u8; GRID * GRID];
        Fingerprint::of_luma(luma.width(), luma.height(), luma.as_raw())
            .unwrap_or(Fingerprint { cells })
    }

    /// The largest local difference between two pictures, once the overall
    /// brightness change (the median cell difference) is taken out.
    pub fn difference(&self, other: &Fingerprint) -> u8 {
        let mut deltas: Vec<i16> = self
            .cells
            .iter()
            .zip(&other.cells)
            .map(|(&a, &b)| i16::from(a) - i16::from(b))
            .collect();
        let mut sorted = deltas.clone();
        sorted.sort_unstable();
        let overall = sorted[sorted.len() / 2];
        deltas
            .iter_mut()
            .map(|delta| (*delta - overall).unsigned_abs())
            .max()
            .map_or(0, |largest| largest.min(255) as u8)
    }

    /// True when the two pictures show the same moment.
    pub fn is_near_duplicate_of(&self, other: &Fingerprint) -> bool {
        self.difference(other) <= NEAR_DUPLICATE_MAX_DIFFERENCE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(width: u32, height: u32, value: u8) -> Vec<u8> {
        vec![value; (width * height) as usize]
    }

    #[test]
    fn a_uniform_brightness_change_is_not_a_difference() {
        let dark = Fingerprint::of_luma(64, 64, &flat(64, 64, 80)).unwrap();
        let bright = Fingerprint::of_luma(64, 64, &flat(64, 64, 120)).unwrap();
        assert_eq!(dark.difference(&bright), 0);
    }

    #[test]
    fn one_changed_cell_is_enough_to_differ() {
        let scene = flat(64, 64, 80);
        let mut with_object = scene.clone();
        // A 4x4 object: one cell of the 32x32 grid over a 64x64 picture
        // covers 2x2 pixels, so this changes four cells completely.
        for y in 10..14 {
            for x in 20..24 {
                with_object[y * 64 + x] = 200;
            }
        }
        let before = Fingerprint::of_luma(64, 64, &scene).unwrap();
        let after = Fingerprint::of_luma(64, 64, &with_object).unwrap();
        assert_eq!(before.difference(&after), 120);
        assert!(!after.is_near_duplicate_of(&before));
    }

    /// Each cell is the mean of the pixels (x, y) with x * 32 / width and
    /// y * 32 / height naming that cell, computed one pixel at a time.
    fn cell_means_pixel_by_pixel(width: usize, height: usize, luma: &[u8]) -> Vec<u8> {
        let mut sums = vec![0u64; GRID * GRID];
        let mut counts = vec![0u64; GRID * GRID];
        for y in 0..height {
            for x in 0..width {
                let cell = (y * GRID / height) * GRID + x * GRID / width;
                sums[cell] += u64::from(luma[y * width + x]);
                counts[cell] += 1;
            }
        }
        sums.iter()
            .zip(&counts)
            .map(|(sum, count)| sum.checked_div(*count).unwrap_or(0) as u8)
            .collect()
    }

    #[test]
    fn cells_are_the_mean_of_exactly_the_pixels_they_cover() {
        // 40x9000: a grid row of 281 picture rows, more than one strip.
        for (width, height) in [(1280, 720), (37, 23), (10, 5), (33, 97), (40, 9000)] {
            let luma: Vec<u8> = (0..width * height)
                .map(|i| ((i * 7919) % 251) as u8)
                .collect();
            let fingerprint = Fingerprint::of_luma(width as u32, height as u32, &luma).unwrap();
            assert_eq!(
                fingerprint.cells.to_vec(),
                cell_means_pixel_by_pixel(width, height, &luma),
                "{width}x{height}"
            );
        }
    }

    #[test]
    fn a_white_picture_taller_than_a_strip_does_not_overflow() {
        let white = Fingerprint::of_luma(40, 9000, &flat(40, 9000, 255)).unwrap();
        assert!(white.cells.iter().all(|&cell| cell == 255));
    }

    #[test]
    fn a_short_buffer_has_no_fingerprint() {
        assert!(Fingerprint::of_luma(10, 10, &[0; 99]).is_none());
    }
}
