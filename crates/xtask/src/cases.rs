//! One function per real-world camera e-mail that extraction must handle,
//! each named after its case and so after its fixture file
//! (`crates/core/tests/fixtures/mail/<case>.eml`);
//! `crates/core/src/mime/tests.rs` says what each must give.

use anyhow::{Context, Result};
use image::ImageFormat;

use crate::mail::{
    attachment, camera_mail, find, message, multipart, part, text_part, Encoding, Part,
};
use crate::picture::{encode, encode_jpeg, encode_webp, Scene};

/// What most cases share: the 320x240 garden and its snapshot with a
/// person, drawn and encoded once.
pub struct Common {
    garden: Scene,
    snapshot: Vec<u8>,
}

impl Common {
    pub fn new() -> Result<Common> {
        let garden = Scene::garden(320, 240);
        Ok(Common {
            garden,
            snapshot: garden.with_person(0.3).jpeg(85)?,
        })
    }
}

/// A case: the fixture's file stem and the function that writes it.
pub type Case = (&'static str, fn(&Common) -> Result<Vec<u8>>);

/// Lists the cases by function, so that a fixture's file is always named
/// after the function that writes it.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        &[$((stringify!($case), $case as fn(&Common) -> Result<Vec<u8>>)),*]
    };
}

/// Every case, in the order they are written.
pub const CASES: &[Case] = cases![
    dahua_octet_stream_jpg,
    hikvision_inline_cid_no_filename,
    image_jpg_and_pjpeg_types,
    rfc2231_utf8_filename,
    rfc2231_continued_filename,
    rfc2047_encoded_filename,
    related_in_mixed_in_alternative,
    single_part_image_message,
    forwarded_rfc822_attachment,
    base64_one_long_line_lf_only,
    base64_trailing_blanks_and_blank_line,
    quoted_printable_jpeg,
    binary_transfer_encoding_jpeg,
    gif_bmp_webp_converted_to_jpeg,
    png_snapshot_kept_as_png,
    thumbnail_under_80px_and_full_frame,
    burst_of_four_two_near_duplicates,
    burst_with_exact_copy,
    twelve_distinct_frames_over_the_cap,
    truncated_mid_base64,
    decompression_bomb_jpeg,
    oversized_picture_scaled_down,
    avi_clip_and_log_attachments,
];

/// Fixtures committed beside the written ones but not written here, with
/// why: the check accepts them as they are, and only asks that they exist.
pub const KEPT: &[(&str, &str)] = &[(
    "fuzz_timeout_downscale_of_a_large_picture.eml",
    "an input found by `cargo fuzz`, kept as it was found",
)];

/// A single JPEG attachment in the usual camera alarm.
fn one_attachment(
    subject: &str,
    content_type: &str,
    filename: &str,
    bytes: &[u8],
    encoding: Encoding,
) -> Vec<u8> {
    camera_mail(
        subject,
        vec![attachment(content_type, filename, bytes, encoding)],
    )
}

/// Dahua sends its JPEG snapshots as `application/octet-stream`.
fn dahua_octet_stream_jpg(c: &Common) -> Result<Vec<u8>> {
    Ok(one_attachment(
        "Dahua motion alarm",
        "application/octet-stream",
        "CH01_20261129100000.jpg",
        &c.snapshot,
        Encoding::Base64,
    ))
}

/// Hikvision puts the snapshot inline in an HTML body, with a Content-ID
/// and no file name.
fn hikvision_inline_cid_no_filename(c: &Common) -> Result<Vec<u8>> {
    let html = text_part(
        "text/html",
        "<p>Motion detected</p><img src=\"cid:snapshot01@hikvision\">",
    );
    let inline = part(
        "Content-Type: image/jpeg\r\nContent-ID: <snapshot01@hikvision>\r\nContent-Disposition: inline",
        &c.snapshot,
        Encoding::Base64,
    );
    Ok(message(
        "HIKVISION <hik@cams.example.com>",
        "Motion Detection Alarm",
        multipart("related", "hik_related", &[html, inline]),
    ))
}

