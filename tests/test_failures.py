"""Nothing lost: the pipeline on emulated AWS when its input or a service
misbehaves.

An SES event older than SES's DMARC verdict is still read, and one that
cannot be read fails the invocation (so that Lambda's retries and failure
destination keep it); a frame Rekognition refuses is skipped, not the whole
e-mail; a notify retried after its alert was published does not publish it
again; and an e-mail with a huge file name or thousands of parts that are
not pictures stays within Step Functions' 256 KB state limit.
"""

from __future__ import annotations

import base64
import copy
import email
import email.policy
import json
import urllib.parse
from pathlib import Path
from unittest import mock

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError

from conftest import PERSON_AT_THE_DOOR, DetectLabelsCall

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()
RECEIPT = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())
# Three snapshots of one alarm, and the SES receipt event of their e-mail.
BURST_OF_THREE = (FIXTURES / "frontdoor_burst_of_three_snapshots.eml").read_bytes()
BURST_RECEIPT = json.loads((FIXTURES / "ses_receipt_frontdoor_burst.json").read_text())


def receipt_for(message_id: str) -> dict:
    """The SES receipt event of the front door's snapshot, under another id."""
    receipt = copy.deepcopy(RECEIPT)
    receipt["Records"][0]["ses"]["mail"]["messageId"] = message_id
    return receipt


def lambda_failures(aws, execution_arn: str) -> list[dict]:
    return [
        event["lambdaFunctionFailedEventDetails"]
        for event in aws.history(execution_arn)
        if event["type"] == "LambdaFunctionFailed"
    ]


# --- SES events ---------------------------------------------------------------


def test_an_ses_event_without_a_dmarc_verdict_starts_its_execution(aws, rekognition):
    receipt = receipt_for("q8e2tb41pl7gv0frontdoornodmarc")
    # Older SES events, and several public samples, have neither.
    del receipt["Records"][0]["ses"]["receipt"]["dmarcVerdict"]
    receipt["Records"][0]["ses"]["receipt"].pop("dmarcPolicy", None)
    rekognition.sees("frames/q8e2tb41pl7gv0frontdoornodmarc/0.jpg", PERSON_AT_THE_DOOR)

    answer = aws.receive_by_ses(SNAPSHOT, receipt)

    assert [message["outcome"] for message in answer["messages"]] == ["Started"], answer
    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert len(aws.alerts()) == 1


def test_an_ses_event_that_cannot_be_read_fails_the_invocation_naming_the_message(aws, rekognition):
    receipt = receipt_for("q8e2tb41pl7gv0frontdoorunreadable")
    # Text where SES writes an object: not an SES record at all.
    receipt["Records"][0]["ses"]["receipt"] = "accepted"
    aws.store_message(aws.incoming_key(receipt), SNAPSHOT)

    answer, error = aws.invoke("ingest-ses", receipt)

    # An error, not a silent success: Lambda retries an asynchronous event
    # that failed, then hands it to the function's failure destination.
    assert error == "Unhandled", answer
    assert answer["errorType"] == "InvalidInput"
    assert "q8e2tb41pl7gv0frontdoorunreadable" in answer["errorMessage"]
    assert aws.executions() == []
    assert "q8e2tb41pl7gv0frontdoorunreadable" in aws.services.function_log_since_mark()


# --- frames Rekognition refuses -------------------------------------------------


def refuses(rekognition, key: str, code: str, message: str) -> None:
    """Has Rekognition refuse the frame stored under `key` with the error
    `code`, as it refuses a picture it cannot read, every time it is asked."""
    answer = rekognition.detect_labels

    def detect_labels(request: dict) -> dict:
        s3_object = request.get("Image", {}).get("S3Object", {})
        if s3_object.get("Name") != key:
            return answer(request)
        rekognition.calls.append(
            DetectLabelsCall(s3_object.get("Bucket", ""), key, request.get("MinConfidence"), code)
        )
        raise JsonRESTError(code, message)

    rekognition.detect_labels = detect_labels


