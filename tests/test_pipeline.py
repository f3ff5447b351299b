"""The whole AWS pipeline, end to end, on emulated AWS.

Each test receives a camera e-mail the way production does (SES receipt
event, or a SendGrid Inbound Parse post), lets the real state machine run the
real Lambda functions, and then looks at what AWS holds: the execution and
its output, the objects in S3, the alerts in the queue subscribed to the
alert topic, and the calls Rekognition received.
"""

import json
import urllib.request
from pathlib import Path

import pytest

from conftest import PERSON_AT_THE_DOOR

FIXTURES = Path(__file__).parent / "fixtures"
PERSON_SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()
VIDEO_LOSS_NOTICE = (FIXTURES / "frontdoor_video_loss_text_only.eml").read_bytes()
# Three snapshots of one alarm: the empty porch, then someone walking up.
BURST_OF_THREE = (FIXTURES / "frontdoor_burst_of_three_snapshots.eml").read_bytes()

# What Rekognition says of the porch with nobody on it, and of a snapshot
# where the wind moved a tree.
EMPTY_PORCH = [label for label in PERSON_AT_THE_DOOR if label["Name"] != "Person"]
ONLY_A_TREE = [
    {
        "Name": "Tree",
        "Confidence": 93.5,
        "Instances": [],
        "Parents": [{"Name": "Plant"}],
        "Aliases": [],
        "Categories": [{"Name": "Plants and Flowers"}],
    }
]

# The Rust SDK's standard retry mode makes three attempts before a function
# sees the throttling error.
SDK_ATTEMPTS = 3


