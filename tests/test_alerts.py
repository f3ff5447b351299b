"""Alerts people trust, end to end, on emulated AWS: the memory of alerts in
DynamoDB silences what a person has already been told (a cooldown, a parked
car, a second execution of the same moment), and an e-mail that cannot alert
(snoozed, quiet hours, every label cooling down) is never analysed. The
alert that does go out reaches its owner as an e-mail with the picture, and
a subscriber who filters on a camera hears that camera only. A camera with a
required zone alerts on a person standing in it, not on one passing by.

Time is the test's: each e-mail is received when its SES event says, and the
functions judge by that time, not by the clock. Each camera of the e-mails
below has the rules of its scenario in the shared configuration
(conftest.CONFIG_TOML), recognised by its secret address.
"""

from __future__ import annotations

import copy
import email
import email.policy
import json
import os
import re
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import pytest

from conftest import PERSON_AT_THE_DOOR, REPO, SECRET_ADDRESSES

FIXTURES = Path(__file__).parent / "fixtures"
# One snapshot serves every camera: SES's headers name the camera, and
# Rekognition says what each test has it see.
SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()
RECEIPT = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())

# Noon on a Sunday, UTC.
NOON = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def car_at(left: float, top: float) -> dict:
    return {
        "Name": "Car",
        "Confidence": 96.2,
        "Instances": [
            {"BoundingBox": {"Width": 0.3, "Height": 0.25, "Left": left, "Top": top}, "Confidence": 96.2}
        ],
        "Parents": [{"Name": "Vehicle"}, {"Name": "Transportation"}],
        "Aliases": [{"Name": "Automobile"}],
        "Categories": [{"Name": "Vehicles and Automotive"}],
    }


def person_at(left: float, top: float, size: tuple[float, float] | None = None) -> dict:
    """The person at the door, their box moved to `left`, `top` and, if
    given, resized to `size` (width, height), fractions of the picture."""
    [person] = [label for label in PERSON_AT_THE_DOOR if label["Name"] == "Person"]
    moved = copy.deepcopy(person)
    moved["Instances"][0]["BoundingBox"].update({"Left": left, "Top": top})
    if size is not None:
        moved["Instances"][0]["BoundingBox"].update({"Width": size[0], "Height": size[1]})
    return moved


def ses_receipt(camera: str, message_id: str, received_at: datetime) -> dict:
    """The SES receipt event of an e-mail `camera` wrote to its secret
    address."""
    receipt = copy.deepcopy(RECEIPT)
    ses = receipt["Records"][0]["ses"]
    sender = f"{camera}@cams.example.com"
    stamp = received_at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    ses["mail"]["timestamp"] = ses["receipt"]["timestamp"] = stamp
    ses["mail"]["messageId"] = message_id
    ses["mail"]["source"] = sender
    ses["mail"]["commonHeaders"]["from"] = [f"{camera.title()} Camera <{sender}>"]
    ses["mail"]["commonHeaders"]["returnPath"] = sender
    ses["receipt"]["recipients"] = [SECRET_ADDRESSES[camera]]
    for header in ses["mail"]["headers"]:
        if header["name"] in ("From", "Return-Path"):
            header["value"] = f"<{sender}>"
    return receipt


def frame(message_id: str) -> str:
    return f"frames/{message_id}/0.jpg"


def start(aws, camera: str, message_id: str, received_at: datetime) -> None:
    answer = aws.receive_by_ses(SNAPSHOT, ses_receipt(camera, message_id, received_at))
    assert answer["messages"][0]["outcome"].startswith("Started"), answer


def finished(aws, message_id: str) -> tuple[str, dict]:
    """The state an e-mail's execution ended in, and its output."""
    execution = aws.finished_execution(aws.execution_arn(message_id))
    assert execution["status"] == "SUCCEEDED", execution
    return aws.final_state(execution["executionArn"]), json.loads(execution["output"])


def receive(aws, camera: str, message_id: str, received_at: datetime) -> tuple[str, dict]:
    """Receives one e-mail through SES and waits for its execution."""
    start(aws, camera, message_id, received_at)
    return finished(aws, message_id)


