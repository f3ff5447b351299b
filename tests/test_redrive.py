"""Nothing SES received is lost when ingest-ses gives up, end to end.

SES invokes ingest-ses asynchronously: an event the function fails on after
Lambda's retries goes to its on-failure destination, an SQS queue, as
Lambda's record of the failure. `make redrive` (the `redrive` binary)
starts the execution of each message such a record names, and of each
stored message that has none, and deletes the record once started. It is
run here against the same emulated account as the functions: a record in the
queue and a message whose event was lost altogether each start one
execution and alert once; a second run starts nothing. A Step Functions
that throttles every StartExecution fails ingest-ses, and the e-mail then
alerts once through the failure queue and redrive.
"""

import json
import os
import subprocess
from pathlib import Path
from unittest import mock

from moto.core.exceptions import AWSError
from moto.stepfunctions.models import StepFunctionBackend
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from conftest import ACCOUNT, PERSON_AT_THE_DOOR, REGION, REPO, SECRET_ADDRESSES

FIXTURES = Path(__file__).parent / "fixtures"
PERSON_SNAPSHOT = (FIXTURES / "frontdoor_person_snapshot.eml").read_bytes()


class StartExecutionThrottled(AWSError):
    """What Step Functions answers a caller over its StartExecution quota."""

    TYPE = "ThrottlingException"
    STATUS = 400