def ses_receipt(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def message_id(receipt: dict) -> str:
    return receipt["Records"][0]["ses"]["mail"]["messageId"]


def lambda_failures(aws, execution_arn: str) -> list[dict]:
    return [
        event["lambdaFunctionFailedEventDetails"]
        for event in aws.history(execution_arn)
        if event["type"] == "LambdaFunctionFailed"
    ]


def test_person_at_the_door_received_by_ses_alerts_once(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    frame_key = f"frames/{message_id(receipt)}/0.jpg"
    rekognition.sees(frame_key, PERSON_AT_THE_DOOR)

    answer = aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    assert answer["disposition"] == "CONTINUE"
    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["name"] == message_id(receipt)
    output = json.loads(execution["output"])
    assert output["camera"] == "frontdoor"
    assert [frame["key"] for frame in output["frames"]] == [frame_key]
    assert output["analysis"]["alert"] is True
    assert output["notification"]["subject"] == "Person at frontdoor"

    assert frame_key in aws.object_keys()
    assert [(call.key, call.min_confidence, call.answer) for call in rekognition.calls] == [
        (frame_key, 70.0, "labels")
    ]

    [alert] = aws.alerts()
    assert alert.body["camera"] == "frontdoor"
    assert alert.body["labels"] == ["Person"]
    [match] = alert.body["matches"]
    assert match["label"] == "Person"
    assert match["confidence"] == pytest.approx(98.07, abs=0.01)
    assert match["boxes"][0]["left"] == pytest.approx(0.35)
    assert alert.body["frame"]["key"] == frame_key
    assert alert.body["event"]["id"] == message_id(receipt)
    assert alert.attributes == {"camera": "frontdoor", "labels": '["Person"]'}

    # The alert points to the frame with the person's box drawn on it.
    snapshot_key = f"annotated/{message_id(receipt)}/0.jpg"
    assert output["notification"]["snapshot"]["key"] == snapshot_key
    assert alert.body["snapshot"]["location"] == f"s3://{aws.bucket}/{snapshot_key}"
    snapshot = aws.object(snapshot_key)
    assert snapshot.startswith(b"\xff\xd8\xff")
    assert snapshot != aws.object(frame_key)
    # A link to it that a phone opens: presigned, for six hours by default.
    link = alert.body["snapshot"]["link"]
    assert f"/{aws.bucket}/{snapshot_key}?" in link
    assert "X-Amz-Expires=21600" in link and "X-Amz-Signature=" in link
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.read() == snapshot


def test_frames_of_a_burst_are_analysed_in_order_until_one_alerts(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_burst.json")
    frames = f"frames/{message_id(receipt)}"
    rekognition.sees(f"{frames}/0.jpg", EMPTY_PORCH)
    rekognition.sees(f"{frames}/1.jpg", PERSON_AT_THE_DOOR)
    rekognition.sees(f"{frames}/2.jpg", PERSON_AT_THE_DOOR)

    aws.receive_by_ses(BURST_OF_THREE, receipt)

    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert len(output["frames"]) == 3
    # Each frame analysed is billed: the third is never sent.
    assert [call.key for call in rekognition.calls] == [f"{frames}/0.jpg", f"{frames}/1.jpg"]
    [alert] = aws.alerts()
    assert alert.body["frame"]["key"] == f"{frames}/1.jpg"
    assert alert.body["matches"][0]["frame"] == 1


def test_nothing_of_interest_succeeds_without_alert(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    frame_key = f"frames/{message_id(receipt)}/0.jpg"
    rekognition.sees(frame_key, ONLY_A_TREE)

    aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["analysis"]["alert"] is False
    assert [label["name"] for label in output["analysis"]["detection"]["labels"]] == ["Tree"]
    assert "notification" not in output
    assert [call.key for call in rekognition.calls] == [frame_key]
    assert aws.alerts() == []


def test_text_only_email_never_reaches_rekognition(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_video_loss.json")

    aws.receive_by_ses(VIDEO_LOSS_NOTICE, receipt)

    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    output = json.loads(execution["output"])
    assert output["camera"] == "frontdoor"
    assert output["frames"] == []
    assert rekognition.calls == []
    assert not any(key.startswith("frames/") for key in aws.object_keys())
    assert aws.alerts() == []


def test_ses_delivering_twice_starts_one_execution_and_alerts_once(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    rekognition.sees(f"frames/{message_id(receipt)}/0.jpg", PERSON_AT_THE_DOOR)

    first = aws.receive_by_ses(PERSON_SNAPSHOT, receipt)
    second = aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    assert first["messages"][0]["outcome"].startswith("Started")
    assert second["messages"][0]["outcome"] == "Duplicate"
    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert len(rekognition.calls) == 1
    assert len(aws.alerts()) == 1


def test_sendgrid_post_with_the_right_credentials_alerts_once(aws, rekognition):
    rekognition.sees("frames/sendgrid-*/0.jpg", PERSON_AT_THE_DOOR)

    answer = aws.post_to_sendgrid_endpoint(PERSON_SNAPSHOT, aws.sendgrid_authorization())

    assert answer["statusCode"] == 200, answer
    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["name"].startswith("sendgrid-")
    event = json.loads(execution["input"])["event"]
    assert event["source"] == "sendgrid"
    assert event["subject"] == "Motion Detection Alarm: FrontDoor"
    stored = aws.s3.get_object(Bucket=event["message"]["bucket"], Key=event["message"]["key"])
    assert stored["Body"].read() == PERSON_SNAPSHOT
    [alert] = aws.alerts()
    assert alert.body["camera"] == "frontdoor"
    assert alert.body["labels"] == ["Person"]


@pytest.mark.parametrize("password", [None, "guessed"], ids=["no credentials", "wrong password"])
def test_sendgrid_post_without_the_right_credentials_is_refused(aws, rekognition, password):
    authorization = None if password is None else aws.sendgrid_authorization(password=password)
    objects_before = aws.object_keys()

    answer = aws.post_to_sendgrid_endpoint(PERSON_SNAPSHOT, authorization)

    assert answer["statusCode"] == 401, answer
    assert answer["headers"]["www-authenticate"].startswith("Basic")
    assert aws.executions() == []
    assert aws.object_keys() == objects_before
    assert rekognition.calls == []


def test_rekognition_throttling_is_retried_by_the_state_machine(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    frame_key = f"frames/{message_id(receipt)}/0.jpg"
    # Throttle every call of the first detect-labels attempt, so that the
    # function itself reports Throttled and the state machine must retry.
    rekognition.sees(frame_key, PERSON_AT_THE_DOOR, throttle_first=SDK_ATTEMPTS)

    aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    execution = aws.the_only_execution()
    assert execution["status"] == "SUCCEEDED", execution
    [failure] = lambda_failures(aws, execution["executionArn"])
    assert failure["error"] == "Throttled"
    assert "ThrottlingException" in failure["cause"]
    assert [call.answer for call in rekognition.calls] == ["ThrottlingException"] * SDK_ATTEMPTS + ["labels"]
    assert len(aws.alerts()) == 1


def test_a_failing_stage_fails_the_execution_naming_the_stage(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    stored = aws.incoming_key(receipt)
    # The stored message is gone before extraction can read it.
    aws.store_message(stored, PERSON_SNAPSHOT)
    aws.s3.delete_object(Bucket=aws.bucket, Key=stored)

    answer, error = aws.invoke("ingest-ses", receipt)

    assert error is None, answer
    execution = aws.the_only_execution()
    assert execution["status"] == "FAILED", execution
    assert execution["error"] == "ExtractAttachmentsFailed"
    assert execution["cause"].startswith("extract-attachments failed: ")
    cause = json.loads(execution["cause"].removeprefix("extract-attachments failed: "))
    assert cause["errorType"] == "NotFound"
    assert stored in cause["errorMessage"]
    # NotFound is not worth retrying: one attempt only.
    assert [failure["error"] for failure in lambda_failures(aws, execution["executionArn"])] == ["NotFound"]
    assert rekognition.calls == []
    assert aws.alerts() == []
