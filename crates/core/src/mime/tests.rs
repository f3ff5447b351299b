//! One test per real-world camera e-mail in `tests/fixtures/mail/`, written
//! by `cargo xtask fixtures` (one function per case in
//! `crates/xtask/src/cases.rs`; `make fixtures-check` keeps them in step).

use super::*;
use crate::config::Bounded;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn extract(name: &str) -> Extraction {
    extract_pictures(&fixture(name), &ExtractSettings::default()).unwrap()
}

/// (file name, content type, width, height) of each kept frame.
fn frames(extraction: &Extraction) -> Vec<(&str, &str, u32, u32)> {
    extraction
        .pictures
        .iter()
        .map(|p| (p.filename.as_str(), p.content_type, p.width, p.height))
        .collect()
}

/// The skipped parts other than the message's own text.
fn skipped(extraction: &Extraction) -> Vec<(&str, &str)> {
    extraction
        .skipped
        .iter()
        .filter(|s| !s.reason.starts_with("the text of the message"))
        .map(|s| (s.filename.as_str(), s.reason.as_str()))
        .collect()
}

/// The one frame of a fixture holding a single 320x240 snapshot.
fn single_frame(name: &str) -> String {
    let found = extract(name);
    assert_eq!(found.pictures.len(), 1, "{name}: {found:?}");
    assert_eq!(skipped(&found), [], "{name}");
    let picture = &found.pictures[0];
    assert_eq!(
        (picture.content_type, picture.width, picture.height),
        ("image/jpeg", 320, 240),
        "{name}"
    );
    picture.filename.clone()
}

#[test]
fn dahua_octet_stream_jpg_is_recognised_by_its_bytes() {
    assert_eq!(
        single_frame("dahua_octet_stream_jpg.eml"),
        "CH01_20261129100000.jpg"
    );
}

#[test]
fn hikvision_inline_cid_no_filename_is_named_after_its_content_id() {
    assert_eq!(
        single_frame("hikvision_inline_cid_no_filename.eml"),
        "snapshot01@hikvision.jpg"
    );
}

#[test]
fn image_jpg_and_pjpeg_types_are_both_kept() {
    let found = extract("image_jpg_and_pjpeg_types.eml");
    assert_eq!(
        frames(&found),
        [
            ("MDAlarm_1.jpg", "image/jpeg", 320, 240),
            ("MDAlarm_2.jpg", "image/jpeg", 320, 240)
        ]
    );
}

#[test]
fn rfc2231_utf8_filename_is_decoded() {
    assert_eq!(
        single_frame("rfc2231_utf8_filename.eml"),
        "Caméra entrée.jpg"
    );
}

#[test]
fn rfc2231_continued_filename_is_joined_and_decoded() {
    assert_eq!(
        single_frame("rfc2231_continued_filename.eml"),
        "Jardin côté rue 2026-11-29.jpg"
    );
}

#[test]
fn rfc2047_encoded_filename_is_decoded() {
    assert_eq!(
        single_frame("rfc2047_encoded_filename.eml"),
        "Garage à vélos.jpg"
    );
}

#[test]
fn related_in_mixed_in_alternative_yields_both_pictures() {
    let found = extract("related_in_mixed_in_alternative.eml");
    assert_eq!(
        frames(&found),
        [
            ("front.jpg", "image/jpeg", 320, 240),
            ("back.jpg", "image/jpeg", 320, 240)
        ]
    );
}

#[test]
fn single_part_image_message_is_its_own_frame() {
    let found = extract("single_part_image_message.eml");
    assert_eq!(frames(&found), [("snap.jpg", "image/jpeg", 320, 240)]);
    assert!(found.skipped.is_empty());
}

#[test]
fn forwarded_rfc822_attachment_is_opened() {
    assert_eq!(single_frame("forwarded_rfc822_attachment.eml"), "CH02.jpg");
}

#[test]
fn transfer_encodings_all_give_the_same_bytes() {
    let reference = extract("dahua_octet_stream_jpg.eml").pictures[0].sha256();
    for name in [
        "base64_one_long_line_lf_only.eml",
        "base64_trailing_blanks_and_blank_line.eml",
        "quoted_printable_jpeg.eml",
        "binary_transfer_encoding_jpeg.eml",
    ] {
        single_frame(name);
        assert_eq!(extract(name).pictures[0].sha256(), reference, "{name}");
    }
}

