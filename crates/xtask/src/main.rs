//! The project's own tools, run as `cargo xtask ...` (an alias in
//! `.cargo/config.toml`).
//!
//! ```text
//! cargo xtask fixtures [--check] [--dir DIR]
//! cargo xtask burst FILE [FRAMES] [--scenes N [--noise-copies]] [--size WxH]
//! cargo xtask floor FILE
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
//! With `--scenes N` the frames show N scenes in turn, each as many times
//! in a row: the copies of a scene differ by a few bytes (a JPEG comment
//! with the frame's number), or with `--noise-copies` by their sensor noise,
//! as a camera's burst of one moment does. `--size` sets the frames' size.
//!
//! `floor` does the least any extractor must do with such a message: read
//! it, base64-decode each part and hash it (SHA-256), and prints the parts
//! it found; the benchmark times it as the floor of extraction.

mod cases;
mod mail;
mod picture;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::mail::{attachment, camera_mail, Encoding, Part};
use crate::picture::Scene;

const USAGE: &str = "usage: cargo xtask fixtures [--check] [--dir DIR]\n       \
     cargo xtask burst FILE [FRAMES] [--scenes N [--noise-copies]] [--size WxH]\n       \
     cargo xtask floor FILE";

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
            let mut burst = Burst {
                frames: 64,
                scenes: None,
                noise_copies: false,
                size: (1280, 720),
            };
            while let Some(arg) = args.next() {
                let mut value =
                    |name: &str| args.next().with_context(|| format!("{name} needs a value"));
                match arg.as_str() {
                    "--scenes" => {
                        let scenes = value("--scenes")?;
                        burst.scenes =
                            Some(scenes.parse().ok().filter(|&n| n > 0).with_context(|| {
                                format!("--scenes must be a number above 0, not {scenes:?}")
                            })?);
                    }
                    "--noise-copies" => burst.noise_copies = true,
                    "--size" => {
                        let size = value("--size")?;
                        burst.size = size
                            .split_once('x')
                            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                            .with_context(|| format!("--size must be WxH, not {size:?}"))?;
                    }
                    frames if !frames.starts_with('-') => {
                        burst.frames = frames
                            .parse()
                            .with_context(|| format!("FRAMES must be a number, not {frames:?}"))?;
                    }
                    _ => bail!("unknown argument {arg:?}\n{USAGE}"),
                }
            }
            write_burst(Path::new(&file), &burst).map(|()| ExitCode::SUCCESS)
        }
        Some("floor") => {
            let file = args.next().context(USAGE)?;
            if let Some(extra) = args.next() {
                bail!("unknown argument {extra:?}\n{USAGE}");
            }
            let message = std::fs::read(&file).with_context(|| format!("cannot read {file}"))?;
            println!("{}", decode_and_hash_parts(&message).len());
            Ok(ExitCode::SUCCESS)
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

/// What `cargo xtask burst` writes.
struct Burst {
    frames: u64,
    /// Scenes shown in turn, each `frames / scenes` times in a row (the
    /// first scenes once more when it does not divide); every frame its own
    /// scene when `None`.
    scenes: Option<u64>,
    /// Copies of a scene differ by their sensor noise rather than by a
    /// comment.
    noise_copies: bool,
    size: (u32, u32),
}

/// One message of `frames` frames of a person crossing the garden, base64
/// as cameras send them: each its own moment, or copies of a few moments.
fn write_burst(file: &Path, burst: &Burst) -> Result<()> {
    let scene = Scene {
        noise: 8,
        ..Scene::garden(burst.size.0, burst.size.1)
    };
    let moments = burst.scenes.unwrap_or(burst.frames).max(1);
    let per_moment = burst.frames.div_ceil(moments).max(1);
    let mut drawn: Vec<Vec<u8>> = Vec::new();
    let parts = (0..burst.frames)
        .map(|index| {
            let (moment, copy) = (index / per_moment, index % per_moment);
            let at = 0.02 + 0.96 * moment as f32 / moments as f32;
            let jpeg = if burst.noise_copies || copy == 0 {
                scene
                    .with_person(at)
                    .with_seed(moment * per_moment + copy + 1)
                    .jpeg(72)?
            } else {
                with_comment(&drawn[moment as usize], &format!("CH01 frame {index:03}"))
            };
            if copy == 0 {
                drawn.push(jpeg.clone());
            }
            Ok(attachment(
                "image/jpeg",
                &format!("CH01_{index:03}.jpg"),
                &jpeg,
                Encoding::Base64,
            ))
        })
        .collect::<Result<Vec<Part>>>()?;
    std::fs::write(file, camera_mail("burst", parts))
        .with_context(|| format!("cannot write {}", file.display()))
}

/// The JPEG with a comment segment (COM) after its start marker: other
/// bytes, the same pixels.
fn with_comment(jpeg: &[u8], comment: &str) -> Vec<u8> {
    let length = u16::try_from(comment.len() + 2).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(jpeg.len() + comment.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&comment.as_bytes()[..usize::from(length) - 2]);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The SHA-256 of each base64 body of a message: each run of lines made
/// only of base64 characters, decoded. What an extractor cannot avoid.
fn decode_and_hash_parts(message: &[u8]) -> Vec<[u8; 32]> {
    use base64::Engine;
    use sha2::Digest;
    let is_base64_line = |line: &[u8]| {
        line.len() >= 16
            && line
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    };
    let mut digests = Vec::new();
    let mut body = Vec::new();
    let mut decoded = Vec::new();
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if is_base64_line(line) {
            body.extend_from_slice(line);
        } else if !body.is_empty() {
            decoded.clear();
            if base64::engine::general_purpose::STANDARD
                .decode_vec(&body, &mut decoded)
                .is_ok()
            {
                digests.push(sha2::Sha256::digest(&decoded).into());
            }
            body.clear();
        }
    }
    digests
}
