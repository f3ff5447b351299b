//! Writes camera e-mails for tests and benchmarks.
//!
//! ```text
//! cargo run -p ipcam-core --example camera_mail -- fixtures crates/core/tests/fixtures/mail
//! cargo run -p ipcam-core --release --example camera_mail -- burst FILE [FRAMES]
//! ```
//!
//! `fixtures` writes one message per real-world case that extraction must
//! handle, named after it; `crates/core/src/mime/tests.rs` says what each
//! must give. `burst` writes one large message of distinct 1280x720 frames
//! (about 8 MB for 64), for the extraction benchmark. The pictures are drawn
//! here (a house, a lawn, a person walking by) with a seeded noise, so the
//! output is the same on every run.

use std::io::Cursor;
use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["fixtures", dir] => write_fixtures(Path::new(dir)),
        ["burst", file] => write_burst(Path::new(file), 64),
        ["burst", file, frames] => write_burst(Path::new(file), frames.parse()?),
        _ => bail!("usage: camera_mail fixtures DIR | camera_mail burst FILE [FRAMES]"),
    }
}

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
struct Scene {
    width: u32,
    height: u32,
    /// Where a person stands, as a share of the width; none if absent.
    person_at: Option<f32>,
    /// Seed of the sensor noise.
    seed: u64,
    /// Amplitude of the sensor noise, in brightness levels.
    noise: i32,
}

impl Scene {
    fn garden(width: u32, height: u32) -> Scene {
        Scene {
            width,
            height,
            person_at: None,
            seed: 1,
            noise: 4,
        }
    }

    fn with_person(self, at: f32) -> Scene {
        Scene {
            person_at: Some(at),
            ..self
        }
    }

    fn with_seed(self, seed: u64) -> Scene {
        Scene { seed, ..self }
    }

