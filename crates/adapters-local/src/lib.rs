//! # ipcam-adapters-local
//!
//! The ports of `ipcam-core` on one machine, for `ipcam` and for tests: objects in a
//! folder, the memory of alerts in files, alerts to the terminal, an SMTP relay, a JSON-lines file and a webhook, and
//! executions run in process by the same stage functions as on AWS.

mod budget;
mod executions;
mod folder;
mod memory;
mod notifier;
mod runner;
mod smtp_relay;
mod webhook;

pub use budget::FolderBudget;
pub use executions::{status_of, InProcessExecutions, Journal, Status};
pub use folder::FolderStore;
pub use memory::FolderMemory;
pub use notifier::{LocalNotifier, Terminal};
pub use runner::{Backoff, Jitter, LocalPipeline, RetryPolicy, Run, RunFailed, Task};
pub use smtp_relay::SmtpMailer;
pub use webhook::Webhook;

use ipcam_core::stages::ingest::Inbox;

/// Where received messages are kept in the local store: under the bucket
/// `local`, in `incoming/`, as on AWS.
pub fn inbox() -> Inbox {
    Inbox {
        bucket: "local".into(),
        prefix: "incoming/".into(),
    }
}
