//! Drawing what was found on the snapshot: a box round each matched instance
//! and its label and confidence above it, so the person alerted sees at a
//! glance why.
//!
//! Text uses a 5×7 bitmap font defined below (capitals, digits, a few
//! signs), scaled with the picture: no font file, no extra dependency, and
//! labels are short capitalised words anyway.

use image::{Rgb, RgbImage};

use crate::contract::{BoundingBox, Match};

/// Why a snapshot could not be annotated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AnnotateError {
    #[error("not a readable picture: {0}")]
    NotAPicture(String),
    #[error("could not write the annotated JPEG: {0}")]
    Encode(String),
}

/// JPEG quality of the annotated picture: near the cameras' own, so the
/// picture is not visibly worse than the one received.
const JPEG_QUALITY: u8 = 85;

/// Box colours, chosen per label so that two kinds of objects in one
/// picture are told apart; dark enough for white text on them.
const PALETTE: [[u8; 3]; 6] = [
    [220, 38, 38],  // red
    [37, 99, 235],  // blue
    [22, 163, 74],  // green
    [202, 138, 4],  // amber
    [147, 51, 234], // purple
    [8, 145, 178],  // cyan
];

const TEXT_COLOUR: Rgb<u8> = Rgb([255, 255, 255]);

/// Draws a box round every box of `matches`, with `LABEL NN%` above it, on
/// the picture in `image_bytes` (JPEG, PNG, …), and returns it as a JPEG.
///
/// Every match given is drawn: the caller passes the matches of this one
/// picture. A match without boxes (a whole-scene label) draws nothing.
pub(crate) fn annotate(image_bytes: &[u8], matches: &[Match]) -> Result<Vec<u8>, AnnotateError> {
    let mut picture = image::load_from_memory(image_bytes)
        .map_err(|error| AnnotateError::NotAPicture(error.to_string()))?
        .into_rgb8();
    let (thickness, text_scale) = sizes_for(picture.width(), picture.height());
    for found in matches {
        let colour = Rgb(PALETTE[palette_index(&found.label)]);
        for bounding_box in &found.boxes {
            let area = PixelRect::of(bounding_box, picture.width(), picture.height());
            draw_outline(&mut picture, area, thickness, colour);
            let caption = format!(
                "{} {:.0}%",
                found.label.to_uppercase(),
                bounding_box.confidence
            );
            draw_caption(&mut picture, area, &caption, text_scale, colour);
        }
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, JPEG_QUALITY)
        .encode_image(&picture)
        .map_err(|error| AnnotateError::Encode(error.to_string()))?;
    Ok(jpeg)
}

/// Pixels of the picture's shorter side per pixel of line width. A phone
/// shows a landscape snapshot about 390 points wide, a 1280×720 one at
/// about a third of its size: its 7 px lines are 2 points there.
const SHORTER_SIDE_PER_LINE_PIXEL: u32 = 100;

/// Pixels of the picture's shorter side per pixel of a letter's stroke (a
/// letter is 7 strokes high). On a phone, a 1280×720 snapshot's 35 px
/// letters are about 10 points high, near the capitals of the phone's own
/// text.
const SHORTER_SIDE_PER_FONT_PIXEL: u32 = 140;

/// The line width and the letters' scale for a `width`×`height` picture:
/// in proportion to its shorter side, so that boxes and captions look the
/// same on a phone whatever the camera's resolution, and never thinner
/// than 2 px lines and 5×7 px letters.
fn sizes_for(width: u32, height: u32) -> (u32, u32) {
    let shorter_side = width.min(height);
    (
        (shorter_side / SHORTER_SIDE_PER_LINE_PIXEL).max(2),
        (shorter_side / SHORTER_SIDE_PER_FONT_PIXEL).max(1),
    )
}

/// The same label always gets the same colour.
fn palette_index(label: &str) -> usize {
    let hash = label
        .to_ascii_lowercase()
        .bytes()
        .fold(0usize, |hash, byte| {
            hash.wrapping_mul(31).wrapping_add(usize::from(byte))
        });
    hash % PALETTE.len()
}

/// A rectangle in pixels, inside the picture, `right` and `bottom` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PixelRect {
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
}

