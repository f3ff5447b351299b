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

import copy
import json
from pathlib import Path

from conftest import PERSON_AT_THE_DOOR, STATE_MACHINE_ARN

FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()
RECEIPT = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())


def receipt_for(message_id: str) -> dict:
    """The SES receipt event of the front door's snapshot, under another id."""
    receipt = copy.deepcopy(RECEIPT)
    receipt["Records"][0]["ses"]["mail"]["messageId"] = message_id
    return receipt


def execution_arn(message_id: str) -> str:
    return f"{STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:{message_id}"


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
