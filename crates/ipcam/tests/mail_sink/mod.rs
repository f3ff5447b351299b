//! A mail relay for the tests whose alerts go by e-mail.

/// A mail relay on loopback that takes one message over SMTP and hands
/// back its envelope and data: what the alert e-mails of `ipcam` reach in
/// a test, in place of the owner's provider.
pub struct MailSink {
    pub port: u16,
    received: std::thread::JoinHandle<std::io::Result<ReceivedMail>>,
}

/// What the sink was given.
#[derive(Debug)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

impl MailSink {
    pub fn start() -> MailSink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::thread::spawn(move || {
            let (stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
            serve_one(stream)
        });
        MailSink { port, received }
    }

    /// The message, once the client has said QUIT.
    pub fn received(self) -> ReceivedMail {
        self.received.join().unwrap().unwrap()
    }
}

fn serve_one(stream: std::net::TcpStream) -> std::io::Result<ReceivedMail> {
    use std::io::{BufRead, BufReader, Write};
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut mail = ReceivedMail {
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    writer.write_all(b"220 sink ready\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(mail);
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 sink\r\n"
        } else if let Some(from) = command.strip_prefix("MAIL FROM:") {
            mail.from = from.trim().trim_matches(['<', '>']).to_ascii_lowercase();
            b"250 OK\r\n"
        } else if let Some(to) = command.strip_prefix("RCPT TO:") {
            mail.to
                .push(to.trim().trim_matches(['<', '>']).to_ascii_lowercase());
            b"250 OK\r\n"
        } else if command == "DATA" {
            writer.write_all(b"354 go on\r\n")?;
            let mut data_line = Vec::new();
            loop {
                data_line.clear();
                reader.read_until(b'\n', &mut data_line)?;
                if data_line == b".\r\n" || data_line.is_empty() {
                    break;
                }
                mail.data.extend_from_slice(&data_line);
            }
            b"250 queued as sink-1\r\n"
        } else if command == "QUIT" {
            writer.write_all(b"221 bye\r\n")?;
            return Ok(mail);
        } else {
            b"250 OK\r\n"
        };
        writer.write_all(reply)?;
    }
}
