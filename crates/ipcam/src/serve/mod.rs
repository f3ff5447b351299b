//! `ipcam serve`: the SMTP server cameras send to and the HTTP endpoint for
//! SendGrid-style posts, both feeding the in-process pipeline.
//!
//! Every message is stored in the folder and its execution recorded before
//! the sender hears it was accepted; on SIGINT or SIGTERM the servers stop
//! taking new messages, finish the ones under way (clients idle or stuck
//! are dropped at once, a message half-received gets a few seconds), the
//! executions running end, and those still queued stay in the journal for
//! the next start: the server stops within seconds, whoever is connected.
//! Executions left unfinished by a crash are run when the server starts
//! again. At most one execution per core runs at once; the others wait,
//! recorded in the journal.

mod accept;
mod disk;
mod http;
mod intake;
mod retention;
mod smtp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use ipcam_adapters_local::{
    FolderBudget, FolderMemory, FolderStore, InProcessExecutions, Journal, LocalNotifier,
    LocalPipeline, Terminal,
};
use ipcam_core::config::Config;
use ipcam_core::ports::Detector;
use ipcam_core::stages::ingest::sendgrid::max_post_bytes;
use ipcam_core::stages::ingest::BasicCredentials;
use tokio::net::TcpListener;
use tokio::sync::watch;

use disk::Disk;
use http::HttpSettings;
use intake::Intake;
use smtp::{Limits, SmtpSettings, Timeouts};

/// After a stop, executions still waiting to run are started for this
/// long; then those left wait in the journal for the next start.
const EXECUTION_GRACE: Duration = Duration::from_secs(4);

/// Settings given on the command line; each replaces its `[serve]` key.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub smtp: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
    pub store: Option<PathBuf>,
}

/// Runs the servers until SIGINT or SIGTERM.
pub async fn run<D, F>(config: Config, overrides: Overrides, make_detector: F) -> Result<()>
where
    D: Detector + 'static,
    F: FnOnce(FolderStore) -> Result<D>,
{
    let settings = config.serve.clone();
    let store_folder = overrides
        .store
        .unwrap_or_else(|| PathBuf::from(&settings.store));
    let smtp_address = overrides.smtp.unwrap_or(settings.smtp.0);
    let http_address = overrides.http.unwrap_or(settings.http.0);
    let (alerts_file, webhook) = crate::alert_outputs(&config, &store_folder)?;
    let max_message_bytes = config.ingest.max_message_bytes.0;
    let max_post_bytes = max_post_bytes(&config);
    let credentials = match (&settings.username, &settings.password) {
        (Some(username), Some(password)) => Some(BasicCredentials {
            username: username.clone(),
            password: password.clone(),
        }),
        _ => None,
    };

    // Bind first: a port in use is reported before anything else starts.
    let smtp_listener = TcpListener::bind(smtp_address)
        .await
        .with_context(|| format!("cannot listen for SMTP on {smtp_address}"))?;
    let http_listener = TcpListener::bind(http_address)
        .await
        .with_context(|| format!("cannot listen for HTTP on {http_address}"))?;

    let store = FolderStore::new(&store_folder);
    let detector = make_detector(store.clone())?;
    let notifier = LocalNotifier::new(Terminal::Stdout, Some(alerts_file.clone()), webhook.clone());
    let pipeline = Arc::new(
        LocalPipeline::new(
            config.clone(),
            store.clone(),
            detector,
            notifier,
            FolderMemory::new(&store_folder),
            FolderBudget::new(&store_folder),
        )
        .with_mail_relay_of(&config)
        .map_err(anyhow::Error::msg)?,
    );
    let executions = Arc::new(
        InProcessExecutions::new(
            pipeline,
            Journal::in_folder(store_folder.join("executions")),
        )
        .at_most(max_executions()),
    );
    let disk = Disk::new(
        &store_folder,
        settings.min_free_mib.0.saturating_mul(1024 * 1024),
    );
    // An open door lets everyone in here, as on no AWS stack: say so.
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    let intake = Arc::new(Intake {
        config,
        store: store.clone(),
        inbox: ipcam_adapters_local::inbox(),
        executions: Arc::clone(&executions),
        credentials: credentials.clone(),
        disk: disk.clone(),
    });
    let max_connections = usize::try_from(settings.max_connections.0).unwrap_or(usize::MAX);

    tracing::info!(
        "SMTP listening on {}",
        smtp_listener.local_addr().unwrap_or(smtp_address)
    );
    tracing::info!(
        "HTTP listening on {}",
        http_listener.local_addr().unwrap_or(http_address)
    );
    tracing::info!(
        store = %store_folder.display(),
        alerts = %alerts_file.display(),
        webhook = webhook.as_ref().map(|hook| hook.url().to_string()).unwrap_or_default(),
        credentials = if credentials.is_some() { "required" } else { "none" },
        max_message_bytes,
        "ready"
    );
    let resumed = executions
        .resume_with(|name| intake.recover(name))
        .await
        .map_err(|err| anyhow::anyhow!("reading the execution records: {err}"))?;
    if resumed > 0 {
        tracing::info!("resumed {resumed} execution(s) left unfinished by the last run");
    }

    let watching = tokio::spawn(disk.clone().watch());
    let sweeping = tokio::spawn(retention::every_hour(
        store_folder.clone(),
        store.clone(),
        settings.keep.0,
    ));
    let (stop, stopping) = watch::channel(false);
    let smtp_server = tokio::spawn(smtp::serve(
        smtp_listener,
        SmtpSettings {
            hostname: "ipcam".into(),
            credentials,
            limits: Limits {
                max_message_bytes,
                ..Limits::default()
            },
            timeouts: Timeouts::default(),
            max_sessions: max_connections,
            disk_nearly_full: disk.flag(),
        },
        Arc::clone(&intake),
        stopping.clone(),
    ));
    let http_server = tokio::spawn(http::serve(
        http_listener,
        intake,
        HttpSettings::new(max_post_bytes, max_connections),
        stopping,
    ));

    stop_signal().await?;
    tracing::info!(
        "stopping: no new messages; finishing the ones under way (again to quit at once)"
    );
    let _ = stop.send(true);
    watching.abort();
    sweeping.abort();
    let queued_until = tokio::time::Instant::now() + EXECUTION_GRACE;
    let finish = async {
        let _ = smtp_server.await;
        let _ = http_server.await;
        if tokio::time::timeout_at(queued_until, executions.drain())
            .await
            .is_err()
        {
            let left = executions.stop_starting();
            tracing::info!("{left} execution(s) not started yet are left for the next start");
            executions.drain().await;
        }
    };
    tokio::select! {
        () = finish => tracing::info!("stopped"),
        signal = stop_signal() => {
            signal?;
            tracing::warn!("stopped at once: executions under way will run again at the next start");
        }
    }
    Ok(())
}

/// Executions run at once: one per core, since each decodes pictures and
/// runs the detector.
fn max_executions() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Resolves once the servers are asked to stop.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: stop as well.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM (what `docker stop` and systemd send).
async fn stop_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")
    }
}
