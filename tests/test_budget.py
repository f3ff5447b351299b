"""The detector budget on emulated AWS: each Rekognition call is counted in
the alerts table, and past the daily cap frames are not analysed, the
messages stay stored, and the operational topic is told once.

The cap is the default one (5,000 a day); the test starts the day's counter
at the cap rather than sending 5,000 e-mails.
"""

import json
from datetime import datetime, timezone
from pathlib import Path

from conftest import PERSON_AT_THE_DOOR

FIXTURES = Path(__file__).parent / "fixtures"
PERSON_SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()
BURST_OF_THREE = (FIXTURES / "frontdoor_burst_of_three_snapshots.eml").read_bytes()

# `[detector] daily_cap` when the configuration does not set it
# (DetectorSettings::DEFAULT_DAILY_CAP).
DEFAULT_DAILY_CAP = 5_000


def ses_receipt(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def message_id(receipt: dict) -> str:
    return receipt["Records"][0]["ses"]["mail"]["messageId"]


def counters(aws) -> dict[str, int]:
    """The budget's counters in the alerts table, by name."""
    return {
        item["entry"]["S"]: int(item["calls"]["N"])
        for item in aws.remembered()
        if item["camera"]["S"] == "#budget"
    }


def test_each_rekognition_call_counts_against_the_day_and_the_month(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    rekognition.sees(f"frames/{message_id(receipt)}/0.jpg", PERSON_AT_THE_DOOR)

    aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    assert aws.the_only_execution()["status"] == "SUCCEEDED"
    assert len(rekognition.calls) == 1
    now = datetime.now(timezone.utc)
    assert counters(aws) == {f"day#{now:%Y-%m-%d}": 1, f"month#{now:%Y-%m}": 1}
    assert aws.told_the_operator() == []


def test_past_the_daily_cap_no_frame_is_analysed_and_the_operator_is_told_once(aws, rekognition):
    today = f"day#{datetime.now(timezone.utc):%Y-%m-%d}"
    aws.put_alerts_item({"camera": {"S": "#budget"}, "entry": {"S": today}, "calls": {"N": str(DEFAULT_DAILY_CAP)}})
    person = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    burst = ses_receipt("ses_receipt_frontdoor_burst.json")
    rekognition.sees(f"frames/{message_id(person)}/0.jpg", PERSON_AT_THE_DOOR)
    for index in range(3):
        rekognition.sees(f"frames/{message_id(burst)}/{index}.jpg", PERSON_AT_THE_DOOR)

    aws.receive_by_ses(PERSON_SNAPSHOT, person)
    aws.receive_by_ses(BURST_OF_THREE, burst)

    executions = [aws.finished_execution(e["executionArn"]) for e in aws.executions()]
    assert len(executions) == 2
    for execution in executions:
        assert execution["status"] == "SUCCEEDED", execution
        analysis = json.loads(execution["output"])["analysis"]
        assert analysis["alert"] is False
        assert analysis["why"][0].startswith(f"budget: the daily cap of {DEFAULT_DAILY_CAP} detector calls"), analysis
        # The burst's other frames are not tried: they would be refused too.
        assert "next" not in analysis or analysis["next"] is None, analysis
    assert rekognition.calls == []
    assert aws.alerts() == []
    # The messages are kept, for whoever runs them again once the cap
    # allows.
    for receipt in (person, burst):
        aws.s3.head_object(Bucket=aws.bucket, Key=aws.incoming_key(receipt))
    [(subject, notice)] = aws.told_the_operator()
    assert subject == "IPCam: the detector budget is reached"
    assert f"The daily cap of {DEFAULT_DAILY_CAP} detector calls" in notice
    assert counters(aws)[today] == DEFAULT_DAILY_CAP + 2


# The Rust SDK's standard retry mode makes three attempts before a function
# sees the throttling error (as in test_pipeline.py).
SDK_ATTEMPTS = 3


def test_a_call_rekognition_throttles_is_taken_back_and_its_retry_counts_once(aws, rekognition):
    receipt = ses_receipt("ses_receipt_frontdoor_person_snapshot.json")
    # Every call of detect-labels' first attempt is throttled: the state
    # machine retries the frame, and Rekognition bills only the call it
    # answers.
    rekognition.sees(f"frames/{message_id(receipt)}/0.jpg", PERSON_AT_THE_DOOR, throttle_first=SDK_ATTEMPTS)

    aws.receive_by_ses(PERSON_SNAPSHOT, receipt)

    assert aws.the_only_execution()["status"] == "SUCCEEDED"
    assert [call.answer for call in rekognition.calls] == ["ThrottlingException"] * SDK_ATTEMPTS + ["labels"]
    now = datetime.now(timezone.utc)
    assert counters(aws) == {f"day#{now:%Y-%m-%d}": 1, f"month#{now:%Y-%m}": 1}
