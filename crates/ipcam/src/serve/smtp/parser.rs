//! The SMTP wire format without any I/O (as Stalwart's `smtp-proto`):
//! bytes go in with [`Framer::push`], whole command lines and whole
//! messages come out of [`Framer::next`], and [`Command::parse`] reads a
//! line. Nothing here waits, allocates without bound or panics, whatever
//! the bytes: the fuzz target `smtp` feeds it arbitrary input.
//!
//! # Where a message ends
//!
//! The data of a message ends only at `<CR><LF>.<CR><LF>` (RFC 5321
//! §4.1.1.4), with the dot at the start of a line that itself began after
//! a `<CR><LF>`. A bare LF never ends a line here: `<LF>.<LF>`,
//! `<LF>.<CR><LF>` and `<CR><LF>.<LF>` are kept as part of the message.
//! Servers that disagree on where a message ends can be made to read a
//! second, forged message smuggled inside the first (SMTP smuggling,
//! CVE-2023-51764/51765/51766): a relay in front of `ipcam serve` that
//! passes a bare-LF dot through would otherwise let a sender append a
//! message with a `From:` of its choosing. Taking only the one ending the
//! RFC allows is what Stalwart and Postfix (`smtpd_forbid_bare_newline`)
//! do; a camera that ended its data with a bare LF would time out rather
//! than have its message split, and cameras' SMTP clients write CRLF.
//!
//! Command lines, by contrast, may end with a bare LF: a line is one
//! command whatever its ending, so leniency there smuggles nothing.

/// Longest command line taken, without its line end (RFC 5321
/// §4.5.3.1.4 says 512 octets; some cameras write long AUTH lines). A
/// longer line is read to its end and dropped, and reported as
/// [`Frame::TooLong`].
pub const MAX_LINE: usize = 4096;

/// What the framer has found in the bytes pushed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One command line, without its line end.
    Line(Vec<u8>),
    /// A command line longer than [`MAX_LINE`], dropped up to its end.
    TooLong,
    /// The message whose data started with [`Framer::start_data`] ended.
    Data(Data),
}

/// A message's data, once its final dot has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// The message, dot-unstuffed (RFC 5321 §4.5.2).
    Complete(Vec<u8>),
    /// More than the limit came: the count of bytes received (the message
    /// itself was dropped as it arrived, so that it takes no memory).
    TooLarge(u64),
}

/// Splits the bytes of a connection into command lines and messages.
#[derive(Debug, Default)]
pub struct Framer {
    /// Bytes of command lines not yet returned.
    pending: Vec<u8>,
    /// A line too long is being skipped up to its end.
    skipping: bool,
    /// The message being received, when in data mode.
    data: Option<DataReader>,
    /// A message that ended, not yet returned.
    ended: Option<Data>,
}

impl Framer {
    pub fn new() -> Self {
        Framer::default()
    }

    /// Takes bytes read from the connection. Call [`Framer::next`] until
    /// it returns `None` after each push: the framer keeps at most one
    /// partial line (of at most [`MAX_LINE`] bytes) besides what it was
    /// last given.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if let Some(reader) = &mut self.data {
            match reader.feed(bytes) {
                Some(used) => {
                    self.ended = self.data.take().map(DataReader::finish);
                    bytes = &bytes[used..];
                }
                None => return,
            }
        }
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete frame, if the bytes pushed hold one.
    pub fn next(&mut self) -> Option<Frame> {
        if let Some(data) = self.ended.take() {
            return Some(Frame::Data(data));
        }
        if self.data.is_some() {
            return None;
        }
        let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') else {
            if self.pending.len() > MAX_LINE + 1 {
                // No end in sight: forget what came, remember to skip the
                // rest of the line.
                self.pending.clear();
                self.skipping = true;
            }
            return None;
        };
        let mut line: Vec<u8> = self.pending.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if std::mem::take(&mut self.skipping) || line.len() > MAX_LINE {
            return Some(Frame::TooLong);
        }
        Some(Frame::Line(line))
    }

    /// From now on the bytes are a message's data, up to its final dot;
    /// past `limit` bytes it is counted, not kept. Bytes already pushed
    /// after the `DATA` line (a client that did not wait for `354`) count
    /// as data.
    pub fn start_data(&mut self, limit: u64) {
        let mut reader = DataReader::new(limit);
        let pending = std::mem::take(&mut self.pending);
        self.skipping = false;
        match reader.feed(&pending) {
            Some(used) => {
                self.ended = Some(reader.finish());
                self.pending = pending[used..].to_vec();
            }
            None => self.data = Some(reader),
        }
    }

    /// True while a message's data is being received.
    pub fn in_data(&self) -> bool {
        self.data.is_some()
    }
}

