//! `ipcam process`: camera e-mails from files, through the whole pipeline.
//!
//! Each file is stored and run as one execution of the in-process pipeline
//! (the stage functions of the Lambdas, in the state machine's order);
//! alerts go to a JSON-lines file and the webhook if one is configured, and
//! the frame that alerted is saved with boxes and labels drawn on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use ipcam_adapters_local::{
    FolderBudget, FolderMemory, FolderStore, InProcessExecutions, Journal, LocalNotifier,
    LocalPipeline, Run, Terminal,
};
use ipcam_core::config::Config;
use ipcam_core::contract::Source;
use ipcam_core::mime;
use ipcam_core::ports::{Detector, ObjectStore};
use ipcam_core::stages::ingest::{admit, Admission, Incoming, SenderRules};
use serde_json::json;

/// What `ipcam process` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub files: Vec<PathBuf>,
    /// One JSON line per e-mail instead of a readable report.
    pub json: bool,
    /// Where annotated pictures, stored objects and the alert file go.
    pub out: PathBuf,
    /// Apply the sender allow-list of `[ingest]` to the files.
    pub check_senders: bool,
}

/// What became of one e-mail.
enum Outcome {
    Ran {
        run: Box<Run>,
        annotated: Vec<PathBuf>,
    },
    /// The same message as an earlier file: run once only.
    Duplicate { of: PathBuf },
}

/// Runs every file; false when any of them failed.
pub async fn run<D, F>(config: Config, options: Options, make_detector: F) -> Result<bool>
where
    D: Detector + 'static,
    F: FnOnce(FolderStore) -> Result<D>,
{
    let objects = options.out.join("objects");
    let (alerts_file, webhook) = crate::alert_outputs(&config, &options.out)?;
    let store = FolderStore::new(&objects);
    let detector = make_detector(store.clone())?;
    // The report says what alerted; the alert itself goes to the file.
    let notifier = LocalNotifier::new(Terminal::Off, Some(alerts_file.clone()), webhook);
    if options.check_senders {
        for warning in config.warnings() {
            eprintln!("ipcam: warning: {warning}");
        }
    }
    let door = Door {
        config: config.clone(),
        rules: if options.check_senders {
            SenderRules::Local
        } else {
            SenderRules::Skip
        },
    };
    // Kept beside the objects, so that the next run over the same folder
    // (or `ipcam serve` with it as its store) remembers these alerts.
    let alerts = FolderMemory::new(&options.out);
    let budget = FolderBudget::new(&options.out);
    let pipeline = Arc::new(
        LocalPipeline::new(
            config.clone(),
            store.clone(),
            detector,
            notifier,
            alerts,
            budget,
        )
        .with_mail_relay_of(&config)
        .map_err(anyhow::Error::msg)?,
    );
    let executions = InProcessExecutions::new(pipeline, Journal::in_memory());

    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let (mut alerted, mut quiet, mut failed) = (0, 0, 0);
    for file in &options.files {
        match process_one(file, &door, &store, &executions, &options.out, &mut seen).await {
            Ok(outcome) => {
                if let Outcome::Ran { run, .. } = &outcome {
                    if run.notified.is_some() {
                        alerted += 1;
                    } else {
                        quiet += 1;
                    }
                }
                report(file, &outcome, &store, options.json);
            }
            Err(err) => {
                failed += 1;
                eprintln!("ipcam: {}: {err:#}", file.display());
                if options.json {
                    println!("{}", json!({ "file": file, "error": format!("{err:#}") }));
                }
            }
        }
    }
    if !options.json {
        println!(
            "{} e-mail{}: {alerted} alerted, {quiet} without alert, {failed} failed. Alerts: {}",
            options.files.len(),
            if options.files.len() == 1 { "" } else { "s" },
            alerts_file.display()
        );
    }
    Ok(failed == 0)
}

/// The door the files go through: the `[ingest]` rules, with or without
/// the sender allow-list.
struct Door {
    config: Config,
    rules: SenderRules,
}

async fn process_one<S, D, N, M, B>(
    file: &Path,
    door: &Door,
    store: &FolderStore,
    executions: &InProcessExecutions<S, D, N, M, B>,
    out: &Path,
    seen: &mut HashMap<String, PathBuf>,
) -> Result<Outcome>
where
    S: ObjectStore + 'static,
    D: Detector + 'static,
    N: ipcam_core::ports::Notifier + 'static,
    M: ipcam_core::ports::AlertMemory + 'static,
    B: ipcam_core::ports::DetectorBudget + 'static,
{
    let raw = std::fs::read(file).context("cannot read")?;
    if raw.is_empty() {
        bail!("the file is empty: expected a raw e-mail (.eml)");
    }
    let envelope = mime::envelope(&raw)?;
    if envelope.from.is_none() && envelope.to.is_empty() && envelope.subject.is_none() {
        bail!("no From, To or Subject header: not a raw e-mail (.eml)");
    }
    let incoming = Incoming::whole(Source::Local, raw, chrono::Utc::now().to_rfc3339());
    let inbox = ipcam_adapters_local::inbox();
    let admitted = match admit(&door.config, incoming, door.rules, &inbox, store)
        .await
        .map_err(|err| anyhow!("{err}"))?
    {
        Admission::Admitted(admitted) => admitted,
        Admission::Rejected(rejection) => bail!("{rejection}"),
    };
    let id = admitted.input.event.id.clone();
    let run = match executions
        .run(&admitted.name, &admitted.input)
        .await
        .map_err(|err| anyhow!("starting the execution: {err}"))?
    {
        None => {
            let of = seen.get(&id).cloned().unwrap_or_default();
            return Ok(Outcome::Duplicate { of });
        }
        Some(outcome) => outcome?,
    };
    seen.insert(id, file.to_path_buf());
    // The notification stored the alerting frame with its boxes drawn; a
    // copy named after the file is easier to find than the store's key.
    let annotated = match run
        .notified
        .as_ref()
        .and_then(|(_, sent)| sent.snapshot.as_ref())
    {
        Some(snapshot) => {
            let stored = store
                .path_of(snapshot)
                .map_err(|err| anyhow!("finding the annotated picture: {err}"))?;
            let frame_number = run
                .alerting()
                .map_or(1, |analysis| analysis.detection.frame + 1);
            let stem = file.file_stem().map_or_else(
                || "email".into(),
                |stem| stem.to_string_lossy().into_owned(),
            );
            let path = out.join(format!("{stem}-frame{frame_number}.jpg"));
            std::fs::copy(&stored, &path).with_context(|| {
                format!("cannot copy {} to {}", stored.display(), path.display())
            })?;
            vec![path]
        }
        None => Vec::new(),
    };
    Ok(Outcome::Ran {
        run: Box::new(run),
        annotated,
    })
}

