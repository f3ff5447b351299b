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
//! Three layers, as in Stalwart's SMTP inbound: [`parser`] turns bytes
//! into command lines and messages (no I/O), [`session`] decides every
//! reply from an explicit [`State`](session::State) (no I/O), and this
//! module drives a connection: it reads under deadlines, writes the
//! replies and hands messages to the [`Mailbox`].
//!
//! Supported (RFC 5321 subset): EHLO/HELO, AUTH PLAIN and LOGIN (RFC 4954),
//! MAIL (with the SIZE parameter, RFC 1870), RCPT, DATA with dot-unstuffing,
//! RSET, NOOP, VRFY (answered 252), HELP, QUIT. No STARTTLS: put the server
//! on a trusted network, as cameras seldom do TLS well anyway.
//!
//! A client cannot hold the server: every read has a deadline (a command
//! line must be complete within [`Timeouts::command`] of the previous
//! reply, however slowly its bytes trickle in, and far sooner while more
//! than half the sessions are taken); a session ends after
//! [`Timeouts::session`] or [`Limits::max_commands`](session::Limits);
//! connections beyond [`SmtpSettings::max_sessions`] are answered `421` at
//! once; and a stop ends every session within [`Timeouts::shutdown_grace`].

pub mod parser;
pub mod session;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use ipcam_core::stages::ingest::BasicCredentials;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::accept::{Acceptor, Admitted};
use parser::Framer;
pub use session::{Limits, Received, Refusal};
use session::{Reply, Session, Step};

/// Where accepted messages go. The future resolves once the message is
/// safely kept; only then does the client hear `250`.
pub trait Mailbox: Send + Sync + 'static {
    fn deliver(&self, message: Received) -> impl Future<Output = Result<String, Refusal>> + Send;
}

/// How long a client is given.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// From a reply to the end of the next command line (RFC 5321
    /// §4.5.3.2 suggests 5 minutes).
    pub command: Duration,
    /// The same while more than half the sessions are taken: a server
    /// under pressure keeps no one waiting (Postfix's stress mode).
    pub command_when_busy: Duration,
    /// From `354` to the final dot.
    pub data: Duration,
    pub data_when_busy: Duration,
    /// The longest a session may last (a message under way is finished).
    pub session: Duration,
    /// A reply must be taken by the client within this.
    pub write: Duration,
    /// After a stop, a message being received has this long to finish.
    pub shutdown_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            command: Duration::from_secs(300),
            command_when_busy: Duration::from_secs(10),
            data: Duration::from_secs(600),
            data_when_busy: Duration::from_secs(60),
            session: Duration::from_secs(15 * 60),
            write: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// What the server is told at start.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The name the server greets with.
    pub hostname: String,
    /// Credentials a client must give before MAIL; none asked when unset.
    pub credentials: Option<BasicCredentials>,
    pub limits: Limits,
    pub timeouts: Timeouts,
    /// Sessions served at once; a connection beyond is answered `421`.
    pub max_sessions: usize,
    /// Set while the disk is nearly full: MAIL is answered `452`.
    pub disk_nearly_full: Arc<AtomicBool>,
}

/// Serves SMTP on `listener` until `shutdown` turns true, then waits for
/// every session to end: a session between messages is told `421` and
/// closed; a message being received gets a short grace to finish; a
/// message being kept is kept and answered.
pub async fn serve<M: Mailbox>(
    listener: TcpListener,
    settings: SmtpSettings,
    mailbox: Arc<M>,
    mut shutdown: watch::Receiver<bool>,
) {
    let settings = Arc::new(settings);
    let mut acceptor = Acceptor::new(
        listener,
        settings.max_sessions,
        "smtp",
        b"421 4.7.0 Too many connections, try again later\r\n",
    );
    let mut sessions = JoinSet::new();
    while let Some(Admitted { socket, peer, slot }) = acceptor.next(&mut shutdown).await {
        while sessions.try_join_next().is_some() {}
        let settings = Arc::clone(&settings);
        let mailbox = Arc::clone(&mailbox);
        let shutdown = shutdown.clone();
        let slots = acceptor.slots();
        sessions.spawn(async move {
            let _slot = slot;
            let half = settings.max_sessions / 2;
            let busy = move || slots.available_permits() < half;
            let result = drive(socket, peer, &settings, &*mailbox, busy, shutdown).await;
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "smtp: session ended with an error");
            }
        });
    }
    // Each session ends by itself within the grace; one that does not
    // (a client that takes no reply) is cut.
    let bound = settings.timeouts.shutdown_grace + Duration::from_secs(2);
    let all_ended = tokio::time::timeout(bound, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if all_ended.is_err() {
        tracing::warn!(
            sessions = sessions.len(),
            "smtp: sessions still open after the grace: cut"
        );
        sessions.shutdown().await;
    }
}

