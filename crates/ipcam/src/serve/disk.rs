//! Whether the store's disk has room for more messages. A message the
//! server cannot keep must be refused for now (SMTP `452`, HTTP `503`:
//! both tell the sender to try again later) rather than acknowledged and
//! lost.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the free space is looked at in the background.
const EVERY: Duration = Duration::from_secs(5);

/// The free space of the store's disk, against the least allowed.
#[derive(Debug, Clone)]
pub struct Disk {
    folder: PathBuf,
    min_free_bytes: u64,
    /// True while the disk is nearly full, as last looked at.
    nearly_full: Arc<AtomicBool>,
}

impl Disk {
    pub fn new(folder: impl Into<PathBuf>, min_free_bytes: u64) -> Disk {
        let disk = Disk {
            folder: folder.into(),
            min_free_bytes,
            nearly_full: Arc::new(AtomicBool::new(false)),
        };
        disk.check();
        disk
    }

    /// The flag the SMTP sessions read at MAIL.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.nearly_full)
    }

    /// Looks at the free space now; true when it is below the least
    /// allowed. A disk whose free space cannot be read counts as having
    /// room: the write itself then says what is wrong.
    pub fn check(&self) -> bool {
        let nearly_full = free_bytes(&self.folder).is_some_and(|free| free < self.min_free_bytes);
        let was = self.nearly_full.swap(nearly_full, Ordering::Relaxed);
        if nearly_full && !was {
            tracing::error!(
                folder = %self.folder.display(),
                min_free_mib = self.min_free_bytes / (1024 * 1024),
                "the store's disk is nearly full: messages are refused for now (SMTP 452, HTTP 503)"
            );
        } else if was && !nearly_full {
            tracing::info!("the store's disk has room again: messages are taken");
        }
        nearly_full
    }

    /// Looks at the free space every few seconds, for ever.
    pub async fn watch(self) {
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            ticks.tick().await;
            self.check();
        }
    }
}

/// Bytes free for an unprivileged writer on the disk holding `folder` (or
/// its nearest existing parent).
fn free_bytes(folder: &Path) -> Option<u64> {
    let existing = folder.ancestors().find(|path| path.exists())?;
    #[cfg(unix)]
    {
        let stats = rustix::fs::statvfs(existing).ok()?;
        Some(stats.f_bavail.saturating_mul(stats.f_frsize))
    }
    #[cfg(not(unix))]
    {
        let _ = existing;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_with_less_free_space_than_asked_is_nearly_full() {
        let folder = std::env::temp_dir();
        let roomy = Disk::new(&folder, 0);
        assert!(!roomy.check());
        assert!(!roomy.flag().load(Ordering::Relaxed));
        let full = Disk::new(folder.join("not/yet/made"), u64::MAX);
        assert!(
            full.check(),
            "a folder not made yet is judged by its parent"
        );
        assert!(full.flag().load(Ordering::Relaxed));
    }
}
