//! `ipcam serve` end to end: the real binary on loopback ports, a real SMTP
//! client (lettre), SendGrid-style posts over HTTP, the real model, and the
//! alert read back from the JSON-lines file.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use base64::Engine;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::{SmtpTransport, Transport};

mod mail_sink;
mod serve_server;
use mail_sink::MailSink;
use serve_server::{sample, Server};

const CAMERAS: &str = r#"
[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]

[ingest]
max_message_bytes = 1000000

[serve]
username = "camera"
password = "s3cret"
"#;

fn camera_envelope() -> Envelope {
    Envelope::new(
        Some("frontdoor@cams.example.com".parse().unwrap()),
        vec!["alerts@home.example".parse().unwrap()],
    )
    .unwrap()
}

/// Posts a SendGrid Inbound Parse "raw" form; returns the status code.
fn post_sendgrid(to: SocketAddr, raw_email: &[u8], user_and_password: &str) -> u16 {
    let boundary = "xYzZY";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nalerts@home.example\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(raw_email);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let authorization =
        base64::engine::general_purpose::STANDARD.encode(user_and_password.as_bytes());
    let mut stream = TcpStream::connect(to).unwrap();
    write!(
        stream,
        "POST /inbound HTTP/1.1\r\nHost: {to}\r\nAuthorization: Basic {authorization}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"))
}

#[test]
fn a_camera_email_over_smtp_raises_the_alert_once() {
    let server = Server::start("smtp", CAMERAS);
    let email = sample("frontdoor_person.eml");
    let camera = server.smtp_client(Mechanism::Plain, "s3cret");
    let answer = camera.send_raw(&camera_envelope(), &email).unwrap();
    assert_eq!(answer.code().to_string(), "250");

    let alerts = server.wait_for_alerts(1);
    assert_eq!(alerts.len(), 1, "the alert reached the JSON-lines file");
    assert_eq!(alerts[0]["camera"], "frontdoor");
    assert_eq!(alerts[0]["labels"][0], "Person");
    assert_eq!(alerts[0]["subject"], "Person at frontdoor");
    let snapshot = alerts[0]["snapshot"]["location"].as_str().unwrap();
    let picture = std::fs::read(snapshot).unwrap();
    assert!(
        picture.starts_with(&[0xFF, 0xD8, 0xFF]),
        "the alert points to the annotated picture, a JPEG"
    );

    // The camera did not hear our answer and sends the same message again:
    // accepted, and nothing new is run.
    let again = server.smtp_client(Mechanism::Login, "s3cret");
    again.send_raw(&camera_envelope(), &email).unwrap();
    let stopped = server.stop();
    let log = &stopped.log;
    assert!(stopped.status.success(), "{log:#?}");
    assert_eq!(
        stopped.alerts.len(),
        1,
        "one alert for one message sent twice"
    );
    assert!(
        log.iter()
            .any(|line| line.contains("smtp: message accepted")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|line| line.contains("the same message again")),
        "{log:#?}"
    );
    assert!(log.iter().any(|line| line.ends_with("stopped")), "{log:#?}");
}

#[test]
fn the_alert_of_a_camera_email_is_emailed_through_the_relay() {
    let relay = MailSink::start();
    let config = format!(
        "{CAMERAS}\n[alerts]\nemail_to = [\"owner@home.example\"]\nemail_from = \"alerts@cams.example.com\"\n[alerts.smtp]\nhost = \"127.0.0.1\"\nport = {}\nstarttls = false\n",
        relay.port
    );
    let server = Server::start("email", &config);
    let camera = server.smtp_client(Mechanism::Plain, "s3cret");
    camera
        .send_raw(&camera_envelope(), &sample("frontdoor_person.eml"))
        .unwrap();
    let mail = relay.received();
    assert_eq!(mail.to, ["owner@home.example"]);
    let text = String::from_utf8_lossy(&mail.data);
    assert!(text.contains("Subject: Person at frontdoor"), "{text}");
    assert!(text.contains("Content-Type: image/jpeg"), "{text}");
    let stopped = server.stop();
    assert_eq!(stopped.alerts.len(), 1);
}

