//! `ipcam serve`'s limits on what a client may take: connections beyond
//! the cap are refused at once (SMTP `421`, HTTP `503`); a post is judged
//! by its credentials before its body is read, a post too large is
//! answered `200` (SendGrid retries anything else for three days), and a
//! body that stalls is dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine;

mod serve_server;
use serve_server::{stuck_smtp_client, Server};

const CAMERAS: &str = r#"
[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]

[ingest]
max_message_bytes = 100000

[serve]
username = "camera"
password = "s3cret"
"#;

/// The default cap on connections, for each server.
const CAP: usize = 256;

fn basic(user_and_password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(user_and_password)
}

/// Writes `head` (request line and headers) and `body`, then reads the
/// answer until the server closes, within `bound`; `None` if the server
/// said nothing by then.
fn exchange(to: SocketAddr, head: &str, body: &[u8], bound: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(to).unwrap();
    stream.set_read_timeout(Some(bound)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer, and close, before taking the whole body.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) && answer.is_empty() =>
        {
            return None
        }
        Err(_) => {}
    }
    Some(String::from_utf8_lossy(&answer).into_owned())
}

fn status_of(answer: &str) -> Option<u16> {
    answer.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn wrong_credentials_are_refused_before_the_body_is_read() {
    let server = Server::start("limits-credentials", CAMERAS);
    // A body of 1 MB is announced and never sent.
    let head = format!(
        "POST /inbound HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n",
        basic("camera:guess")
    );
    let answer = exchange(server.http, &head, b"", Duration::from_secs(20));
    let answer = answer.expect("no answer within 20 s: the server waits for the body");
    assert_eq!(status_of(&answer), Some(401), "{answer}");
    let stopped = server.stop();
    assert!(stopped.status.success());
}

#[test]
fn a_post_too_large_is_answered_200_so_that_sendgrid_does_not_retry_it() {
    let server = Server::start("limits-large", CAMERAS);
    // More than a message of 100 000 bytes can need (2 × 100 000 + 1 MiB).
    let body = vec![b'x'; 1_500_000];
    let head = format!(
        "POST /inbound HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
        basic("camera:s3cret"),
        body.len()
    );
    let answer = exchange(server.http, &head, &body, Duration::from_secs(60)).expect("an answer");
    assert_eq!(status_of(&answer), Some(200), "{answer}");
    assert!(answer.contains("larger than the limit"), "{answer}");
    let stopped = server.stop();
    assert!(stopped.status.success());
    assert!(stopped.alerts.is_empty());
    assert!(
        stopped
            .log
            .iter()
            .any(|line| line.contains("post refused: larger than the limit")),
        "{:#?}",
        stopped.log
    );
}

#[test]
fn a_post_whose_body_stalls_is_dropped_within_90_s() {
    let server = Server::start("limits-stall", CAMERAS);
    let head = format!(
        "POST /inbound HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000\r\n\r\n",
        basic("camera:s3cret")
    );
    let answer = exchange(server.http, &head, b"--b\r\nhalf", Duration::from_secs(90));
    assert!(answer.is_some(), "still open after 90 s with half a body");
    let stopped = server.stop();
    assert!(stopped.status.success());
}

#[test]
fn an_smtp_connection_beyond_the_cap_is_answered_421_at_once() {
    let server = Server::start("limits-smtp-cap", CAMERAS);
    let held: Vec<TcpStream> = (0..CAP)
        .map(|_| stuck_smtp_client(server.smtp, 100))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut one_more = TcpStream::connect(server.smtp).unwrap();
    one_more
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut greeting = [0_u8; 64];
    let read = one_more.read(&mut greeting);
    let greeting = String::from_utf8_lossy(&greeting[..*read.as_ref().unwrap_or(&0)]).into_owned();
    assert!(
        greeting.starts_with("421 "),
        "the connection beyond the cap heard {greeting:?} ({read:?})"
    );
    drop(held);
    let stopped = server.stop();
    assert!(stopped.status.success());
}

#[test]
fn an_http_connection_beyond_the_cap_is_answered_503_at_once() {
    let server = Server::start("limits-http-cap", CAMERAS);
    let held: Vec<TcpStream> = (0..CAP)
        .map(|_| {
            let mut stream = TcpStream::connect(server.http).unwrap();
            stream.write_all(b"POST /inbound HTTP/1.1\r\nHo").unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let answer = exchange(
        server.http,
        "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"",
        Duration::from_secs(5),
    );
    let answer = answer.expect("no answer within 5 s beyond the cap");
    assert_eq!(status_of(&answer), Some(503), "{answer}");
    drop(held);
    let stopped = server.stop();
    assert!(stopped.status.success());
}

#[test]
fn a_nearly_full_disk_refuses_messages_for_now_rather_than_losing_them() {
    // Nearly a petabyte free is asked for: no disk here has it.
    let config = format!("{CAMERAS}min_free_mib = 1000000000\n");
    let server = Server::start("limits-disk", &config);
    let mut smtp = TcpStream::connect(server.smtp).unwrap();
    smtp.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let auth = basic("\0camera\0s3cret");
    write!(
        smtp,
        "EHLO cam\r\nAUTH PLAIN {auth}\r\nMAIL FROM:<frontdoor@cams.example.com>\r\nQUIT\r\n"
    )
    .unwrap();
    let mut replies = String::new();
    let _ = smtp.read_to_string(&mut replies);
    assert!(replies.contains("\r\n452 4.3.1 "), "{replies}");
    let head = format!(
        "POST /inbound HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 10\r\n\r\n",
        basic("camera:s3cret")
    );
    let answer = exchange(server.http, &head, b"0123456789", Duration::from_secs(20)).unwrap();
    assert_eq!(status_of(&answer), Some(503), "{answer}");
    let stopped = server.stop();
    assert!(stopped.status.success());
    assert!(
        stopped.log.iter().any(|line| line.contains("nearly full")),
        "{:#?}",
        stopped.log
    );
}