    fn draw(&self) -> RgbImage {
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

    fn jpeg(&self, quality: u8) -> Vec<u8> {
        encode_jpeg(&self.draw(), quality)
    }
}

fn encode_jpeg(picture: &RgbImage, quality: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(picture)
        .expect("encoding a drawn picture in memory cannot fail");
    bytes
}

fn encode(picture: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    DynamicImage::ImageRgb8(picture.clone())
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encoding a drawn picture in memory cannot fail");
    bytes
}

/// How a part's bytes are written in the message.
#[derive(Clone, Copy)]
enum Encoding {
    /// Base64 in 76-character lines ended by CRLF, as most cameras write.
    Base64,
    /// Base64 on one single line, message lines ended by LF only.
    Base64OneLineLf,
    /// Base64 with blanks after each line and an empty line in the middle.
    Base64Sloppy,
    QuotedPrintable,
    /// Raw bytes (`binary` transfer encoding).
    Binary,
}

/// One MIME part: its headers and its already encoded body.
struct Part(Vec<u8>);

fn part(headers: &str, bytes: &[u8], encoding: Encoding) -> Part {
    let (name, body) = match encoding {
        Encoding::Base64 => ("base64", base64_lines(bytes, 76, "\r\n", "")),
        Encoding::Base64OneLineLf => ("base64", base64_lines(bytes, usize::MAX, "\n", "")),
        Encoding::Base64Sloppy => {
            let lines = base64_lines(bytes, 72, "\r\n", "  ");
            let middle = lines.len() / 2;
            let cut = middle
                + lines[middle..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(0)
                + 1;
            (
                "base64",
                [&lines[..cut], b"\r\n".as_slice(), &lines[cut..]].concat(),
            )
        }
        Encoding::QuotedPrintable => ("quoted-printable", quoted_printable(bytes)),
        Encoding::Binary => ("binary", bytes.to_vec()),
    };
    let mut out = format!("{headers}\r\nContent-Transfer-Encoding: {name}\r\n\r\n").into_bytes();
    out.extend_from_slice(&body);
    Part(out)
}

fn text_part(content_type: &str, text: &str) -> Part {
    Part(format!("Content-Type: {content_type}; charset=utf-8\r\n\r\n{text}\r\n").into_bytes())
}

fn base64_lines(bytes: &[u8], width: usize, eol: &str, trailing: &str) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(encoded.len() * 103 / 100);
    for line in encoded.as_bytes().chunks(width.min(encoded.len().max(1))) {
        out.extend_from_slice(line);
        out.extend_from_slice(trailing.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    out
}

fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = 0;
    for &byte in bytes {
        let piece = if (33..=126).contains(&byte) && byte != b'=' {
            vec![byte]
        } else {
            format!("={byte:02X}").into_bytes()
        };
        if line + piece.len() > 75 {
            out.extend_from_slice(b"=\r\n");
            line = 0;
        }
        line += piece.len();
        out.extend_from_slice(&piece);
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn multipart(subtype: &str, boundary: &str, parts: &[Part]) -> Part {
    let mut out =
        format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n").into_bytes();
    for Part(bytes) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        out.extend_from_slice(bytes);
        if !bytes.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Part(out)
}

fn message(from: &str, subject: &str, body: Part) -> Vec<u8> {
    let mut out = format!(
        "From: {from}\r\nTo: alerts@cams.example.com\r\nSubject: {subject}\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{}@cams.example.com>\r\n\
         MIME-Version: 1.0\r\n",
        subject.to_lowercase().replace(' ', "-")
    )
    .into_bytes();
    out.extend_from_slice(&body.0);
    out
}

fn attachment(content_type: &str, filename: &str, bytes: &[u8], encoding: Encoding) -> Part {
    part(
        &format!(
            "Content-Type: {content_type}; name=\"{filename}\"\r\n\
             Content-Disposition: attachment; filename=\"{filename}\""
        ),
        bytes,
        encoding,
    )
}

fn camera_mail(subject: &str, parts: Vec<Part>) -> Vec<u8> {
    let mut all = vec![text_part(
        "text/plain",
        "Alarm event: motion detection on channel 1.",
    )];
    all.extend(parts);
    message(
        "IPC <camera@cams.example.com>",
        subject,
        multipart("mixed", "----=_camera_boundary", &all),
    )
}

fn write_fixtures(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let garden = Scene::garden(320, 240);
    let snapshot = garden.with_person(0.3).jpeg(85);
    let write = |name: &str, bytes: Vec<u8>| -> Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };

    write(
        "dahua_octet_stream_jpg.eml",
        camera_mail(
            "Dahua motion alarm",
            vec![attachment(
                "application/octet-stream",
                "CH01_20261129100000.jpg",
                &snapshot,
                Encoding::Base64,
            )],
        ),
    )?;

    let html = text_part(
        "text/html",
        "<p>Motion detected</p><img src=\"cid:snapshot01@hikvision\">",
    );
    let inline = part(
        "Content-Type: image/jpeg\r\nContent-ID: <snapshot01@hikvision>\r\nContent-Disposition: inline",
        &snapshot,
        Encoding::Base64,
    );
    write(
        "hikvision_inline_cid_no_filename.eml",
        message(
            "HIKVISION <hik@cams.example.com>",
            "Motion Detection Alarm",
            multipart("related", "hik_related", &[html, inline]),
        ),
    )?;

    write(
        "image_jpg_and_pjpeg_types.eml",
        camera_mail(
            "Foscam alarm",
            vec![
                attachment("image/jpg", "MDAlarm_1.jpg", &snapshot, Encoding::Base64),
                attachment(
                    "image/pjpeg",
                    "MDAlarm_2.jpg",
                    &garden.with_person(0.7).jpeg(85),
                    Encoding::Base64,
                ),
            ],
        ),
    )?;

    write(
        "rfc2231_utf8_filename.eml",
        camera_mail(
            "Reolink alert",
            vec![part(
                "Content-Type: image/jpeg\r\n\
                 Content-Disposition: attachment; filename*=UTF-8''Cam%C3%A9ra%20entr%C3%A9e.jpg",
                &snapshot,
                Encoding::Base64,
            )],
        ),
    )?;

    write(
        "rfc2231_continued_filename.eml",
        camera_mail(
            "Reolink alert",
            vec![part(
                "Content-Type: image/jpeg\r\n\
                 Content-Disposition: attachment;\r\n filename*0*=UTF-8''Jardin%20c%C3%B4t%C3%A9%20;\r\n filename*1*=rue%202026-11-29.jpg",
                &snapshot,
                Encoding::Base64,
            )],
        ),
    )?;

    write(
        "rfc2047_encoded_filename.eml",
        camera_mail(
            "Motion",
            vec![part(
                // "Garage à vélos.jpg"
                "Content-Type: image/jpeg; name=\"=?UTF-8?B?R2FyYWdlIMOgIHbDqWxvcy5qcGc=?=\"\r\n\
                 Content-Disposition: attachment; filename=\"=?UTF-8?B?R2FyYWdlIMOgIHbDqWxvcy5qcGc=?=\"",
                &snapshot,
                Encoding::Base64,
            )],
        ),
    )?;

    let related = multipart(
        "related",
        "rel",
        &[
            text_part("text/html", "<img src=\"cid:cam1\">"),
            part(
                "Content-Type: image/jpeg; name=\"front.jpg\"\r\nContent-ID: <cam1>",
                &snapshot,
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
                &garden.with_person(0.8).jpeg(85),
                Encoding::Base64,
            ),
        ],
    );
    write(
        "related_in_mixed_in_alternative.eml",
        message(
            "NVR <nvr@cams.example.com>",
            "Event",
            multipart(
                "alternative",
                "alt",
                &[text_part("text/plain", "Motion on 2 cameras."), mixed],
            ),
        ),
    )?;

    write(
        "single_part_image_message.eml",
        message(
            "cam@cams.example.com",
            "snapshot",
            part(
                "Content-Type: image/jpeg; name=\"snap.jpg\"",
                &snapshot,
                Encoding::Base64,
            ),
        ),
    )?;

    let forwarded = camera_mail(
        "Dahua motion alarm",
        vec![attachment(
            "image/jpeg",
            "CH02.jpg",
            &snapshot,
            Encoding::Base64,
        )],
    );
    write(
        "forwarded_rfc822_attachment.eml",
        message(
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
        ),
    )?;

    let lf_only = camera_mail(
        "motion",
        vec![attachment(
            "image/jpeg",
            "oneline.jpg",
            &snapshot,
            Encoding::Base64OneLineLf,
        )],
    );
    write(
        "base64_one_long_line_lf_only.eml",
        String::from_utf8(lf_only)?
            .replace("\r\n", "\n")
            .into_bytes(),
    )?;

    write(
        "base64_trailing_blanks_and_blank_line.eml",
        camera_mail(
            "motion",
            vec![attachment(
                "image/jpeg",
                "sloppy.jpg",
                &snapshot,
                Encoding::Base64Sloppy,
            )],
        ),
    )?;

    write(
        "quoted_printable_jpeg.eml",
        camera_mail(
            "motion",
            vec![attachment(
                "image/jpeg",
                "qp.jpg",
                &snapshot,
                Encoding::QuotedPrintable,
            )],
        ),
    )?;

    write(
        "binary_transfer_encoding_jpeg.eml",
        camera_mail(
            "motion",
            vec![attachment(
                "image/jpeg",
                "raw.jpg",
                &snapshot,
                Encoding::Binary,
            )],
        ),
    )?;

    let drawn = garden.with_person(0.5).draw();
    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp).encode(
        drawn.as_raw(),
        drawn.width(),
        drawn.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    write(
        "gif_bmp_webp_converted_to_jpeg.eml",
        camera_mail(
            "motion",
            vec![
                attachment(
                    "image/gif",
                    "alarm.gif",
                    &encode(&garden.with_person(0.2).draw(), ImageFormat::Gif),
                    Encoding::Base64,
                ),
                attachment(
                    "image/bmp",
                    "alarm.bmp",
                    &encode(&garden.with_person(0.35).draw(), ImageFormat::Bmp),
                    Encoding::Base64,
                ),
                attachment("image/webp", "alarm.webp", &webp, Encoding::Base64),
            ],
        ),
    )?;

    write(
        "png_snapshot_kept_as_png.eml",
        camera_mail(
            "motion",
            vec![attachment(
                "image/png",
                "snap.png",
                &encode(&drawn, ImageFormat::Png),
                Encoding::Base64,
            )],
        ),
    )?;

    write(
        "thumbnail_under_80px_and_full_frame.eml",
        camera_mail(
            "motion",
            vec![
                attachment(
                    "image/jpeg",
                    "thumb.jpg",
                    &Scene::garden(64, 48).jpeg(80),
                    Encoding::Base64,
                ),
                attachment("image/jpeg", "full.jpg", &snapshot, Encoding::Base64),
            ],
        ),
    )?;

    // A burst of one moment: the empty garden twice (the second with other
    // noise and re-compressed at another quality), then a person walks in,
    // twice again.
    let empty = garden.jpeg(85);
    let empty_again = encode_jpeg(
        &image::load_from_memory(&garden.with_seed(2).jpeg(85))?.to_rgb8(),
        70,
    );
    let person = garden.with_person(0.25).jpeg(85);
    let person_again = garden.with_person(0.25).with_seed(3).jpeg(75);
    write(
        "burst_of_four_two_near_duplicates.eml",
        camera_mail(
            "burst",
            vec![
                attachment("image/jpeg", "burst_1.jpg", &empty, Encoding::Base64),
                attachment("image/jpeg", "burst_2.jpg", &empty_again, Encoding::Base64),
                attachment("image/jpeg", "burst_3.jpg", &person, Encoding::Base64),
                attachment("image/jpeg", "burst_4.jpg", &person_again, Encoding::Base64),
            ],
        ),
    )?;

    write(
        "burst_with_exact_copy.eml",
        camera_mail(
            "burst",
            vec![
                attachment("image/jpeg", "a.jpg", &snapshot, Encoding::Base64),
                attachment("image/jpeg", "b.jpg", &snapshot, Encoding::Base64),
            ],
        ),
    )?;

    let walk_by: Vec<Part> = (0..12)
        .map(|step| {
            let at = 0.05 + 0.08 * step as f32;
            attachment(
                "image/jpeg",
                &format!("walk_{:02}.jpg", step + 1),
                &garden.with_person(at).with_seed(10 + step).jpeg(80),
                Encoding::Base64,
            )
        })
        .collect();
    write(
        "twelve_distinct_frames_over_the_cap.eml",
        camera_mail("burst", walk_by),
    )?;

    let whole = camera_mail(
        "motion",
        vec![
            attachment("image/jpeg", "first.jpg", &snapshot, Encoding::Base64),
            attachment(
                "image/jpeg",
                "second.jpg",
                &garden.with_person(0.6).jpeg(85),
                Encoding::Base64,
            ),
        ],
    );
    let second = find(&whole, b"filename=\"second.jpg\"").context("second part")?;
    let second_body = second + find(&whole[second..], b"\r\n\r\n").context("body")? + 4;
    let cut = second_body + (whole.len() - second_body) / 2;
    write("truncated_mid_base64.eml", whole[..cut].to_vec())?;

    let mut bomb = snapshot.clone();
    let sof = find(&bomb, &[0xFF, 0xC0]).context("start of frame")?;
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    write(
        "decompression_bomb_jpeg.eml",
        camera_mail(
            "motion",
            vec![attachment(
                "image/jpeg",
                "bomb.jpg",
                &bomb,
                Encoding::Base64,
            )],
        ),
    )?;

    write(
        "oversized_picture_scaled_down.eml",
        camera_mail(
            "motion",
            vec![attachment(
                "image/jpeg",
                "4k_wide.jpg",
                &Scene {
                    noise: 0,
                    ..Scene::garden(3200, 1600)
                }
                .with_person(0.4)
                .jpeg(80),
                Encoding::Base64,
            )],
        ),
    )?;

    let avi = [b"RIFF\x10\0\0\0AVI LIST\0\0\0\0".as_slice(), &[0u8; 64]].concat();
    write(
        "avi_clip_and_log_attachments.eml",
        camera_mail(
            "motion",
            vec![
                attachment("video/avi", "clip.avi", &avi, Encoding::Base64),
                attachment(
                    "text/plain",
                    "event.log",
                    b"10:00:00 motion ch1\r\n",
                    Encoding::Base64,
                ),
                attachment("image/jpeg", "snap.jpg", &snapshot, Encoding::Base64),
            ],
        ),
    )?;
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One message of `frames` distinct 1280x720 frames of a person crossing
/// the garden, base64 as cameras send them.
fn write_burst(file: &Path, frames: u64) -> Result<()> {
    let scene = Scene {
        noise: 8,
        ..Scene::garden(1280, 720)
    };
    let parts: Vec<Part> = (0..frames)
        .map(|index| {
            let at = 0.02 + 0.96 * index as f32 / frames.max(1) as f32;
            attachment(
                "image/jpeg",
                &format!("CH01_{index:03}.jpg"),
                &scene.with_person(at).with_seed(index + 1).jpeg(72),
                Encoding::Base64,
            )
        })
        .collect();
    std::fs::write(file, camera_mail("burst", parts))
        .with_context(|| format!("cannot write {}", file.display()))
}
