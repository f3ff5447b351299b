"""The door of the pipeline, end to end, on emulated AWS.

A SendGrid post in "parsed" mode (the message taken apart into form fields)
must alert like the same e-mail received whole, and a SendGrid retry must
start nothing new; a stranger writing through SES to an address of the
domain that is no camera's secret one must start nothing and cost no
Rekognition call, even with the camera's own `From:`.
"""

import base64
import email
import email.policy
import json
from pathlib import Path

from conftest import PERSON_AT_THE_DOOR, SECRET_ADDRESSES, http_api_post

FIXTURES = Path(__file__).parent / "fixtures"
PERSON_SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()


def snapshot_of(raw_message: bytes) -> tuple[str, bytes]:
    """The file name and bytes of the picture a camera e-mail carries."""
    message = email.message_from_bytes(raw_message, policy=email.policy.default)
    [picture] = [part for part in message.walk() if part.get_content_maintype() == "image"]
    return picture.get_filename() or "snapshot.jpg", picture.get_payload(decode=True)


def parsed_mode_post(raw_message: bytes, authorization: str) -> dict:
    """What SendGrid Inbound Parse posts in parsed mode for `raw_message`,
    as an HTTP API (payload format 2.0) hands it to ingest-sendgrid: the
    headers, text and each attachment in fields of their own."""
    message = email.message_from_bytes(raw_message, policy=email.policy.default)
    header_block = b"".join(
        f"{name}: {value}\r\n".encode() for name, value in message.items() if name.lower() != "content-type"
    )
    filename, picture = snapshot_of(raw_message)
    text_part = message.get_body(preferencelist=("plain",))
    text = text_part.get_content().encode() if text_part is not None else b""
    boundary = "xYzZYparsed"
    fields = [
        ("headers", None, header_block),
        ("from", None, str(message["From"]).encode()),
        ("to", None, str(message["To"]).encode()),
        ("subject", None, str(message["Subject"]).encode()),
        ("text", None, text),
        ("envelope", None, json.dumps({"to": [SECRET_ADDRESSES["frontdoor"]], "from": str(message["From"])}).encode()),
        ("charsets", None, b'{"to":"UTF-8","from":"UTF-8","subject":"UTF-8","text":"UTF-8"}'),
        ("SPF", None, b"pass"),
        ("dkim", None, b"none"),
        ("attachments", None, b"1"),
        (
            "attachment-info",
            None,
            json.dumps({"attachment1": {"filename": filename, "name": filename, "type": "image/jpeg"}}).encode(),
        ),
        ("attachment1", filename, picture),
    ]
    body = b""
    for name, file_name, value in fields:
        disposition = f'form-data; name="{name}"'
        if file_name is not None:
            disposition += f'; filename="{file_name}"\r\nContent-Type: image/jpeg'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return http_api_post(body, boundary, authorization)


def test_person_at_the_door_posted_by_sendgrid_in_parsed_mode_alerts_once(aws, rekognition):
    rekognition.sees("frames/sendgrid-*", PERSON_AT_THE_DOOR)
    post = parsed_mode_post(PERSON_SNAPSHOT, aws.sendgrid_authorization())

    answer, error = aws.invoke("ingest-sendgrid", post)

    assert error is None, answer
    assert answer["statusCode"] == 200, answer
    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["name"].startswith("sendgrid-")
    event = json.loads(execution["input"])["event"]
    assert event["source"] == "sendgrid"
    assert event["from"] == "FrontDoor Camera <frontdoor@cams.example.com>"
    assert event["subject"] == "Motion Detection Alarm: FrontDoor"
    output = json.loads(execution["output"])
    assert output["camera"] == "frontdoor"
    assert output["analysis"]["alert"] is True
    [frame] = output["frames"]
    _, picture = snapshot_of(PERSON_SNAPSHOT)
    assert aws.s3.get_object(Bucket=frame["bucket"], Key=frame["key"])["Body"].read() == picture
    assert [call.key for call in rekognition.calls] == [frame["key"]]
    [alert] = aws.alerts()
    assert alert.body["camera"] == "frontdoor"
    assert alert.body["labels"] == ["Person"]

    # SendGrid posts again (it retries whatever it did not see answered):
    # the rebuilt message is the same, so nothing new starts.
    again, error = aws.invoke("ingest-sendgrid", post)

    assert error is None, again
    assert again["statusCode"] == 200, again
    assert [e["name"] for e in aws.executions()] == [execution["name"]]
    assert aws.alerts() == []
    assert len(rekognition.calls) == 1


def rejected_message_metrics(function_log: str) -> list[dict]:
    """The Embedded Metric Format documents counting refused messages that
    the functions printed, one JSON object a line."""
    documents = []
    for line in function_log.splitlines():
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        try:
            document = json.loads(line[start:])
        except ValueError:
            continue
        if "RejectedMessages" in document:
            documents.append(document)
    return documents


def test_stranger_writing_through_ses_starts_nothing_and_costs_no_rekognition_call(aws, rekognition):
    rekognition.sees("frames/*", PERSON_AT_THE_DOOR)
    receipt = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())
    mail = receipt["Records"][0]["ses"]["mail"]
    mail["messageId"] = "s7r4ng3rw4nt5t0b3s33nbys3s0000000000001"
    mail["source"] = "someone@stranger.example.org"
    mail["commonHeaders"]["from"] = ["Someone <someone@stranger.example.org>"]
    # To an address of the domain that is no camera's secret one.
    receipt["Records"][0]["ses"]["receipt"]["recipients"] = ["alerts@cams.example.com"]
    raw = PERSON_SNAPSHOT.replace(
        b"From: FrontDoor Camera <frontdoor@cams.example.com>", b"From: Someone <someone@stranger.example.org>"
    )

    answer = aws.receive_by_ses(raw, receipt)

    assert answer["messages"] == [
        {"messageId": mail["messageId"], "outcome": "Rejected", "reason": "SenderNotAllowed"}
    ]
    assert aws.executions() == []
    assert rekognition.calls == []
    assert aws.alerts() == []
    assert not [key for key in aws.object_keys() if key.startswith("frames/")]
    [metric] = rejected_message_metrics(aws.services.function_log_since_mark())
    [directive] = metric["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "IPCam"
    assert directive["Metrics"] == [{"Name": "RejectedMessages", "Unit": "Count"}]
    assert metric["Reason"] == "SenderNotAllowed"
    assert metric["RejectedMessages"] == 1
    assert metric["message"] == mail["messageId"]
    # A warning with its time: Lambda's filter keeps it under LogLevel=WARN.
    assert metric["level"] == "WARN"
    assert metric["timestamp"].endswith("Z")


def test_a_forged_camera_sender_at_a_guessable_address_starts_nothing(aws, rekognition):
    rekognition.sees("frames/*", PERSON_AT_THE_DOOR)
    # The front door's own e-mail, word for word, From: included, sent by a
    # stranger to the address anyone would guess instead of the secret one.
    receipt = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())
    ses = receipt["Records"][0]["ses"]
    ses["mail"]["messageId"] = "f0rg3dfr0nt000r4tagu3ss4bl3addr3ss00001"
    ses["mail"]["destination"] = ses["receipt"]["recipients"] = ["frontdoor@cams.example.com"]
    assert ses["mail"]["commonHeaders"]["from"] == ["FrontDoor Camera <frontdoor@cams.example.com>"]

    answer = aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    assert answer["messages"] == [
        {"messageId": ses["mail"]["messageId"], "outcome": "Rejected", "reason": "SenderNotAllowed"}
    ]
    assert aws.executions() == []
    assert rekognition.calls == []
