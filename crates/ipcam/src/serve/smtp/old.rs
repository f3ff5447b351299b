//! The SMTP server cameras send their snapshots to.
//!
//! Written here on tokio rather than taken from a crate: the maintained
//! embeddable servers (`mailin-embedded` is the closest fit) run a thread
//! per connection with no way to stop them gracefully, do not enforce a
//! size limit while the data arrives, and answer `250` before the message
//! is handled. Cameras use a small, old subset of SMTP, and owning it lets
//! the server answer `250` only once the message is on disk, refuse an
//! oversized one with `552` without holding it in memory, and finish the
//! message in flight when asked to stop.
//!
//! Supported (RFC 5321 subset): EHLO/HELO, AUTH PLAIN and LOGIN (RFC 4954),
//! MAIL (with the SIZE parameter, RFC 1870), RCPT, DATA with dot-unstuffing,
//! RSET, NOOP, VRFY (answered 252), HELP, QUIT. No STARTTLS: put the server
//! on a trusted network, as cameras seldom do TLS well anyway.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ipcam_core::stages::ingest::BasicCredentials;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// Longest command line accepted (RFC 5321 §4.5.3.1.4 says 512 octets;
/// some cameras write long AUTH lines, so allow more).
const MAX_COMMAND_LINE: u64 = 4096;
/// A client silent this long is dropped (RFC 5321 §4.5.3.2 suggests 5
/// minutes for commands).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// The data of one message must arrive within this.
const DATA_TIMEOUT: Duration = Duration::from_secs(600);
/// Recipients per message: a camera sends to one or two.
const MAX_RECIPIENTS: usize = 100;
/// Sessions served at once; more wait for a free one.
const MAX_SESSIONS: usize = 64;

/// One message as the client sent it.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub raw: Vec<u8>,
}

/// Why a message was not accepted, as SMTP tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The client should try again later (`451`).
    Transient(String),
    /// The message will never be accepted (`554`).
    Permanent(String),
    /// The sender may not send here (`550 5.7.1`, not authorised).
    Policy(String),
}

/// Where accepted messages go. The future resolves once the message is
/// safely kept; only then does the client hear `250`.
pub trait Mailbox: Send + Sync + 'static {
    fn deliver(&self, message: Received) -> impl Future<Output = Result<String, Refusal>> + Send;
}

/// What the server is told at start.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The name the server greets with.
    pub hostname: String,
    pub max_message_bytes: u64,
    /// Credentials a client must give before MAIL; none asked when unset.
    pub credentials: Option<BasicCredentials>,
}

/// Serves SMTP on `listener` until `shutdown` turns true, then waits for
/// every session to end: a session between messages is told `421` and
/// closed; a message being received is finished first.
pub async fn serve<M: Mailbox>(
    listener: TcpListener,
    settings: SmtpSettings,
    mailbox: Arc<M>,
    mut shutdown: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let slots = Arc::new(Semaphore::new(MAX_SESSIONS));
    let mut sessions = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = super::stopped(&mut shutdown) => break,
        };
        while sessions.try_join_next().is_some() {}
        let (socket, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(error = %err, "smtp: accepting a connection failed");
                continue;
            }
        };
        let settings = Arc::clone(&settings);
        let mailbox = Arc::clone(&mailbox);
        let shutdown = shutdown.clone();
        let slots = Arc::clone(&slots);
        sessions.spawn(async move {
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            let (reader, writer) = socket.into_split();
            let mut session = Session::new(peer, &settings, &*mailbox, reader, writer, shutdown);
            if let Err(err) = session.run().await {
                tracing::debug!(%peer, error = %err, "smtp: session ended with an error");
            }
        });
    }
    while sessions.join_next().await.is_some() {}
}

/// The state of one message being built (between MAIL and the end of DATA).
#[derive(Debug, Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

struct Session<'a, R, W, M> {
    peer: SocketAddr,
    settings: &'a SmtpSettings,
    mailbox: &'a M,
    reader: BufReader<R>,
    writer: W,
    shutdown: watch::Receiver<bool>,
    greeted: bool,
    authenticated_as: Option<String>,
    transaction: Transaction,
}