/// Foscam's non-standard `image/jpg` and the old `image/pjpeg`.
fn image_jpg_and_pjpeg_types(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "Foscam alarm",
        vec![
            attachment("image/jpg", "MDAlarm_1.jpg", &c.snapshot, Encoding::Base64),
            attachment(
                "image/pjpeg",
                "MDAlarm_2.jpg",
                &c.garden.with_person(0.7).jpeg(85)?,
                Encoding::Base64,
            ),
        ],
    ))
}

/// Reolink names its files in UTF-8 with RFC 2231 (`filename*=`).
fn rfc2231_utf8_filename(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "Reolink alert",
        vec![part(
            "Content-Type: image/jpeg\r\n\
             Content-Disposition: attachment; filename*=UTF-8''Cam%C3%A9ra%20entr%C3%A9e.jpg",
            &c.snapshot,
            Encoding::Base64,
        )],
    ))
}

/// A long RFC 2231 file name split over continuations (`filename*0*=`...).
fn rfc2231_continued_filename(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "Reolink alert",
        vec![part(
            "Content-Type: image/jpeg\r\n\
             Content-Disposition: attachment;\r\n filename*0*=UTF-8''Jardin%20c%C3%B4t%C3%A9%20;\r\n filename*1*=rue%202026-11-29.jpg",
            &c.snapshot,
            Encoding::Base64,
        )],
    ))
}

/// A file name as an RFC 2047 encoded word, which RFC 2231 forbids and
/// cameras send anyway.
fn rfc2047_encoded_filename(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "Motion",
        vec![part(
            // "Garage à vélos.jpg"
            "Content-Type: image/jpeg; name=\"=?UTF-8?B?R2FyYWdlIMOgIHbDqWxvcy5qcGc=?=\"\r\n\
             Content-Disposition: attachment; filename=\"=?UTF-8?B?R2FyYWdlIMOgIHbDqWxvcy5qcGc=?=\"",
            &c.snapshot,
            Encoding::Base64,
        )],
    ))
}

/// An NVR's nesting: related inside mixed inside alternative.
fn related_in_mixed_in_alternative(c: &Common) -> Result<Vec<u8>> {
    let related = multipart(
        "related",
        "rel",
        &[
            text_part("text/html", "<img src=\"cid:cam1\">"),
            part(
                "Content-Type: image/jpeg; name=\"front.jpg\"\r\nContent-ID: <cam1>",
                &c.snapshot,
                Encoding::Base64,
            ),
        ],
    );
    let mixed = multipart(
        "mixed",
        "mix",
        &[
            related,
            attachment(
                "image/jpeg",
                "back.jpg",
                &c.garden.with_person(0.8).jpeg(85)?,
                Encoding::Base64,
            ),
        ],
    );
    Ok(message(
        "NVR <nvr@cams.example.com>",
        "Event",
        multipart(
            "alternative",
            "alt",
            &[text_part("text/plain", "Motion on 2 cameras."), mixed],
        ),
    ))
}

/// A message that is nothing but the picture: no multipart at all.
fn single_part_image_message(c: &Common) -> Result<Vec<u8>> {
    Ok(message(
        "cam@cams.example.com",
        "snapshot",
        part(
            "Content-Type: image/jpeg; name=\"snap.jpg\"",
            &c.snapshot,
            Encoding::Base64,
        ),
    ))
}

/// An owner forwarding a camera's alarm as an attached message/rfc822.
fn forwarded_rfc822_attachment(c: &Common) -> Result<Vec<u8>> {
    let forwarded = one_attachment(
        "Dahua motion alarm",
        "image/jpeg",
        "CH02.jpg",
        &c.snapshot,
        Encoding::Base64,
    );
    Ok(message(
        "Owner <owner@example.com>",
        "Fwd: Dahua motion alarm",
        multipart(
            "mixed",
            "fwd",
            &[
                text_part("text/plain", "Look at this one."),
                Part(
                    [
                        b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
                            .as_slice(),
                        &forwarded,
                    ]
                    .concat(),
                ),
            ],
        ),
    ))
}