#[test]
fn wrong_or_missing_credentials_are_refused() {
    let server = Server::start("credentials", CAMERAS);
    let email = sample("frontdoor_person.eml");
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let err = server
            .smtp_client(mechanism, "guess")
            .send_raw(&camera_envelope(), &email)
            .unwrap_err();
        assert_eq!(
            err.status().map(|code| code.to_string()).as_deref(),
            Some("535"),
            "{err}"
        );
    }
    let anonymous = SmtpTransport::builder_dangerous(server.smtp.ip().to_string())
        .port(server.smtp.port())
        .build();
    let err = anonymous.send_raw(&camera_envelope(), &email).unwrap_err();
    assert_eq!(
        err.status().map(|code| code.to_string()).as_deref(),
        Some("530"),
        "{err}"
    );
    assert_eq!(post_sendgrid(server.http, &email, "camera:guess"), 401);
    let stopped = server.stop();
    assert!(stopped.status.success());
    assert!(stopped.alerts.is_empty(), "nothing refused was run");
}

#[test]
fn a_stranger_writing_over_smtp_is_refused_and_nothing_is_run() {
    let server = Server::start("stranger", CAMERAS);
    let email = String::from_utf8(sample("frontdoor_person.eml"))
        .unwrap()
        .replace(
            "From: frontdoor@cams.example.com",
            "From: someone@stranger.example",
        );
    let err = server
        .smtp_client(Mechanism::Plain, "s3cret")
        .send_raw(&camera_envelope(), email.as_bytes())
        .unwrap_err();
    assert_eq!(
        err.status().map(|code| code.to_string()).as_deref(),
        Some("550"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("allowed_senders"),
        "the stranger is not told how the door is set: {err}"
    );
    let stopped = server.stop();
    assert!(stopped.status.success());
    assert!(stopped.alerts.is_empty(), "{:#?}", stopped.log);
    let log = &stopped.log;
    assert!(
        log.iter()
            .any(|line| line.contains("someone@stranger.example is neither in")),
        "{log:#?}"
    );
}

#[test]
fn a_sendgrid_post_raises_the_alert() {
    let server = Server::start("sendgrid", CAMERAS);
    let email = sample("frontdoor_person.eml");
    assert_eq!(post_sendgrid(server.http, &email, "camera:s3cret"), 200);
    let alerts = server.wait_for_alerts(1);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["camera"], "frontdoor");
    assert_eq!(alerts[0]["event"]["source"], "sendgrid");
    // SendGrid retries: the same post again starts nothing.
    assert_eq!(post_sendgrid(server.http, &email, "camera:s3cret"), 200);
    let stopped = server.stop();
    assert!(stopped.status.success());
    assert_eq!(stopped.alerts.len(), 1, "{:#?}", stopped.log);
}

#[test]
fn a_message_over_the_size_limit_gets_552() {
    let server = Server::start("size", &CAMERAS.replace("1000000", "100000"));
    let err = server
        .smtp_client(Mechanism::Plain, "s3cret")
        .send_raw(&camera_envelope(), &sample("frontdoor_person.eml"))
        .unwrap_err();
    assert_eq!(
        err.status().map(|code| code.to_string()).as_deref(),
        Some("552"),
        "{err}"
    );
    let stopped = server.stop();
    assert!(stopped.status.success());
    assert!(stopped.alerts.is_empty());
    let log = &stopped.log;
    assert!(
        log.iter()
            .any(|line| line.contains("larger than the limit")),
        "{log:#?}"
    );
}

#[test]
fn a_message_accepted_just_before_the_stop_is_still_run() {
    let server = Server::start("drain", CAMERAS);
    server
        .smtp_client(Mechanism::Plain, "s3cret")
        .send_raw(&camera_envelope(), &sample("frontdoor_person.eml"))
        .unwrap();
    // Stopped at once: the execution started for the message still ends.
    let stopped = server.stop();
    assert!(stopped.status.success(), "{:#?}", stopped.log);
    assert_eq!(stopped.alerts.len(), 1, "{:#?}", stopped.log);
}