/// What reading a command gave.
enum Line {
    Text(String),
    TooLong,
    Closed,
    ShuttingDown,
    TimedOut,
}

impl<'a, R, W, M> Session<'a, R, W, M>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    M: Mailbox,
{
    fn new(
        peer: SocketAddr,
        settings: &'a SmtpSettings,
        mailbox: &'a M,
        reader: R,
        writer: W,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Session {
            peer,
            settings,
            mailbox,
            reader: BufReader::new(reader),
            writer,
            shutdown,
            greeted: false,
            authenticated_as: None,
            transaction: Transaction::default(),
        }
    }

    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    /// Reads one command line; between messages, a shutdown interrupts the
    /// wait.
    async fn read_line(&mut self) -> std::io::Result<Line> {
        let mut shutdown = self.shutdown.clone();
        let mut bytes = Vec::new();
        let read = async {
            let result = (&mut self.reader)
                .take(MAX_COMMAND_LINE)
                .read_until(b'\n', &mut bytes)
                .await;
            result
        };
        let read = tokio::select! {
            read = tokio::time::timeout(COMMAND_TIMEOUT, read) => read,
            _ = super::stopped(&mut shutdown) => return Ok(Line::ShuttingDown),
        };
        let count = match read {
            Err(_) => return Ok(Line::TimedOut),
            Ok(result) => result?,
        };
        if count == 0 {
            return Ok(Line::Closed);
        }
        if !bytes.ends_with(b"\n") {
            if count as u64 == MAX_COMMAND_LINE {
                self.skip_rest_of_line().await?;
                return Ok(Line::TooLong);
            }
            return Ok(Line::Closed);
        }
        let text = String::from_utf8_lossy(&bytes);
        Ok(Line::Text(text.trim_end_matches(['\r', '\n']).to_string()))
    }

