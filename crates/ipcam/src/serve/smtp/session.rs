//! One SMTP session as a state machine, without I/O: the connection's
//! driver hands it each [`Frame`] the parser found and does what the
//! returned [`Step`] says (write a reply, receive a message's data, keep a
//! message, close). Everything the server decides about a client is
//! decided here and tested without sockets; waiting, deadlines and the
//! mailbox are the driver's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use ipcam_core::stages::ingest::BasicCredentials;

use super::parser::{Command, Data, Frame};

/// One message as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The disk is nearly full: try again later (`452`).
    NoRoom,
    /// The message will never be accepted (`554`).
    Permanent(String),
    /// The sender may not send here (`550 5.7.1`, not authorised).
    Policy(String),
}

/// What a session allows a client.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_message_bytes: u64,
    /// Recipients per message: a camera sends to one or two.
    pub max_recipients: usize,
    /// Commands per session, so that a client cannot keep one open for
    /// ever with NOOPs.
    pub max_commands: u32,
    /// Commands refused (5xx) per session.
    pub max_errors: u32,
    /// Failed AUTH attempts per session; the last closes it.
    pub max_auth_failures: u32,
    /// Each failed AUTH is answered this much later, times the failures
    /// so far: guessing a password costs time.
    pub auth_failure_delay: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 10 * 1024 * 1024,
            max_recipients: 100,
            max_commands: 200,
            max_errors: 20,
            max_auth_failures: 3,
            auth_failure_delay: Duration::from_secs(1),
        }
    }
}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Greeted by the server; EHLO or HELO not said yet.
    Connected,
    /// Introduced; no message under way.
    Ready,
    /// AUTH PLAIN was asked without its response: the next line is it.
    AuthPlain,
    /// AUTH LOGIN: the next line is the user name.
    AuthLoginUser,
    /// AUTH LOGIN: the next line is the password.
    AuthLoginPassword { user: Vec<u8> },
    /// MAIL was given.
    Mail { from: String },
    /// MAIL and at least one RCPT were given.
    Rcpt { from: String, to: Vec<String> },
    /// `354` was said: the message's data is arriving.
    Data { from: String, to: Vec<String> },
    /// The message has arrived and is being kept; the answer waits.
    Delivering,
    /// The session is over.
    Closed,
}

/// A reply, and how long to wait before writing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// One or more lines, joined by CRLF, without the last line end.
    pub text: String,
    pub delay: Duration,
}

impl Reply {
    fn now(text: impl Into<String>) -> Self {
        Reply {
            text: text.into(),
            delay: Duration::ZERO,
        }
    }

    /// The reply code (`250`), 0 if the text has none.
    pub fn code(&self) -> u16 {
        self.text
            .get(..3)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Write the reply, then read the next command.
    Reply(Reply),
    /// Write the reply (`354`), then receive the data of a message of at
    /// most `limit` bytes.
    ReceiveData { reply: Reply, limit: u64 },
    /// Keep the message, then tell [`Session::delivered`] how it went.
    Deliver(Received),
    /// Write the reply, then close the connection.
    Close(Reply),
}

/// The server's side of one SMTP session.
pub struct Session {
    pub state: State,
    hostname: String,
    /// Credentials a client must give before MAIL; none asked when unset.
    credentials: Option<BasicCredentials>,
    limits: Limits,
    /// Set while the disk is nearly full: MAIL is answered `452`.
    disk_nearly_full: Arc<AtomicBool>,
    /// For the log.
    peer: String,
    authenticated_as: Option<String>,
    commands: u32,
    errors: u32,
    auth_failures: u32,
}

/// "Username:" and "Password:", in base64 (RFC 4954's LOGIN).
const USERNAME_CHALLENGE: &str = "334 VXNlcm5hbWU6";
const PASSWORD_CHALLENGE: &str = "334 UGFzc3dvcmQ6";

impl Session {
    pub fn new(
        hostname: impl Into<String>,
        credentials: Option<BasicCredentials>,
        limits: Limits,
        disk_nearly_full: Arc<AtomicBool>,
        peer: impl Into<String>,
    ) -> Self {
        Session {
            state: State::Connected,
            hostname: hostname.into(),
            credentials,
            limits,
            disk_nearly_full,
            peer: peer.into(),
            authenticated_as: None,
            commands: 0,
            errors: 0,
            auth_failures: 0,
        }
    }

