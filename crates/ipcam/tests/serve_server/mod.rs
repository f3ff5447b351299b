//! `ipcam serve` as the tests run it: the real binary on free loopback
//! ports, in a folder of its own, its log read line by line.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::SmtpTransport;

/// How long a test waits for the server to start or an alert to appear.
pub const PATIENCE: Duration = Duration::from_secs(120);

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../samples")
            .join(name),
    )
    .unwrap()
}

/// One `ipcam serve` on free loopback ports, in a folder of its own.
pub struct Server {
    pub child: Child,
    pub smtp: SocketAddr,
    pub http: SocketAddr,
    pub folder: PathBuf,
    pub log: mpsc::Receiver<String>,
}

impl Server {
    pub fn start(name: &str, config: &str) -> Server {
        Server::start_with_store(name, config, |_| {})
    }

    /// Starts on a store that `prepare` fills first (given the store's
    /// folder, which exists).
    pub fn start_with_store(name: &str, config: &str, prepare: impl FnOnce(&Path)) -> Server {
        let folder =
            std::env::temp_dir().join(format!("ipcam-serve-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(folder.join("store")).unwrap();
        prepare(&folder.join("store"));
        let config_file = folder.join("ipcam.toml");
        std::fs::write(&config_file, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ipcam"))
            .args(["serve", "--config"])
            .arg(&config_file)
            .args(["--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--store"])
            .arg(folder.join("store"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let listening = |line: &str, what: &str| -> Option<SocketAddr> {
            line.split_once(&format!("{what} listening on "))?
                .1
                .trim()
                .parse()
                .ok()
        };
        let (mut smtp, mut http) = (None, None);
        let deadline = Instant::now() + PATIENCE;
        while smtp.is_none() || http.is_none() {
            let line = log
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the server says where it listens");
            smtp = smtp.or_else(|| listening(&line, "SMTP"));
            http = http.or_else(|| listening(&line, "HTTP"));
        }
        Server {
            child,
            smtp: smtp.unwrap(),
            http: http.unwrap(),
            folder,
            log,
        }
    }

    pub fn alerts(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.folder.join("store/alerts.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    pub fn wait_for_alerts(&self, count: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let alerts = self.alerts();
            if alerts.len() >= count || Instant::now() > deadline {
                return alerts;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn smtp_client(&self, mechanism: Mechanism, password: &str) -> SmtpTransport {
        SmtpTransport::builder_dangerous(self.smtp.ip().to_string())
            .port(self.smtp.port())
            .credentials(Credentials::new("camera".into(), password.into()))
            .authentication(vec![mechanism])
            .timeout(Some(PATIENCE))
            .build()
    }

    /// Sends a signal (`TERM`, `INT`) to the server.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits at most `bound` for the server to end; `None` if it still
    /// runs then.
    pub fn wait_for_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + bound;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The log lines written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Sends SIGTERM, as `docker stop` or systemd do, and waits for the end.
    pub fn stop(mut self) -> Stopped {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let stopped = Stopped {
            status,
            log: self.log.try_iter().collect(),
            alerts: self.alerts(),
        };
        let _ = std::fs::remove_dir_all(&self.folder);
        stopped
    }
}

/// What a stopped server left.
pub struct Stopped {
    pub status: ExitStatus,
    pub log: Vec<String>,
    pub alerts: Vec<serde_json::Value>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // A test that failed half-way leaves no server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that says EHLO, then sends `bytes` bytes with no line end and
/// waits: what stalled the server before. It sends without reading, so
/// that a server that never greets it cannot stall the test.
pub fn stuck_smtp_client(to: SocketAddr, bytes: usize) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(to).unwrap();
    let mut junk = b"EHLO stuck.example\r\n".to_vec();
    junk.extend(std::iter::repeat_n(b'a', bytes));
    stream.write_all(&junk).unwrap();
    stream
}