def test_a_frame_rekognition_refuses_is_skipped_and_the_person_in_the_next_alerts(aws, rekognition):
    message_id = BURST_RECEIPT["Records"][0]["ses"]["mail"]["messageId"]
    frames = f"frames/{message_id}"
    refuses(rekognition, f"{frames}/0.jpg", "InvalidImageFormatException", "Request has unsupported image format")
    rekognition.sees(f"{frames}/1.jpg", PERSON_AT_THE_DOOR)

    aws.receive_by_ses(BURST_OF_THREE, BURST_RECEIPT)

    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert aws.final_state(execution["executionArn"]) == "Alerted"
    # Refused once, not retried: another try would be refused alike.
    assert [(call.key, call.answer) for call in rekognition.calls] == [
        (f"{frames}/0.jpg", "InvalidImageFormatException"),
        (f"{frames}/1.jpg", "labels"),
    ]
    assert lambda_failures(aws, execution["executionArn"]) == []
    # The refused frame's analysis says why it did not alert.
    analyses = [
        json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
        for event in aws.history(execution["executionArn"])
        if event["type"] == "LambdaFunctionSucceeded"
        and "detection" in event["lambdaFunctionSucceededEventDetails"]["output"]
    ]
    assert [analysis["detection"]["frame"] for analysis in analyses] == [0, 1]
    [why] = analyses[0]["why"]
    assert why.startswith("frame refused by the detector: "), why
    assert "InvalidImageFormatException" in why
    [alert] = aws.alerts()
    assert alert.body["frame"]["key"] == f"{frames}/1.jpg"


# --- retries of a task that did its work ----------------------------------------


def answer_lost(aws, function: str, error_type: str):
    """The first answer of `function` lost after it did all its work, the
    state machine seeing `error_type` instead, as when Step Functions' call
    to Lambda fails once the function has returned (Lambda.SdkClientException)
    or the function times out after its last call (Lambda.Unknown). Returns
    the patch, and the list of answers lost."""
    through = LambdaSimpleBackend.invoke
    lost: list[bytes] = []

    def invoke(backend, function_name, qualifier, body, headers, response_headers):
        answer = through(backend, function_name, qualifier, body, headers, response_headers)
        if backend.get_function(function_name, qualifier).function_name != aws.function_name(function) or lost:
            return answer
        lost.append(answer)
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": error_type, "errorMessage": f"the answer of {function} was lost"}).encode()

    return mock.patch.object(LambdaSimpleBackend, "invoke", invoke), lost


def test_notify_retried_after_its_alert_was_published_does_not_publish_it_again(aws, rekognition):
    message_id = "q8e2tb41pl7gv0frontdoornotifyretried"
    rekognition.sees(f"frames/{message_id}/0.jpg", PERSON_AT_THE_DOOR)
    patch, lost = answer_lost(aws, "notify", "Lambda.SdkClientException")

    with patch:
        aws.receive_by_ses(SNAPSHOT, receipt_for(message_id))
        execution = aws.the_only_execution()

    assert execution["status"] == "SUCCEEDED", execution
    assert len(lost) == 1, "notify's first answer was lost"
    failures = lambda_failures(aws, execution["executionArn"])
    assert [failure["error"] for failure in failures] == ["Lambda.SdkClientException"]
    # The state machine retried notify, which found the alert published.
    assert len(aws.published()) == 1
    [alert] = aws.alerts()
    assert alert.body["event"]["id"] == message_id
    assert len(aws.sent_emails()) == 1
    output = json.loads(execution["output"])
    assert output["notification"]["messageId"] == json.loads(lost[0])["messageId"]
    [record] = [item for item in aws.remembered() if item["entry"]["S"] == f"notified#{message_id}"]
    assert record["camera"]["S"] == "frontdoor"
    assert record["messageId"]["S"] == output["notification"]["messageId"]
    assert int(record["expiresAt"]["N"]) > 0


def test_a_task_that_timed_out_is_not_run_again(aws, rekognition):
    message_id = "q8e2tb41pl7gv0frontdoortimedout"
    # What Lambda reports for a timeout or an out-of-memory end: another try
    # costs the same again, and a notify that had published would alert twice.
    patch, lost = answer_lost(aws, "extract-attachments", "Lambda.Unknown")

    with patch:
        aws.receive_by_ses(SNAPSHOT, receipt_for(message_id))
        execution = aws.the_only_execution()

    assert execution["status"] == "FAILED", execution
    assert execution["error"] == "ExtractAttachmentsFailed"
    assert len(lost) == 1
    failures = lambda_failures(aws, execution["executionArn"])
    assert [failure["error"] for failure in failures] == ["Lambda.Unknown"]
    assert rekognition.calls == []


