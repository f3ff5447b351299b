//! How well the embedded model serves as a gate in front of Rekognition,
//! at several thresholds: of the scenes with a person, how many it lets
//! through (a scene it stops is a person Rekognition never sees); of the
//! scenes without, how many it stops (each a Rekognition call saved).
//!
//! A person counts as let through only when the model saw a *person* at
//! the threshold; an empty scene is stopped when it saw neither a person
//! nor a car there (the default camera wants both). Both ways of looking
//! are measured: one look at the whole frame (`NanoDet::detect`), and the
//! gate's three looks and their vote (`NanoDet::detect_closely`).
//!
//! Usage: `cargo run --release -p ipcam-detector-nanodet --example
//! gate_recall -- SCENES` where SCENES holds the JPEGs and `scenes.json`
//! that `bench/gate_scenes.py` writes (`make gate-recall` runs both).

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipcam_core::contract::Label;
use ipcam_detector_nanodet::{NanoDet, CONFIDENCE_FLOOR};

/// The thresholds compared, in percent.
const THRESHOLDS: [f32; 10] = [5.0, 10.0, 11.0, 12.5, 15.0, 17.5, 20.0, 25.0, 30.0, 40.0];

#[derive(serde::Deserialize)]
struct Scene {
    file: String,
    kind: String,
    person: bool,
}

/// The best confidence among the labels of these names.
fn best(labels: &[Label], names: &[&str]) -> f32 {
    labels
        .iter()
        .filter(|label| names.contains(&label.name.as_str()))
        .map(|label| label.confidence)
        .fold(0.0, f32::max)
}

/// What one way of looking made of a scene: its best person, and its best
/// person or car.
#[derive(Clone, Copy)]
struct Scores {
    person: f32,
    wanted: f32,
}

impl Scores {
    fn of(labels: &[Label]) -> Scores {
        Scores {
            person: best(labels, &["Person"]),
            wanted: best(labels, &["Person", "Car"]),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = PathBuf::from(std::env::args().nth(1).ok_or("usage: gate_recall SCENES")?);
    let scenes: Vec<Scene> =
        serde_json::from_str(&std::fs::read_to_string(folder.join("scenes.json"))?)?;
    let model = NanoDet::load()?;
    let mut scored = Vec::new();
    println!("| scene | kind | person | one look: person, person or car | three looks, voting: person, person or car | what else the vote saw |");
    println!("|---|---|---|---|---|---|");
    for scene in &scenes {
        let bytes = std::fs::read(folder.join(&scene.file))?;
        let once = Scores::of(&model.detect(&bytes, CONFIDENCE_FLOOR)?);
        let closely_labels = model.detect_closely(&bytes, CONFIDENCE_FLOOR)?;
        let closely = Scores::of(&closely_labels);
        let others: Vec<String> = closely_labels
            .iter()
            .filter(|label| !["Person", "Car"].contains(&label.name.as_str()))
            .take(3)
            .map(|label| format!("{} {:.0}%", label.name, label.confidence))
            .collect();
        println!(
            "| {} | {} | {} | {:.1}%, {:.1}% | {:.1}%, {:.1}% | {} |",
            scene.file.trim_end_matches(".jpg"),
            scene.kind,
            if scene.person { "yes" } else { "no" },
            once.person,
            once.wanted,
            closely.person,
            closely.wanted,
            others.join(", ")
        );
        scored.push((scene, once, closely));
    }
    let kinds: BTreeMap<&str, usize> = scored.iter().filter(|(scene, ..)| scene.person).fold(
        BTreeMap::new(),
        |mut kinds, (scene, ..)| {
            *kinds.entry(scene.kind.as_str()).or_default() += 1;
            kinds
        },
    );
    let people = kinds.values().sum::<usize>();
    let empty = scored.len() - people;
    for (title, look) in [("one look", 0), ("three looks (the gate)", 1)] {
        let scores = |once: &Scores, closely: &Scores| if look == 0 { *once } else { *closely };
        println!();
        print!("| {title}: threshold | people let through ({people}) |");
        for kind in kinds.keys() {
            print!(" {kind} |");
        }
        println!(" empty scenes stopped ({empty}) |");
        println!("|---|---|{}---|", "---|".repeat(kinds.len()));
        for threshold in THRESHOLDS {
            let through = |kind: Option<&str>| {
                scored
                    .iter()
                    .filter(|(scene, once, closely)| {
                        scene.person
                            && kind.is_none_or(|kind| scene.kind == kind)
                            && scores(once, closely).person >= threshold
                    })
                    .count()
            };
            print!("| {threshold}% | {} |", through(None));
            for (kind, total) in &kinds {
                print!(" {}/{total} |", through(Some(kind)));
            }
            let stopped = scored
                .iter()
                .filter(|(scene, once, closely)| {
                    !scene.person && scores(once, closely).wanted < threshold
                })
                .count();
            println!(" {stopped} |");
        }
    }
    Ok(())
}
