//! `ipcam serve`: the SMTP server cameras send to and the HTTP endpoint for
//! SendGrid-style posts, both feeding the in-process pipeline.
//!
//! Every message is stored in the folder and its execution recorded before
//! the sender hears it was accepted; on SIGINT or SIGTERM the servers stop
//! taking new messages, finish the ones under way, and the executions
//! started run to their end. Executions left unfinished by a crash are run
//! when the server starts again.

mod http;
mod intake;
mod smtp;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use ipcam_adapters_local::{
    FolderMemory, FolderStore, InProcessExecutions, Journal, LocalNotifier, LocalPipeline, Terminal,
};
use ipcam_core::config::Config;
use ipcam_core::ports::Detector;
use ipcam_core::stages::ingest::sendgrid::max_post_bytes;
use ipcam_core::stages::ingest::BasicCredentials;
use tokio::net::TcpListener;
use tokio::sync::watch;

use intake::Intake;
use smtp::SmtpSettings;

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
        )
        .with_mail_relay_of(&config)
        .map_err(anyhow::Error::msg)?,
    );
    let executions = Arc::new(InProcessExecutions::new(
        pipeline,
        Journal::in_folder(store_folder.join("executions")),
    ));
    let intake = Arc::new(Intake {
        config,
        store,
        inbox: ipcam_adapters_local::inbox(),
        executions: Arc::clone(&executions),
        credentials: credentials.clone(),
    });

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
        .resume()
        .map_err(|err| anyhow::anyhow!("reading the execution records: {err}"))?;
    if resumed > 0 {
        tracing::info!("resumed {resumed} execution(s) left unfinished by the last run");
    }

    let (stop, stopping) = watch::channel(false);
    let smtp_server = tokio::spawn(smtp::serve(
        smtp_listener,
        SmtpSettings {
            hostname: "ipcam".into(),
            max_message_bytes,
            credentials,
        },
        Arc::clone(&intake),
        stopping.clone(),
    ));
    let http_server = tokio::spawn(http::serve(http_listener, intake, max_post_bytes, stopping));

    stop_signal().await?;
    tracing::info!(
        "stopping: no new messages; finishing the ones under way (again to quit at once)"
    );
    let _ = stop.send(true);
    let finish = async {
        let _ = smtp_server.await;
        let _ = http_server.await;
        executions.drain().await;
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