/// Runs one session on `stream` to its end.
pub async fn drive<S, M>(
    stream: S,
    peer: SocketAddr,
    settings: &SmtpSettings,
    mailbox: &M,
    busy: impl Fn() -> bool,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Mailbox,
{
    let timeouts = &settings.timeouts;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut session = Session::new(
        settings.hostname.clone(),
        settings.credentials.clone(),
        settings.limits.clone(),
        Arc::clone(&settings.disk_nearly_full),
        peer.to_string(),
    );
    if *shutdown.borrow() {
        return write_reply(&mut writer, &session.shutting_down(), timeouts).await;
    }
    write_reply(&mut writer, &Reply::text(session.greeting()), timeouts).await?;
    let session_end = Instant::now() + timeouts.session;
    let command_deadline = |busy: bool| {
        let wait = if busy {
            timeouts.command_when_busy
        } else {
            timeouts.command
        };
        (Instant::now() + wait).min(session_end)
    };
    let mut deadline = command_deadline(busy());
    let mut framer = Framer::new();
    let mut chunk = vec![0_u8; 8 * 1024];
    let mut stopping = false;
    loop {
        if let Some(frame) = framer.next() {
            let step = match session.handle(frame) {
                Step::Deliver(message) => {
                    let from = message.mail_from.clone();
                    let size = message.raw.len();
                    let outcome = mailbox.deliver(message).await;
                    match &outcome {
                        Ok(id) => {
                            tracing::info!(%peer, from = %from, bytes = size, message = %id, "smtp: message accepted")
                        }
                        Err(Refusal::Transient(reason)) => {
                            tracing::error!(%peer, from = %from, bytes = size, "smtp: message not kept: {reason}")
                        }
                        Err(Refusal::NoRoom) => {
                            tracing::error!(%peer, from = %from, bytes = size, "smtp: message not kept: the disk is nearly full")
                        }
                        Err(refusal) => {
                            tracing::warn!(%peer, from = %from, bytes = size, "smtp: message refused: {refusal:?}")
                        }
                    }
                    session.delivered(outcome)
                }
                step => step,
            };
            match step {
                Step::Reply(reply) => write_reply(&mut writer, &reply, timeouts).await?,
                Step::ReceiveData { reply, limit } => {
                    write_reply(&mut writer, &reply, timeouts).await?;
                    framer.start_data(limit);
                }
                Step::Close(reply) => return write_reply(&mut writer, &reply, timeouts).await,
                Step::Deliver(_) => {}
            }
            if framer.in_data() {
                let wait = if busy() {
                    timeouts.data_when_busy
                } else {
                    timeouts.data
                };
                deadline = Instant::now() + wait;
                if stopping {
                    deadline = deadline.min(Instant::now() + timeouts.shutdown_grace);
                }
            } else if stopping || *shutdown.borrow() {
                return write_reply(&mut writer, &session.shutting_down(), timeouts).await;
            } else if Instant::now() >= session_end {
                return write_reply(&mut writer, &session.too_old(), timeouts).await;
            } else {
                deadline = command_deadline(busy());
            }
            continue;
        }
        let read = tokio::select! {
            biased;
            _ = super::stopped(&mut shutdown), if !stopping => {
                stopping = true;
                if !framer.in_data() {
                    // Nothing acknowledged is under way: a command line
                    // half-sent is dropped with the connection.
                    return write_reply(&mut writer, &session.shutting_down(), timeouts).await;
                }
                deadline = deadline.min(Instant::now() + timeouts.shutdown_grace);
                continue;
            }
            read = tokio::time::timeout_at(deadline, reader.read(&mut chunk)) => read,
        };
        match read {
            Err(_elapsed) => {
                let reply = if stopping {
                    session.shutting_down()
                } else if !framer.in_data() && Instant::now() >= session_end {
                    session.too_old()
                } else {
                    session.timed_out()
                };
                return write_reply(&mut writer, &reply, timeouts).await;
            }
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(count)) => framer.push(&chunk[..count]),
            Ok(Err(err)) => return Err(err),
        }
    }
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply {
            text,
            delay: Duration::ZERO,
        }
    }
}