/// Base64 on one unbroken line, and every line of the message ended by LF
/// alone.
fn base64_one_long_line_lf_only(c: &Common) -> Result<Vec<u8>> {
    let crlf = one_attachment(
        "motion",
        "image/jpeg",
        "oneline.jpg",
        &c.snapshot,
        Encoding::Base64OneLineLf,
    );
    Ok(String::from_utf8(crlf)
        .context("the message is ASCII")?
        .replace("\r\n", "\n")
        .into_bytes())
}

/// Blanks after each base64 line and an empty line in the middle of it.
fn base64_trailing_blanks_and_blank_line(c: &Common) -> Result<Vec<u8>> {
    Ok(one_attachment(
        "motion",
        "image/jpeg",
        "sloppy.jpg",
        &c.snapshot,
        Encoding::Base64Sloppy,
    ))
}

/// A JPEG in quoted-printable, which some cameras use for everything.
fn quoted_printable_jpeg(c: &Common) -> Result<Vec<u8>> {
    Ok(one_attachment(
        "motion",
        "image/jpeg",
        "qp.jpg",
        &c.snapshot,
        Encoding::QuotedPrintable,
    ))
}

/// The raw JPEG bytes, `Content-Transfer-Encoding: binary`.
fn binary_transfer_encoding_jpeg(c: &Common) -> Result<Vec<u8>> {
    Ok(one_attachment(
        "motion",
        "image/jpeg",
        "raw.jpg",
        &c.snapshot,
        Encoding::Binary,
    ))
}

/// GIF, BMP and WebP snapshots, which extraction turns into JPEG.
fn gif_bmp_webp_converted_to_jpeg(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "motion",
        vec![
            attachment(
                "image/gif",
                "alarm.gif",
                &encode(&c.garden.with_person(0.2).draw(), ImageFormat::Gif)?,
                Encoding::Base64,
            ),
            attachment(
                "image/bmp",
                "alarm.bmp",
                &encode(&c.garden.with_person(0.35).draw(), ImageFormat::Bmp)?,
                Encoding::Base64,
            ),
            attachment(
                "image/webp",
                "alarm.webp",
                &encode_webp(&c.garden.with_person(0.5).draw())?,
                Encoding::Base64,
            ),
        ],
    ))
}

/// A PNG snapshot, which extraction keeps as PNG.
fn png_snapshot_kept_as_png(c: &Common) -> Result<Vec<u8>> {
    Ok(one_attachment(
        "motion",
        "image/png",
        "snap.png",
        &encode(&c.garden.with_person(0.5).draw(), ImageFormat::Png)?,
        Encoding::Base64,
    ))
}

/// A 64x48 thumbnail, too small to analyse, beside the full frame.
fn thumbnail_under_80px_and_full_frame(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "motion",
        vec![
            attachment(
                "image/jpeg",
                "thumb.jpg",
                &Scene::garden(64, 48).jpeg(80)?,
                Encoding::Base64,
            ),
            attachment("image/jpeg", "full.jpg", &c.snapshot, Encoding::Base64),
        ],
    ))
}

/// A burst of one moment: the empty garden twice (the second with other
/// noise and re-compressed at another quality), then a person walks in,
/// twice again.
fn burst_of_four_two_near_duplicates(c: &Common) -> Result<Vec<u8>> {
    let garden = c.garden;
    let empty = garden.jpeg(85)?;
    let empty_again = encode_jpeg(
        &image::load_from_memory(&garden.with_seed(2).jpeg(85)?)
            .context("decoding a drawn JPEG")?
            .to_rgb8(),
        70,
    )?;
    let person = garden.with_person(0.25).jpeg(85)?;
    let person_again = garden.with_person(0.25).with_seed(3).jpeg(75)?;
    Ok(camera_mail(
        "burst",
        vec![
            attachment("image/jpeg", "burst_1.jpg", &empty, Encoding::Base64),
            attachment("image/jpeg", "burst_2.jpg", &empty_again, Encoding::Base64),
            attachment("image/jpeg", "burst_3.jpg", &person, Encoding::Base64),
            attachment("image/jpeg", "burst_4.jpg", &person_again, Encoding::Base64),
        ],
    ))
}

