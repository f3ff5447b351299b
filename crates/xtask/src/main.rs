//! The project's own tools, run as `cargo xtask ...` (an alias in
//! `.cargo/config.toml`).
//!
//! ```text
//! cargo xtask fixtures [--check] [--dir DIR]
//! cargo xtask burst FILE [FRAMES]
//! ```
//!
//! `fixtures` writes the camera e-mails of `crates/core/tests/fixtures/mail/`,
//! one per real-world case that extraction must handle (see [`cases`]).
//! With `--check` it writes nothing and fails, naming each file, when the
//! folder is not byte for byte what it would write: the fixtures are
//! committed so that tests and the fuzzer read them without this tool, and
//! the check keeps them from drifting away from the code that says what
//! they are. `--dir` points it at another folder (its own tests use a copy).
//!
//! `burst` writes one large message of distinct 1280x720 frames (about
//! 8 MB for 64), for the extraction benchmark (`bench/extract_vs_python.sh`).

mod cases;
mod mail;
mod picture;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::mail::{attachment, camera_mail, Encoding, Part};
use crate::picture::Scene;

const USAGE: &str =
    "usage: cargo xtask fixtures [--check] [--dir DIR]\n       cargo xtask burst FILE [FRAMES]";

/// The committed fixtures, found from this crate rather than from the
/// current folder, so the tool works from anywhere in the workspace.
fn committed_fixtures() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask
        .parent()
        .unwrap_or(xtask)
        .join("core/tests/fixtures/mail")
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<ExitCode> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("fixtures") => {
            let mut check = false;
            let mut dir = committed_fixtures();
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--check" => check = true,
                    "--dir" => dir = args.next().context("--dir needs a folder")?.into(),
                    _ => bail!("unknown argument {arg:?}\n{USAGE}"),
                }
            }
            if check {
                check_fixtures(&dir)
            } else {
                write_fixtures(&dir).map(|()| ExitCode::SUCCESS)
            }
        }
        Some("burst") => {
            let file = args.next().context(USAGE)?;
            let frames = match args.next() {
                Some(frames) => frames
                    .parse()
                    .with_context(|| format!("FRAMES must be a number, not {frames:?}"))?,
                None => 64,
            };
            if let Some(extra) = args.next() {
                bail!("unknown argument {extra:?}\n{USAGE}");
            }
            write_burst(Path::new(&file), frames).map(|()| ExitCode::SUCCESS)
        }
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => bail!("{USAGE}"),
    }
}

/// Every fixture this tool writes: file name and bytes.
fn generate() -> Result<Vec<(String, Vec<u8>)>> {
    let common = cases::Common::new()?;
    cases::CASES
        .iter()
        .map(|(case, write)| {
            let bytes = write(&common).with_context(|| format!("writing the case {case}"))?;
            Ok((format!("{case}.eml"), bytes))
        })
        .collect()
}

/// Rewrites the fixtures whose bytes changed, and says which.
fn write_fixtures(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, bytes) in generate()? {
        let path = dir.join(&name);
        if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    for name in extra_files(dir, &written_names())? {
        eprintln!(
            "warning: {} is not written by this tool (remove it, or list it in cases::KEPT)",
            dir.join(name).display()
        );
    }
    Ok(())
}

/// Compares the folder with what [`write_fixtures`] would write; one line
/// on stderr per file that differs, is missing or is extra.
fn check_fixtures(dir: &Path) -> Result<ExitCode> {
    let mut problems = Vec::new();
    for (name, bytes) in generate()? {
        let path = dir.join(&name);
        match std::fs::read(&path) {
            Ok(found) if found == bytes => {}
            Ok(found) => problems.push(format!(
                "differs: {} ({})",
                path.display(),
                first_difference(&found, &bytes)
            )),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                problems.push(format!("missing: {}", path.display()))
            }
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }
    for (name, why) in cases::KEPT {
        let path = dir.join(name);
        if !path.is_file() {
            problems.push(format!("missing: {} ({why})", path.display()));
        }
    }
    for name in extra_files(dir, &written_names())? {
        problems.push(format!("extra: {}", dir.join(name).display()));
    }
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!(
        "{} fixture file(s) are not what `cargo xtask fixtures` writes: \
         run it to rewrite them, or change the case in crates/xtask/src/cases.rs",
        problems.len()
    );
    Ok(ExitCode::FAILURE)
}

/// The names of the files the folder should hold: written or kept.
fn written_names() -> BTreeSet<String> {
    cases::CASES
        .iter()
        .map(|(case, _)| format!("{case}.eml"))
        .chain(cases::KEPT.iter().map(|(name, _)| name.to_string()))
        .collect()
}

/// The entries of the folder that it should not hold, sorted.
fn extra_files(dir: &Path, expected: &BTreeSet<String>) -> Result<Vec<String>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut extra = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !expected.contains(&name) {
            extra.push(name);
        }
    }
    extra.sort();
    Ok(extra)
}

/// Where two byte strings first differ, and their sizes, so a failed check
/// says more than "differs".
fn first_difference(found: &[u8], expected: &[u8]) -> String {
    let at = found
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(found.len().min(expected.len()));
    format!(
        "first at byte {at}; {} bytes, {} expected",
        found.len(),
        expected.len()
    )
}

/// One message of `frames` distinct 1280x720 frames of a person crossing
/// the garden, base64 as cameras send them.
fn write_burst(file: &Path, frames: u64) -> Result<()> {
    let scene = Scene {
        noise: 8,
        ..Scene::garden(1280, 720)
    };
    let parts = (0..frames)
        .map(|index| {
            let at = 0.02 + 0.96 * index as f32 / frames.max(1) as f32;
            Ok(attachment(
                "image/jpeg",
                &format!("CH01_{index:03}.jpg"),
                &scene.with_person(at).with_seed(index + 1).jpeg(72)?,
                Encoding::Base64,
            ))
        })
        .collect::<Result<Vec<Part>>>()?;
    std::fs::write(file, camera_mail("burst", parts))
        .with_context(|| format!("cannot write {}", file.display()))
}