def make_snooze(aws, tmp_path: Path, camera: str, duration: str) -> dict:
    """Runs `make snooze CAMERA=... FOR=...` with a stand-in for the AWS CLI
    that answers the stack's table name (as the stack's output gives it) and records what it was asked to
    write; returns the item `aws dynamodb put-item` was given."""
    calls = tmp_path / "aws-calls.jsonl"
    cli = tmp_path / "aws"
    cli.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(calls)!r}, 'a') as log:\n"
        "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1] == 'cloudformation':\n"
        f"    print({aws.alerts_table!r})\n"
    )
    cli.chmod(0o755)
    subprocess.run(
        ["make", "--no-print-directory", "-s", "snooze", f"CAMERA={camera}", f"FOR={duration}"],
        cwd=REPO,
        env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
        check=True,
    )
    describe, put = [json.loads(line) for line in calls.read_text().splitlines()]
    assert describe[:2] == ["cloudformation", "describe-stacks"]
    assert put[:2] == ["dynamodb", "put-item"]
    options = dict(zip(put[2::2], put[3::2]))
    assert options["--table-name"] == aws.alerts_table
    return json.loads(options["--item"])


def test_a_cooldown_holds_the_next_email_and_lets_one_through_once_it_has_passed(aws, rekognition):
    emails = [
        ("porch-first", NOON),
        ("porch-2min", NOON + timedelta(minutes=2)),
        ("porch-11min", NOON + timedelta(minutes=11)),
    ]
    for message_id, _ in emails:
        rekognition.sees(frame(message_id), PERSON_AT_THE_DOOR)

    outcomes = [receive(aws, "porch", message_id, at) for message_id, at in emails]

    assert [state for state, _ in outcomes] == ["Alerted", "NotAnalysed", "Alerted"]
    _, held = outcomes[1]
    assert held["hold"] == (
        "cooling down: every label the camera alerts on alerted recently, "
        "quiet until Sun 29 Nov 2026, 12:10:00 UTC"
    )
    assert held["frames"] == []
    assert not any(key.startswith("frames/porch-2min/") for key in aws.object_keys())
    # The held e-mail cost no Rekognition call.
    assert [call.key for call in rekognition.calls] == [frame("porch-first"), frame("porch-11min")]
    assert [alert.body["event"]["id"] for alert in aws.alerts()] == ["porch-first", "porch-11min"]


def test_an_email_in_quiet_hours_is_not_analysed_and_one_in_the_active_window_alerts(aws, rekognition):
    rekognition.sees(frame("garden-dawn"), PERSON_AT_THE_DOOR)
    rekognition.sees(frame("garden-noon"), PERSON_AT_THE_DOOR)

    state, output = receive(aws, "garden", "garden-dawn", NOON.replace(hour=6, minute=41, second=9))

    assert state == "NotAnalysed"
    assert output["camera"] == "garden"
    assert output["hold"] == "quiet hours: Sun 29 Nov 2026, 06:41:09 UTC is outside the camera's active windows"
    assert output["frames"] == []
    assert rekognition.calls == []
    assert aws.alerts() == []
    assert aws.remembered() == []

    state, _ = receive(aws, "garden", "garden-noon", NOON)

    assert state == "Alerted"
    assert [call.key for call in rekognition.calls] == [frame("garden-noon")]
    assert len(aws.alerts()) == 1