/// Where the data reader is in the line it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a line (after `<CR><LF>`, or the first byte).
    LineStart,
    /// Inside a line.
    Middle,
    /// Just after a `<CR>` inside a line.
    AfterCr,
    /// A dot at the start of a line: dot-stuffing, or the end.
    Dot,
    /// A dot and a `<CR>` at the start of a line: the end if `<LF>` comes.
    DotCr,
}

/// Reads a message's data up to `<CR><LF>.<CR><LF>`, undoing dot-stuffing.
#[derive(Debug)]
struct DataReader {
    limit: u64,
    kept: Vec<u8>,
    total: u64,
    at: At,
}

impl DataReader {
    fn new(limit: u64) -> Self {
        DataReader {
            limit,
            kept: Vec::new(),
            total: 0,
            at: At::LineStart,
        }
    }

    fn keep(&mut self, byte: u8) {
        self.total = self.total.saturating_add(1);
        if self.total <= self.limit {
            self.kept.push(byte);
        } else if !self.kept.is_empty() {
            self.kept = Vec::new();
        }
    }

    /// A byte inside a line (not the first of a line).
    fn middle(&mut self, byte: u8) {
        self.keep(byte);
        self.at = if byte == b'\r' {
            At::AfterCr
        } else {
            At::Middle
        };
    }

    /// Takes bytes; `Some(n)` once the final dot line ends at `bytes[n - 1]`.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (index, &byte) in bytes.iter().enumerate() {
            match self.at {
                At::LineStart if byte == b'.' => self.at = At::Dot,
                At::LineStart | At::Middle => self.middle(byte),
                At::AfterCr if byte == b'\n' => {
                    self.keep(byte);
                    self.at = At::LineStart;
                }
                At::AfterCr => self.middle(byte),
                At::Dot if byte == b'\r' => self.at = At::DotCr,
                // The dot was stuffing: it is dropped, the line goes on.
                At::Dot => self.middle(byte),
                At::DotCr if byte == b'\n' => return Some(index + 1),
                // `.<CR>` then something else: the dot was stuffing.
                At::DotCr => {
                    self.keep(b'\r');
                    self.middle(byte);
                }
            }
        }
        None
    }

    fn finish(self) -> Data {
        if self.total > self.limit {
            Data::TooLarge(self.total)
        } else {
            Data::Complete(self.kept)
        }
    }
}

/// One command, as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ehlo(String),
    Helo(String),
    /// `AUTH mechanism [initial-response]`; the mechanism in capitals.
    Auth {
        mechanism: String,
        initial: Option<String>,
    },
    /// `MAIL FROM:<address> [SIZE=n]`.
    Mail {
        from: String,
        size: Option<u64>,
    },
    /// `RCPT TO:<address>`.
    Rcpt {
        to: String,
    },
    Data,
    Rset,
    Noop,
    Vrfy,
    Help,
    Quit,
    StartTls,
    /// A known verb whose argument cannot be read; the reply says how to
    /// write it.
    Syntax(&'static str),
    /// A verb this server does not know.
    Unknown,
}