impl PixelRect {
    /// The pixels of a fractional box, clipped to a `width`×`height`
    /// picture (a detector's box may poke out of it).
    fn of(bounding_box: &BoundingBox, width: u32, height: u32) -> PixelRect {
        let to_pixels = |fraction: f32, size: u32| -> u32 {
            let size = size as f32;
            (fraction * size).round().clamp(0.0, size - 1.0) as u32
        };
        let left = to_pixels(bounding_box.left, width);
        let top = to_pixels(bounding_box.top, height);
        PixelRect {
            left,
            top,
            right: to_pixels(bounding_box.left + bounding_box.width, width).max(left),
            bottom: to_pixels(bounding_box.top + bounding_box.height, height).max(top),
        }
    }
}

/// Paints the pixels of `area` that lie in the picture.
fn fill(picture: &mut RgbImage, area: PixelRect, colour: Rgb<u8>) {
    let right = area.right.min(picture.width().saturating_sub(1));
    let bottom = area.bottom.min(picture.height().saturating_sub(1));
    for y in area.top..=bottom {
        for x in area.left..=right {
            picture.put_pixel(x, y, colour);
        }
    }
}

/// A frame `thickness` pixels wide drawn inside `area`.
fn draw_outline(picture: &mut RgbImage, area: PixelRect, thickness: u32, colour: Rgb<u8>) {
    let inner = thickness - 1;
    let sides = [
        PixelRect {
            bottom: (area.top + inner).min(area.bottom),
            ..area
        },
        PixelRect {
            top: area.bottom.saturating_sub(inner).max(area.top),
            ..area
        },
        PixelRect {
            right: (area.left + inner).min(area.right),
            ..area
        },
        PixelRect {
            left: area.right.saturating_sub(inner).max(area.left),
            ..area
        },
    ];
    for side in sides {
        fill(picture, side, colour);
    }
}

/// Writes `text` in white on a band of `colour` just above `area`, or just
/// inside its top when the box touches the top of the picture, kept within
/// the picture's width.
fn draw_caption(picture: &mut RgbImage, area: PixelRect, text: &str, scale: u32, colour: Rgb<u8>) {
    let padding = scale;
    let band_height = GLYPH_HEIGHT * scale + 2 * padding;
    let band_width = text.chars().count() as u32 * GLYPH_ADVANCE * scale + 2 * padding;
    let top = if area.top >= band_height {
        area.top - band_height
    } else {
        area.top
    };
    let left = area.left.min(picture.width().saturating_sub(band_width));
    fill(
        picture,
        PixelRect {
            left,
            top,
            right: left + band_width - 1,
            bottom: top + band_height - 1,
        },
        colour,
    );
    let mut pen_x = left + padding;
    for character in text.chars() {
        let rows = glyph(character);
        for (row, bits) in rows.iter().enumerate() {
            for column in 0..GLYPH_WIDTH {
                if bits & (1 << (GLYPH_WIDTH - 1 - column)) != 0 {
                    let x = pen_x + column * scale;
                    let y = top + padding + row as u32 * scale;
                    fill(
                        picture,
                        PixelRect {
                            left: x,
                            top: y,
                            right: x + scale - 1,
                            bottom: y + scale - 1,
                        },
                        TEXT_COLOUR,
                    );
                }
            }
        }
        pen_x += GLYPH_ADVANCE * scale;
    }
}

const GLYPH_WIDTH: u32 = 5;
const GLYPH_HEIGHT: u32 = 7;
/// Glyph width plus one column of space.
const GLYPH_ADVANCE: u32 = GLYPH_WIDTH + 1;

/// The rows of a character, top first, the leftmost pixel in bit 4. Lower
/// case is drawn as upper case; characters the font lacks as `?`.
fn glyph(character: char) -> [u8; 7] {
    let wanted = character.to_ascii_uppercase();
    FONT.iter()
        .find(|(known, _)| *known == wanted)
        .map_or(UNKNOWN_GLYPH, |(_, rows)| *rows)
}

const UNKNOWN_GLYPH: [u8; 7] = [
    0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b00000, 0b00100,
];