    /// The first words of the server.
    pub fn greeting(&self) -> String {
        format!("220 {} ESMTP ipcam ready", self.hostname)
    }

    /// The client was silent, or slow, for too long.
    pub fn timed_out(&mut self) -> Reply {
        self.state = State::Closed;
        Reply::now("421 4.4.2 Too slow, closing")
    }

    /// The server is stopping.
    pub fn shutting_down(&mut self) -> Reply {
        self.state = State::Closed;
        Reply::now("421 4.3.2 Service shutting down, try again later")
    }

    /// The session is older than the server allows.
    pub fn too_old(&mut self) -> Reply {
        self.state = State::Closed;
        Reply::now("421 4.4.2 Session too long, closing")
    }

    /// True once the last step closed the session.
    #[cfg(test)]
    pub fn closed(&self) -> bool {
        self.state == State::Closed
    }

    /// What the client sent next: a command line, a line too long, or a
    /// message's data.
    pub fn handle(&mut self, frame: Frame) -> Step {
        let step = match frame {
            Frame::Data(data) => return self.data(data),
            Frame::TooLong => {
                self.commands = self.commands.saturating_add(1);
                self.refuse_auth_exchange();
                Step::Reply(Reply::now("500 5.5.2 Line too long"))
            }
            Frame::Line(line) => {
                self.commands = self.commands.saturating_add(1);
                if self.commands > self.limits.max_commands {
                    return self.close("421 4.7.0 Too many commands, closing");
                }
                match std::mem::replace(&mut self.state, State::Closed) {
                    State::AuthPlain => {
                        self.state = State::Ready;
                        self.plain_response(&line)
                    }
                    State::AuthLoginUser => match decode_response(&line) {
                        Some(user) => {
                            self.state = State::AuthLoginPassword { user };
                            Step::Reply(Reply::now(PASSWORD_CHALLENGE))
                        }
                        None => {
                            self.state = State::Ready;
                            Step::Reply(Reply::now("501 5.7.0 Authentication cancelled"))
                        }
                    },
                    State::AuthLoginPassword { user } => {
                        self.state = State::Ready;
                        match decode_response(&line) {
                            Some(password) => self.check_credentials(&user, &password),
                            None => Step::Reply(Reply::now("501 5.7.0 Authentication cancelled")),
                        }
                    }
                    state => {
                        self.state = state;
                        self.command(Command::parse(&line))
                    }
                }
            }
        };
        self.count_errors(step)
    }

    /// How keeping the message went, which the client hears.
    pub fn delivered(&mut self, outcome: Result<String, Refusal>) -> Step {
        self.state = State::Ready;
        let reply = match outcome {
            Ok(id) => format!("250 2.0.0 OK queued as {}", one_line(&id)),
            Err(Refusal::Transient(reason)) => format!("451 4.3.0 {}", one_line(&reason)),
            Err(Refusal::NoRoom) => "452 4.3.1 Insufficient system storage, try again later".into(),
            Err(Refusal::Permanent(reason)) => format!("554 5.6.0 {}", one_line(&reason)),
            Err(Refusal::Policy(reason)) => format!("550 5.7.1 {}", one_line(&reason)),
        };
        Step::Reply(Reply::now(reply))
    }

    fn close(&mut self, text: &str) -> Step {
        self.state = State::Closed;
        Step::Close(Reply::now(text))
    }

    /// A line too long in the middle of AUTH ends the exchange.
    fn refuse_auth_exchange(&mut self) {
        if matches!(
            self.state,
            State::AuthPlain | State::AuthLoginUser | State::AuthLoginPassword { .. }
        ) {
            self.state = State::Ready;
        }
    }

    /// Refusals count; too many end the session.
    fn count_errors(&mut self, step: Step) -> Step {
        let Step::Reply(reply) = &step else {
            return step;
        };
        if reply.code() >= 500 {
            self.errors = self.errors.saturating_add(1);
            if self.errors > self.limits.max_errors {
                return self.close("421 4.7.0 Too many errors, closing");
            }
        }
        step
    }

