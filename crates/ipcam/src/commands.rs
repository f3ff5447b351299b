//! The subcommands of `ipcam`.

use std::path::Path;

use anyhow::{Context, Result};
use ipcam_core::config::Config;
use ipcam_core::mime;

/// `ipcam extract FILE [--json] [--out DIR] [--config FILE]`: the same
/// decisions as the extract-attachments stage, with the configuration
/// file's size limit and `[extract]` settings (or the defaults).
pub fn extract(file: &Path, json: bool, out: Option<&Path>, config: Option<&Path>) -> Result<()> {
    let config = match config {
        Some(path) => Config::load(path).map_err(anyhow::Error::msg)?,
        None => Config::parse("").map_err(anyhow::Error::msg)?,
    };
    let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let extraction = mime::check_message_size(&raw, &config)
        .and_then(|()| mime::extract_pictures(&raw, &config.extract))
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

/// `ipcam config check FILE`.
pub fn config_check(file: &Path) -> Result<()> {
    let config = Config::load(file).map_err(anyhow::Error::msg)?;
    println!(
        "{}: OK ({} camera{}; defaults alert on {} at {}% and above)",
        file.display(),
        config.cameras.len(),
        if config.cameras.len() == 1 { "" } else { "s" },
        config.defaults.labels.join(", "),
        config.defaults.min_confidence.0
    );
    Ok(())
}