impl Command {
    /// Reads a command line (without its line end). Verbs are
    /// case-insensitive; arguments keep their case.
    pub fn parse(line: &[u8]) -> Command {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_matches(|c: char| c == ' ' || c == '\t');
        let (verb, argument) = match line.split_once([' ', '\t']) {
            Some((verb, argument)) => (verb, argument.trim()),
            None => (line, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => Command::Ehlo(argument.to_string()),
            "HELO" => Command::Helo(argument.to_string()),
            "AUTH" => {
                let (mechanism, initial) = match argument.split_once([' ', '\t']) {
                    Some((mechanism, initial)) => (mechanism, Some(initial.trim().to_string())),
                    None => (argument, None),
                };
                if mechanism.is_empty() {
                    return Command::Syntax("501 5.5.4 Syntax: AUTH mechanism");
                }
                Command::Auth {
                    mechanism: mechanism.to_ascii_uppercase(),
                    initial,
                }
            }
            "MAIL" => match path_argument(argument, "FROM:") {
                Some((from, parameters)) => Command::Mail {
                    from,
                    size: declared_size(&parameters),
                },
                None => Command::Syntax("501 5.5.4 Syntax: MAIL FROM:<address>"),
            },
            "RCPT" => match path_argument(argument, "TO:") {
                Some((to, _)) if !to.is_empty() => Command::Rcpt { to },
                Some(_) => Command::Syntax("501 5.1.3 An empty recipient is not allowed"),
                None => Command::Syntax("501 5.5.4 Syntax: RCPT TO:<address>"),
            },
            "DATA" => Command::Data,
            "RSET" => Command::Rset,
            "NOOP" => Command::Noop,
            "VRFY" => Command::Vrfy,
            "HELP" => Command::Help,
            "QUIT" => Command::Quit,
            "STARTTLS" => Command::StartTls,
            _ => Command::Unknown,
        }
    }
}

/// The `SIZE=` parameter of MAIL (RFC 1870), when it is a number.
fn declared_size(parameters: &str) -> Option<u64> {
    parameters.split_whitespace().find_map(|parameter| {
        let (key, value) = parameter.split_once('=')?;
        key.eq_ignore_ascii_case("SIZE")
            .then(|| value.parse::<u64>().ok())
            .flatten()
    })
}

/// The address of `FROM:<a@b> SIZE=1` (or `TO:`), and the parameters after
/// it. Accepts the common sloppy forms `FROM: <a@b>` and `FROM:a@b`.
fn path_argument(argument: &str, keyword: &str) -> Option<(String, String)> {
    let head = argument.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = argument.get(keyword.len()..)?.trim_start();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]], data_after_line: Option<usize>, limit: u64) -> Vec<Frame> {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk);
            while let Some(frame) = framer.next() {
                let is_line = matches!(frame, Frame::Line(_));
                out.push(frame);
                if is_line && Some(out.len()) == data_after_line {
                    framer.start_data(limit);
                }
            }
        }
        out
    }

    fn line(text: &str) -> Frame {
        Frame::Line(text.as_bytes().to_vec())
    }

    #[test]
    fn lines_end_with_crlf_or_a_bare_lf_in_any_chunking() {
        let input = b"EHLO cam\r\nNOOP\nQUIT\r\n";
        for split in 0..input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(
                frames(&[a, b], None, 0),
                vec![line("EHLO cam"), line("NOOP"), line("QUIT")],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_line_too_long_is_skipped_to_its_end_and_reported_once() {
        let long = vec![b'a'; MAX_LINE * 3];
        let out = frames(&[b"EHLO x\r\n", &long, &long, b"aaa\r\nNOOP\r\n"], None, 0);
        assert_eq!(out, vec![line("EHLO x"), Frame::TooLong, line("NOOP")]);
        // A line of exactly the limit is taken.
        let mut exact = vec![b'b'; MAX_LINE];
        exact.extend_from_slice(b"\r\n");
        assert_eq!(
            frames(&[&exact], None, 0),
            vec![Frame::Line(vec![b'b'; MAX_LINE])]
        );
    }

    #[test]
    fn a_line_without_end_keeps_at_most_the_limit_in_memory() {
        let mut framer = Framer::new();
        for _ in 0..1000 {
            framer.push(&[b'x'; 1000]);
            assert_eq!(framer.next(), None);
            assert!(framer.pending.len() <= MAX_LINE + 1000 + 1);
        }
    }

    #[test]
    fn data_ends_at_crlf_dot_crlf_and_is_unstuffed() {
        let out = frames(
            &[b"DATA\r\nSubject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n"],
            Some(1),
            1000,
        );
        assert_eq!(
            out,
            vec![
                line("DATA"),
                Frame::Data(Data::Complete(
                    b"Subject: x\r\n\r\n.leading dot\r\n".to_vec()
                )),
                line("QUIT"),
            ]
        );
    }

    #[test]
    fn data_split_anywhere_reads_the_same() {
        let input: &[u8] = b"DATA\r\na\r\n..b\r\n.c\r\n.\r\nNOOP\r\n";
        let whole = frames(&[input], Some(1), 1000);
        assert_eq!(
            whole[1],
            Frame::Data(Data::Complete(b"a\r\n.b\r\nc\r\n".to_vec()))
        );
        for split in 0..input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(frames(&[a, b], Some(1), 1000), whole, "split at {split}");
        }
    }

    #[test]
    fn an_empty_message_is_a_lone_dot() {
        let out = frames(&[b"DATA\r\n.\r\n"], Some(1), 10);
        assert_eq!(out[1], Frame::Data(Data::Complete(Vec::new())));
    }

    /// SMTP smuggling: only `<CR><LF>.<CR><LF>` ends the data; the bare-LF
    /// forms stay in the message, so a second message cannot be slipped
    /// in after them.
    #[test]
    fn a_bare_lf_dot_does_not_end_the_data() {
        for smuggled in [
            &b"a\n.\nMAIL FROM:<x@evil>\r\n"[..],
            b"a\r\n.\nMAIL FROM:<x@evil>\r\n",
            b"a\n.\r\nMAIL FROM:<x@evil>\r\n",
            b"a\r.\r\nMAIL FROM:<x@evil>\r\n",
        ] {
            let mut input = b"DATA\r\n".to_vec();
            input.extend_from_slice(smuggled);
            let out = frames(&[&input], Some(1), 1000);
            assert_eq!(
                out.len(),
                1,
                "{:?}: {out:?}",
                String::from_utf8_lossy(smuggled)
            );
            input.extend_from_slice(b".\r\n");
            let out = frames(&[&input], Some(1), 1000);
            let Frame::Data(Data::Complete(message)) = &out[1] else {
                panic!("{out:?}");
            };
            assert!(
                message.windows(14).any(|w| w == b"MAIL FROM:<x@e"),
                "the smuggled command stays in the message: {:?}",
                String::from_utf8_lossy(message)
            );
        }
    }

    #[test]
    fn data_over_the_limit_is_counted_not_kept() {
        let out = frames(&[b"DATA\r\n0123456789\r\n0123456789\r\n.\r\n"], Some(1), 15);
        assert_eq!(out[1], Frame::Data(Data::TooLarge(24)));
    }

    #[test]
    fn bytes_sent_before_354_count_as_data() {
        let mut framer = Framer::new();
        framer.push(b"DATA\r\nhello\r\n.\r\nQUIT\r\n");
        assert_eq!(framer.next(), Some(line("DATA")));
        framer.start_data(100);
        assert_eq!(
            framer.next(),
            Some(Frame::Data(Data::Complete(b"hello\r\n".to_vec())))
        );
        assert_eq!(framer.next(), Some(line("QUIT")));
        assert!(!framer.in_data());
    }

    #[test]
    fn commands_are_read_case_insensitively_with_sloppy_paths() {
        assert_eq!(
            Command::parse(b"mail FROM:<cam@x.example> SIZE=1200"),
            Command::Mail {
                from: "cam@x.example".into(),
                size: Some(1200)
            }
        );
        assert_eq!(
            Command::parse(b"MAIL from: <cam@x.example>"),
            Command::Mail {
                from: "cam@x.example".into(),
                size: None
            }
        );
        assert_eq!(
            Command::parse(b"RCPT To:alerts@home.example"),
            Command::Rcpt {
                to: "alerts@home.example".into()
            }
        );
        assert_eq!(
            Command::parse(b"MAIL <cam@x>"),
            Command::Syntax("501 5.5.4 Syntax: MAIL FROM:<address>")
        );
        assert!(matches!(Command::parse(b"RCPT TO:<>"), Command::Syntax(_)));
        assert_eq!(
            Command::parse(b"auth plain AGNhbQBwdw=="),
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGNhbQBwdw==".into())
            }
        );
        assert_eq!(Command::parse(b"  noop  "), Command::Noop);
        assert_eq!(Command::parse(b"\xff\xfe"), Command::Unknown);
        assert_eq!(
            Command::parse(b"MAIL FROM:\xc3"),
            Command::Mail {
                from: "\u{fffd}".into(),
                size: None
            }
        );
    }
}
