//! The detector finds what it found when `tests/detections.txt` was
//! written: on each sample picture, with one look and with the gate's
//! three, the same labels, and boxes at the same
//! places with the same scores, within a tolerance that a faster decode or
//! resize may spend (a few thousandths of the picture, a point or two of
//! confidence), and no more.
//!
//! `IPCAM_RECORD_DETECTIONS=1 cargo test --release -p ipcam-detector-nanodet
//! --test same_detections` writes the file anew from the current build.

use ipcam_detector_nanodet::NanoDet;

/// Boxes at or above this confidence (percent) are recorded.
const RECORDED_FROM: f32 = 30.0;
/// A box must be found again when it was this far above the recording
/// threshold, so that one just above it may fall just below.
const CONFIDENCE_TOLERANCE: f32 = 2.0;
/// Largest move of a box's side, as a fraction of the picture.
const POSITION_TOLERANCE: f32 = 0.01;

const EXPECTED: &str = "tests/detections.txt";

/// The pictures looked at: the picture of each sample e-mail, and the
/// benchmark's 1080p frame.
fn pictures() -> Vec<(String, Vec<u8>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut pictures = Vec::new();
    for name in ["frontdoor_person.eml", "garden_empty.eml"] {
        let path = format!("{root}/../../samples/{name}");
        let raw = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        let extraction = ipcam_core::mime::extract_pictures(
            &raw,
            &ipcam_core::config::ExtractSettings::default(),
        )
        .expect("a sample e-mail");
        for picture in extraction.pictures {
            pictures.push((format!("{name}/{}", picture.filename), picture.bytes));
        }
    }
    let path = format!("{root}/benches/fixtures/frontdoor_1080p.jpg");
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    pictures.push(("frontdoor_1080p.jpg".into(), bytes));
    pictures
}

/// One box as recorded: the picture, the label, the confidence, then left,
/// top, width and height.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    picture: String,
    label: String,
    confidence: f32,
    place: [f32; 4],
}

impl Found {
    fn line(&self) -> String {
        let [left, top, width, height] = self.place;
        format!(
            "{} {} {:.3} {left:.5} {top:.5} {width:.5} {height:.5}",
            self.picture, self.label, self.confidence
        )
    }

    fn parse(line: &str) -> Found {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 7, "{line}");
        let number = |field: &str| -> f32 {
            field
                .parse()
                .unwrap_or_else(|_| panic!("{field} in {line}"))
        };
        Found {
            picture: fields[0].into(),
            label: fields[1].into(),
            confidence: number(fields[2]),
            place: [
                number(fields[3]),
                number(fields[4]),
                number(fields[5]),
                number(fields[6]),
            ],
        }
    }

    fn matches(&self, other: &Found) -> bool {
        self.picture == other.picture
            && self.label == other.label
            && (self.confidence - other.confidence).abs() <= CONFIDENCE_TOLERANCE
            && self
                .place
                .iter()
                .zip(other.place)
                .all(|(a, b)| (a - b).abs() <= POSITION_TOLERANCE)
    }
}

fn detect_all() -> Vec<Found> {
    let model = NanoDet::load().expect("the embedded model loads");
    let mut found = Vec::new();
    for (name, bytes) in pictures() {
        // One look, as the embedded detector looks; three, as the gate does.
        let looks = [
            (name.clone(), model.detect(&bytes, RECORDED_FROM)),
            (
                format!("{name}(closely)"),
                model.detect_closely(&bytes, RECORDED_FROM),
            ),
        ];
        for (picture, labels) in looks {
            let labels = labels.unwrap_or_else(|error| panic!("{picture}: {error}"));
            for label in labels {
                for place in label.boxes {
                    found.push(Found {
                        picture: picture.clone(),
                        label: label.name.clone(),
                        confidence: place.confidence,
                        place: [place.left, place.top, place.width, place.height],
                    });
                }
            }
        }
    }
    found
}

#[test]
fn the_samples_give_the_recorded_boxes_and_scores() {
    let path = format!("{}/{EXPECTED}", env!("CARGO_MANIFEST_DIR"));
    let found = detect_all();
    if std::env::var_os("IPCAM_RECORD_DETECTIONS").is_some() {
        let text: String = found.iter().map(|f| f.line() + "\n").collect();
        std::fs::write(&path, text).expect("the recording is written");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let expected: Vec<Found> = text.lines().map(Found::parse).collect();
    assert!(!expected.is_empty(), "nothing recorded in {path}");
    let must_find = RECORDED_FROM + CONFIDENCE_TOLERANCE;
    for want in expected.iter().filter(|want| want.confidence >= must_find) {
        assert!(
            found.iter().any(|got| got.matches(want)),
            "not found again: {}\nfound:\n{}",
            want.line(),
            found.iter().map(Found::line).collect::<Vec<_>>().join("\n")
        );
    }
    for got in found.iter().filter(|got| got.confidence >= must_find) {
        assert!(
            expected.iter().any(|want| want.matches(got)),
            "not found before: {}",
            got.line()
        );
    }
}
