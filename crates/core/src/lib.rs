//! # ipcam-core
//!
//! Everything IPCam AI Retrofit decides, in one library that knows nothing of
//! where it runs:
//!
//! - [`contract`]: the JSON the stages pass to each other;
//! - [`config`]: the one configuration file, checked with errors that point
//!   at the line and the key;
//! - [`mime`]: finding the pictures in a camera's e-mail;
//! - [`rules`]: deciding whether what was seen is worth telling a person;
//! - [`schedule`]: when a camera may alert, in its time zone;
//! - [`memory`]: what recent alerts silence (cooldowns, parked objects,
//!   snoozes);
//! - [`budget`]: the daily and monthly caps on detector calls;
//! - [`alert`]: wording the alert, and [`alert_email`] as an e-mail with
//!   the picture;
//! - [`annotate`]: drawing what was found on the snapshot;
//! - [`ports`]: the traits behind which the outside world sits (object
//!   store, detector, notifier, executions, the memory of alerts, the
//!   detector budget);
//! - [`stages`]: the logic of each pipeline stage, written against the ports;
//! - `testing` (feature `testing`): the shared test doubles of the ports
//!   and builders of camera pictures and e-mails.
//!
//! The ports are implemented on AWS in `ipcam-adapters-aws` and on one
//! machine in `ipcam-adapters-local`; the Lambda crates and the `ipcam`
//! command only build adapters and call
//! [`stages`].

pub mod alert;
pub mod alert_email;
pub mod annotate;
pub mod budget;
pub mod config;
pub mod contract;
pub mod memory;
pub mod mime;
pub mod ports;
pub mod rules;
pub mod schedule;
pub mod stages;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
