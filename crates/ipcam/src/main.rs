//! `ipcam`: the IPCam AI Retrofit pipeline on one machine.

mod commands;
mod process;
mod serve;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ipcam_adapters_local::{FolderStore, Webhook};
use ipcam_core::config::Config;
use ipcam_detector_nanodet::{NanoDet, NanoDetDetector};

#[derive(Parser)]
#[command(
    name = "ipcam",
    version,
    about = "Give cheap IP cameras a brain: alert only on what matters."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run camera e-mails through the whole pipeline: extract the pictures,
    /// detect what is in them, apply the camera's rules, alert.
    Process {
        /// The e-mails, as raw MIME files (.eml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The configuration file; without it, alert on people and cars
        /// seen at 60 % or more.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print one JSON line per e-mail instead of a readable report.
        #[arg(long)]
        json: bool,
        /// Folder for the annotated pictures, the stored objects and the
        /// alert file.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Refuse e-mails from senders that `[ingest] allowed_senders` and
        /// the cameras' `from` do not allow, as `serve` and AWS do. Off by
        /// default: the files given are the owner's own choice. The size
        /// limit applies either way.
        #[arg(long)]
        check_senders: bool,
    },
    /// Receive camera e-mails over SMTP and SendGrid-style HTTP posts, and
    /// run each through the pipeline, until Ctrl-C.
    Serve {
        /// The configuration file (its `[serve]` and `[alerts]` tables).
        #[arg(long)]
        config: Option<PathBuf>,
        /// SMTP listen address, IP:PORT (replaces `serve.smtp`).
        #[arg(long)]
        smtp: Option<SocketAddr>,
        /// HTTP listen address, IP:PORT (replaces `serve.http`).
        #[arg(long)]
        http: Option<SocketAddr>,
        /// Folder for messages, frames and execution records (replaces
        /// `serve.store`).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Print the pictures found in a camera e-mail, and the parts skipped.
    Extract {
        /// The e-mail, as a raw MIME file (.eml).
        file: PathBuf,
        /// Print one JSON object instead of a readable list.
        #[arg(long)]
        json: bool,
        /// Write the pictures to this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Take the `[extract]` settings (frame cap, pixel budget, message
        /// size) from this configuration file instead of the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Mute one camera, or every camera (`all`), for a while, without
    /// editing the configuration: its e-mails are then not analysed. A
    /// duration of "0s" lifts a snooze.
    Snooze {
        /// The camera's name, or `all`.
        camera: String,
        /// How long, such as "30m", "2h" or "1h30m".
        duration: String,
        /// The configuration file, for its `serve.store` folder.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The folder whose memory of alerts is muted: `serve`'s store, or
        /// the `--out` folder of `process` (replaces `serve.store`).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Work with the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file; each of its errors, one a line, names
    /// the line and the key.
    Check {
        file: PathBuf,
        /// A domain the cameras' mail is received for (on AWS, the stack's
        /// `DomainName`; `make deploy` passes it), besides those of the
        /// cameras' `to`: no sender of it may be allowed. Repeatable.
        #[arg(long = "mail-domain", value_name = "DOMAIN")]
        mail_domains: Vec<String>,
    },
    /// Print the configuration `make deploy` uploads for the stack's
    /// functions: FILE checked against the stack's domain, with the
    /// cameras' secret addresses kept in SECRETS, without `[serve]`.
    Deployable {
        file: PathBuf,
        /// The stack's `DomainName`.
        #[arg(long = "mail-domain", value_name = "DOMAIN")]
        mail_domain: String,
        /// The file of secret addresses `make deploy` keeps.
        #[arg(long = "secret-addresses", value_name = "SECRETS")]
        secret_addresses: PathBuf,
    },
}

/// The configuration from `--config`, or the defaults.
fn load_config(file: Option<&Path>) -> Result<Config> {
    match file {
        Some(file) => Config::load(file).map_err(anyhow::Error::msg),
        None => {
            Config::parse("").map_err(|err| anyhow::anyhow!("the default configuration: {err}"))
        }
    }
}

/// Where alerts go besides the terminal: the `[alerts] file` (by default
/// `alerts.jsonl` in `folder`) and the webhook, if one is set.
fn alert_outputs(config: &Config, folder: &Path) -> Result<(PathBuf, Option<Webhook>)> {
    let alerts_file = config
        .alerts
        .file
        .as_ref()
        .map_or_else(|| folder.join("alerts.jsonl"), PathBuf::from);
    let webhook = config
        .alerts
        .webhook
        .as_ref()
        .map(|url| Webhook::new(&url.0))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    Ok((alerts_file, webhook))
}

/// The embedded detector, reading frames from the local store.
fn nanodet(store: FolderStore) -> Result<NanoDetDetector<FolderStore>> {
    let model = NanoDet::load().context("loading the embedded detection model")?;
    Ok(NanoDetDetector::new(model, store))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logs to standard error, readable; `RUST_LOG` chooses what.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process {
            files,
            config,
            json,
            out,
            check_senders,
        } => load_config(config.as_deref()).and_then(|config| {
            runtime()?.block_on(process::run(
                config,
                process::Options {
                    files,
                    json,
                    out,
                    check_senders,
                },
                nanodet,
            ))
        }),
        Command::Serve {
            config,
            smtp,
            http,
            store,
        } => {
            init_logging();
            load_config(config.as_deref()).and_then(|config| {
                runtime()?.block_on(serve::run(
                    config,
                    serve::Overrides { smtp, http, store },
                    nanodet,
                ))?;
                Ok(true)
            })
        }
        Command::Extract {
            file,
            json,
            out,
            config,
        } => commands::extract(&file, json, out.as_deref(), config.as_deref()).map(|()| true),
        Command::Snooze {
            camera,
            duration,
            config,
            store,
        } => load_config(config.as_deref()).and_then(|config| {
            let store = store.unwrap_or_else(|| PathBuf::from(&config.serve.store));
            runtime()?.block_on(commands::snooze(&config, &store, &camera, &duration))?;
            Ok(true)
        }),
        Command::Config {
            command: ConfigCommand::Check { file, mail_domains },
        } => commands::config_check(&file, &mail_domains),
        Command::Config {
            command:
                ConfigCommand::Deployable {
                    file,
                    mail_domain,
                    secret_addresses,
                },
        } => commands::config_deployable(&file, &mail_domain, &secret_addresses),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // Each failure was reported where it happened.
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("ipcam: {err:#}");
            ExitCode::FAILURE
        }
    }
}