#[test]
fn gif_bmp_webp_are_converted_to_jpeg() {
    let found = extract("gif_bmp_webp_converted_to_jpeg.eml");
    assert_eq!(
        frames(&found),
        [
            ("alarm.gif", "image/jpeg", 320, 240),
            ("alarm.bmp", "image/jpeg", 320, 240),
            ("alarm.webp", "image/jpeg", 320, 240)
        ]
    );
    for picture in &found.pictures {
        assert_eq!(picture::sniff(&picture.bytes), Ok(picture::Format::Jpeg));
        // The digest is of the bytes stored, not of the bytes received.
        assert_eq!(
            picture.sha256(),
            hex::encode(Sha256::digest(&picture.bytes))
        );
    }
}

/// A copy of a converted picture is told by the bytes received, which its
/// stored JPEG no longer has; a picture of the same size but other bytes is
/// no copy.
#[test]
fn a_copy_of_a_converted_picture_is_a_duplicate() {
    use base64::Engine;
    // Two pictures whose brightness runs left to right, and right to left.
    let gif = |mirrored: bool| {
        let picture = image::RgbImage::from_fn(120, 90, |x, _| {
            let column = if mirrored { 119 - x } else { x } as u8;
            image::Rgb([column * 2, column * 2, column * 2])
        });
        let mut gif = Vec::new();
        image::DynamicImage::ImageRgb8(picture)
            .write_to(&mut std::io::Cursor::new(&mut gif), image::ImageFormat::Gif)
            .unwrap();
        base64::engine::general_purpose::STANDARD.encode(&gif)
    };
    let (first, other) = (gif(false), gif(true));
    let part = |name: &str, body: &str| {
        format!(
            "--b\r\nContent-Type: image/gif\r\nContent-Disposition: attachment; \
             filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        )
    };
    let raw = format!(
        "From: cam@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{}{}{}--b--\r\n",
        part("a.gif", &first),
        part("b.gif", &first),
        part("c.gif", &other),
    );
    assert_eq!(first.len(), other.len());
    let found = extract_pictures(raw.as_bytes(), &ExtractSettings::default()).unwrap();
    assert_eq!(
        frames(&found),
        [
            ("a.gif", "image/jpeg", 120, 90),
            ("c.gif", "image/jpeg", 120, 90)
        ]
    );
    assert_eq!(
        skipped(&found),
        [("b.gif", "duplicate of frame 0 (a.gif): the same bytes")]
    );
}

#[test]
fn png_snapshot_is_kept_as_png_byte_for_byte() {
    let raw = fixture("png_snapshot_kept_as_png.eml");
    let found = extract_pictures(&raw, &ExtractSettings::default()).unwrap();
    assert_eq!(frames(&found), [("snap.png", "image/png", 320, 240)]);
    assert_eq!(found.pictures[0].extension(), "png");
}

#[test]
fn thumbnail_under_80px_is_skipped_with_its_size() {
    let found = extract("thumbnail_under_80px_and_full_frame.eml");
    assert_eq!(frames(&found), [("full.jpg", "image/jpeg", 320, 240)]);
    assert_eq!(
        skipped(&found),
        [(
            "thumb.jpg",
            "too small to analyse: 64x48 px, at least 80 px a side is needed"
        )]
    );
}

#[test]
fn burst_of_four_two_near_duplicates_keeps_one_frame_per_scene() {
    let found = extract("burst_of_four_two_near_duplicates.eml");
    assert_eq!(
        frames(&found),
        [
            ("burst_1.jpg", "image/jpeg", 320, 240),
            ("burst_3.jpg", "image/jpeg", 320, 240)
        ]
    );
    assert_eq!(
        skipped(&found),
        [
            (
                "burst_2.jpg",
                "near-duplicate of frame 0 (burst_1.jpg): the same scene, a burst frame"
            ),
            (
                "burst_4.jpg",
                "near-duplicate of frame 1 (burst_3.jpg): the same scene, a burst frame"
            )
        ]
    );
}

/// The fingerprints of every picture part of a fixture, in order.
fn fingerprints(name: &str) -> Vec<Fingerprint> {
    let raw = fixture(name);
    let mail = mailparse::parse_mail(&raw).unwrap();
    let mut found = Vec::new();
    walk::walk(&mail, &mut |leaf| {
        if let Ok(bytes) = leaf.decode() {
            if let Ok(judged) = picture::judge(&bytes) {
                found.push(
                    picture::prepare(bytes, judged, u64::MAX)
                        .unwrap()
                        .fingerprint,
                );
            }
        }
    });
    found
}

/// The margin behind [`dedup::NEAR_DUPLICATE_MAX_DIFFERENCE`]: other noise
/// and another JPEG quality leave a scene far below it, a person walking in
/// is far above it.
#[test]
fn near_duplicate_threshold_sits_between_requality_and_a_person_walking_in() {
    let burst = fingerprints("burst_of_four_two_near_duplicates.eml");
    let [empty, empty_again, person, person_again] = burst.as_slice() else {
        panic!("four frames expected, got {}", burst.len());
    };
    let threshold = dedup::NEAR_DUPLICATE_MAX_DIFFERENCE;
    assert!(empty.difference(empty_again) <= threshold / 3);
    assert!(person.difference(person_again) <= threshold / 3);
    assert!(empty.difference(person) >= threshold * 3);
}

/// Candidates are prepared in batches as large as the room left under the
/// cap (here 2, then 1); what is kept, what is skipped and the order of the
/// list are those of taking the parts one by one.
#[test]
fn burst_decided_in_batches_as_one_by_one() {
    let settings = ExtractSettings {
        max_frames: Bounded(2),
        ..ExtractSettings::default()
    };
    let raw = fixture("burst_of_four_two_near_duplicates.eml");
    let found = extract_pictures(&raw, &settings).unwrap();
    let kept: Vec<_> = found.pictures.iter().map(|p| p.filename.as_str()).collect();
    assert_eq!(kept, ["burst_1.jpg", "burst_3.jpg"]);
    let skipped: Vec<_> = found
        .skipped
        .iter()
        .map(|s| {
            (
                s.filename.as_str(),
                s.reason.split(':').next().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "part-1",
                "the text of the message (text/plain), not a picture"
            ),
            ("burst_2.jpg", "near-duplicate of frame 0 (burst_1.jpg)"),
            (
                "burst_4.jpg",
                "more than 2 different pictures in one e-mail (`max_frames` in [extract])"
            ),
        ]
    );
}

/// A part refused on sight (a text file) after pictures still waiting to be
/// decided is listed after them, in the order of the parts.
#[test]
fn skipped_parts_are_listed_in_the_order_of_the_parts() {
    use base64::Engine;
    let jpeg = crate::testing::gradient_jpeg(120, 90);
    let jpeg = base64::engine::general_purpose::STANDARD.encode(&jpeg);
    let part = |content_type: &str, name: &str, body: &str| {
        format!(
            "--b\r\nContent-Type: {content_type}\r\nContent-Disposition: attachment; \
             filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        )
    };
    let raw = format!(
        "From: cam@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n{}{}{}--b--\r\n",
        part("image/jpeg", "a.jpg", &jpeg),
        part("image/jpeg", "b.jpg", &jpeg),
        part("text/plain", "notes.txt", "aGVsbG8="),
    );
    let found = extract_pictures(raw.as_bytes(), &ExtractSettings::default()).unwrap();
    assert_eq!(frames(&found), [("a.jpg", "image/jpeg", 120, 90)]);
    let names: Vec<_> = skipped(&found).into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, ["b.jpg", "notes.txt"]);
}

/// Once the cap is reached a part is only looked at, not decoded unless it
/// is the size of a kept frame: a copy of a kept frame, a video clip and a
/// text file are still told apart.
#[test]
fn parts_past_the_cap_keep_their_reasons() {
    let one_frame = ExtractSettings {
        max_frames: Bounded(1),
        ..ExtractSettings::default()
    };
    let copy = extract_pictures(&fixture("burst_with_exact_copy.eml"), &one_frame).unwrap();
    assert_eq!(
        skipped(&copy),
        [("b.jpg", "duplicate of frame 0 (a.jpg): the same bytes")]
    );
    let others =
        extract_pictures(&fixture("avi_clip_and_log_attachments.eml"), &one_frame).unwrap();
    assert_eq!(frames(&others), [("snap.jpg", "image/jpeg", 320, 240)]);
    assert_eq!(
        skipped(&others),
        [
            ("clip.avi", "a video clip (AVI), not a picture"),
            ("event.log", "not a picture (text/plain)")
        ]
    );
}

#[test]
fn burst_with_exact_copy_keeps_the_first() {
    let found = extract("burst_with_exact_copy.eml");
    assert_eq!(frames(&found), [("a.jpg", "image/jpeg", 320, 240)]);
    assert_eq!(
        skipped(&found),
        [("b.jpg", "duplicate of frame 0 (a.jpg): the same bytes")]
    );
}

#[test]
fn twelve_distinct_frames_are_capped_at_max_frames() {
    let found = extract("twelve_distinct_frames_over_the_cap.eml");
    assert_eq!(found.pictures.len(), 10);
    let over: Vec<_> = skipped(&found).into_iter().map(|(name, _)| name).collect();
    assert_eq!(over, ["walk_11.jpg", "walk_12.jpg"]);
    assert!(skipped(&found)[0]
        .1
        .starts_with("more than 10 different pictures"));

    let settings = ExtractSettings {
        max_frames: Bounded(3),
        ..ExtractSettings::default()
    };
    let raw = fixture("twelve_distinct_frames_over_the_cap.eml");
    let capped = extract_pictures(&raw, &settings).unwrap();
    assert_eq!(capped.pictures.len(), 3);
}

#[test]
fn truncated_mid_base64_keeps_the_complete_picture_and_names_the_cut_one() {
    let found = extract("truncated_mid_base64.eml");
    assert_eq!(frames(&found), [("first.jpg", "image/jpeg", 320, 240)]);
    let cut = skipped(&found);
    assert_eq!(cut.len(), 1);
    assert_eq!(cut[0].0, "second.jpg");
    assert!(cut[0].1.starts_with("cut off"), "{}", cut[0].1);
}

#[test]
fn decompression_bomb_jpeg_is_refused_without_decoding() {
    let found = extract("decompression_bomb_jpeg.eml");
    assert!(found.pictures.is_empty());
    assert_eq!(
        skipped(&found),
        [(
            "bomb.jpg",
            "claims 60000x60000 px, more than any camera sends: refused without decoding"
        )]
    );
}

#[test]
fn oversized_picture_is_scaled_down_within_the_pixel_budget() {
    let found = extract("oversized_picture_scaled_down.eml");
    assert_eq!(frames(&found), [("4k_wide.jpg", "image/jpeg", 2880, 1440)]);
    let budget = ExtractSettings::default().max_pixels.0;
    assert!(2880 * 1440 <= budget);
}

#[test]
fn avi_clip_and_log_are_skipped_with_what_they_are() {
    let found = extract("avi_clip_and_log_attachments.eml");
    assert_eq!(frames(&found), [("snap.jpg", "image/jpeg", 320, 240)]);
    assert_eq!(
        skipped(&found),
        [
            ("clip.avi", "a video clip (AVI), not a picture"),
            ("event.log", "not a picture (text/plain)")
        ]
    );
}

#[test]
fn every_part_not_kept_is_listed_including_the_message_text() {
    let found = extract("hikvision_inline_cid_no_filename.eml");
    assert_eq!(
        found.skipped,
        [Skipped {
            filename: "part-1".into(),
            reason: "the text of the message (text/html), not a picture".into()
        }]
    );
}

#[test]
fn envelope_reads_sender_recipients_and_subject() {
    let envelope = envelope(&fixture("dahua_octet_stream_jpg.eml")).unwrap();
    assert_eq!(
        envelope.from.as_deref(),
        Some("IPC <camera@cams.example.com>")
    );
    assert_eq!(envelope.to, vec!["alerts@cams.example.com"]);
    assert_eq!(envelope.subject.as_deref(), Some("Dahua motion alarm"));
}

#[test]
fn multipart_without_boundary_says_why_nothing_was_found() {
    let raw = b"Subject: x\r\nContent-Type: multipart/mixed\r\n\r\n--a\r\nContent-Type: image/jpeg\r\n\r\nxx\r\n--a--\r\n";
    let found = extract_pictures(raw, &ExtractSettings::default()).unwrap();
    assert!(found.pictures.is_empty());
    assert_eq!(
        found.skipped[0].reason,
        "a multipart/mixed section without a boundary: its parts cannot be told apart"
    );
}

/// Found by `cargo fuzz`: a picture claiming tens of megapixels took over
/// 10 s to scale down with a resampling filter; area averaging is used now.
#[test]
fn fuzz_timeout_downscale_of_a_large_picture_stays_within_budget() {
    let found = extract("fuzz_timeout_downscale_of_a_large_picture.eml");
    let budget = ExtractSettings::default().max_pixels.0;
    for picture in &found.pictures {
        assert!(u64::from(picture.width) * u64::from(picture.height) <= budget);
    }
    assert!(!found.skipped.is_empty() || !found.pictures.is_empty());
}

#[test]
fn a_300_kb_rfc2231_file_name_is_cut_to_255_bytes_keeping_its_extension() {
    let name = format!("{}.png", "Caméra-entrée ".repeat(20_000));
    assert!(name.len() > 300_000);
    let raw = crate::testing::picture_named_by_rfc2231("cam@example.com", &name);
    let found = extract_pictures(&raw, &ExtractSettings::default()).unwrap();
    let [picture] = &found.pictures[..] else {
        panic!("one picture expected: {:?}", frames(&found));
    };
    assert!(picture.filename.len() <= 255, "{}", picture.filename.len());
    assert!(picture.filename.starts_with("Caméra-entrée Caméra"));
    assert!(picture.filename.ends_with("….png"), "{}", picture.filename);
}

/// Every JPEG of the fixtures, of the samples and of the test builders
/// (the moments re-encoded as JPEG at two qualities and in grey), with its
/// name.
fn jpegs_of_fixtures_samples_and_builders() -> Vec<(String, Vec<u8>, picture::Judged)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut messages = Vec::new();
    for folder in [
        format!("{root}/tests/fixtures/mail"),
        format!("{root}/../../samples"),
    ] {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "eml") {
                messages.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut found = Vec::new();
    for (name, raw) in messages {
        let mail = mailparse::parse_mail(&raw).unwrap();
        walk::walk(&mail, &mut |leaf| {
            let part = format!("{name}/{}", leaf.name);
            if let Ok(bytes) = leaf.decode() {
                if let Ok(judged) = picture::judge(&bytes) {
                    if judged.format == picture::Format::Jpeg {
                        found.push((part, bytes, judged));
                    }
                }
            }
        });
    }
    let mut built = vec![
        ("grey_jpeg".to_string(), crate::testing::grey_jpeg(320, 240)),
        (
            "gradient_jpeg".to_string(),
            crate::testing::gradient_jpeg(333, 251),
        ),
    ];
    for moment in 0..4 {
        let png = crate::testing::moment_png(320, 240, moment);
        let rgb = image::load_from_memory(&png).unwrap().to_rgb8();
        for quality in [60, 90] {
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
                .encode_image(&rgb)
                .unwrap();
            built.push((format!("moment_png {moment} at quality {quality}"), jpeg));
        }
        // In grey: one channel, coded block by block.
        let mut grey = Vec::new();
        image::DynamicImage::ImageRgb8(rgb)
            .to_luma8()
            .write_to(
                &mut std::io::Cursor::new(&mut grey),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        built.push((format!("moment_png {moment} in grey"), grey));
    }
    for (name, bytes) in built {
        let judged = picture::judge(&bytes).unwrap();
        found.push((name, bytes, judged));
    }
    found
}

/// The fingerprint read from a JPEG's compressed data takes the same
/// near-duplicate decision as the one from its decoded brightness, for
/// every pair of pictures of the fixtures, the samples and the builders, and
/// comes within a step or two of it. A JPEG it cannot read (here one whose
/// data stops short) keeps the decoded fingerprint.
#[test]
fn block_average_fingerprints_decide_as_decoded_ones() {
    let pictures = jpegs_of_fixtures_samples_and_builders();
    assert!(pictures.len() >= 20, "only {} JPEGs found", pictures.len());
    let mut both = Vec::new();
    let mut unread = Vec::new();
    for (name, bytes, judged) in &pictures {
        let decoded = picture::jpeg_fingerprint_decoded(bytes, *judged).unwrap();
        let Some((width, height, from_blocks)) = Fingerprint::of_jpeg(bytes) else {
            unread.push(name.rsplit('/').take(2).collect::<Vec<_>>());
            continue;
        };
        assert_eq!((width, height), (judged.width, judged.height));
        assert!(
            from_blocks.difference(&decoded) <= 2,
            "{name}: {} from the decoded picture",
            from_blocks.difference(&decoded)
        );
        both.push((name, decoded, from_blocks));
    }
    // The only JPEG decoded in full: 3200x1600 in 9.5 kB, its compressed
    // data far too short for its blocks, which the decoder fills in.
    assert_eq!(
        unread,
        [[
            "4k_wide.jpg",
            "fuzz_timeout_downscale_of_a_large_picture.eml"
        ]]
    );
    let mut pairs = 0;
    let mut duplicates = 0;
    for (i, (a_name, a_decoded, a_blocks)) in both.iter().enumerate() {
        for (b_name, b_decoded, b_blocks) in &both[i + 1..] {
            let decided = a_decoded.is_near_duplicate_of(b_decoded);
            assert_eq!(
                a_blocks.is_near_duplicate_of(b_blocks),
                decided,
                "{a_name} and {b_name}: {} without decoding, {} from the pictures",
                a_blocks.difference(b_blocks),
                a_decoded.difference(b_decoded),
            );
            pairs += 1;
            duplicates += usize::from(decided);
        }
    }
    // Both kinds of decision were taken.
    assert!(
        duplicates > 0 && duplicates < pairs,
        "{duplicates} of {pairs}"
    );
}