/// Why the frames analysed did not alert, each reason once, with the
/// frame it was given for when there were several.
fn why(run: &Run) -> Vec<String> {
    let several = run.analyses.len() > 1;
    let mut reasons: Vec<String> = Vec::new();
    for analysis in run.analyses.iter().filter(|analysis| !analysis.alert) {
        for reason in &analysis.why {
            let reason = if several {
                format!("frame {}: {reason}", analysis.detection.frame + 1)
            } else {
                reason.clone()
            };
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
    }
    reasons
}

fn report(file: &Path, outcome: &Outcome, store: &FolderStore, as_json: bool) {
    let (run, annotated) = match outcome {
        Outcome::Duplicate { of } => {
            if as_json {
                println!(
                    "{}",
                    json!({ "file": file, "duplicateOf": of, "alert": false, "matches": [], "frames": [], "annotated": [] })
                );
            } else {
                println!(
                    "{}: the same message as {}: not run again",
                    file.display(),
                    of.display()
                );
            }
            return;
        }
        Outcome::Ran { run, annotated } => (run, annotated),
    };
    let alerting = run.alerting();
    let matches = alerting.map(|a| a.matches.as_slice()).unwrap_or_default();
    if as_json {
        let frames: Vec<_> = run
            .extracted
            .frames
            .iter()
            .enumerate()
            .map(|(index, frame)| {
                let labels = run
                    .analyses
                    .iter()
                    .find(|analysis| analysis.detection.frame == index)
                    .map(|analysis| {
                        analysis
                            .detection
                            .labels
                            .iter()
                            .map(|label| json!({ "name": label.name, "confidence": label.confidence }))
                            .collect::<Vec<_>>()
                    });
                json!({
                    "filename": frame.filename,
                    "contentType": frame.content_type,
                    "width": frame.width,
                    "height": frame.height,
                    "path": store.path_of(&frame.object()).ok(),
                    "analysed": labels.is_some(),
                    "labels": labels.unwrap_or_default(),
                })
            })
            .collect();
        let line = json!({
            "file": file,
            "camera": run.extracted.camera,
            "alert": run.notified.is_some(),
            "subject": run.notified.as_ref().map(|(_, notification)| &notification.subject),
            "matches": matches
                .iter()
                .map(|found| json!({ "label": found.label, "confidence": found.confidence, "frame": found.frame, "boxes": found.boxes }))
                .collect::<Vec<_>>(),
            "frames": frames,
            "hold": run.extracted.hold,
            "why": why(run),
            "skipped": run.extracted.skipped,
            "annotated": annotated,
        });
        println!("{line}");
        return;
    }
    let frames = run.extracted.frames.len();
    let camera = &run.extracted.camera;
    match alerting {
        Some(analysis) => {
            let seen: Vec<String> = matches
                .iter()
                .map(|found| format!("{} {:.0}%", found.label, found.confidence))
                .collect();
            println!(
                "{}: ALERT from camera {camera}: {} (frame {} of {frames})",
                file.display(),
                seen.join(", "),
                analysis.detection.frame + 1
            );
            for path in annotated {
                println!("    annotated picture: {}", path.display());
            }
        }
        None if run.extracted.hold.is_some() => println!(
            "{}: no alert from camera {camera}: not analysed, {}",
            file.display(),
            run.extracted.hold.as_deref().unwrap_or_default()
        ),
        None if frames == 0 => println!(
            "{}: no alert from camera {camera}: no picture in the e-mail",
            file.display()
        ),
        None => {
            let seen: Vec<String> = run
                .analyses
                .iter()
                .flat_map(|analysis| &analysis.detection.labels)
                .map(|label| format!("{} {:.0}%", label.name, label.confidence))
                .collect();
            let seen = if seen.is_empty() {
                "nothing".to_string()
            } else {
                seen.join(", ")
            };
            println!(
                "{}: no alert from camera {camera}: saw {seen} in {frames} frame{}",
                file.display(),
                if frames == 1 { "" } else { "s" }
            );
            for reason in why(run) {
                println!("    why: {reason}");
            }
        }
    }
    for skipped in &run.extracted.skipped {
        println!("    skipped {}: {}", skipped.filename, skipped.reason);
    }
}