def test_a_parked_car_alerts_once_and_a_person_walking_past_it_still_alerts(aws, rekognition):
    parked = car_at(0.55, 0.5)
    rekognition.sees(frame("drive-parked"), [parked])
    rekognition.sees(frame("drive-still"), [parked])
    # The same car, its box a little off, as boxes of a still object are.
    rekognition.sees(frame("drive-still-again"), [car_at(0.56, 0.5)])
    rekognition.sees(frame("drive-visitor"), [parked, person_at(0.1, 0.3)])

    state, first = receive(aws, "drive", "drive-parked", NOON)
    assert state == "Alerted"
    [alert] = aws.alerts()
    assert alert.body["labels"] == ["Car"]

    for message_id, minutes in (("drive-still", 5), ("drive-still-again", 10)):
        state, output = receive(aws, "drive", message_id, NOON + timedelta(minutes=minutes))
        assert state == "NothingOfInterest", message_id
        assert output["analysis"]["alert"] is False
        assert output["analysis"]["why"] == [
            "car: stationary, where it was at the alert of Sun 29 Nov 2026, 12:00:00 UTC (event drive-parked)"
        ]
    assert aws.alerts() == []

    state, output = receive(aws, "drive", "drive-visitor", NOON + timedelta(minutes=15))

    assert state == "Alerted"
    [alert] = aws.alerts()
    assert alert.body["labels"] == ["Person"]
    assert [match["label"] for match in alert.body["matches"]] == ["Person"]
    assert output["analysis"]["why"] == [
        "car: stationary, where it was at the alert of Sun 29 Nov 2026, 12:00:00 UTC (event drive-parked)"
    ]
    assert len(rekognition.calls) == 4
    # The car is remembered as last seen by the latest e-mail, so it stays
    # quiet for as long as it keeps being seen.
    remembered = {item["entry"]["S"]: item for item in aws.remembered() if item["camera"]["S"] == "drive"}
    # Beside the labels, the notification of each e-mail that alerted.
    assert sorted(remembered) == ["label#car", "label#person", "notified#drive-parked", "notified#drive-visitor"]
    assert remembered["label#car"]["alertedAt"]["S"] == "2026-11-29T12:00:00Z"
    assert remembered["label#car"]["seenAt"]["S"] == "2026-11-29T12:15:00Z"
    assert remembered["label#person"]["event"]["S"] == "drive-visitor"


def test_two_executions_of_one_camera_received_together_alert_once(aws, rekognition, alert_writes):
    emails = ("frontdoor-one", "frontdoor-two")
    for message_id in emails:
        rekognition.sees(frame(message_id), PERSON_AT_THE_DOOR)
    # Both executions read the empty memory before either writes.
    alert_writes.hold_first(2)

    for message_id in emails:
        start(aws, "frontdoor", message_id, NOON)
    outcomes = {message_id: finished(aws, message_id) for message_id in emails}

    assert not alert_writes.gate_timed_out, "the two claims did not meet: the executions did not run together"
    claims = [write for write in alert_writes.writes if write.condition == "attribute_not_exists(camera)"]
    assert [write.kept for write in claims] == [True, False], alert_writes.writes
    assert sorted(state for state, _ in outcomes.values()) == ["Alerted", "NothingOfInterest"]
    [alert] = aws.alerts()
    winner = alert.body["event"]["id"]
    [(_, silenced)] = [outcome for message_id, outcome in outcomes.items() if message_id != winner]
    assert silenced["analysis"]["why"] == [
        f"person: stationary, where it was at the alert of Sun 29 Nov 2026, 12:00:00 UTC (event {winner})"
    ]
    assert len(rekognition.calls) == 2


class HarnessError(RuntimeError):
    """The emulation did not set the scene; not the failure this test expects."""


def test_an_earlier_email_whose_claim_lost_to_a_later_one_does_not_alert_again(aws, rekognition, alert_writes):
    emails = (("frontdoor-early", NOON), ("frontdoor-late", NOON + timedelta(seconds=1)))
    for message_id, _ in emails:
        rekognition.sees(frame(message_id), PERSON_AT_THE_DOOR)
    # The later e-mail's claim is written first.
    alert_writes.hold_first(2, first=lambda item: -datetime.fromisoformat(item["alertedAt"]["S"]).timestamp())

    for message_id, at in emails:
        start(aws, "frontdoor", message_id, at)
    outcomes = {}
    for message_id, _ in emails:
        execution = aws.finished_execution(aws.execution_arn(message_id))
        if execution["status"] != "SUCCEEDED":
            raise HarnessError(f"execution {message_id} ended {execution['status']}")
        outcomes[message_id] = aws.final_state(execution["executionArn"])
    if alert_writes.gate_timed_out:
        raise HarnessError("the two claims did not meet: the executions did not run together")

    assert outcomes == {"frontdoor-early": "NothingOfInterest", "frontdoor-late": "Alerted"}


