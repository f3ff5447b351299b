//! [`Executions`] in process: each execution is a [`LocalPipeline`] run on
//! the async runtime, started at most once per name.
//!
//! Step Functions refuses a second execution of the same name; here a
//! [`Journal`] plays that part. Kept in a folder, it also makes accepted
//! messages survive a crash: an execution still marked running when the
//! server starts again is run again ([`InProcessExecutions::resume`]).
//!
//! A record is written whole or not at all (a temporary file, flushed,
//! renamed into place, the folder flushed), so a crash or a full disk
//! never leaves a record that claims a message without saying what to
//! run. A record that cannot be read all the same (a torn write of an
//! older version, a damaged disk) counts as unfinished, never as done: at
//! a start it is run again when its message can be found
//! ([`InProcessExecutions::resume_with`]) and set aside otherwise, and a
//! new delivery of its message is taken as new.

use std::collections::HashSet;
use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::folder::write_durably;
use crate::runner::{LocalPipeline, Run, RunFailed};
use ipcam_core::contract::ExecutionInput;
use ipcam_core::ports::{
    AlertMemory, Detector, DetectorBudget, Executions, Notifier, ObjectStore, PortError, Started,
};

/// The names of the executions started so far.
#[derive(Debug)]
pub enum Journal {
    /// For one command's lifetime (`ipcam process`).
    Memory(Mutex<HashSet<String>>),
    /// One JSON file per execution in a folder (`ipcam serve`): survives
    /// restarts, and says how each execution ended. Claims are made one
    /// at a time within the process.
    Folder { folder: PathBuf, claims: Mutex<()> },
}

/// What the journal holds for one name.
#[derive(Debug)]
enum Held {
    Nothing,
    Record(Box<Record>),
    /// A file that is not a record.
    Unreadable,
}

/// How an execution ended, as its journal record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Running,
    Alerted,
    NothingOfInterest,
    NoPictures,
    /// The camera could not alert (snoozed, quiet hours, every label
    /// cooling down): no frame was analysed.
    NotAnalysed,
    Failed,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    status: Status,
    input: ExecutionInput,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn io_failure(doing: String) -> impl FnOnce(std::io::Error) -> PortError {
    move |err| PortError::Permanent(format!("{doing}: {err}"))
}

impl Journal {
    pub fn in_memory() -> Journal {
        Journal::Memory(Mutex::new(HashSet::new()))
    }

    pub fn in_folder(folder: impl Into<PathBuf>) -> Journal {
        Journal::Folder {
            folder: folder.into(),
            claims: Mutex::new(()),
        }
    }

    fn record_path(folder: &Path, name: &str) -> PathBuf {
        folder.join(format!("{name}.json"))
    }