    async fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        let mut discard = Vec::new();
        loop {
            discard.clear();
            let count = (&mut self.reader)
                .take(MAX_COMMAND_LINE)
                .read_until(b'\n', &mut discard)
                .await?;
            if count == 0 || discard.ends_with(b"\n") {
                return Ok(());
            }
        }
    }

    async fn run(&mut self) -> std::io::Result<()> {
        if *self.shutdown.borrow() {
            return self
                .reply("421 4.3.2 Service shutting down, try again later")
                .await;
        }
        let greeting = format!("220 {} ESMTP ipcam ready", self.settings.hostname);
        self.reply(&greeting).await?;
        loop {
            let line = match self.read_line().await? {
                Line::Text(line) => line,
                Line::TooLong => {
                    self.reply("500 5.5.2 Line too long").await?;
                    continue;
                }
                Line::Closed => return Ok(()),
                Line::ShuttingDown => {
                    return self
                        .reply("421 4.3.2 Service shutting down, try again later")
                        .await
                }
                Line::TimedOut => {
                    return self.reply("421 4.4.2 Idle too long, closing").await;
                }
            };
            let (verb, argument) = match line.split_once(' ') {
                Some((verb, argument)) => (verb.to_ascii_uppercase(), argument.trim().to_string()),
                None => (line.trim().to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "EHLO" => self.ehlo(&argument).await?,
                "HELO" => {
                    self.greeted = true;
                    self.transaction = Transaction::default();
                    let text = format!("250 {}", self.settings.hostname);
                    self.reply(&text).await?;
                }
                "AUTH" => self.auth(&argument).await?,
                "MAIL" => self.mail(&argument).await?,
                "RCPT" => self.rcpt(&argument).await?,
                "DATA" => self.data().await?,
                "RSET" => {
                    self.transaction = Transaction::default();
                    self.reply("250 2.0.0 OK").await?;
                }
                "NOOP" => self.reply("250 2.0.0 OK").await?,
                "VRFY" => {
                    self.reply("252 2.5.0 Cannot verify, but will accept the message")
                        .await?
                }
                "HELP" => {
                    self.reply("214 2.0.0 EHLO HELO AUTH MAIL RCPT DATA RSET NOOP QUIT")
                        .await?
                }
                "QUIT" => {
                    return self.reply("221 2.0.0 Bye").await;
                }
                "STARTTLS" => self.reply("502 5.5.1 TLS is not offered").await?,
                _ => self.reply("500 5.5.2 Command not recognised").await?,
            }
        }
    }

    async fn ehlo(&mut self, client: &str) -> std::io::Result<()> {
        self.greeted = true;
        self.transaction = Transaction::default();
        let mut lines = vec![
            format!("{} greets {}", self.settings.hostname, client),
            format!("SIZE {}", self.settings.max_message_bytes),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.settings.credentials.is_some() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("HELP".to_string());
        let last = lines.len() - 1;
        let text = lines
            .iter()
            .enumerate()
            .map(|(index, line)| format!("250{}{line}", if index == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n");
        self.reply(&text).await
    }

    /// Reads one base64 line of an AUTH exchange; `None` when the client
    /// cancelled (`*`) or went away.
    async fn auth_response(&mut self, challenge: &str) -> std::io::Result<Option<Vec<u8>>> {
        self.reply(&format!("334 {challenge}")).await?;
        match self.read_line().await? {
            Line::Text(line) if line.trim() != "*" => Ok(Some(
                base64::engine::general_purpose::STANDARD
                    .decode(line.trim())
                    .unwrap_or_default(),
            )),
            _ => Ok(None),
        }
    }

    async fn auth(&mut self, argument: &str) -> std::io::Result<()> {
        let Some(credentials) = self.settings.credentials.clone() else {
            return self
                .reply("503 5.5.1 Authentication is not needed here")
                .await;
        };
        if self.authenticated_as.is_some() {
            return self.reply("503 5.5.1 Already authenticated").await;
        }
        if self.transaction.mail_from.is_some() {
            return self
                .reply("503 5.5.1 AUTH is not allowed during a mail transaction")
                .await;
        }
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .unwrap_or_default()
        };
        let (mechanism, initial) = match argument.split_once(' ') {
            Some((mechanism, initial)) => (mechanism.to_ascii_uppercase(), Some(initial.trim())),
            None => (argument.to_ascii_uppercase(), None),
        };
        let given = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some("=") => Some(Vec::new()),
                    Some(initial) => Some(decode(initial)),
                    None => self.auth_response("").await?,
                };
                // authorization identity \0 user \0 password
                response.map(|bytes| {
                    let mut fields = bytes.split(|byte| *byte == 0).skip(1);
                    let user = fields.next().unwrap_or_default().to_vec();
                    let password = fields.next().unwrap_or_default().to_vec();
                    (user, password)
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(initial) => Some(decode(initial)),
                    // "Username:" and "Password:", in base64.
                    None => self.auth_response("VXNlcm5hbWU6").await?,
                };
                match user {
                    Some(user) => self
                        .auth_response("UGFzc3dvcmQ6")
                        .await?
                        .map(|password| (user, password)),
                    None => None,
                }
            }
            _ => {
                return self
                    .reply("504 5.5.4 Unrecognised authentication mechanism: use PLAIN or LOGIN")
                    .await
            }
        };
        let Some((user, password)) = given else {
            return self.reply("501 5.7.0 Authentication cancelled").await;
        };
        let user = String::from_utf8_lossy(&user).into_owned();
        let password = String::from_utf8_lossy(&password);
        // The same constant-time comparison the SendGrid endpoint uses.
        let presented = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if credentials.admit(Some(&presented)) {
            tracing::info!(peer = %self.peer, user = %user, "smtp: authenticated");
            self.authenticated_as = Some(user);
            self.reply("235 2.7.0 Authentication successful").await
        } else {
            tracing::warn!(peer = %self.peer, user = %user, "smtp: wrong credentials refused");
            self.reply("535 5.7.8 Authentication credentials invalid")
                .await
        }
    }

    async fn mail(&mut self, argument: &str) -> std::io::Result<()> {
        if !self.greeted {
            return self.reply("503 5.5.1 Say EHLO or HELO first").await;
        }
        if self.settings.credentials.is_some() && self.authenticated_as.is_none() {
            return self.reply("530 5.7.0 Authentication required").await;
        }
        if self.transaction.mail_from.is_some() {
            return self
                .reply("503 5.5.1 Sender already given; RSET to start again")
                .await;
        }
        let Some((address, parameters)) = path_argument(argument, "FROM:") else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        let declared_size = parameters.split_whitespace().find_map(|parameter| {
            let (key, value) = parameter.split_once('=')?;
            key.eq_ignore_ascii_case("SIZE")
                .then(|| value.parse::<u64>().ok())
                .flatten()
        });
        if declared_size.is_some_and(|size| size > self.settings.max_message_bytes) {
            let text = format!(
                "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                self.settings.max_message_bytes
            );
            return self.reply(&text).await;
        }
        self.transaction.mail_from = Some(address);
        self.reply("250 2.1.0 OK").await
    }

    async fn rcpt(&mut self, argument: &str) -> std::io::Result<()> {
        if self.transaction.mail_from.is_none() {
            return self.reply("503 5.5.1 MAIL first").await;
        }
        let Some((address, _)) = path_argument(argument, "TO:") else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>").await;
        };
        if address.is_empty() {
            return self
                .reply("501 5.1.3 An empty recipient is not allowed")
                .await;
        }
        if self.transaction.rcpt_to.len() >= MAX_RECIPIENTS {
            return self.reply("452 4.5.3 Too many recipients").await;
        }
        self.transaction.rcpt_to.push(address);
        self.reply("250 2.1.5 OK").await
    }

    async fn data(&mut self) -> std::io::Result<()> {
        if self.transaction.mail_from.is_none() {
            return self.reply("503 5.5.1 MAIL first").await;
        }
        if self.transaction.rcpt_to.is_empty() {
            return self.reply("554 5.5.1 No valid recipients").await;
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let limit = self.settings.max_message_bytes;
        let content =
            match tokio::time::timeout(DATA_TIMEOUT, read_data(&mut self.reader, limit)).await {
                Err(_) => return self.reply("421 4.4.2 Data took too long, closing").await,
                Ok(content) => content?,
            };
        let transaction = std::mem::take(&mut self.transaction);
        let mail_from = transaction.mail_from.unwrap_or_default();
        let raw = match content {
            Data::Complete(raw) => raw,
            Data::TooLarge(size) => {
                tracing::warn!(
                    peer = %self.peer,
                    from = %mail_from,
                    bytes = size,
                    limit,
                    "smtp: message refused: larger than the limit"
                );
                let text = format!(
                    "552 5.3.4 Message size exceeds fixed maximum message size ({limit} bytes)"
                );
                return self.reply(&text).await;
            }
            Data::Closed => return Ok(()),
        };
        let size = raw.len();
        let received = Received {
            mail_from: mail_from.clone(),
            rcpt_to: transaction.rcpt_to,
            raw,
        };
        let user = self.authenticated_as.clone().unwrap_or_default();
        match self.mailbox.deliver(received).await {
            Ok(id) => {
                tracing::info!(peer = %self.peer, user = %user, from = %mail_from, bytes = size, message = %id, "smtp: message accepted");
                self.reply(&format!("250 2.0.0 OK queued as {id}")).await
            }
            Err(Refusal::Transient(reason)) => {
                tracing::error!(peer = %self.peer, from = %mail_from, bytes = size, "smtp: message not kept: {reason}");
                self.reply(&format!("451 4.3.0 {}", one_line(&reason)))
                    .await
            }
            Err(Refusal::Permanent(reason)) => {
                tracing::warn!(peer = %self.peer, from = %mail_from, bytes = size, "smtp: message refused: {reason}");
                self.reply(&format!("554 5.6.0 {}", one_line(&reason)))
                    .await
            }
            Err(Refusal::Policy(reason)) => {
                tracing::warn!(peer = %self.peer, from = %mail_from, bytes = size, "smtp: message refused: {reason}");
                self.reply(&format!("550 5.7.1 {}", one_line(&reason)))
                    .await
            }
        }
    }
}