/// Writes a reply after its delay; a client that does not take it within
/// [`Timeouts::write`] is given up.
async fn write_reply<W: AsyncWrite + Unpin>(
    writer: &mut W,
    reply: &Reply,
    timeouts: &Timeouts,
) -> std::io::Result<()> {
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut bytes = reply.text.clone().into_bytes();
    bytes.extend_from_slice(b"\r\n");
    let write = async {
        writer.write_all(&bytes).await?;
        writer.flush().await
    };
    match tokio::time::timeout(timeouts.write, write).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client took no reply",
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use tokio::io::DuplexStream;

    use super::*;

    /// A mailbox that keeps what it is given.
    #[derive(Default)]
    struct Kept(Mutex<Vec<Received>>);

    impl Mailbox for Kept {
        async fn deliver(&self, message: Received) -> Result<String, Refusal> {
            self.0.lock().unwrap().push(message);
            Ok("local-1".into())
        }
    }

    fn settings() -> SmtpSettings {
        SmtpSettings {
            hostname: "ipcam".into(),
            credentials: None,
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            max_sessions: 8,
            disk_nearly_full: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A session on an in-memory pipe: the client's end, the stop switch,
    /// and the session's task, which returns when the session is over.
    fn start(
        busy: bool,
    ) -> (
        DuplexStream,
        watch::Sender<bool>,
        tokio::task::JoinHandle<Arc<Kept>>,
    ) {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (stop, stopping) = watch::channel(false);
        let session = tokio::spawn(async move {
            let kept = Arc::new(Kept::default());
            let peer = SocketAddr::from(([127, 0, 0, 1], 1));
            let _ = drive(server, peer, &settings(), &*kept, move || busy, stopping).await;
            kept
        });
        (client, stop, session)
    }

    /// Everything the server wrote until it closed, and when it closed.
    async fn replies_until_closed(client: &mut DuplexStream) -> (String, Instant) {
        let mut all = Vec::new();
        let _ = client.read_to_end(&mut all).await;
        (String::from_utf8_lossy(&all).into_owned(), Instant::now())
    }

    fn last_reply(replies: &str) -> &str {
        replies.trim_end().lines().last().unwrap_or_default()
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_never_ended_is_dropped_at_the_command_deadline() {
        let (mut client, _stop, session) = start(false);
        let began = Instant::now();
        client.write_all(b"EHLO cam\r\n").await.unwrap();
        client.write_all(&[b'a'; 5000]).await.unwrap();
        let (replies, closed) = replies_until_closed(&mut client).await;
        assert_eq!(last_reply(&replies), "421 4.4.2 Too slow, closing");
        let waited = closed - began;
        assert!(
            waited >= Duration::from_secs(300) && waited < Duration::from_secs(301),
            "{waited:?}"
        );
        session.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn bytes_trickled_one_by_one_do_not_put_the_deadline_off() {
        let (client, _stop, session) = start(false);
        let (mut reader, mut writer) = tokio::io::split(client);
        let began = Instant::now();
        let trickle = tokio::spawn(async move {
            for _ in 0..1000 {
                if writer.write_all(b"a").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all).await;
        let waited = began.elapsed();
        assert!(String::from_utf8_lossy(&all).ends_with("421 4.4.2 Too slow, closing\r\n"));
        assert!(waited < Duration::from_secs(302), "{waited:?}");
        trickle.abort();
        session.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_server_waits_far_less_for_a_command() {
        let (mut client, _stop, session) = start(true);
        let began = Instant::now();
        client.write_all(b"EHLO cam\r\naaaa").await.unwrap();
        let (replies, closed) = replies_until_closed(&mut client).await;
        assert_eq!(last_reply(&replies), "421 4.4.2 Too slow, closing");
        assert!(
            closed - began < Duration::from_secs(11),
            "{:?}",
            closed - began
        );
        session.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_drops_a_client_stuck_mid_line_at_once() {
        let (mut client, stop, session) = start(false);
        client.write_all(b"EHLO cam\r\n").await.unwrap();
        client.write_all(&[b'a'; 5000]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let asked = Instant::now();
        stop.send(true).unwrap();
        let (replies, closed) = replies_until_closed(&mut client).await;
        assert_eq!(
            last_reply(&replies),
            "421 4.3.2 Service shutting down, try again later"
        );
        assert!(closed - asked < Duration::from_millis(10));
        session.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_under_way_at_the_stop_is_finished_within_the_grace() {
        let (mut client, stop, session) = start(false);
        client
            .write_all(b"HELO cam\r\nMAIL FROM:<cam@x>\r\nRCPT TO:<a@b>\r\nDATA\r\nSubject: x\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.send(true).unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        client.write_all(b"\r\nbody\r\n.\r\n").await.unwrap();
        let (replies, _) = replies_until_closed(&mut client).await;
        let lines: Vec<&str> = replies.lines().collect();
        assert!(
            lines.contains(&"250 2.0.0 OK queued as local-1"),
            "{replies}"
        );
        assert_eq!(
            lines.last(),
            Some(&"421 4.3.2 Service shutting down, try again later")
        );
        let kept = session.await.unwrap();
        assert_eq!(kept.0.lock().unwrap()[0].raw, b"Subject: x\r\n\r\nbody\r\n");
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_not_finished_within_the_grace_is_dropped() {
        let (mut client, stop, session) = start(false);
        client
            .write_all(b"HELO cam\r\nMAIL FROM:<cam@x>\r\nRCPT TO:<a@b>\r\nDATA\r\nSubject: x\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let asked = Instant::now();
        stop.send(true).unwrap();
        let (replies, closed) = replies_until_closed(&mut client).await;
        assert_eq!(
            last_reply(&replies),
            "421 4.3.2 Service shutting down, try again later"
        );
        let waited = closed - asked;
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
            "{waited:?}"
        );
        assert!(session.await.unwrap().0.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_noop_every_few_minutes_does_not_hold_a_session_for_ever() {
        let (client, _stop, session) = start(false);
        let (mut reader, mut writer) = tokio::io::split(client);
        let began = Instant::now();
        let keep_alive = tokio::spawn(async move {
            for _ in 0..100 {
                if writer.write_all(b"NOOP\r\n").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(299)).await;
            }
        });
        let mut all = Vec::new();
        let _ = reader.read_to_end(&mut all).await;
        let replies = String::from_utf8_lossy(&all);
        assert_eq!(last_reply(&replies), "421 4.4.2 Session too long, closing");
        let lasted = began.elapsed();
        assert!(lasted <= Duration::from_secs(15 * 60 + 1), "{lasted:?}");
        keep_alive.abort();
        session.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_ended_by_a_bare_lf_dot_is_not_split() {
        let (mut client, _stop, session) = start(false);
        client
            .write_all(b"HELO cam\r\nMAIL FROM:<cam@x>\r\nRCPT TO:<a@b>\r\nDATA\r\nFrom: cam@x\r\n\r\nhi\n.\nMAIL FROM:<boss@x>\r\nRCPT TO:<a@b>\r\nDATA\r\nFrom: boss@x\r\n\r\nforged\r\n.\r\nQUIT\r\n")
            .await
            .unwrap();
        let (replies, _) = replies_until_closed(&mut client).await;
        let accepted = replies.matches("250 2.0.0 OK queued").count();
        assert_eq!(accepted, 1, "{replies}");
        let kept = session.await.unwrap();
        let kept = kept.0.lock().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].mail_from, "cam@x");
        assert!(String::from_utf8_lossy(&kept[0].raw).contains("forged"));
    }
}