    fn command(&mut self, command: Command) -> Step {
        let reply = |text: &str| Step::Reply(Reply::now(text));
        match command {
            Command::Ehlo(client) => {
                self.reset();
                Step::Reply(Reply::now(self.ehlo(&client)))
            }
            Command::Helo(_) => {
                self.reset();
                Step::Reply(Reply::now(format!("250 {}", self.hostname)))
            }
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial.as_deref()),
            Command::Mail { from, size } => self.mail(from, size),
            Command::Rcpt { to } => self.rcpt(to),
            Command::Data => match std::mem::replace(&mut self.state, State::Closed) {
                State::Rcpt { from, to } => {
                    self.state = State::Data { from, to };
                    Step::ReceiveData {
                        reply: Reply::now("354 End data with <CR><LF>.<CR><LF>"),
                        limit: self.limits.max_message_bytes,
                    }
                }
                state @ State::Mail { .. } => {
                    self.state = state;
                    reply("554 5.5.1 No valid recipients")
                }
                state => {
                    self.state = state;
                    reply("503 5.5.1 MAIL first")
                }
            },
            Command::Rset => {
                if self.state != State::Connected {
                    self.state = State::Ready;
                }
                reply("250 2.0.0 OK")
            }
            Command::Noop => reply("250 2.0.0 OK"),
            Command::Vrfy => reply("252 2.5.0 Cannot verify, but will accept the message"),
            Command::Help => reply("214 2.0.0 EHLO HELO AUTH MAIL RCPT DATA RSET NOOP QUIT"),
            Command::Quit => self.close("221 2.0.0 Bye"),
            Command::StartTls => reply("502 5.5.1 TLS is not offered"),
            Command::Syntax(text) => reply(text),
            Command::Unknown => reply("500 5.5.2 Command not recognised"),
        }
    }

    /// EHLO and HELO start afresh: any message under way is forgotten.
    fn reset(&mut self) {
        self.state = State::Ready;
    }

