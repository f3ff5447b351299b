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
//! - [`alert`]: wording the alert;
//! - [`annotate`]: drawing what was found on the snapshot;
//! - [`ports`]: the traits behind which the outside world sits (object
//!   store, detector, notifier, executions);
//! - [`stages`]: the logic of each pipeline stage, written against the ports;
//! - [`adapters`]: the ports implemented on AWS and on the local machine.
//!
//! The Lambda crates and the `ipcam` command only build adapters and call
//! [`stages`].

pub mod adapters;
pub mod alert;
pub mod annotate;
pub mod config;
pub mod contract;
pub mod mime;
pub mod ports;
pub mod rules;
pub mod stages;