    fn read(path: &Path) -> Result<Held, PortError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes)
                .map_or(Held::Unreadable, |record| Held::Record(Box::new(record)))),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(Held::Nothing),
            Err(err) => Err(io_failure(format!("reading {}", path.display()))(err)),
        }
    }

    fn write(path: &Path, record: &Record) -> Result<(), PortError> {
        let json = serde_json::to_vec_pretty(record)
            .map_err(|err| PortError::Permanent(format!("encoding the execution record: {err}")))?;
        write_durably(path, &json).map_err(io_failure(format!("writing {}", path.display())))
    }

    /// Moves an unreadable record out of the way, kept for a person to
    /// look at, so that its name can be claimed again.
    fn set_aside(path: &Path) {
        let mut aside = path.as_os_str().to_owned();
        aside.push(format!(
            ".unreadable-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos())
        ));
        match std::fs::rename(path, &aside) {
            Ok(()) => tracing::error!(
                record = %path.display(),
                kept_as = %PathBuf::from(&aside).display(),
                "an execution record could not be read: set aside, and its message counts as not run"
            ),
            Err(err) => {
                tracing::error!(record = %path.display(), error = %err, "an unreadable execution record could not be set aside")
            }
        }
    }

    /// Records a new execution; false when one of that name exists.
    fn claim(&self, name: &str, input: &ExecutionInput) -> Result<bool, PortError> {
        match self {
            Journal::Memory(names) => Ok(names
                .lock()
                .map_err(|_| PortError::Permanent("the execution journal is poisoned".into()))?
                .insert(name.to_string())),
            Journal::Folder { folder, claims } => {
                let _one_at_a_time = claims.lock().map_err(|_| {
                    PortError::Permanent("the execution journal is poisoned".into())
                })?;
                std::fs::create_dir_all(folder)
                    .map_err(io_failure(format!("creating {}", folder.display())))?;
                let path = Self::record_path(folder, name);
                match Self::read(&path)? {
                    Held::Record(_) => return Ok(false),
                    // Not a record of an accepted message: the message
                    // was never run, so this delivery is taken.
                    Held::Unreadable => Self::set_aside(&path),
                    Held::Nothing => {}
                }
                let record = Record {
                    status: Status::Running,
                    input: input.clone(),
                    error: None,
                };
                Self::write(&path, &record)?;
                Ok(true)
            }
        }
    }

    /// Records how an execution ended.
    fn finish(
        &self,
        name: &str,
        input: &ExecutionInput,
        outcome: &Result<Run, RunFailed>,
    ) -> Result<(), PortError> {
        let Journal::Folder { folder, .. } = self else {
            return Ok(());
        };
        let record = Record {
            status: status_of(outcome),
            input: input.clone(),
            error: outcome.as_ref().err().map(ToString::to_string),
        };
        Self::write(&Self::record_path(folder, name), &record)
    }

    /// Executions recorded as running (accepted, but not finished when
    /// the last server stopped), and the names whose record cannot be
    /// read (`None`): unfinished too, as far as anyone can tell.
    fn unfinished(&self) -> Result<Vec<(String, Option<ExecutionInput>)>, PortError> {
        let Journal::Folder { folder, .. } = self else {
            return Ok(Vec::new());
        };
        let entries = match std::fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io_failure(format!("listing {}", folder.display()))(err)),
        };
        let mut unfinished = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            match Self::read(&path)? {
                Held::Record(record) if record.status == Status::Running => {
                    unfinished.push((name.to_string(), Some(record.input)));
                }
                Held::Unreadable => unfinished.push((name.to_string(), None)),
                Held::Record(_) | Held::Nothing => {}
            }
        }
        unfinished.sort_by(|a, b| {
            let received = |input: &Option<ExecutionInput>| {
                input.as_ref().map(|input| input.event.received_at.clone())
            };
            received(&a.1).cmp(&received(&b.1))
        });
        Ok(unfinished)
    }

    /// Executions that ended (however they ended) before `cutoff`, by
    /// the time of their record, with their input: what retention may
    /// delete.
    pub fn ended_before(&self, cutoff: std::time::SystemTime) -> Vec<(String, ExecutionInput)> {
        let Journal::Folder { folder, .. } = self else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut ended = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            let old = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| modified < cutoff);
            if !old {
                continue;
            }
            if let Ok(Held::Record(record)) = Self::read(&path) {
                if record.status != Status::Running {
                    ended.push((name.to_string(), record.input));
                }
            }
        }
        ended
    }

    /// True when the journal holds anything under `name`: a record, read
    /// or not, whatever its status.
    pub fn knows(&self, name: &str) -> bool {
        match self {
            Journal::Memory(names) => names.lock().is_ok_and(|names| names.contains(name)),
            Journal::Folder { folder, .. } => Self::record_path(folder, name).exists(),
        }
    }

    /// Deletes the record of an execution that ended.
    pub fn forget(&self, name: &str) -> Result<(), PortError> {
        let Journal::Folder { folder, .. } = self else {
            return Ok(());
        };
        let path = Self::record_path(folder, name);
        match std::fs::remove_file(&path) {
            Err(err) if err.kind() != ErrorKind::NotFound => {
                Err(io_failure(format!("deleting {}", path.display()))(err))
            }
            _ => Ok(()),
        }
    }

    /// Records an execution as running again, with its input.
    fn restore(&self, name: &str, input: &ExecutionInput) -> Result<(), PortError> {
        let Journal::Folder { folder, .. } = self else {
            return Ok(());
        };
        let record = Record {
            status: Status::Running,
            input: input.clone(),
            error: None,
        };
        Self::write(&Self::record_path(folder, name), &record)
    }

    /// Sets an unreadable record aside, so that its name can be claimed.
    fn give_up(&self, name: &str) {
        if let Journal::Folder { folder, .. } = self {
            Self::set_aside(&Self::record_path(folder, name));
        }
    }
}