# --- the 256 KB state limit -----------------------------------------------------

# Step Functions' limit on the state passed between states; a state over it
# fails with States.DataLimitExceeded, which no Catch of States.ALL catches.
STATE_LIMIT_BYTES = 256 * 1024


def front_door_jpeg() -> bytes:
    """The JPEG snapshot of the front door fixture."""
    message = email.message_from_bytes(SNAPSHOT, policy=email.policy.default)
    [jpeg] = [part.get_content() for part in message.walk() if part.get_content_type() == "image/jpeg"]
    return jpeg


def camera_email(parts: list[str]) -> bytes:
    """A camera e-mail from the front door with these MIME parts."""
    head = (
        "From: FrontDoor Camera <frontdoor@cams.example.com>\r\n"
        "To: alerts@cams.example.com\r\n"
        "Subject: Motion Detection Alarm: FrontDoor\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nMotion detected\r\n"
    )
    return (head + "".join(f"--b\r\n{part}\r\n" for part in parts) + "--b--\r\n").encode()


def snapshot_part(disposition: str) -> str:
    body = base64.encodebytes(front_door_jpeg()).decode().replace("\n", "\r\n")
    return f"Content-Type: image/jpeg\r\nContent-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}"


def rfc2231_filename(name: str) -> str:
    """`name` as RFC 2231 continuations of a Content-Disposition, percent-encoded UTF-8."""
    encoded = urllib.parse.quote(name, safe="")
    pieces = []
    while encoded:
        cut = min(len(encoded), 60)
        # Never between a % and its two digits.
        while "%" in encoded[max(0, cut - 2) : cut]:
            cut -= 1
        pieces.append(encoded[:cut])
        encoded = encoded[cut:]
    return "".join(
        f";\r\n filename*{index}*={'utf-8' + chr(39) * 2 if index == 0 else ''}{piece}"
        for index, piece in enumerate(pieces)
    )


def alerts_within_the_state_limit(aws, rekognition, message_id: str, raw: bytes) -> dict:
    rekognition.sees(f"frames/{message_id}/0.jpg", PERSON_AT_THE_DOOR)

    aws.receive_by_ses(raw, receipt_for(message_id))

    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert aws.final_state(execution["executionArn"]) == "Alerted"
    assert len(execution["output"].encode()) < STATE_LIMIT_BYTES // 4
    assert len(aws.alerts()) == 1
    return json.loads(execution["output"])


def test_a_picture_with_a_300_kb_file_name_alerts_within_the_state_limit(aws, rekognition):
    name = "Caméra d'entrée " * 20_000 + ".jpg"
    raw = camera_email([snapshot_part("attachment" + rfc2231_filename(name))])
    assert len(raw) > 300_000

    output = alerts_within_the_state_limit(aws, rekognition, "q8e2tb41pl7gv0frontdoorlongname", raw)

    [frame] = output["frames"]
    assert len(frame["filename"].encode()) <= 255
    assert frame["filename"].startswith("Caméra d'entrée Caméra")
    assert frame["filename"].endswith(".jpg")


def test_an_email_of_five_thousand_parts_that_are_not_pictures_alerts_within_the_state_limit(aws, rekognition):
    notes = [
        f'Content-Type: text/plain\r\nContent-Disposition: attachment; filename="note-{index}.txt"\r\n\r\nnothing'
        for index in range(1, 5001)
    ]
    raw = camera_email([snapshot_part('attachment; filename="snap.jpg"'), *notes])

    output = alerts_within_the_state_limit(aws, rekognition, "q8e2tb41pl7gv0frontdoormanyparts", raw)

    assert [frame["filename"] for frame in output["frames"]] == ["snap.jpg"]
    skipped = output["skipped"]
    assert len(skipped) == 21
    assert skipped[1]["filename"] == "note-1.txt"
    assert skipped[-1]["reason"] == "4981 more parts were not kept; only the first 20 are listed"