def test_a_snoozed_camera_is_not_analysed_while_another_still_alerts(aws, rekognition, tmp_path):
    item = make_snooze(aws, tmp_path, "frontdoor", "1h")
    assert item["camera"] == {"S": "frontdoor"}
    aws.put_alerts_item(item)
    until = datetime.fromisoformat(item["until"]["S"])
    rekognition.sees(frame("frontdoor-snoozed"), PERSON_AT_THE_DOOR)
    rekognition.sees(frame("drive-meanwhile"), [person_at(0.1, 0.3)])

    state, output = receive(aws, "frontdoor", "frontdoor-snoozed", until - timedelta(minutes=50))

    assert state == "NotAnalysed"
    assert output["hold"] == f"snoozed until {until:%a %-d %b %Y, %H:%M:%S} UTC"
    assert rekognition.calls == []

    state, _ = receive(aws, "drive", "drive-meanwhile", until - timedelta(minutes=50))

    assert state == "Alerted"
    assert [call.key for call in rekognition.calls] == [frame("drive-meanwhile")]
    assert [alert.body["camera"] for alert in aws.alerts()] == ["drive"]


def test_a_snooze_of_every_camera_holds_their_emails_until_it_ends(aws, rekognition, tmp_path):
    item = make_snooze(aws, tmp_path, "all", "2h")
    assert item["camera"] == {"S": "*"}
    aws.put_alerts_item(item)
    until = datetime.fromisoformat(item["until"]["S"])
    assert int(item["expiresAt"]["N"]) == int(until.timestamp())
    rekognition.sees(frame("frontdoor-during"), PERSON_AT_THE_DOOR)
    rekognition.sees(frame("frontdoor-after"), PERSON_AT_THE_DOOR)

    state, output = receive(aws, "frontdoor", "frontdoor-during", until - timedelta(hours=1))

    assert state == "NotAnalysed"
    assert output["hold"].startswith("snoozed until ")
    assert rekognition.calls == []

    state, _ = receive(aws, "frontdoor", "frontdoor-after", until + timedelta(minutes=1))

    assert state == "Alerted"
    assert [call.key for call in rekognition.calls] == [frame("frontdoor-after")]
    assert len(aws.alerts()) == 1