/// The end state an outcome corresponds to in the state machine.
pub fn status_of(outcome: &Result<Run, RunFailed>) -> Status {
    match outcome {
        Err(_) => Status::Failed,
        Ok(run) if run.notified.is_some() => Status::Alerted,
        Ok(run) if run.extracted.hold.is_some() => Status::NotAnalysed,
        Ok(run) if run.extracted.frames.is_empty() => Status::NoPictures,
        Ok(_) => Status::NothingOfInterest,
    }
}

/// Runs executions on the current async runtime, at most a given number
/// at once ([`InProcessExecutions::at_most`]); the others wait their turn,
/// recorded in the journal as running.
pub struct InProcessExecutions<S, D, N, M, B> {
    pipeline: Arc<LocalPipeline<S, D, N, M, B>>,
    journal: Arc<Journal>,
    running: Mutex<JoinSet<()>>,
    /// One permit per execution that may run at once; closed once no
    /// more may start.
    turns: Arc<Semaphore>,
    /// Executions started but waiting for their turn.
    waiting: Arc<AtomicUsize>,
}

impl<S, D, N, M, B> InProcessExecutions<S, D, N, M, B>
where
    S: ObjectStore + 'static,
    D: Detector + 'static,
    N: Notifier + 'static,
    M: AlertMemory + 'static,
    B: DetectorBudget + 'static,
{
    pub fn new(pipeline: Arc<LocalPipeline<S, D, N, M, B>>, journal: Journal) -> Self {
        InProcessExecutions {
            pipeline,
            journal: Arc::new(journal),
            running: Mutex::new(JoinSet::new()),
            turns: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Runs at most `count` executions at once (at least one): each
    /// decodes pictures and runs the detector, so a burst of messages
    /// queues rather than taking all the memory.
    pub fn at_most(mut self, count: usize) -> Self {
        self.turns = Arc::new(Semaphore::new(count.clamp(1, Semaphore::MAX_PERMITS)));
        self
    }

    /// Starts no more executions: those waiting for their turn give it up
    /// and stay recorded as running, for [`InProcessExecutions::resume`]
    /// at the next start; those running go on. Returns how many gave up.
    pub fn stop_starting(&self) -> usize {
        self.turns.close();
        self.waiting.load(Ordering::SeqCst)
    }

    /// Runs an execution to its end and returns its outcome; `None` when
    /// an execution of that name was started before.
    pub async fn run(
        &self,
        name: &str,
        input: &ExecutionInput,
    ) -> Result<Option<Result<Run, RunFailed>>, PortError> {
        if !self.journal.claim(name, input)? {
            return Ok(None);
        }
        let outcome = self.pipeline.run(input.clone()).await;
        self.journal.finish(name, input, &outcome)?;
        Ok(Some(outcome))
    }

    /// Starts again, in the background, every execution the journal holds
    /// as still running; returns how many. A record that cannot be read
    /// is set aside, so that the next delivery of its message runs: see
    /// [`InProcessExecutions::resume_with`] to run it at once.
    pub fn resume(&self) -> Result<usize, PortError> {
        let mut resumed = 0;
        for (name, input) in self.journal.unfinished()? {
            match input {
                Some(input) => {
                    tracing::info!(execution = %name, "resuming an execution that was not finished");
                    self.spawn(name, input);
                    resumed += 1;
                }
                None => self.journal.give_up(&name),
            }
        }
        Ok(resumed)
    }

    /// [`InProcessExecutions::resume`], and an execution whose record
    /// cannot be read is run again too, with the input `recover` finds for
    /// its name (from the message kept in the store); one it cannot
    /// recover is set aside.
    pub async fn resume_with<F, Fut>(&self, recover: F) -> Result<usize, PortError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Option<ExecutionInput>>,
    {
        let mut resumed = 0;
        for (name, input) in self.journal.unfinished()? {
            let input = match input {
                Some(input) => input,
                None => match recover(name.clone()).await {
                    Some(input) => {
                        self.journal.restore(&name, &input)?;
                        input
                    }
                    None => {
                        tracing::error!(execution = %name, "an unreadable execution record whose message is not in the store: it cannot be run again");
                        self.journal.give_up(&name);
                        continue;
                    }
                },
            };
            tracing::info!(execution = %name, "resuming an execution that was not finished");
            self.spawn(name, input);
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Waits until every execution started so far has ended.
    pub async fn drain(&self) {
        loop {
            let mut running = match self.running.lock() {
                Ok(mut running) => std::mem::take(&mut *running),
                Err(_) => return,
            };
            if running.is_empty() {
                return;
            }
            while running.join_next().await.is_some() {}
        }
    }

    fn spawn(&self, name: String, input: ExecutionInput) {
        let pipeline = Arc::clone(&self.pipeline);
        let journal = Arc::clone(&self.journal);
        let turns = Arc::clone(&self.turns);
        let waiting = Arc::clone(&self.waiting);
        waiting.fetch_add(1, Ordering::SeqCst);
        let task = async move {
            let turn = turns.acquire_owned().await;
            waiting.fetch_sub(1, Ordering::SeqCst);
            let Ok(_turn) = turn else {
                tracing::info!(execution = %name, "not started before the stop: left for the next start");
                return;
            };
            let outcome = pipeline.run(input.clone()).await;
            log_outcome(&name, &outcome);
            if let Err(err) = journal.finish(&name, &input, &outcome) {
                tracing::error!(execution = %name, error = %err, "could not record the end of the execution");
            }
        };
        if let Ok(mut running) = self.running.lock() {
            // Forget the executions that have ended, so a long-running
            // server keeps only the running ones.
            while running.try_join_next().is_some() {}
            running.spawn(task);
        }
    }
}

/// One log line per finished execution: what was seen and who was told.
fn log_outcome(name: &str, outcome: &Result<Run, RunFailed>) {
    match outcome {
        Err(failed) => tracing::error!(execution = %name, "{failed}"),
        Ok(run) => {
            let camera = &run.extracted.camera;
            let frames = run.extracted.frames.len();
            match (&run.notified, run.alerting()) {
                (Some((_, notification)), Some(analysis)) => {
                    let seen: Vec<String> = analysis
                        .matches
                        .iter()
                        .map(|found| format!("{} {:.0}%", found.label, found.confidence))
                        .collect();
                    tracing::info!(
                        execution = %name,
                        camera = %camera,
                        frame = analysis.detection.frame,
                        alert = %notification.message_id,
                        "alert: {} (frame {} of {frames})",
                        seen.join(", "),
                        analysis.detection.frame + 1,
                    );
                }
                _ if frames == 0 => {
                    tracing::info!(execution = %name, camera = %camera, "no pictures in the e-mail")
                }
                _ => tracing::info!(
                    execution = %name,
                    camera = %camera,
                    "nothing of interest in {frames} frame{}",
                    if frames == 1 { "" } else { "s" }
                ),
            }
        }
    }
}

impl<S, D, N, M, B> Executions for InProcessExecutions<S, D, N, M, B>
where
    S: ObjectStore + 'static,
    D: Detector + 'static,
    N: Notifier + 'static,
    M: AlertMemory + 'static,
    B: DetectorBudget + 'static,
{
    /// Records the execution, then runs it in the background: like
    /// `StartExecution`, it returns once the execution is safely started.
    async fn start(&self, name: &str, input: &ExecutionInput) -> Result<Started, PortError> {
        if !self.journal.claim(name, input)? {
            return Ok(Started::AlreadyStarted);
        }
        self.spawn(name.to_string(), input.clone());
        Ok(Started::New(format!("local:{name}")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::runner::tests::{stored_input, temp_store};
    use ipcam_core::config::Config;
    use ipcam_core::testing::{
        burst_email, CountingBudget, KeptAlerts, RememberedAlerts, ScriptedDetector,
    };

    #[tokio::test]
    async fn a_second_start_of_the_same_name_starts_nothing() {
        let (root, store) = temp_store("executions-twice");
        let input = stored_input(
            &store,
            "m1",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![("a.png", "Person", 97.0)]),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(
            Arc::clone(&pipeline),
            Journal::in_folder(root.join("executions")),
        );
        assert_eq!(
            executions.start("m1", &input).await.unwrap(),
            Started::New("local:m1".into())
        );
        assert_eq!(
            executions.start("m1", &input).await.unwrap(),
            Started::AlreadyStarted
        );
        executions.drain().await;
        assert_eq!(pipeline.detector.asked.load(Ordering::SeqCst), 1);
        assert_eq!(pipeline.notifier.0.lock().unwrap().len(), 1);
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("executions/m1.json")).unwrap())
                .unwrap();
        assert_eq!(record["status"], "alerted");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn an_execution_left_running_is_run_again_on_resume() {
        let (root, store) = temp_store("executions-resume");
        let input = stored_input(
            &store,
            "m2",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        let journal = Journal::in_folder(root.join("executions"));
        // The server accepted the message, then died before running it.
        assert!(journal.claim("m2", &input).unwrap());
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![("a.png", "Car", 80.0)]),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(Arc::clone(&pipeline), journal);
        assert_eq!(executions.resume().unwrap(), 1);
        executions.drain().await;
        assert_eq!(pipeline.notifier.0.lock().unwrap()[0].labels, vec!["Car"]);
        assert_eq!(
            executions.resume().unwrap(),
            0,
            "finished executions stay finished"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    /// A record left empty (a crash or a full disk between its creation
    /// and its writing, as the journal once allowed) is not taken for a
    /// delivery already accepted: the camera's retry runs.
    #[tokio::test]
    async fn a_record_left_empty_by_a_crash_does_not_swallow_the_retry() {
        let (root, store) = temp_store("executions-empty");
        let input = stored_input(
            &store,
            "m4",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        std::fs::create_dir_all(root.join("executions")).unwrap();
        std::fs::write(root.join("executions/m4.json"), b"").unwrap();
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![("a.png", "Person", 97.0)]),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(
            Arc::clone(&pipeline),
            Journal::in_folder(root.join("executions")),
        );
        let _ = executions.resume();
        assert_eq!(
            executions.start("m4", &input).await.unwrap(),
            Started::New("local:m4".into()),
            "the retry of a message whose record is unreadable is run"
        );
        executions.drain().await;
        assert_eq!(pipeline.notifier.0.lock().unwrap().len(), 1);
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("executions/m4.json")).unwrap())
                .unwrap();
        assert_eq!(record["status"], "alerted");
        std::fs::remove_dir_all(root).unwrap();
    }

    /// A claim writes its record whole or not at all: no file of the
    /// record's name exists until its bytes are complete on disk.
    #[tokio::test]
    async fn a_claimed_record_is_complete_and_no_temporary_file_is_left() {
        let (root, store) = temp_store("executions-whole");
        let input = stored_input(
            &store,
            "m5",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        let journal = Journal::in_folder(root.join("executions"));
        assert!(journal.claim("m5", &input).unwrap());
        assert!(!journal.claim("m5", &input).unwrap());
        let names: Vec<String> = std::fs::read_dir(root.join("executions"))
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["m5.json"]);
        let record: Record =
            serde_json::from_slice(&std::fs::read(root.join("executions/m5.json")).unwrap())
                .unwrap();
        assert_eq!(record.status, Status::Running);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn an_unreadable_record_is_run_again_at_resume_when_its_input_is_found() {
        let (root, store) = temp_store("executions-recover");
        let input = stored_input(
            &store,
            "m6",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        std::fs::create_dir_all(root.join("executions")).unwrap();
        std::fs::write(root.join("executions/m6.json"), b"{\"status\": \"runn").unwrap();
        std::fs::write(root.join("executions/gone.json"), b"").unwrap();
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![("a.png", "Car", 80.0)]),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(
            Arc::clone(&pipeline),
            Journal::in_folder(root.join("executions")),
        );
        let resumed = executions
            .resume_with(|name| {
                let input = input.clone();
                async move { (name == "m6").then_some(input) }
            })
            .await
            .unwrap();
        assert_eq!(resumed, 1);
        executions.drain().await;
        assert_eq!(pipeline.notifier.0.lock().unwrap()[0].labels, vec!["Car"]);
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("executions/m6.json")).unwrap())
                .unwrap();
        assert_eq!(record["status"], "alerted");
        assert!(!root.join("executions/gone.json").exists(), "set aside");
        assert!(std::fs::read_dir(root.join("executions"))
            .unwrap()
            .flatten()
            .any(|entry| entry
                .file_name()
                .to_string_lossy()
                .starts_with("gone.json.unreadable-")));
        std::fs::remove_dir_all(root).unwrap();
    }

    /// A detector that takes a while, and counts how many frames it
    /// looked at at once.
    #[derive(Default)]
    struct SlowDetector {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl Detector for SlowDetector {
        async fn detect(
            &self,
            _: &ipcam_core::contract::Frame,
            _: f32,
        ) -> Result<Vec<ipcam_core::contract::Label>, PortError> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_executions_run_at_once_than_allowed_and_the_rest_wait() {
        let (root, store) = temp_store("executions-cap");
        let mut inputs = Vec::new();
        for index in 0..6 {
            let name = format!("c{index}");
            let picture = format!("{index}.png");
            let email = burst_email("frontdoor@cams.example.com", &[picture.as_str()]);
            inputs.push((name.clone(), stored_input(&store, &name, email).await));
        }
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            SlowDetector::default(),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(
            Arc::clone(&pipeline),
            Journal::in_folder(root.join("executions")),
        )
        .at_most(2);
        for (name, input) in &inputs {
            executions.start(name, input).await.unwrap();
        }
        executions.drain().await;
        assert_eq!(pipeline.detector.most.load(Ordering::SeqCst), 2);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn executions_not_started_by_the_stop_wait_in_the_journal_for_the_next_start() {
        let (root, store) = temp_store("executions-stop");
        let input = stored_input(
            &store,
            "m7",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![("a.png", "Person", 97.0)]),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(
            Arc::clone(&pipeline),
            Journal::in_folder(root.join("executions")),
        )
        .at_most(1);
        executions.start("m7", &input).await.unwrap();
        // On this one-thread runtime the execution has not had its turn.
        assert_eq!(executions.stop_starting(), 1);
        executions.drain().await;
        assert!(pipeline.notifier.0.lock().unwrap().is_empty());
        let next = InProcessExecutions::new(
            Arc::clone(&pipeline),
            Journal::in_folder(root.join("executions")),
        );
        assert_eq!(next.resume().unwrap(), 1);
        next.drain().await;
        assert_eq!(pipeline.notifier.0.lock().unwrap().len(), 1);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn in_memory_journal_runs_each_name_once() {
        let (root, store) = temp_store("executions-memory");
        let input = stored_input(
            &store,
            "m3",
            burst_email("frontdoor@cams.example.com", &["a.png"]),
        )
        .await;
        let pipeline = Arc::new(LocalPipeline::new(
            Config::parse("").unwrap(),
            store,
            ScriptedDetector::new(vec![]),
            KeptAlerts::default(),
            RememberedAlerts::default(),
            CountingBudget::default(),
        ));
        let executions = InProcessExecutions::new(pipeline, Journal::in_memory());
        let outcome = executions
            .run("m3", &input)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(status_of(&Ok(outcome)), Status::NothingOfInterest);
        assert!(executions.run("m3", &input).await.unwrap().is_none());
        std::fs::remove_dir_all(root).unwrap();
    }
}