/// The same snapshot attached twice.
fn burst_with_exact_copy(c: &Common) -> Result<Vec<u8>> {
    Ok(camera_mail(
        "burst",
        vec![
            attachment("image/jpeg", "a.jpg", &c.snapshot, Encoding::Base64),
            attachment("image/jpeg", "b.jpg", &c.snapshot, Encoding::Base64),
        ],
    ))
}

/// Twelve distinct frames of a person crossing the garden: more than the
/// default cap of frames kept.
fn twelve_distinct_frames_over_the_cap(c: &Common) -> Result<Vec<u8>> {
    let walk_by = (0..12)
        .map(|step| {
            let at = 0.05 + 0.08 * step as f32;
            Ok(attachment(
                "image/jpeg",
                &format!("walk_{:02}.jpg", step + 1),
                &c.garden.with_person(at).with_seed(10 + step).jpeg(80)?,
                Encoding::Base64,
            ))
        })
        .collect::<Result<Vec<Part>>>()?;
    Ok(camera_mail("burst", walk_by))
}

/// A message cut off halfway through its second picture's base64.
fn truncated_mid_base64(c: &Common) -> Result<Vec<u8>> {
    let whole = camera_mail(
        "motion",
        vec![
            attachment("image/jpeg", "first.jpg", &c.snapshot, Encoding::Base64),
            attachment(
                "image/jpeg",
                "second.jpg",
                &c.garden.with_person(0.6).jpeg(85)?,
                Encoding::Base64,
            ),
        ],
    );
    let second = find(&whole, b"filename=\"second.jpg\"").context("second part")?;
    let second_body = second + find(&whole[second..], b"\r\n\r\n").context("body")? + 4;
    let cut = second_body + (whole.len() - second_body) / 2;
    Ok(whole[..cut].to_vec())
}

/// The snapshot with its frame header claiming 60000x60000 pixels.
fn decompression_bomb_jpeg(c: &Common) -> Result<Vec<u8>> {
    let mut bomb = c.snapshot.clone();
    let sof = find(&bomb, &[0xFF, 0xC0]).context("start of frame")?;
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    Ok(one_attachment(
        "motion",
        "image/jpeg",
        "bomb.jpg",
        &bomb,
        Encoding::Base64,
    ))
}

/// A 3200x1600 picture, over the pixel budget: scaled down.
fn oversized_picture_scaled_down(_: &Common) -> Result<Vec<u8>> {
    let wide = Scene {
        noise: 0,
        ..Scene::garden(3200, 1600)
    }
    .with_person(0.4)
    .jpeg(80)?;
    Ok(one_attachment(
        "motion",
        "image/jpeg",
        "4k_wide.jpg",
        &wide,
        Encoding::Base64,
    ))
}

/// A video clip and an event log beside the snapshot: neither is a picture.
fn avi_clip_and_log_attachments(c: &Common) -> Result<Vec<u8>> {
    let avi = [b"RIFF\x10\0\0\0AVI LIST\0\0\0\0".as_slice(), &[0u8; 64]].concat();
    Ok(camera_mail(
        "motion",
        vec![
            attachment("video/avi", "clip.avi", &avi, Encoding::Base64),
            attachment(
                "text/plain",
                "event.log",
                b"10:00:00 motion ch1\r\n",
                Encoding::Base64,
            ),
            attachment("image/jpeg", "snap.jpg", &c.snapshot, Encoding::Base64),
        ],
    ))
}