    fn ehlo(&self, client: &str) -> String {
        let mut lines = vec![
            format!("{} greets {}", self.hostname, one_line(client)),
            format!("SIZE {}", self.limits.max_message_bytes),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.credentials.is_some() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("HELP".to_string());
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(index, line)| format!("250{}{line}", if index == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    fn auth(&mut self, mechanism: &str, initial: Option<&str>) -> Step {
        let reply = |text: &str| Step::Reply(Reply::now(text));
        if self.credentials.is_none() {
            return reply("503 5.5.1 Authentication is not needed here");
        }
        match self.state {
            State::Connected => return reply("503 5.5.1 Say EHLO or HELO first"),
            State::Ready => {}
            _ => return reply("503 5.5.1 AUTH is not allowed during a mail transaction"),
        }
        if self.authenticated_as.is_some() {
            return reply("503 5.5.1 Already authenticated");
        }
        match (mechanism, initial) {
            ("PLAIN", Some(initial)) => self.plain_response(initial.as_bytes()),
            ("PLAIN", None) => {
                self.state = State::AuthPlain;
                reply("334 ")
            }
            ("LOGIN", Some(initial)) => match decode_response(initial.as_bytes()) {
                Some(user) => {
                    self.state = State::AuthLoginPassword { user };
                    reply(PASSWORD_CHALLENGE)
                }
                None => reply("501 5.7.0 Authentication cancelled"),
            },
            ("LOGIN", None) => {
                self.state = State::AuthLoginUser;
                reply(USERNAME_CHALLENGE)
            }
            _ => reply("504 5.5.4 Unrecognised authentication mechanism: use PLAIN or LOGIN"),
        }
    }

    /// The PLAIN response: authorization identity, NUL, user, NUL, password.
    fn plain_response(&mut self, line: &[u8]) -> Step {
        let bytes = if line == b"=" {
            Some(Vec::new())
        } else {
            decode_response(line)
        };
        let Some(bytes) = bytes else {
            return Step::Reply(Reply::now("501 5.7.0 Authentication cancelled"));
        };
        let mut fields = bytes.split(|byte| *byte == 0).skip(1);
        let user = fields.next().unwrap_or_default().to_vec();
        let password = fields.next().unwrap_or_default().to_vec();
        self.check_credentials(&user, &password)
    }

    fn check_credentials(&mut self, user: &[u8], password: &[u8]) -> Step {
        let Some(credentials) = &self.credentials else {
            return Step::Reply(Reply::now("503 5.5.1 Authentication is not needed here"));
        };
        let user = String::from_utf8_lossy(user).into_owned();
        let password = String::from_utf8_lossy(password);
        // The same constant-time comparison the SendGrid endpoint uses.
        let presented = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if credentials.admit(Some(&presented)) {
            tracing::info!(peer = %self.peer, user = %user, "smtp: authenticated");
            self.authenticated_as = Some(user);
            return Step::Reply(Reply::now("235 2.7.0 Authentication successful"));
        }
        self.auth_failures = self.auth_failures.saturating_add(1);
        tracing::warn!(peer = %self.peer, user = %user, failures = self.auth_failures, "smtp: wrong credentials refused");
        let delay = self.limits.auth_failure_delay * self.auth_failures;
        if self.auth_failures >= self.limits.max_auth_failures {
            self.state = State::Closed;
            return Step::Close(Reply {
                text: "421 4.7.0 Too many failed authentications, closing".into(),
                delay,
            });
        }
        Step::Reply(Reply {
            text: "535 5.7.8 Authentication credentials invalid".into(),
            delay,
        })
    }

    fn mail(&mut self, from: String, size: Option<u64>) -> Step {
        let reply = |text: &str| Step::Reply(Reply::now(text));
        match self.state {
            State::Connected => return reply("503 5.5.1 Say EHLO or HELO first"),
            State::Ready => {}
            _ => return reply("503 5.5.1 Sender already given; RSET to start again"),
        }
        if self.credentials.is_some() && self.authenticated_as.is_none() {
            return reply("530 5.7.0 Authentication required");
        }
        if size.is_some_and(|size| size > self.limits.max_message_bytes) {
            return Step::Reply(Reply::now(format!(
                "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                self.limits.max_message_bytes
            )));
        }
        if self.disk_nearly_full.load(Ordering::Relaxed) {
            return reply("452 4.3.1 Insufficient system storage, try again later");
        }
        self.state = State::Mail { from };
        reply("250 2.1.0 OK")
    }

    fn rcpt(&mut self, address: String) -> Step {
        let reply = |text: &str| Step::Reply(Reply::now(text));
        match &mut self.state {
            State::Mail { from } => {
                let from = std::mem::take(from);
                self.state = State::Rcpt {
                    from,
                    to: vec![address],
                };
                reply("250 2.1.5 OK")
            }
            State::Rcpt { to, .. } if to.len() >= self.limits.max_recipients => {
                reply("452 4.5.3 Too many recipients")
            }
            State::Rcpt { to, .. } => {
                to.push(address);
                reply("250 2.1.5 OK")
            }
            _ => reply("503 5.5.1 MAIL first"),
        }
    }

    fn data(&mut self, data: Data) -> Step {
        let State::Data { from, to } = std::mem::replace(&mut self.state, State::Ready) else {
            // Data only comes after ReceiveData; anything else is a bug of
            // the driver, answered rather than trusted.
            return Step::Reply(Reply::now("503 5.5.1 MAIL first"));
        };
        match data {
            Data::Complete(raw) => {
                self.state = State::Delivering;
                Step::Deliver(Received {
                    mail_from: from,
                    rcpt_to: to,
                    raw,
                })
            }
            Data::TooLarge(size) => {
                tracing::warn!(
                    peer = %self.peer,
                    from = %from,
                    bytes = size,
                    limit = self.limits.max_message_bytes,
                    "smtp: message refused: larger than the limit"
                );
                Step::Reply(Reply::now(format!(
                    "552 5.3.4 Message size exceeds fixed maximum message size ({} bytes)",
                    self.limits.max_message_bytes
                )))
            }
        }
    }
}

/// A base64 line of an AUTH exchange; `None` when the client cancelled
/// (`*`) or wrote something that is not base64.
fn decode_response(line: &[u8]) -> Option<Vec<u8>> {
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    if line == "*" {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(line).ok()
}

/// A text fit for one SMTP reply line.
pub fn one_line(reason: &str) -> String {
    reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(credentials: bool) -> Session {
        Session::new(
            "ipcam",
            credentials.then(|| BasicCredentials {
                username: "camera".into(),
                password: "s3cret".into(),
            }),
            Limits {
                max_message_bytes: 100,
                ..Limits::default()
            },
            Arc::new(AtomicBool::new(false)),
            "test",
        )
    }

    fn line(text: &str) -> Frame {
        Frame::Line(text.as_bytes().to_vec())
    }

    /// The reply's code for each line, in order.
    fn codes(session: &mut Session, lines: &[&str]) -> Vec<u16> {
        lines
            .iter()
            .map(|text| match session.handle(line(text)) {
                Step::Reply(reply) | Step::Close(reply) => reply.code(),
                Step::ReceiveData { reply, .. } => reply.code(),
                Step::Deliver(_) => 0,
            })
            .collect()
    }

    fn plain(user: &str, password: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
    }

    #[test]
    fn a_camera_session_goes_from_ehlo_to_a_delivered_message() {
        let mut session = session(true);
        let auth = format!("AUTH PLAIN {}", plain("camera", "s3cret"));
        assert_eq!(
            codes(
                &mut session,
                &[
                    "EHLO cam",
                    &auth,
                    "MAIL FROM:<cam@x>",
                    "RCPT TO:<a@b>",
                    "RCPT TO:<c@d>"
                ]
            ),
            vec![250, 235, 250, 250, 250]
        );
        assert_eq!(
            session.handle(line("DATA")),
            Step::ReceiveData {
                reply: Reply::now("354 End data with <CR><LF>.<CR><LF>"),
                limit: 100
            }
        );
        let step = session.handle(Frame::Data(Data::Complete(b"Subject: x\r\n".to_vec())));
        assert_eq!(
            step,
            Step::Deliver(Received {
                mail_from: "cam@x".into(),
                rcpt_to: vec!["a@b".into(), "c@d".into()],
                raw: b"Subject: x\r\n".to_vec()
            })
        );
        assert_eq!(session.state, State::Delivering);
        let Step::Reply(reply) = session.delivered(Ok("local-1".into())) else {
            panic!()
        };
        assert_eq!(reply.text, "250 2.0.0 OK queued as local-1");
        assert_eq!(session.state, State::Ready);
        // A second message in the same session needs no new AUTH.
        assert_eq!(
            codes(&mut session, &["MAIL FROM:<cam@x>", "QUIT"]),
            vec![250, 221]
        );
        assert!(session.closed());
    }

    #[test]
    fn commands_out_of_order_are_refused() {
        let mut session = session(false);
        assert_eq!(
            codes(
                &mut session,
                &[
                    "MAIL FROM:<a@b>",
                    "RCPT TO:<a@b>",
                    "DATA",
                    "HELO x",
                    "DATA",
                    "MAIL FROM:<a@b>",
                    "DATA",
                    "MAIL FROM:<a@b>"
                ]
            ),
            vec![503, 503, 503, 250, 503, 250, 554, 503]
        );
        assert_eq!(
            codes(&mut session, &["RSET", "RCPT TO:<a@b>"]),
            vec![250, 503]
        );
    }

    #[test]
    fn mail_needs_authentication_when_credentials_are_set() {
        let mut session = session(true);
        assert_eq!(
            codes(&mut session, &["EHLO x", "MAIL FROM:<a@b>"]),
            vec![250, 530]
        );
        let mut open = self::session(false);
        assert_eq!(
            codes(&mut open, &["EHLO x", "AUTH PLAIN", "MAIL FROM:<a@b>"]),
            vec![250, 503, 250]
        );
    }

    #[test]
    fn auth_login_asks_for_user_then_password() {
        let mut session = session(true);
        let user = base64::engine::general_purpose::STANDARD.encode("camera");
        let password = base64::engine::general_purpose::STANDARD.encode("s3cret");
        assert_eq!(
            codes(
                &mut session,
                &["EHLO x", "AUTH LOGIN", &user, &password, "MAIL FROM:<a@b>"]
            ),
            vec![250, 334, 334, 235, 250]
        );
        let mut cancelled = self::session(true);
        assert_eq!(
            codes(&mut cancelled, &["EHLO x", "AUTH LOGIN", "*", "NOOP"]),
            vec![250, 334, 501, 250]
        );
        let mut plain = self::session(true);
        assert_eq!(
            codes(
                &mut plain,
                &["EHLO x", "AUTH PLAIN", &plain_line(), "AUTH PLAIN"]
            ),
            vec![250, 334, 235, 503]
        );
    }

    fn plain_line() -> String {
        plain("camera", "s3cret")
    }

    #[test]
    fn auth_failures_are_answered_later_each_time_and_the_last_closes() {
        let mut session = session(true);
        session.handle(line("EHLO x"));
        let wrong = format!("AUTH PLAIN {}", plain("camera", "guess"));
        let delays: Vec<(u16, Duration)> = (0..3)
            .map(|_| match session.handle(line(&wrong)) {
                Step::Reply(reply) | Step::Close(reply) => (reply.code(), reply.delay),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            delays,
            vec![
                (535, Duration::from_secs(1)),
                (535, Duration::from_secs(2)),
                (421, Duration::from_secs(3))
            ]
        );
        assert!(session.closed());
        // Not base64 at all: a failure too, not a panic.
        let mut garbage = self::session(true);
        assert_eq!(
            codes(
                &mut garbage,
                &["EHLO x", "AUTH PLAIN !!!", "AUTH PLAIN =", "AUTH LOGIN ***"]
            ),
            vec![250, 501, 535, 501]
        );
    }

    #[test]
    fn a_session_ends_after_too_many_commands_or_errors() {
        let mut session = session(false);
        let noops: Vec<&str> = vec!["NOOP"; 200];
        assert!(codes(&mut session, &noops).iter().all(|&code| code == 250));
        assert_eq!(
            session.handle(line("NOOP")),
            Step::Close(Reply::now("421 4.7.0 Too many commands, closing"))
        );
        let mut errors = self::session(false);
        let junk: Vec<&str> = vec!["BOGUS"; 20];
        assert!(codes(&mut errors, &junk).iter().all(|&code| code == 500));
        assert_eq!(
            errors.handle(line("BOGUS")),
            Step::Close(Reply::now("421 4.7.0 Too many errors, closing"))
        );
    }

    #[test]
    fn a_full_disk_refuses_mail_for_now() {
        let full = Arc::new(AtomicBool::new(true));
        let mut session = Session::new("ipcam", None, Limits::default(), Arc::clone(&full), "test");
        assert_eq!(
            codes(&mut session, &["HELO x", "MAIL FROM:<a@b>"]),
            vec![250, 452]
        );
        full.store(false, Ordering::Relaxed);
        assert_eq!(codes(&mut session, &["MAIL FROM:<a@b>"]), vec![250]);
        let Step::Reply(reply) = session.delivered(Err(Refusal::NoRoom)) else {
            panic!()
        };
        assert_eq!(reply.code(), 452);
    }

    #[test]
    fn an_oversized_message_is_refused_and_the_session_goes_on() {
        let mut session = session(false);
        assert_eq!(
            codes(&mut session, &["HELO x", "MAIL FROM:<a@b> SIZE=101"]),
            vec![250, 552]
        );
        codes(&mut session, &["MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA"]);
        let Step::Reply(reply) = session.handle(Frame::Data(Data::TooLarge(500))) else {
            panic!()
        };
        assert_eq!(reply.code(), 552);
        assert_eq!(session.state, State::Ready);
        assert_eq!(codes(&mut session, &["MAIL FROM:<a@b>"]), vec![250]);
    }

    #[test]
    fn a_line_too_long_is_refused_and_ends_an_auth_exchange() {
        let mut session = session(true);
        codes(&mut session, &["EHLO x", "AUTH LOGIN"]);
        assert_eq!(
            session.handle(Frame::TooLong),
            Step::Reply(Reply::now("500 5.5.2 Line too long"))
        );
        assert_eq!(session.state, State::Ready);
    }

    #[test]
    fn replies_carry_no_control_characters_from_the_client() {
        let mut session = session(false);
        let Step::Reply(reply) = session.handle(line("EHLO a\rb\x07")) else {
            panic!()
        };
        assert!(
            reply.text.starts_with("250-ipcam greets a b "),
            "{}",
            reply.text
        );
        let Step::Reply(reply) = session.delivered(Err(Refusal::Permanent("x\r\n250 fake".into())))
        else {
            panic!()
        };
        assert_eq!(reply.text, "554 5.6.0 x  250 fake");
    }
}