/// Our 5×7 font: what label names and confidences need.
#[rustfmt::skip]
const FONT: [(char, [u8; 7]); 42] = [
    ('A', [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]),
    ('B', [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110]),
    ('C', [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110]),
    ('D', [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110]),
    ('E', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111]),
    ('F', [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000]),
    ('G', [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111]),
    ('H', [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]),
    ('I', [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('J', [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100]),
    ('K', [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001]),
    ('L', [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111]),
    ('M', [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001]),
    ('N', [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001]),
    ('O', [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110]),
    ('P', [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000]),
    ('Q', [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101]),
    ('R', [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001]),
    ('S', [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110]),
    ('T', [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100]),
    ('U', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110]),
    ('V', [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100]),
    ('W', [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010]),
    ('X', [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001]),
    ('Y', [0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100, 0b00100]),
    ('Z', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111]),
    ('0', [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110]),
    ('1', [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]),
    ('2', [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111]),
    ('3', [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110]),
    ('4', [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010]),
    ('5', [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110]),
    ('6', [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110]),
    ('7', [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000]),
    ('8', [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110]),
    ('9', [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100]),
    ('%', [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011]),
    ('.', [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b01100, 0b01100]),
    ('-', [0b00000, 0b00000, 0b00000, 0b11111, 0b00000, 0b00000, 0b00000]),
    ('/', [0b00000, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b00000]),
    ('\'', [0b00100, 0b00100, 0b01000, 0b00000, 0b00000, 0b00000, 0b00000]),
    (' ', [0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000, 0b00000]),
];

#[cfg(test)]
mod tests {
    use super::*;

    const WIDTH: u32 = 320;
    const HEIGHT: u32 = 240;
    const GREY: Rgb<u8> = Rgb([128, 128, 128]);

    /// A plain grey snapshot, as PNG so that the input itself is exact.
    fn grey_snapshot() -> Vec<u8> {
        grey_snapshot_of(WIDTH, HEIGHT)
    }

    fn grey_snapshot_of(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbImage::from_pixel(width, height, GREY);
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    }

    fn person_at(left: f32, top: f32, width: f32, height: f32) -> Match {
        Match {
            frame: 0,
            label: "Person".into(),
            confidence: 87.4,
            boxes: vec![BoundingBox {
                left,
                top,
                width,
                height,
                confidence: 87.4,
            }],
        }
    }

    fn decode(jpeg: &[u8]) -> RgbImage {
        assert_eq!(
            image::guess_format(jpeg).unwrap(),
            image::ImageFormat::Jpeg,
            "the output is a JPEG"
        );
        image::load_from_memory(jpeg).unwrap().into_rgb8()
    }

    fn is_grey(pixel: &Rgb<u8>) -> bool {
        pixel.0.iter().all(|&c| c.abs_diff(128) <= 6)
    }

    #[test]
    fn the_box_is_drawn_where_the_person_is_and_nowhere_else() {
        let annotated =
            decode(&annotate(&grey_snapshot(), &[person_at(0.25, 0.5, 0.5, 0.25)]).unwrap());
        assert_eq!(annotated.dimensions(), (WIDTH, HEIGHT));
        // The box spans x 80..=240, y 120..=180; its sides are drawn.
        let colour = PALETTE[palette_index("Person")];
        let in_box_colour = |pixel: &Rgb<u8>| {
            pixel
                .0
                .iter()
                .zip(colour)
                .all(|(&c, want)| c.abs_diff(want) <= 40)
        };
        for (x, y) in [(160, 121), (160, 179), (81, 150), (239, 150)] {
            assert!(
                in_box_colour(annotated.get_pixel(x, y)),
                "({x}, {y}) is {:?}",
                annotated.get_pixel(x, y)
            );
        }
        // Inside the box and far from it, the picture is untouched.
        for (x, y) in [(160, 150), (10, 230), (300, 10), (10, 10), (300, 230)] {
            assert!(
                is_grey(annotated.get_pixel(x, y)),
                "({x}, {y}) is {:?}",
                annotated.get_pixel(x, y)
            );
        }
    }

    #[test]
    fn the_caption_sits_above_the_box_with_white_text() {
        let annotated =
            decode(&annotate(&grey_snapshot(), &[person_at(0.25, 0.5, 0.5, 0.25)]).unwrap());
        // Scale 1: a band 9 px high just above the box (y 111..=119),
        // "PERSON 87%" is 10 characters, 6 px each, plus padding.
        let band: Vec<&Rgb<u8>> = (82..140).map(|x| annotated.get_pixel(x, 115)).collect();
        assert!(
            band.iter().all(|p| !is_grey(p)),
            "the band covers the caption"
        );
        assert!(
            band.iter().any(|p| p.0.iter().all(|&c| c > 200)),
            "white text is written on it"
        );
        assert!(
            is_grey(annotated.get_pixel(160, 105)),
            "nothing above the band"
        );
    }

    /// How many pixels in a row, from `(x, y)` on in steps of `(dx, dy)`,
    /// are not grey: the width of a line crossed there.
    fn painted_run(picture: &RgbImage, (x, y): (u32, u32), (dx, dy): (i64, i64)) -> u32 {
        let (mut x, mut y) = (i64::from(x), i64::from(y));
        let mut run = 0;
        while x >= 0
            && y >= 0
            && x < i64::from(picture.width())
            && y < i64::from(picture.height())
            && !is_grey(picture.get_pixel(x as u32, y as u32))
        {
            run += 1;
            x += dx;
            y += dy;
        }
        run
    }

