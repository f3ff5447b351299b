//! `ipcam serve` against clients that hold on: the three checks a server
//! on a shared home network must pass. A camera's message gets through
//! while 80 clients are stuck half-way through a line; SIGINT or SIGTERM
//! ends the server within 10 s while such clients stay connected; an HTTP
//! client that sends half its headers is dropped within 60 s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{SmtpTransport, Transport};

mod serve_server;
use serve_server::{sample, stuck_smtp_client, Server};

const CAMERAS: &str = r#"
[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]

[serve]
username = "camera"
password = "s3cret"
"#;

/// Clients stuck at once, as in the attack that was seen.
const STUCK: usize = 80;

fn camera_envelope() -> Envelope {
    Envelope::new(
        Some("frontdoor@cams.example.com".parse().unwrap()),
        vec!["alerts@home.example".parse().unwrap()],
    )
    .unwrap()
}

#[test]
fn a_camera_gets_through_while_80_clients_are_stuck_mid_line() {
    let server = Server::start("doors-stuck", CAMERAS);
    let stuck: Vec<TcpStream> = (0..STUCK)
        .map(|_| stuck_smtp_client(server.smtp, 5_000))
        .collect();
    // Their bytes reach the server before the camera connects.
    std::thread::sleep(Duration::from_secs(1));
    let camera = SmtpTransport::builder_dangerous(server.smtp.ip().to_string())
        .port(server.smtp.port())
        .credentials(Credentials::new("camera".into(), "s3cret".into()))
        .authentication(vec![Mechanism::Plain])
        // A generous bound: a server that parks the camera never answers.
        .timeout(Some(Duration::from_secs(60)))
        .build();
    let answer = camera.send_raw(&camera_envelope(), &sample("frontdoor_person.eml"));
    let log = server.log_lines();
    let answer =
        answer.unwrap_or_else(|err| panic!("the camera was not let through: {err}\n{log:#?}"));
    assert_eq!(answer.code().to_string(), "250");
    drop(stuck);
    let stopped = server.stop();
    assert!(stopped.status.success(), "{:#?}", stopped.log);
}

#[test]
fn sigint_ends_the_server_within_10_s_while_clients_are_stuck() {
    let mut server = Server::start("doors-sigint", CAMERAS);
    let _stuck: Vec<TcpStream> = (0..STUCK)
        .map(|_| stuck_smtp_client(server.smtp, 5_000))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let asked = Instant::now();
    server.signal("INT");
    let status = server.wait_for_exit(Duration::from_secs(10));
    let log = server.log_lines();
    let status = status.unwrap_or_else(|| {
        panic!("still running 10 s after SIGINT with {STUCK} stuck clients\n{log:#?}")
    });
    assert!(status.success(), "{log:#?}");
    eprintln!("stopped {:?} after SIGINT", asked.elapsed());
}

#[test]
fn sigterm_ends_the_server_within_10_s_while_clients_are_stuck() {
    let mut server = Server::start("doors-sigterm", CAMERAS);
    let _stuck: Vec<TcpStream> = (0..3)
        .map(|_| stuck_smtp_client(server.smtp, 5_000))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    server.signal("TERM");
    let status = server.wait_for_exit(Duration::from_secs(10));
    let log = server.log_lines();
    let status = status.unwrap_or_else(|| {
        panic!("still running 10 s after SIGTERM with 3 stuck clients\n{log:#?}")
    });
    assert!(status.success(), "{log:#?}");
}

#[test]
fn an_http_client_with_half_its_headers_is_dropped_within_60_s() {
    let server = Server::start("doors-headers", CAMERAS);
    let mut client = TcpStream::connect(server.http).unwrap();
    write!(
        client,
        "POST /inbound HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-",
        server.http
    )
    .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut answer = Vec::new();
    let dropped = match client.read_to_end(&mut answer) {
        Ok(_) => true,
        Err(err) => !matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    assert!(
        dropped,
        "the connection was still open after 60 s (answer so far: {:?})",
        String::from_utf8_lossy(&answer)
    );
    let stopped = server.stop();
    assert!(stopped.status.success(), "{:#?}", stopped.log);
}
