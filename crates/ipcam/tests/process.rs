//! `ipcam process` on the bundled sample e-mails, with the real model: the
//! decisions `make demo` shows a new user.

mod common;
mod mail_sink;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{ipcam, scratch};
use mail_sink::MailSink;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect()
}

#[test]
fn the_visitor_alerts_and_the_empty_garden_does_not() {
    let out = scratch("samples");
    let front = samples().join("frontdoor_person.eml");
    let garden = samples().join("garden_empty.eml");
    let output = ipcam(&[
        "process",
        "--json",
        "--out",
        out.to_str().unwrap(),
        front.to_str().unwrap(),
        garden.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "one line per e-mail: {lines:#?}");

    let visitor = &lines[0];
    assert_eq!(visitor["file"], front.to_str().unwrap());
    assert_eq!(visitor["alert"], true, "{visitor:#}");
    assert_eq!(visitor["matches"][0]["label"], "Person", "{visitor:#}");
    assert!(visitor["matches"][0]["confidence"].as_f64().unwrap() >= 60.0);
    assert_eq!(visitor["frames"].as_array().unwrap().len(), 1);
    assert_eq!(visitor["frames"][0]["analysed"], true);
    let annotated = PathBuf::from(visitor["annotated"][0].as_str().unwrap());
    let picture = std::fs::read(&annotated).unwrap();
    assert!(
        picture.starts_with(&[0xFF, 0xD8]),
        "the annotated picture is a JPEG"
    );

    let garden_line = &lines[1];
    assert_eq!(garden_line["alert"], false, "{garden_line:#}");
    assert_eq!(garden_line["matches"].as_array().unwrap().len(), 0);
    assert_eq!(garden_line["annotated"].as_array().unwrap().len(), 0);
    assert_eq!(garden_line["frames"][0]["analysed"], true);

    // The notify stage wrote the one alert to the JSON-lines file.
    let alerts = std::fs::read_to_string(out.join("alerts.jsonl")).unwrap();
    let alerts: Vec<serde_json::Value> = alerts
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["labels"][0], "Person");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_bad_file_is_reported_and_the_others_still_run() {
    let out = scratch("bad");
    let not_an_email = out.join("holiday.jpg.eml");
    std::fs::write(&not_an_email, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]).unwrap();
    let missing = out.join("missing.eml");
    let garden = samples().join("garden_empty.eml");
    let output = ipcam(&[
        "process",
        "--json",
        "--out",
        out.to_str().unwrap(),
        not_an_email.to_str().unwrap(),
        missing.to_str().unwrap(),
        garden.to_str().unwrap(),
    ]);
    assert!(!output.status.success(), "a failed file fails the command");
    let errors = String::from_utf8_lossy(&output.stderr);
    let error_lines: Vec<&str> = errors.lines().collect();
    assert_eq!(error_lines.len(), 2, "one line per bad file: {errors}");
    assert!(
        error_lines[0].contains("holiday.jpg.eml") && error_lines[0].contains("not a raw e-mail"),
        "{errors}"
    );
    assert!(
        error_lines[1].contains("missing.eml") && error_lines[1].contains("cannot read"),
        "{errors}"
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);
    assert!(lines[0]["error"].is_string());
    assert!(lines[1]["error"].is_string());
    assert_eq!(lines[2]["alert"], false);
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn the_readable_report_says_what_alerted_and_where_the_picture_is() {
    let out = scratch("readable");
    let config = out.join("ipcam.toml");
    std::fs::write(
        &config,
        "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\nlabels = [\"person\"]\n",
    )
    .unwrap();
    let front = samples().join("frontdoor_person.eml");
    let output = ipcam(&[
        "process",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        front.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("ALERT from camera frontdoor: Person"),
        "{report}"
    );
    assert!(report.contains("annotated picture:"), "{report}");
    assert!(
        report.contains("1 e-mail: 1 alerted, 0 without alert, 0 failed"),
        "{report}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn check_senders_lets_everyone_through_an_open_door_locally_and_warns_that_aws_would_not() {
    let out = scratch("open-door");
    let config = out.join("ipcam.toml");
    std::fs::write(
        &config,
        "[[cameras]]\nname = \"garden\"\nsubject = \"Garden\"\n",
    )
    .unwrap();
    let garden = samples().join("garden_empty.eml");
    let taken = ipcam(&[
        "process",
        "--json",
        "--check-senders",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        garden.to_str().unwrap(),
    ]);
    assert!(taken.status.success(), "{taken:?}");
    assert_eq!(json_lines(&taken)[0]["alert"], false);
    let warning = String::from_utf8_lossy(&taken.stderr);
    assert!(warning.contains("warning: the door is open"), "{warning}");
    assert!(
        warning.contains("on AWS every message is refused"),
        "{warning}"
    );
    assert!(warning.contains("allow_any_sender = true"), "{warning}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn check_senders_refuses_what_the_allow_list_does_not_name_and_only_then() {
    let out = scratch("check-senders");
    let config = out.join("ipcam.toml");
    std::fs::write(
        &config,
        "[ingest]\nallowed_senders = [\"someone@elsewhere.example\"]\n",
    )
    .unwrap();
    let garden = samples().join("garden_empty.eml");
    let run = |extra: &[&str]| {
        let mut arguments = vec![
            "process",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        arguments.extend_from_slice(extra);
        arguments.push(garden.to_str().unwrap());
        ipcam(&arguments)
    };

    let refused = run(&["--check-senders"]);
    assert!(!refused.status.success(), "{refused:?}");
    let line = &json_lines(&refused)[0];
    let error = line["error"].as_str().unwrap();
    assert!(error.contains("SenderNotAllowed"), "{line:#}");

    let taken = run(&[]);
    assert!(taken.status.success(), "{taken:?}");
    assert_eq!(json_lines(&taken)[0]["alert"], false);
}

#[test]
fn the_same_visitor_seen_again_by_a_later_run_is_stationary_not_a_second_alert() {
    let out = scratch("stationary");
    let front = samples().join("frontdoor_person.eml");
    let config = samples().join("ipcam.toml");
    let run = || {
        let output = ipcam(&[
            "process",
            "--json",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            front.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{output:?}");
        json_lines(&output).remove(0)
    };
    assert_eq!(run()["alert"], true);
    let again = run();
    assert_eq!(again["alert"], false, "{again:#}");
    let why = again["why"][0].as_str().unwrap_or_default();
    assert!(why.starts_with("person: stationary"), "{again:#}");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_snoozed_camera_is_not_analysed_until_the_snooze_is_lifted() {
    let out = scratch("snooze");
    let front = samples().join("frontdoor_person.eml");
    let config = samples().join("ipcam.toml");
    let config = config.to_str().unwrap();
    let store = out.to_str().unwrap();
    let snoozed = ipcam(&[
        "snooze",
        "frontdoor",
        "2h",
        "--config",
        config,
        "--store",
        store,
    ]);
    assert!(snoozed.status.success(), "{snoozed:?}");
    assert!(String::from_utf8_lossy(&snoozed.stdout).starts_with("frontdoor: snoozed until "));
    let process = || {
        let output = ipcam(&[
            "process",
            "--json",
            "--config",
            config,
            "--out",
            store,
            front.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{output:?}");
        json_lines(&output).remove(0)
    };
    let held = process();
    assert_eq!(held["alert"], false);
    assert!(
        held["hold"]
            .as_str()
            .unwrap_or_default()
            .starts_with("snoozed until"),
        "{held:#}"
    );
    assert_eq!(held["frames"].as_array().map(Vec::len), Some(0));

    let lifted = ipcam(&[
        "snooze",
        "frontdoor",
        "0s",
        "--config",
        config,
        "--store",
        store,
    ]);
    assert!(lifted.status.success(), "{lifted:?}");
    assert_eq!(process()["alert"], true);

    let unknown = ipcam(&[
        "snooze", "backyard", "1h", "--config", config, "--store", store,
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no camera `backyard`"));
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn the_alert_is_emailed_with_its_picture_through_the_configured_relay() {
    let out = scratch("email");
    let sink = MailSink::start();
    let config = out.join("ipcam.toml");
    std::fs::write(
        &config,
        format!(
            "[[cameras]]\nname = \"frontdoor\"\nfrom = \"frontdoor@cams.example.com\"\nlabels = [\"person\"]\ntimezone = \"Europe/Rome\"\n\n[alerts]\nemail_to = [\"owner@home.example\"]\nemail_from = \"Cameras <alerts@cams.example.com>\"\n\n[alerts.smtp]\nhost = \"127.0.0.1\"\nport = {}\nstarttls = false\n",
            sink.port
        ),
    )
    .unwrap();
    let front = samples().join("frontdoor_person.eml");
    let output = ipcam(&[
        "process",
        "--json",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        front.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(json_lines(&output)[0]["alert"], true);

    let mail = sink.received();
    assert_eq!(mail.from, "alerts@cams.example.com");
    assert_eq!(mail.to, ["owner@home.example"]);
    let message = mailparse::parse_mail(&mail.data).unwrap();
    let mut jpegs = 0;
    let mut text = String::new();
    let mut pending = vec![&message];
    while let Some(part) = pending.pop() {
        pending.extend(part.subparts.iter());
        match part.ctype.mimetype.as_str() {
            "image/jpeg" => {
                let picture = part.get_body_raw().unwrap();
                assert!(picture.starts_with(&[0xFF, 0xD8]), "a JPEG");
                jpegs += 1;
            }
            "text/plain" => text = part.get_body().unwrap(),
            _ => {}
        }
    }
    assert_eq!(jpegs, 2, "the picture inline and attached");
    assert!(text.contains("Camera frontdoor saw Person."), "{text}");
    assert!(
        text.contains("CET") || text.contains("CEST"),
        "the camera's time: {text}"
    );
    std::fs::remove_dir_all(out).unwrap();
}