def test_the_alert_email_carries_the_annotated_picture_and_a_link_to_it(aws, rekognition):
    """Someone comes to the front door while the owner is out: the owner's
    phone gets an e-mail, sent through SES from the stack's own domain, that
    shows the picture with the person's box drawn on it, has it attached to
    keep or forward, and links to it."""
    rekognition.sees(frame("frontdoor-mailed"), PERSON_AT_THE_DOOR)

    state, output = receive(aws, "frontdoor", "frontdoor-mailed", NOON)

    assert state == "Alerted"
    assert len(rekognition.calls) == 1
    [published] = aws.published()
    [alert] = aws.alerts()
    [sent] = aws.sent_emails()
    assert output["notification"]["email"] == {"status": "sent", "id": sent.message_id}
    assert sent.source == "alerts@cams.example.com"
    assert set(sent.destinations) == {"owner@home.example"}

    message = email.message_from_bytes(sent.raw, policy=email.policy.default)
    assert [(a.display_name, a.addr_spec) for a in message["From"].addresses] == [
        ("Cameras", "alerts@cams.example.com")
    ]
    assert [a.addr_spec for a in message["To"].addresses] == ["owner@home.example"]
    assert message["Subject"] == published.subject == output["notification"]["subject"] == "Person at frontdoor"
    parts = list(message.walk())
    assert [part.get_content_type() for part in parts] == [
        "multipart/mixed",
        "multipart/related",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "image/jpeg",
        "image/jpeg",
    ]

    # Both pictures are the annotated snapshot stored in S3: shown inline
    # in the HTML, and attached.
    snapshot_key = "annotated/frontdoor-mailed/0.jpg"
    assert output["notification"]["snapshot"]["key"] == snapshot_key
    snapshot = aws.object(snapshot_key)
    inline, attached = parts[5:]
    assert inline.get_content() == attached.get_content() == snapshot
    assert inline.get_content_disposition() == "inline"
    assert attached.get_content_disposition() == "attachment"
    assert attached.get_filename() == "frontdoor.jpg"

    # The text links to it, the link a phone opens: presigned HTTPS, the
    # one the published alert gives; the HTML shows the inline picture and
    # links to it too.
    text, html = parts[3].get_content(), parts[4].get_content()
    [link] = re.findall(r"https://\S+", text)
    assert "X-Amz-Expires=" in link
    assert link == alert.body["snapshot"]["link"]
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.read() == snapshot
    content_id = inline["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html
    assert f'href="{escape(link)}"' in html


def test_a_subscriber_filtering_on_a_camera_hears_only_that_cameras_alerts(aws, rekognition):
    """Someone in the household wants to know only who drives in, not who
    rings the front door: their subscription to the alert topic has an SNS
    filter policy on the `camera` attribute, and hears the drive camera's
    alert but not the front door's, which the owner's unfiltered
    subscription still gets."""
    drive_only = aws.subscribe_queue("ipcam-alerts-drive-only", filter_policy={"camera": ["drive"]})
    rekognition.sees(frame("frontdoor-caller"), PERSON_AT_THE_DOOR)
    rekognition.sees(frame("drive-arrival"), [car_at(0.55, 0.5)])

    state, _ = receive(aws, "frontdoor", "frontdoor-caller", NOON)
    assert state == "Alerted"
    state, _ = receive(aws, "drive", "drive-arrival", NOON + timedelta(minutes=1))
    assert state == "Alerted"

    [heard] = aws.alerts(drive_only)
    assert heard.body["camera"] == "drive"
    assert heard.body["event"]["id"] == "drive-arrival"
    assert heard.attributes == {"camera": "drive", "labels": '["Car"]'}
    assert [alert.body["event"]["id"] for alert in aws.alerts()] == ["frontdoor-caller", "drive-arrival"]
    assert [call.key for call in rekognition.calls] == [frame("frontdoor-caller"), frame("drive-arrival")]


def test_a_required_zone_keeps_a_person_on_the_road_quiet_and_alerts_on_one_at_the_door(aws, rekognition):
    """A camera over the garden path also sees the road beyond the gate,
    where people walk by all day: with the path as its required zone, a
    passer-by on the road is analysed but does not alert, and says why,
    while someone walking up the path to the door does alert."""
    # Far off on the road, right of the path's far end: feet at (0.78, 0.45).
    rekognition.sees(frame("path-road"), [person_at(0.75, 0.2, size=(0.06, 0.25))])
    # On the path near the door: feet at (0.5, 0.85).
    rekognition.sees(frame("path-door"), [person_at(0.44, 0.3)])

    state, output = receive(aws, "path", "path-road", NOON)

    assert state == "NothingOfInterest"
    assert output["camera"] == "path"
    assert output["analysis"]["alert"] is False
    assert output["analysis"]["why"] == ["Person: outside the required zones"]
    assert [call.key for call in rekognition.calls] == [frame("path-road")]
    assert aws.alerts() == []
    assert aws.sent_emails() == []

    state, output = receive(aws, "path", "path-door", NOON + timedelta(minutes=1))

    assert state == "Alerted"
    [alert] = aws.alerts()
    assert alert.body["camera"] == "path"
    assert alert.body["labels"] == ["Person"]
    assert alert.body["matches"][0]["boxes"][0]["left"] == pytest.approx(0.44)
    assert [call.key for call in rekognition.calls] == [frame("path-road"), frame("path-door")]