def lambda_failure_record(aws, event: dict, answer: dict | None = None) -> str:
    """What Lambda sends its on-failure destination once it gives up on an
    asynchronous invocation: the event, and the function's last answer."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-12-01T08:00:05.123Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-4c5f-8880-a18cdf61200e",
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{aws.function_name('ingest-ses')}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": answer
            or {"errorType": "Throttled", "errorMessage": "starting the execution: Rate exceeded"},
        }
    )


def stored_by_ses(message_id: str, camera: str, raw: bytes) -> bytes:
    """A camera's e-mail as SES's S3 action stores it: with SES's own
    Received header on top, naming the secret address the rule matched."""
    received = (
        f"Received: from cam.isp.example.net by inbound-smtp.{REGION}.amazonaws.com with SMTP id {message_id}"
        f" for {SECRET_ADDRESSES[camera]};\r\n Mon, 01 Dec 2026 08:00:00 +0000 (UTC)\r\n"
    )
    return received.encode() + raw


def redrive(aws, succeeds: bool = True) -> dict:
    """Runs `redrive` with the operator's view of the stack, as `make
    redrive` does: the stack's outputs; what it says it did. It fails while
    it keeps anything."""
    subprocess.run(["cargo", "build", "--bin", "redrive"], cwd=REPO, check=True)
    outputs = aws.stack.outputs
    bucket, config_key = outputs["ConfigLocation"].removeprefix("s3://").split("/", 1)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("IPCAM_")}
    environment.update(
        {
            "IPCAM_FAILURE_QUEUE_URL": outputs["IngestSesFailureQueueUrl"],
            "IPCAM_BUCKET": bucket,
            "IPCAM_CONFIG_KEY": config_key,
            "IPCAM_STATE_MACHINE_ARN": outputs["StateMachineArn"],
            "IPCAM_INCOMING_PREFIX": aws.incoming_prefix,
            "AWS_ENDPOINT_URL": aws.services.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    environment.pop("AWS_ENDPOINT_URL_S3", None)
    done = subprocess.run(
        [str(REPO / "target" / "debug" / "redrive")],
        cwd=REPO,
        env=environment,
        capture_output=True,
        timeout=120,
    )
    assert (done.returncode == 0) == succeeds, done.stderr.decode()
    return json.loads(done.stdout)


def test_redrive_starts_what_ingest_ses_never_started_once(aws, rekognition):
    # The stack's queue of the events ingest-ses failed on.
    queue_url = aws.stack.failure_queue_url

    # An e-mail from the front door whose event ingest-ses failed on: stored
    # by the S3 action, its event in the failure queue.
    receipt = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())
    queued_id = receipt["Records"][0]["ses"]["mail"]["messageId"]
    aws.store_message(aws.incoming_prefix + queued_id, stored_by_ses(queued_id, "frontdoor", PERSON_SNAPSHOT))
    aws.sqs.send_message(QueueUrl=queue_url, MessageBody=lambda_failure_record(aws, receipt))

    # An e-mail from the drive whose event was lost altogether: only stored.
    lost_id = "r7k2mq90ab3cd4lostdrivesnapshot0001"
    from_the_drive = stored_by_ses(
        lost_id, "drive", PERSON_SNAPSHOT.replace(b"frontdoor@cams.example.com", b"drive@cams.example.com")
    )
    aws.store_message(aws.incoming_prefix + lost_id, from_the_drive)

    for message_id in (queued_id, lost_id):
        rekognition.sees(f"frames/{message_id}/0.jpg", PERSON_AT_THE_DOOR)
    assert aws.executions() == []

    first = redrive(aws)

    # The queued message, started from its record, is found started when
    # the stored messages are gone through.
    assert first == {"started": 2, "alreadyStarted": 1, "refused": 0, "kept": 0}, first
    executions = {execution["name"]: execution for execution in aws.executions()}
    assert sorted(executions) == sorted([queued_id, lost_id])
    for execution in executions.values():
        finished = aws.finished_execution(execution["executionArn"])
        assert finished["status"] == "SUCCEEDED", finished
    alerts = aws.alerts()
    assert sorted((alert.body["camera"], alert.body["event"]["id"]) for alert in alerts) == sorted(
        [("frontdoor", queued_id), ("drive", lost_id)]
    )
    # The record is gone from the queue once its message started.
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}

    # Run again, and with the record delivered twice: nothing new starts.
    aws.sqs.send_message(QueueUrl=queue_url, MessageBody=lambda_failure_record(aws, receipt))
    second = redrive(aws)

    assert second == {"started": 0, "alreadyStarted": 3, "refused": 0, "kept": 0}, second
    assert len(aws.sfn.list_executions(stateMachineArn=aws.state_machine_arn)["executions"]) == 2
    assert aws.alerts() == []
    assert aws.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []


def test_a_record_redrive_cannot_read_stays_in_the_queue(aws):
    queue_url = aws.stack.failure_queue_url
    aws.sqs.send_message(QueueUrl=queue_url, MessageBody=lambda_failure_record(aws, {"Records": "not a list"}))

    tally = redrive(aws, succeeds=False)

    assert tally == {"started": 0, "alreadyStarted": 0, "refused": 0, "kept": 1}, tally
    assert aws.executions() == []
    # Taken but not deleted: it comes back once hidden no longer.
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessagesNotVisible": "1"}


def test_a_throttled_step_functions_leaves_the_email_to_redrive_which_alerts_once(aws, rekognition):
    receipt = json.loads((FIXTURES / "ses_receipt_frontdoor_person_snapshot.json").read_text())
    message_id = receipt["Records"][0]["ses"]["mail"]["messageId"]
    rekognition.sees(f"frames/{message_id}/0.jpg", PERSON_AT_THE_DOOR)
    aws.store_message(aws.incoming_prefix + message_id, stored_by_ses(message_id, "frontdoor", PERSON_SNAPSHOT))

    # Step Functions refuses every StartExecution while ingest-ses runs.
    throttled = StartExecutionThrottled("Rate exceeded")
    with (
        mock.patch.object(StepFunctionBackend, "start_execution", side_effect=throttled),
        mock.patch.object(StepFunctionsParserBackend, "start_execution", side_effect=throttled),
    ):
        answer, error = aws.invoke("ingest-ses", receipt)

    # The function fails, as Throttled, so that Lambda retries it and then
    # hands the event to its on-failure destination; nothing started.
    assert error == "Unhandled", answer
    assert answer["errorType"] == "Throttled", answer
    assert aws.executions() == []
    # What Lambda does once its retries are spent (moto delivers no
    # asynchronous failure): the event and the function's answer, queued.
    aws.sqs.send_message(
        QueueUrl=aws.stack.failure_queue_url, MessageBody=lambda_failure_record(aws, receipt, answer)
    )

    assert redrive(aws) == {"started": 1, "alreadyStarted": 1, "refused": 0, "kept": 0}
    [execution] = aws.executions()
    assert aws.finished_execution(execution["executionArn"])["status"] == "SUCCEEDED"
    [alert] = aws.alerts()
    assert (alert.body["camera"], alert.body["event"]["id"]) == ("frontdoor", message_id)
    assert redrive(aws) == {"started": 0, "alreadyStarted": 1, "refused": 0, "kept": 0}
    assert aws.alerts() == []