    /// The number of rows of the caption band, above a box whose top-left
    /// corner is `(left, top)`, that have white text in them.
    fn text_height(picture: &RgbImage, (left, top): (u32, u32)) -> u32 {
        let band_height = painted_run(picture, (left, top - 1), (0, -1));
        (top - band_height..top)
            .filter(|&y| {
                (left..picture.width()).any(|x| picture.get_pixel(x, y).0.iter().all(|&c| c > 200))
            })
            .count() as u32
    }

    /// A phone shows a landscape snapshot about 390 points wide: a
    /// 1280×720 one at about a third of its size, a 1920×1080 one at a
    /// fifth. Lines of 2 points and letters of 10 points stay visible there.
    #[test]
    fn lines_and_letters_grow_with_the_picture_to_be_seen_on_a_phone() {
        for (width, height, least_line, least_letters) in [(1280, 720, 6, 30), (1920, 1080, 9, 45)]
        {
            let annotated = decode(
                &annotate(
                    &grey_snapshot_of(width, height),
                    &[person_at(0.25, 0.5, 0.5, 0.25)],
                )
                .unwrap(),
            );
            let (left, top) = (width / 4, height / 2);
            let bottom = height * 3 / 4;
            let across_top = painted_run(&annotated, (width / 2, top), (0, 1));
            let across_left = painted_run(&annotated, (left, (top + bottom) / 2), (1, 0));
            let across_right =
                painted_run(&annotated, (width * 3 / 4, (top + bottom) / 2), (-1, 0));
            for line in [across_top, across_left, across_right] {
                assert!(
                    (least_line..least_line * 2).contains(&line),
                    "{width}×{height}: a line {line} px wide, not {least_line} to {}",
                    least_line * 2 - 1
                );
            }
            let letters = text_height(&annotated, (left, top));
            assert!(
                (least_letters..least_letters * 2).contains(&letters),
                "{width}×{height}: letters {letters} px high, not {least_letters} to {}",
                least_letters * 2 - 1
            );
        }
    }

    #[test]
    fn a_small_picture_still_gets_a_line_and_readable_letters() {
        let annotated =
            decode(&annotate(&grey_snapshot(), &[person_at(0.25, 0.5, 0.5, 0.25)]).unwrap());
        assert!(painted_run(&annotated, (160, 120), (0, 1)) >= 2);
        assert_eq!(text_height(&annotated, (80, 120)), GLYPH_HEIGHT);
    }

    #[test]
    fn a_box_at_the_top_edge_gets_its_caption_inside() {
        let annotated =
            decode(&annotate(&grey_snapshot(), &[person_at(0.5, 0.0, 0.25, 0.5)]).unwrap());
        assert!(!is_grey(annotated.get_pixel(170, 5)));
        assert!(is_grey(annotated.get_pixel(100, 5)));
    }

    #[test]
    fn boxes_poking_out_of_the_picture_are_clipped_not_a_panic() {
        let overflowing = person_at(0.9, 0.9, 0.5, 0.5);
        let outside = person_at(1.5, -2.0, 0.1, 0.1);
        let annotated = decode(&annotate(&grey_snapshot(), &[overflowing, outside]).unwrap());
        assert!(!is_grey(annotated.get_pixel(WIDTH - 1, HEIGHT - 10)));
    }

    #[test]
    fn no_matches_give_the_same_picture_back_as_jpeg() {
        let annotated = decode(&annotate(&grey_snapshot(), &[]).unwrap());
        assert!(annotated.pixels().all(is_grey));
    }

    #[test]
    fn bytes_that_are_not_a_picture_are_an_error() {
        assert!(matches!(
            annotate(b"not a picture", &[person_at(0.1, 0.1, 0.1, 0.1)]),
            Err(AnnotateError::NotAPicture(_))
        ));
    }

    #[test]
    fn every_character_of_every_label_name_is_in_the_font_or_drawn_as_unknown() {
        assert_eq!(glyph('p'), glyph('P'));
        assert_ne!(glyph('P'), UNKNOWN_GLYPH);
        assert_eq!(glyph('é'), UNKNOWN_GLYPH);
        for (_, rows) in FONT {
            assert!(rows.iter().all(|row| *row < 1 << GLYPH_WIDTH));
        }
    }
}