/// A reason fit for one SMTP reply line.
fn one_line(reason: &str) -> String {
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect()
}

/// The address of `FROM:<a@b> SIZE=1` (or `TO:`), and the parameters after
/// it. Accepts the common sloppy forms `FROM: <a@b>` and `FROM:a@b`.
fn path_argument(argument: &str, keyword: &str) -> Option<(String, String)> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument[keyword.len()..].trim_start();
    if let Some(inner) = rest.strip_prefix('<') {
        let close = inner.find('>')?;
        Some((
            inner[..close].trim().to_string(),
            inner[close + 1..].trim().to_string(),
        ))
    } else {
        let (address, parameters) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((address.to_string(), parameters.trim().to_string()))
    }
}

/// What DATA delivered.
#[derive(Debug, PartialEq, Eq)]
enum Data {
    Complete(Vec<u8>),
    /// The client sent more than the limit; the count it reached.
    TooLarge(u64),
    /// The connection closed before the final dot.
    Closed,
}

/// Reads the message up to the line holding a single dot, undoing
/// dot-stuffing (RFC 5321 §4.5.2). Past the size limit the data is read
/// and dropped, so the client can still be told 552 rather than cut off.
async fn read_data<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    limit: u64,
) -> std::io::Result<Data> {
    /// Lines are read in pieces of at most this, so a line with no end
    /// cannot fill the memory.
    const PIECE: u64 = 64 * 1024;
    let mut message = Vec::new();
    let mut total: u64 = 0;
    let mut at_line_start = true;
    let mut piece = Vec::new();
    loop {
        piece.clear();
        let count = (&mut *reader)
            .take(PIECE)
            .read_until(b'\n', &mut piece)
            .await?;
        if count == 0 {
            return Ok(Data::Closed);
        }
        let mut content: &[u8] = &piece;
        if at_line_start {
            if content == b".\r\n" || content == b".\n" {
                break;
            }
            if content.starts_with(b".") {
                content = &content[1..];
            }
        }
        at_line_start = piece.ends_with(b"\n");
        total += content.len() as u64;
        if total <= limit {
            message.extend_from_slice(content);
        } else if !message.is_empty() {
            message = Vec::new();
        }
    }
    Ok(if total > limit {
        Data::TooLarge(total)
    } else {
        Data::Complete(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_argument_takes_strict_and_sloppy_forms() {
        assert_eq!(
            path_argument("FROM:<cam@x.example> SIZE=1200", "FROM:"),
            Some(("cam@x.example".into(), "SIZE=1200".into()))
        );
        assert_eq!(
            path_argument("from: <cam@x.example>", "FROM:"),
            Some(("cam@x.example".into(), String::new()))
        );
        assert_eq!(
            path_argument("To:alerts@home.example", "TO:"),
            Some(("alerts@home.example".into(), String::new()))
        );
        assert_eq!(path_argument("<cam@x>", "FROM:"), None);
    }

    async fn data_of(input: &'static [u8], limit: u64) -> Data {
        let mut reader = BufReader::new(input);
        read_data(&mut reader, limit).await.unwrap()
    }

    #[tokio::test]
    async fn data_ends_at_the_lone_dot_and_is_unstuffed() {
        let data = data_of(b"Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n", 1000).await;
        assert_eq!(
            data,
            Data::Complete(b"Subject: x\r\n\r\n.leading dot\r\n".to_vec())
        );
    }

    #[tokio::test]
    async fn data_over_the_limit_is_drained_and_reported() {
        let data = data_of(b"0123456789\r\n0123456789\r\n.\r\n", 15).await;
        assert_eq!(data, Data::TooLarge(24));
    }

    #[tokio::test]
    async fn data_cut_short_is_not_a_message() {
        assert_eq!(data_of(b"Subject: x\r\n\r\nhalf", 1000).await, Data::Closed);
    }
}
