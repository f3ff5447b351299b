//! The subcommands of `ipcam`.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use ipcam_adapters_local::FolderMemory;
use ipcam_core::config::{Config, LoadError, Span, UNKNOWN_CAMERA};
use ipcam_core::memory::ALL_CAMERAS;
use ipcam_core::mime;
use ipcam_core::ports::AlertMemory;
use ipcam_core::schedule;
use ipcam_core::stages::ingest::admission::check_size;
use memmap2::Mmap;

/// A message file's bytes. A regular file is mapped into memory rather
/// than read: its pages are the page cache's own, where a read faults in
/// and copies every page of a fresh buffer, which on an 8 MB burst is a
/// fifth of `ipcam extract`'s time. Anything else (a pipe, a terminal) is
/// read, up to one byte past `limit`: enough for the size check to refuse
/// it, without holding whatever a pipe pours in.
enum MessageFile {
    Mapped(Mmap),
    Read(Vec<u8>),
}

impl MessageFile {
    fn open(path: &Path, limit: u64) -> std::io::Result<MessageFile> {
        let file = File::open(path)?;
        if file.metadata()?.is_file() {
            // SAFETY: the map is read-only and only read while this command
            // runs. The file is an e-mail named on the command line, which
            // nothing writes while it is being examined; were another
            // program to cut it short meanwhile, the process would end with
            // SIGBUS (the risk ripgrep also takes for the same gain).
            return Ok(MessageFile::Mapped(unsafe { Mmap::map(&file)? }));
        }
        let mut bytes = Vec::new();
        file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
        Ok(MessageFile::Read(bytes))
    }
}

impl Deref for MessageFile {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            MessageFile::Mapped(map) => map,
            MessageFile::Read(bytes) => bytes,
        }
    }
}

/// `ipcam extract FILE [--json] [--out DIR] [--config FILE]`: the same
/// decisions as the extract-attachments stage, with the configuration
/// file's size limit and `[extract]` settings (or the defaults).
pub fn extract(file: &Path, json: bool, out: Option<&Path>, config: Option<&Path>) -> Result<()> {
    let config = match config {
        Some(path) => Config::load(path).map_err(anyhow::Error::msg)?,
        None => Config::parse("").map_err(anyhow::Error::msg)?,
    };
    let raw = MessageFile::open(file, config.ingest.max_message_bytes.0)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let size = u64::try_from(raw.len()).unwrap_or(u64::MAX);
    check_size(&config, size).map_err(|rejection| anyhow!("{}: {rejection}", file.display()))?;
    let extraction = mime::extract_pictures(&raw, &config.extract)
        .with_context(|| format!("{}", file.display()))?;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (index, picture) in extraction.pictures.iter().enumerate() {
            let path = dir.join(format!("{index}.{}", picture.extension()));
            std::fs::write(&path, &picture.bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if json {
        let frames: Vec<_> = extraction
            .pictures
            .iter()
            .map(|picture| {
                serde_json::json!({
                    "filename": picture.filename,
                    "contentType": picture.content_type,
                    "width": picture.width,
                    "height": picture.height,
                    "size": picture.bytes.len(),
                    "sha256": picture.sha256(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "frames": frames, "skipped": extraction.skipped })
        );
    } else {
        for picture in &extraction.pictures {
            println!(
                "frame   {} ({}, {}x{}, {} bytes)",
                picture.filename,
                picture.content_type,
                picture.width,
                picture.height,
                picture.bytes.len()
            );
        }
        for skipped in &extraction.skipped {
            println!("skipped {}: {}", skipped.filename, skipped.reason);
        }
    }
    Ok(())
}

/// `ipcam config check FILE`: a summary of a sound file, or every error of
/// a wrong one, each on its own line, so that one run lists every fix.
/// False when the file is wrong (its errors are printed). `mail_domains`
/// are domains the cameras' mail is received for, besides those of the
/// cameras' `to`.
pub fn config_check(file: &Path, mail_domains: &[String]) -> Result<bool> {
    let mail_domains: Vec<&str> = mail_domains.iter().map(String::as_str).collect();
    let config = match Config::load_receiving_for(file, &mail_domains) {
        Ok(config) => config,
        Err(LoadError::Invalid { path, errors }) => {
            for error in &errors {
                eprintln!("ipcam: {}: {error}", path.display());
            }
            return Ok(false);
        }
        Err(err @ LoadError::Read { .. }) => return Err(err.into()),
    };
    println!(
        "{}: OK ({} camera{}; defaults alert on {} at {}% and above)",
        file.display(),
        config.cameras.len(),
        if config.cameras.len() == 1 { "" } else { "s" },
        config
            .defaults
            .labels
            .iter()
            .map(|wanted| wanted.label.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        config.defaults.min_confidence.0
    );
    for warning in config.warnings() {
        eprintln!("ipcam: {}: warning: {warning}", file.display());
    }
    for (camera, label) in config.ungateable(ipcam_detector_nanodet::gate_vocabulary()) {
        eprintln!(
            "ipcam: {}: note: {camera} wants \"{label}\", which the embedded model cannot rule out, so on AWS every frame of it goes to Rekognition ([detector] gates only what the model knows); write `detector = \"rekognition\"` for it to say so",
            file.display()
        );
    }
    Ok(true)
}

/// `ipcam config deployable`: the configuration the stack's functions
/// get, on standard output; each error on standard error.
pub fn config_deployable(file: &Path, mail_domain: &str, secrets: &Path) -> Result<bool> {
    let text = std::fs::read_to_string(file)
        .map_err(|err| anyhow::anyhow!("{}: cannot read: {err}", file.display()))?;
    let kept = std::fs::read_to_string(secrets)
        .map_err(|err| anyhow::anyhow!("{}: cannot read: {err}", secrets.display()))?;
    let generated = ipcam_core::config::kept_secret_addresses(&kept)
        .map_err(|err| anyhow::anyhow!("{}: {err}", secrets.display()))?;
    match Config::deployable(&text, mail_domain, &generated) {
        Ok(uploaded) => {
            print!("{uploaded}");
            Ok(true)
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("ipcam: {}: {error}", file.display());
            }
            Ok(false)
        }
    }
}

/// `ipcam snooze`: mutes a camera, or all of them, in the memory of
/// alerts kept in `store`, which `process` and `serve` read before
/// analysing anything.
pub async fn snooze(config: &Config, store: &Path, camera: &str, duration: &str) -> Result<()> {
    let span = Span::try_from(duration.to_string()).map_err(anyhow::Error::msg)?;
    let known = config.cameras.iter().any(|c| c.name == camera);
    let (key, rules) = if camera.eq_ignore_ascii_case("all") {
        (ALL_CAMERAS, config.defaults.clone())
    } else if known || camera == UNKNOWN_CAMERA {
        (camera, config.rules_for(camera))
    } else {
        let names: Vec<&str> = config.cameras.iter().map(|c| c.name.as_str()).collect();
        bail!(
            "there is no camera `{camera}` in the configuration: name one of {} or `all`",
            if names.is_empty() {
                UNKNOWN_CAMERA.to_string()
            } else {
                names.join(", ")
            }
        );
    };
    let until = chrono::Utc::now() + chrono::TimeDelta::from_std(span.0)?;
    FolderMemory::new(store)
        .snooze(key, until)
        .await
        .map_err(anyhow::Error::msg)?;
    if span.seconds() == 0 {
        println!("{camera}: snooze lifted");
    } else {
        println!(
            "{camera}: snoozed until {}",
            schedule::local_time(&rules, until)
        );
    }
    Ok(())
}
