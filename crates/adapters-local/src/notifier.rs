//! [`Notifier`] on one machine: the terminal, a JSON-lines file and
//! optionally a webhook.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::webhook::Webhook;
use ipcam_core::alert::Alert;
use ipcam_core::ports::{Notifier, PortError};

/// Where the readable alert text is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    Stdout,
    /// For commands whose standard output is machine-readable.
    Stderr,
    Off,
}

/// Sends each alert to the terminal, appends it to a JSON-lines file and
/// POSTs it to a webhook, each when configured.
///
/// The pipeline retries a notification that failed for a reason that may
/// pass (the webhook was down). The terminal and the file are written once
/// per alert all the same: an alert already written there is only sent to
/// the webhook again.
#[derive(Debug)]
pub struct LocalNotifier {
    terminal: Terminal,
    alerts_file: Option<PathBuf>,
    webhook: Option<Webhook>,
    sequence: AtomicU64,
    written_locally: Mutex<HashSet<String>>,
}

impl LocalNotifier {
    pub fn new(terminal: Terminal, alerts_file: Option<PathBuf>, webhook: Option<Webhook>) -> Self {
        LocalNotifier {
            terminal,
            alerts_file,
            webhook,
            sequence: AtomicU64::new(0),
            written_locally: Mutex::new(HashSet::new()),
        }
    }

    /// The JSON-lines record of an alert: the alert's JSON with its subject,
    /// text and when it was sent. The webhook receives the same document.
    pub fn record(alert: &Alert, id: &str) -> serde_json::Value {
        let mut record = serde_json::json!({
            "id": id,
            "sentAt": chrono::Utc::now().to_rfc3339(),
            "subject": alert.subject,
            "text": alert.text,
        });
        if let (Some(record), Some(fields)) = (record.as_object_mut(), alert.json.as_object()) {
            for (key, value) in fields {
                record.insert(key.clone(), value.clone());
            }
        }
        record
    }

    fn write_locally(&self, alert: &Alert, record: &serde_json::Value) -> Result<(), PortError> {
        match self.terminal {
            Terminal::Stdout => print!("{}", readable(alert)),
            Terminal::Stderr => eprint!("{}", readable(alert)),
            Terminal::Off => {}
        }
        if let Some(path) = &self.alerts_file {
            let mut line = record.to_string();
            line.push('\n');
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|err| {
                    PortError::Permanent(format!("creating {}: {err}", parent.display()))
                })?;
            }
            // One write of a whole line to a file opened for appending: lines
            // from concurrent alerts never interleave.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| file.write_all(line.as_bytes()))
                .map_err(|err| {
                    PortError::Permanent(format!("appending to {}: {err}", path.display()))
                })?;
        }
        Ok(())
    }
}

/// The alert as a person reads it in a terminal: the subject underlined by
/// the text, indented.
fn readable(alert: &Alert) -> String {
    let mut text = format!("ALERT {}\n", alert.subject);
    for line in alert.text.lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// The key that says an alert was already written locally: its event.
fn alert_key(alert: &Alert) -> String {
    alert
        .json
        .pointer("/event/id")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| alert.subject.clone(), str::to_string)
}

impl Notifier for LocalNotifier {
    async fn publish(&self, alert: &Alert) -> Result<String, PortError> {
        let number = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("local-{}-{number}", std::process::id());
        let record = Self::record(alert, &id);
        let key = alert_key(alert);
        let first_time = self
            .written_locally
            .lock()
            .map(|mut written| written.insert(key.clone()))
            .unwrap_or(true);
        if first_time {
            if let Err(err) = self.write_locally(alert, &record) {
                if let Ok(mut written) = self.written_locally.lock() {
                    written.remove(&key);
                }
                return Err(err);
            }
        }
        if let Some(webhook) = &self.webhook {
            webhook.post(&record).await?;
        }
        // Delivered everywhere: no retry will come, so the key can go.
        if let Ok(mut written) = self.written_locally.lock() {
            written.remove(&key);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn person_at_frontdoor(event_id: &str) -> Alert {
        Alert {
            camera: "frontdoor".into(),
            labels: vec!["Person".into()],
            subject: "Person at frontdoor".into(),
            text: "Camera frontdoor saw Person.\n- Person 91.0%\n".into(),
            json: serde_json::json!({
                "camera": "frontdoor",
                "labels": ["Person"],
                "event": {"id": event_id},
            }),
        }
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ipcam-notifier-{}-{name}", std::process::id()))
    }

    #[tokio::test]
    async fn each_alert_is_one_json_line_with_subject_and_text() {
        let path = temp_path("lines.jsonl");
        let _ = std::fs::remove_file(&path);
        let notifier = LocalNotifier::new(Terminal::Off, Some(path.clone()), None);
        notifier.publish(&person_at_frontdoor("m1")).await.unwrap();
        notifier.publish(&person_at_frontdoor("m2")).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["camera"], "frontdoor");
        assert_eq!(lines[0]["subject"], "Person at frontdoor");
        assert_eq!(lines[1]["event"]["id"], "m2");
        assert!(lines[0]["text"].as_str().unwrap().contains("Person 91.0%"));
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test]
    async fn an_alert_retried_for_the_webhook_is_written_to_the_file_once() {
        let path = temp_path("retried.jsonl");
        let _ = std::fs::remove_file(&path);
        let hook = crate::webhook::tests::unreachable_hook();
        let notifier = LocalNotifier::new(Terminal::Off, Some(path.clone()), Some(hook));
        for _attempt in 0..2 {
            let err = notifier
                .publish(&person_at_frontdoor("m1"))
                .await
                .unwrap_err();
            assert!(matches!(err, PortError::Transient(_)), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        std::fs::remove_file(path).unwrap();
    }

    /// A one-request HTTP server on a loopback port that answers `status`
    /// and hands back the request it got.
    async fn one_shot_server(status: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let read = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&request);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                if read == 0 {
                    break;
                }
            }
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            socket.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, server)
    }

    #[tokio::test]
    async fn webhook_receives_the_alert_json() {
        let (url, server) = one_shot_server("204 No Content").await;
        let notifier = LocalNotifier::new(Terminal::Off, None, Some(Webhook::new(&url).unwrap()));
        notifier.publish(&person_at_frontdoor("m1")).await.unwrap();
        let request = server.await.unwrap();
        assert!(request.starts_with("POST /hook HTTP/1.1"), "{request}");
        assert!(
            request.contains("content-type: application/json"),
            "{request}"
        );
        let body = &request[request.find("\r\n\r\n").unwrap() + 4..];
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["subject"], "Person at frontdoor");
        assert_eq!(json["event"]["id"], "m1");
    }

    #[tokio::test]
    async fn webhook_server_error_is_worth_retrying() {
        let (url, server) = one_shot_server("503 Service Unavailable").await;
        let notifier = LocalNotifier::new(Terminal::Off, None, Some(Webhook::new(&url).unwrap()));
        let err = notifier
            .publish(&person_at_frontdoor("m1"))
            .await
            .unwrap_err();
        assert!(matches!(err, PortError::Transient(_)), "{err}");
        server.await.unwrap();
    }
}
