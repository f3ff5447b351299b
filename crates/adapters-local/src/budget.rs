//! [`DetectorBudget`] in the store folder: the counters of the detector's
//! calls in `budget/counters.json`, so that `ipcam process` runs and
//! `ipcam serve` count against the same caps, across restarts.
//!
//! A count holds an exclusive lock on `budget/.lock` while it reads the
//! file, adds one (or takes one off) and writes it anew (durably, by
//! rename): two processes counting at once each get a value of their
//! own. A reached cap is told in the log, at ERROR, where `ipcam serve`'s
//! operator reads.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use ipcam_core::ports::{DetectorBudget, PortError};

use crate::folder::{while_locked, write_durably};

/// The detector budget's counters kept in a folder.
#[derive(Debug, Clone)]
pub struct FolderBudget {
    folder: PathBuf,
}

/// One counter, as kept in the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counter {
    count: u64,
    keep_until: DateTime<Utc>,
}

impl FolderBudget {
    /// The counters kept under `store/budget/`.
    pub fn new(store: impl AsRef<Path>) -> Self {
        FolderBudget {
            folder: store.as_ref().join("budget"),
        }
    }

    fn file(&self) -> PathBuf {
        self.folder.join("counters.json")
    }

    fn read(&self) -> Result<BTreeMap<String, Counter>, PortError> {
        let path = self.file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                PortError::Permanent(format!(
                    "{} is not the detector budget's counters: {err}",
                    path.display()
                ))
            }),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(err) => Err(io_error("reading", &path, err)),
        }
    }

    fn write(&self, counters: &BTreeMap<String, Counter>) -> Result<(), PortError> {
        let bytes = serde_json::to_vec_pretty(counters)
            .map_err(|err| PortError::Permanent(format!("encoding the counters: {err}")))?;
        let path = self.file();
        write_durably(&path, &bytes).map_err(|err| io_error("writing", &path, err))
    }
}

fn io_error(doing: &str, path: &Path, err: std::io::Error) -> PortError {
    PortError::Permanent(format!("{doing} {}: {err}", path.display()))
}

impl DetectorBudget for FolderBudget {
    async fn count(&self, counter: &str, keep_until: DateTime<Utc>) -> Result<u64, PortError> {
        while_locked(&self.folder, || {
            let mut counters = self.read()?;
            // Forget the counters of periods long past, as DynamoDB's TTL
            // would.
            let now = Utc::now();
            counters.retain(|_, kept| kept.keep_until > now);
            let kept = counters.entry(counter.to_string()).or_insert(Counter {
                count: 0,
                keep_until,
            });
            kept.count += 1;
            let count = kept.count;
            self.write(&counters)?;
            Ok(count)
        })
    }

    async fn uncount(&self, counter: &str) -> Result<(), PortError> {
        while_locked(&self.folder, || {
            let mut counters = self.read()?;
            let Some(kept) = counters.get_mut(counter) else {
                return Ok(());
            };
            kept.count = kept.count.saturating_sub(1);
            self.write(&counters)
        })
    }

    async fn cap_reached(&self, notice: &str) -> Result<(), PortError> {
        tracing::error!("{notice}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_folder(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("ipcam-budget-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        root
    }

    fn tomorrow() -> DateTime<Utc> {
        Utc::now() + chrono::TimeDelta::days(1)
    }

    #[tokio::test]
    async fn counts_survive_a_new_budget_over_the_same_folder() {
        let root = temp_folder("restart");
        let first = FolderBudget::new(&root);
        assert_eq!(first.count("day#2026-12-02", tomorrow()).await.unwrap(), 1);
        assert_eq!(first.count("day#2026-12-02", tomorrow()).await.unwrap(), 2);
        assert_eq!(first.count("month#2026-12", tomorrow()).await.unwrap(), 1);
        let again = FolderBudget::new(&root);
        assert_eq!(again.count("day#2026-12-02", tomorrow()).await.unwrap(), 3);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_call_taken_back_lowers_its_counter_and_a_forgotten_one_stays_forgotten() {
        let root = temp_folder("taken-back");
        let budget = FolderBudget::new(&root);
        budget.count("day#2026-12-02", tomorrow()).await.unwrap();
        budget.count("day#2026-12-02", tomorrow()).await.unwrap();
        budget.uncount("day#2026-12-02").await.unwrap();
        budget.uncount("day#2020-01-01").await.unwrap();
        assert_eq!(budget.count("day#2026-12-02", tomorrow()).await.unwrap(), 2);
        let kept = budget.read().unwrap();
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["day#2026-12-02"]);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_counter_past_its_keeping_is_forgotten() {
        let root = temp_folder("forgotten");
        let budget = FolderBudget::new(&root);
        let past = Utc::now() - chrono::TimeDelta::hours(1);
        budget.count("day#2020-01-01", past).await.unwrap();
        budget.count("day#2026-12-02", tomorrow()).await.unwrap();
        let kept = budget.read().unwrap();
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["day#2026-12-02"]);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn counters_counted_from_many_threads_at_once_are_each_given_once() {
        let root = temp_folder("racing");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let budget = FolderBudget::new(&root);
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    (0..5)
                        .map(|_| {
                            runtime
                                .block_on(budget.count("day#2026-12-02", tomorrow()))
                                .unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut values: Vec<u64> = threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        values.sort_unstable();
        assert_eq!(values, (1..=40).collect::<Vec<u64>>());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_file_that_is_not_counters_is_an_error_not_a_fresh_start() {
        let root = temp_folder("garbled");
        std::fs::create_dir_all(root.join("budget")).unwrap();
        std::fs::write(root.join("budget/counters.json"), b"{not json").unwrap();
        let err = FolderBudget::new(&root)
            .count("day#2026-12-02", tomorrow())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("counters"), "{err}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
