"""Emulated AWS for the end-to-end tests.

The real pieces run: the five Lambda binaries (served by `cargo lambda
watch`, built from this workspace), the real state machine definition
(`statemachine/pipeline.asl.json`, executed by moto's Step Functions
interpreter), and the real SDK calls of the functions against moto's S3, SNS,
SQS, Step Functions and Lambda APIs.

The account holds the stack that CloudFormation creates from
infra/template.yaml: SAM's translator makes the template CloudFormation
gets (infra/check_stack.py's `translate`, as `make validate` runs it), and
moto's CloudFormation creates it with the parameters `make deploy` would
pass (`STACK_PARAMETERS`). The functions run with the environment the stack
gave each of them (one `cargo lambda watch` per function), and every name
the tests use of what the stack created (bucket, table, topics, queue, state
machine, functions) is read from the stack, never written here. Each test
gets a freshly reset account with the stack created anew; moto's random
names are seeded alike before each creation, so that the names are the ones
the functions' processes were started with (checked at each deployment).

Where moto's CloudFormation falls short, narrowly:

* moto does not create some resource types (`NOT_CREATED_BY_MOTO` lists
  them, with what covers each instead: a static check of
  infra/check_stack.py, cfn-lint, or a piece the tests make by hand, such as
  the SES domain identity). The outputs naming them are left out.
* moto ignores a state machine's DefinitionSubstitutions and reads no
  DefinitionS3Location: the definition file is given inline, as the
  `Fn::Sub` of those substitutions, which is what CloudFormation does with
  them. And it creates the state machine where the Step Functions API, set
  to execute state machines, does not look: it is handed over as created.
* moto's CloudFormation leaves the table's TimeToLiveSpecification off;
  moto expires no item anyway, and the tests read `expiresAt` as the
  functions write it.
* moto runs no function code without Docker: each function's code is a
  placeholder object (as `sam package` would upload one), and each invoke
  goes to the function's binary in cargo lambda watch (below).
* Each function runs with the credentials of a session of its role, and
  its S3 requests are allowed only by its role's policies (moto's IAM
  enforcement, `_s3_permissions_enforced`): a missing s3:ListBucket or a
  wrong prefix fails the test. Only S3: moto matches the Resource of a
  statement for S3 and SQS requests only, and checks every other request
  against `*`, which no statement naming a table, topic or state machine
  matches; the roles' other permissions are checked statically
  (check_stack.py, cfn-lint).

Two edges cannot be reached here and are replaced, narrowly:

* Lambda: moto without Docker only echoes a payload. Its invoke is replaced
  by a call to the Lambda Invoke API of `cargo lambda watch`, and a function
  error is reported the way Lambda reports it (status 200, header
  `X-Amz-Function-Error: Unhandled`, the `{"errorType", "errorMessage"}`
  payload), which is what the state machine's `Retry` and `Catch` read.
* Rekognition: moto answers DetectLabels with one canned label. Each test
  says what Rekognition sees in which stored frame (`EmulatedRekognition`),
  and can make it throttle; every call is recorded.

The memory of alerts is the stack's table in moto's DynamoDB. Its
writes are recorded (`AlertWrites`) and made one at a time, as DynamoDB makes
a conditional write; a test can hold the first writes until all have arrived,
so that executions judged together really race for the claim.

The alert e-mails go through moto's SES, which sends nothing but keeps every
message it accepted (`EmulatedAws.sent_emails`), and only from an identity
verified in it, as SES does: the stack's domain identity is created by hand.

The functions reach S3 over HTTPS, as on AWS: moto's S3 is also served with
TLS, under a certificate of a test authority that the functions and the
tests trust (`SSL_CERT_FILE`). The links to pictures that alerts carry are
then the https:// links a phone opens, and they can be followed.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import importlib.util
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from unittest import mock

import boto3
import certifi
import pytest
from botocore.config import Config as BotoConfig
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from moto import settings as moto_settings
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.cloudformation.models import cloudformation_backends
from moto.cloudformation.parsing import get_model_map
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend
from moto.iam.access_control import S3IAMRequest
from moto.iam.models import iam_backends
from moto.moto_api._internal import mock_random
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.rekognition.responses import RekognitionResponse
from moto.s3.exceptions import MissingBucket
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from moto.stepfunctions.models import stepfunctions_backends
from moto.sts.models import sts_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends
from werkzeug.serving import make_server

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
TEMPLATE = REPO / "infra" / "template.yaml"

REGION = "us-east-1"
# moto's account for any access key it does not know.
ACCOUNT = "123456789012"
# The domain the stack receives the cameras' e-mails for, and sends the
# alert e-mails from (its SES domain identity; `[alerts] email_from` below).
MAIL_DOMAIN = "cams.example.com"

# What Rekognition says, in its own words, of a snapshot of someone at the
# front door.
PERSON_AT_THE_DOOR = [
    {
        "Name": "Person",
        "Confidence": 98.07,
        "Instances": [
            {"BoundingBox": {"Width": 0.12, "Height": 0.55, "Left": 0.35, "Top": 0.24}, "Confidence": 98.07}
        ],
        "Parents": [],
        "Aliases": [{"Name": "Human"}],
        "Categories": [{"Name": "Person Description"}],
    },
    {
        "Name": "Door",
        "Confidence": 91.4,
        "Instances": [],
        "Parents": [],
        "Aliases": [],
        "Categories": [{"Name": "Buildings and Architecture"}],
    },
    {
        "Name": "Porch",
        "Confidence": 64.2,
        "Instances": [],
        "Parents": [{"Name": "Architecture"}],
        "Aliases": [],
        "Categories": [{"Name": "Buildings and Architecture"}],
    },
]

# The stack the tests deploy (`make deploy`'s default STACK), and the
# SendGrid credentials they choose: the user name is a parameter of the
# stack, the password an SSM SecureString `make deploy` writes.
STACK_NAME = "ipcam"
SENDGRID_USERNAME = "sendgrid"
SENDGRID_PASSWORD = "inbound-parse-test-password"
SENDGRID_PATH_TOKEN = "endtoendtestsendgridpathtoken"
# The queue the tests subscribe to the alert topic, to read the alerts.
ALERT_QUEUE_NAME = "ipcam-alerts-inbox"

# Each camera's secret address, as `make deploy` generates them: the only
# addresses the stack's receipt rule accepts. Mail the rule matched to one
# (the receipt's `recipients`) is that camera's, whatever its sender: the
# cameras write from addresses of the receiving domain itself, which vouch
# for no one and are trusted nowhere here.
SECRET_ADDRESSES = {
    "frontdoor": "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com",
    "porch": "porch-q3x7m2c4v6b2n5z7w3r4t6yk8d@cams.example.com",
    "garden": "garden-n2o3p4q5r6s7t2u3v4w5x6y7z2@cams.example.com",
    "drive": "drive-a2b3c4d5e6f7g2h3i4j5k6l7m2@cams.example.com",
    "path": "path-w6e5r4t3y2u7i6o5p4a3s2d7f6g5@cams.example.com",
}

# The configuration the functions read from the stack's bucket, at the key
# the template gives them (its ConfigLocation output). They read it once per
# cold start, and every test shares the function processes: a rule a test
# needs is a camera of its own here, recognised by its secret address.
CONFIG_TOML = """\
[defaults]
labels = ["person", "car"]
min_confidence = 70

# Every alert is also e-mailed, with its picture, through SES.
[alerts]
email_to = ["owner@home.example"]
email_from = "Cameras <alerts@cams.example.com>"

# Rekognition alone looks at the frames of every camera but the gated one's,
# where the embedded model looks first (test_detector_gate.py).
[detector]
kind = "rekognition"

[[cameras]]
name = "gated"
from = "gated.cam@isp-mail.example.net"
labels = ["person"]
detector = "gated"

[[cameras]]
name = "frontdoor"
labels = ["person"]
min_confidence = 70

# A cooldown, and no stationary suppression, so that only the cooldown silences.
[[cameras]]
name = "porch"
labels = ["person"]
cooldown = "10m"
stationary = { window = "0s" }

# Quiet outside the daytime (UTC).
[[cameras]]
name = "garden"
labels = ["person"]
active = [{ from = "08:00", to = "20:00" }]

# People and cars, with the default stationary suppression (a parked car).
[[cameras]]
name = "drive"
labels = ["person", "car"]

# Looks down the garden path to the door, the road beyond it: only a person
# standing on the path counts (the polygon narrows away from the camera).
[[cameras]]
name = "path"
labels = ["person"]
required_zones = [{ points = [[0.3, 1.0], [0.45, 0.5], [0.55, 0.5], [0.7, 1.0]] }]

[ingest.secret_addresses]
""" + "".join(f'{camera} = "{address}"\n' for camera, address in SECRET_ADDRESSES.items())

# The stack's parameters, as `make deploy` would pass them for this
# configuration: its secret addresses, SendGrid on (its function is tested),
# the rest as the template's defaults (the alert topic encrypted with the
# stack's KMS key, which moto creates).
STACK_PARAMETERS = {
    "DomainName": MAIL_DOMAIN,
    "InboundRecipients": ",".join(SECRET_ADDRESSES.values()),
    "EnableSendGrid": "true",
    "SendGridUsername": SENDGRID_USERNAME,
    "SendGridPathToken": SENDGRID_PATH_TOKEN,
}

# The functions are built unoptimised for the tests (quicker to build);
# IPCAM_FUNCTIONS_OPTIMISED=1 serves the release build, as Lambda runs it,
# for `make cost`'s timings.
FUNCTIONS_OPTIMISED = os.environ.get("IPCAM_FUNCTIONS_OPTIMISED") == "1"
PROFILE_FLAGS = ["--release"] if FUNCTIONS_OPTIMISED else []

# Long enough for `cargo run` to finish a build left incomplete.
INVOKE_TIMEOUT_SECONDS = 900
EXECUTION_TIMEOUT_SECONDS = 120
# Instances of each function cargo lambda watch runs at once, as Lambda
# would: executions started together run their stages side by side.
FUNCTION_CONCURRENCY = 2
# How long held writes to the alerts table wait for the others.
HOLD_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cargo lambda watch exited:\n{log.read_text()[-4000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"cargo lambda watch did not listen on {port}:\n{log.read_text()[-4000:]}")


# --- S3 over HTTPS ----------------------------------------------------------


def _test_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test certificate authority and the certificate it signs for
    127.0.0.1: the certificate and key the HTTPS endpoint presents, and a
    bundle of trusted authorities (the test one, then the usual ones) for
    `SSL_CERT_FILE`."""
    now = datetime.now(timezone.utc)
    valid = {"not_valid_before": now - timedelta(hours=1), "not_valid_after": now + timedelta(days=2)}
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "IPCam end-to-end tests")])
    authority = (
        x509.CertificateBuilder()
        .subject_name(authority_name)
        .issuer_name(authority_name)
        .public_key(authority_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"])
        .not_valid_after(valid["not_valid_after"])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(authority_key.public_key()), critical=False)
        .sign(authority_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(authority_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"])
        .not_valid_after(valid["not_valid_after"])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()), critical=False
        )
        .sign(authority_key, hashes.SHA256())
    )
    certificate, key, trusted = directory / "s3.pem", directory / "s3.key", directory / "trusted.pem"
    certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    trusted.write_bytes(authority.public_bytes(serialization.Encoding.PEM) + Path(certifi.where()).read_bytes())
    return certificate, key, trusted


class HttpsMotoServer:
    """moto's endpoint, the same in-process backends, served over HTTPS."""

    def __init__(self, port: int, certificate: Path, key: Path) -> None:
        self._server = make_server(
            "127.0.0.1",
            port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
            ssl_context=(str(certificate), str(key)),
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


# --- Rekognition -----------------------------------------------------------


@dataclass
class DetectLabelsCall:
    """One DetectLabels request as Rekognition received it."""

    bucket: str
    key: str
    min_confidence: float | None
    answer: str  # "labels" or the error code returned


@dataclass
class _Sight:
    key_pattern: str
    labels: list[dict[str, Any]]
    throttles_left: int


class EmulatedRekognition:
    """DetectLabels as a test scripts it.

    `sees(key_pattern, labels)` says what Rekognition finds in the frames
    stored under keys matching the pattern (fnmatch); labels are written in
    Rekognition's own JSON shape. `throttle_first=N` answers the first N calls
    for those frames with ThrottlingException. Like Rekognition, it reads the
    frame from S3: a missing object or one that is neither JPEG nor PNG is an
    error, and labels under the request's MinConfidence are left out. A frame
    no test spoke of shows nothing.
    """

    def __init__(self) -> None:
        self._sights: list[_Sight] = []
        self.calls: list[DetectLabelsCall] = []

    def sees(self, key_pattern: str, labels: list[dict[str, Any]], *, throttle_first: int = 0) -> None:
        self._sights.append(_Sight(key_pattern, labels, throttle_first))

    def detect_labels(self, request: dict[str, Any]) -> dict[str, Any]:
        s3_object = request.get("Image", {}).get("S3Object", {})
        bucket, key = s3_object.get("Bucket", ""), s3_object.get("Name", "")
        min_confidence = request.get("MinConfidence")
        call = DetectLabelsCall(bucket, key, min_confidence, "labels")
        self.calls.append(call)

        sight = next((s for s in self._sights if fnmatch.fnmatchcase(key, s.key_pattern)), None)
        if sight is not None and sight.throttles_left > 0:
            sight.throttles_left -= 1
            call.answer = "ThrottlingException"
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        picture = _stored_object(bucket, key)
        if picture is None:
            call.answer = "InvalidS3ObjectException"
            raise JsonRESTError(
                "InvalidS3ObjectException",
                "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
            )
        if not picture.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            call.answer = "InvalidImageFormatException"
            raise JsonRESTError("InvalidImageFormatException", "Request has unsupported image format")

        labels = sight.labels if sight is not None else []
        floor = min_confidence if min_confidence is not None else 55.0
        kept = [label for label in labels if label["Confidence"] >= floor]
        return {"Labels": kept[: request.get("MaxLabels", 1000)], "LabelModelVersion": "3.0"}


def _stored_object(bucket: str, key: str) -> bytes | None:
    try:
        stored = s3_backends[ACCOUNT]["aws"].get_object(bucket, key)
    except MissingBucket:
        return None
    return stored.value if stored is not None else None


# --- DynamoDB --------------------------------------------------------------


@dataclass
class AlertWrite:
    """One write to the alerts table as DynamoDB received it."""

    camera: str
    entry: str
    condition: str | None
    replaces: int | None
    # False when its condition failed (or moto refused it otherwise).
    kept: bool


class AlertWrites:
    """Every write to the alerts table, in the order DynamoDB made them.

    Writes are made one at a time, each condition checked and the item
    written at once, as DynamoDB does (moto's server threads could otherwise
    interleave two conditional writes). `hold_first(n)` holds the first n
    writes until all n have arrived, so that n executions have all read the
    memory before any of them writes, then lets them go in arrival order or
    in the order `first` (a key on the item) gives.
    """

    def __init__(self) -> None:
        self.writes: list[AlertWrite] = []
        self.gate_timed_out = False
        self._condition = threading.Condition()
        self._to_hold = 0
        self._held: list[dict[str, Any]] = []
        self._order_key = None
        self._turn = 0

    def hold_first(self, count: int, *, first=None) -> None:
        with self._condition:
            self._to_hold, self._held, self._order_key, self._turn = count, [], first, 0

    def put_item(self, original, backend, table_name, item_attrs, *args, **kwargs):
        with self._condition:
            if self._to_hold == 0:
                return self._write(original, backend, table_name, item_attrs, args, kwargs)
            self._to_hold -= 1
            ticket = len(self._held)
            self._held.append(item_attrs)
            self._condition.notify_all()
            if not self._condition.wait_for(lambda: self._to_hold == 0, timeout=HOLD_TIMEOUT_SECONDS):
                # The others never came: hold nothing more.
                self.gate_timed_out, self._to_hold = True, 0
                return self._write(original, backend, table_name, item_attrs, args, kwargs)
            tickets = list(range(len(self._held)))
            if self._order_key is not None:
                tickets.sort(key=lambda held: self._order_key(self._held[held]))
            self._condition.wait_for(
                lambda: self._turn >= len(tickets) or tickets[self._turn] == ticket,
                timeout=HOLD_TIMEOUT_SECONDS,
            )
            try:
                return self._write(original, backend, table_name, item_attrs, args, kwargs)
            finally:
                self._turn += 1
                self._condition.notify_all()

    def _write(self, original, backend, table_name, item_attrs, args, kwargs):
        condition = kwargs.get("condition_expression", args[1] if len(args) > 1 else None)
        values = kwargs.get("expression_attribute_values", args[3] if len(args) > 3 else None) or {}
        replaces = values.get(":replaces", {}).get("N")
        write = AlertWrite(
            camera=item_attrs.get("camera", {}).get("S", ""),
            entry=item_attrs.get("entry", {}).get("S", ""),
            condition=condition,
            replaces=int(replaces) if replaces is not None else None,
            kept=False,
        )
        self.writes.append(write)
        # A failed condition raises ConditionalCheckFailed.
        result = original(backend, table_name, item_attrs, *args, **kwargs)
        write.kept = True
        return result


# --- Lambda ----------------------------------------------------------------


def _is_lambda_error_payload(payload: bytes) -> bool:
    try:
        document = json.loads(payload)
    except ValueError:
        return False
    return isinstance(document, dict) and "errorType" in document


def _invoke_through(services: Services):
    """moto's Lambda invoke, answered by the function's binary served by its
    cargo lambda watch."""

    def invoke(backend: LambdaSimpleBackend, function_name, qualifier, body, headers, response_headers):
        function = backend.get_function(function_name, qualifier)
        binary = services.stack.binary(function.function_name)
        payload = body.encode() if isinstance(body, str) else (body or b"{}")
        request = urllib.request.Request(
            f"{services.runtime_urls[binary]}/2015-03-31/functions/{binary}/invocations",
            data=payload,
            method="POST",
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as answer:
                return answer.read()
        except urllib.error.HTTPError as failure:
            # cargo lambda answers 500 with the runtime's error payload when
            # the handler fails; Lambda answers 200 and flags it in a header.
            error_payload = failure.read()
            if not _is_lambda_error_payload(error_payload):
                raise RuntimeError(
                    f"cargo lambda watch answered {failure.code} for {function.function_name}: "
                    f"{error_payload[:2000]!r}"
                ) from failure
            response_headers["x-amz-function-error"] = "Unhandled"
            return error_payload

    return invoke


# --- the stack -------------------------------------------------------------

# The resource types of the translated template that moto's CloudFormation
# does not model: it warns, creates nothing for them and goes on. What
# covers each instead. `deploy_stack` fails when moto leaves out any other
# type (or models one of these), so that this list stays exact.
NOT_CREATED_BY_MOTO = {
    "AWS::S3::BucketPolicy": (
        "cfn-lint on the translated template (make validate). SES's writes to "
        "incoming/ are made by the tests themselves (EmulatedAws.receive_by_ses), "
        "and the functions reach S3 over HTTPS only, as its TlsOnly statement "
        "demands (HttpsMotoServer); moto enforces no bucket policy."
    ),
    "AWS::SES::EmailIdentity": (
        "created by hand in EmulatedAws.deploy (SES v2 CreateEmailIdentity of "
        "DomainName), since SES sends the alert e-mails only from a verified "
        "identity; its DKIM records cannot be checked offline."
    ),
    "AWS::SES::ReceiptRuleSet": (
        "check_stack.py (check_receipt_recipients); SES receives no mail here: "
        "the tests do the rule's S3 and Lambda actions (receive_by_ses)."
    ),
    "AWS::SES::ReceiptRule": (
        "check_stack.py: check_receipt_recipients (only the secret addresses), "
        "check_failure_destinations (ingest-ses keeps what it fails on); the "
        "tests do its S3 action (store under incoming/) and its Lambda action "
        "(invoke ingest-ses with the receipt event) themselves (receive_by_ses)."
    ),
    "AWS::ApiGatewayV2::Api": (
        "check_stack.py check_http_endpoints (a secret path segment, an access "
        "log, 4xx and 5xx alarms) and cfn-lint; the tests hand ingest-sendgrid "
        "the payload-2.0 event the HTTP API would (http_api_post)."
    ),
    "AWS::ApiGatewayV2::Integration": "as AWS::ApiGatewayV2::Api.",
    "AWS::ApiGatewayV2::Route": "as AWS::ApiGatewayV2::Api (check_http_endpoints reads its route key).",
    "AWS::ApiGatewayV2::Stage": "as AWS::ApiGatewayV2::Api (check_http_endpoints: its access log).",
    "AWS::SNS::TopicPolicy": (
        "check_stack.py check_bill_watched (the ops topic lets AWS Budgets "
        "publish) and cfn-lint; moto enforces no topic policy."
    ),
    "AWS::Budgets::Budget": "check_stack.py check_bill_watched and cfn-lint.",
    "AWS::CloudWatch::Alarm": (
        "check_stack.py: check_alarm_actions (every alarm tells the ops topic, "
        "never the alert topic), check_rejection_metric, check_http_endpoints; "
        "cfn-lint."
    ),
    "AWS::Lambda::EventInvokeConfig": (
        "check_stack.py check_failure_destinations (ingest-ses's events go to "
        "the stack's failure queue after its retries); test_redrive.py sends "
        "Lambda's on-failure record to the queue the stack created."
    ),
}

# moto runs no code without Docker: each function's Code points at this
# object (as `sam package` would upload it), and cargo lambda watch runs it.
FUNCTION_CODE_PLACEHOLDER = b"served by cargo lambda watch"
# moto names the stack's resources (bucket, table, topics, queue, roles) with
# its random generator: seeded alike before each deployment, it gives them
# the same names every time, those in the functions' environments.
STACK_NAMES_SEED = 20261201


def check_stack_module():
    """infra/check_stack.py, whose `translate` runs SAM's translator offline
    as CloudFormation's transform would (`make validate` uses it too)."""
    spec = importlib.util.spec_from_file_location("check_stack", REPO / "infra" / "check_stack.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=1)
def stack_template() -> str:
    """infra/template.yaml translated by SAM's translator, as CloudFormation
    gets it, made deployable on moto:

    * Each state machine's DefinitionS3Location (where `sam package` would
      upload DefinitionUri) becomes the definition file's text, and its
      DefinitionSubstitutions, which moto ignores, are made the way
      CloudFormation makes them: as `Fn::Sub` of the definition with those
      values (the functions' ARNs, from the functions moto created).
    * The outputs that name a resource moto does not create
      (NOT_CREATED_BY_MOTO) are left out: moto fails on the whole
      DescribeStacks otherwise (ReceiptRuleSetName, DkimRecords, SendGridUrl).
    """
    check_stack = check_stack_module()
    template = check_stack.load_template(TEMPLATE)
    problems = check_stack.Problems()
    translated = check_stack.translate(template, problems)
    if translated is None:
        raise RuntimeError(f"SAM's translator rejects {TEMPLATE}: {problems.items}")

    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        properties = resource["Properties"]
        properties.pop("DefinitionS3Location")
        definition = (TEMPLATE.parent / template["Resources"][name]["Properties"]["DefinitionUri"]).read_text()
        substitutions = properties.pop("DefinitionSubstitutions", {})
        properties["DefinitionString"] = {"Fn::Sub": [definition, substitutions]} if substitutions else definition

    model_map = get_model_map()
    skipped = {name for name, resource in translated["Resources"].items() if resource["Type"] not in model_map}
    for name, output in list(translated.get("Outputs", {}).items()):
        text = json.dumps(output)
        if any(f'"{resource}"' in text or f"${{{resource}" in text for resource in skipped):
            del translated["Outputs"][name]
    return json.dumps(translated)


def _code_locations(template: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (resource["Properties"]["Code"]["S3Bucket"], resource["Properties"]["Code"]["S3Key"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    }


@dataclass
class Stack:
    """What CloudFormation (moto's) made of infra/template.yaml."""

    outputs: dict[str, str]
    # Logical id -> physical id, of each resource moto created.
    resources: dict[str, str]
    # Binary (crate) -> the stack's function name, and the environment
    # CloudFormation gave that function.
    function_names: dict[str, str]
    environments: dict[str, dict[str, str]]
    # Binary -> the credentials of a session of its function's role, which
    # its process runs with, as Lambda gives them (AWS_ACCESS_KEY_ID, ...).
    credentials: dict[str, dict[str, str]]
    # Resources left out by their Condition under STACK_PARAMETERS.
    not_created_by_condition: list[str]

    @property
    def bucket(self) -> str:
        return self.outputs["BucketName"]

    @property
    def config_key(self) -> str:
        location = self.outputs["ConfigLocation"]
        assert location.startswith(f"s3://{self.bucket}/"), location
        return location[len(f"s3://{self.bucket}/") :]

    @property
    def alerts_table(self) -> str:
        return self.outputs["AlertsTableName"]

    @property
    def alert_topic_arn(self) -> str:
        return self.outputs["AlertTopicArn"]

    @property
    def ops_topic_arn(self) -> str:
        return self.outputs["OperationsTopicArn"]

    @property
    def state_machine_arn(self) -> str:
        return self.outputs["StateMachineArn"]

    @property
    def failure_queue_url(self) -> str:
        return self.outputs["IngestSesFailureQueueUrl"]

    @property
    def sendgrid_password_parameter(self) -> str:
        return self.outputs["SendGridPasswordParameter"]

    @property
    def incoming_prefix(self) -> str:
        """Where SES's S3 action stores the e-mails: ingest-ses is told."""
        return self.environments["ingest-ses"]["IPCAM_INCOMING_PREFIX"]

    def binary(self, function_name: str) -> str:
        """The binary (crate) of one of the stack's functions."""
        return next(binary for binary, name in self.function_names.items() if name == function_name)


def deploy_stack(services: Services) -> Stack:
    """Creates the stack from infra/template.yaml in moto's CloudFormation,
    as `make deploy` would with STACK_PARAMETERS, in a freshly reset
    account."""
    template_body = stack_template()
    template = json.loads(template_body)
    s3 = services.client("s3")
    for bucket, key in _code_locations(template):
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        s3.put_object(Bucket=bucket, Key=key, Body=FUNCTION_CODE_PLACEHOLDER)

    cloudformation = services.client("cloudformation")
    mock_random.seed(STACK_NAMES_SEED)
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=template_body,
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in STACK_PARAMETERS.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    described = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described
    outputs = {output["OutputKey"]: output["OutputValue"] for output in described.get("Outputs", [])}
    # moto lists the resources it did not model too, without their names.
    resources = {
        resource["LogicalResourceId"]: resource.get("PhysicalResourceId", "")
        for resource in cloudformation.describe_stack_resources(StackName=STACK_NAME)["StackResources"]
        if "LogicalResourceId" in resource
    }

    model_map = get_model_map()
    conditions = next(
        stack for stack in cloudformation_backends[ACCOUNT][REGION].stacks.values() if stack.name == STACK_NAME
    ).resource_map.lazy_condition_map
    not_modelled, by_condition = set(), []
    for name, resource in template["Resources"].items():
        if name in resources:
            continue
        if "Condition" in resource and not conditions[resource["Condition"]]:
            by_condition.append(name)
        elif resource["Type"] not in model_map:
            not_modelled.add(resource["Type"])
        else:
            raise AssertionError(f"moto's CloudFormation did not create {name} ({resource['Type']})")
    assert not_modelled == set(NOT_CREATED_BY_MOTO), (
        "the resource types moto does not create changed: update NOT_CREATED_BY_MOTO "
        f"(not created: {sorted(not_modelled)}; listed: {sorted(NOT_CREATED_BY_MOTO)})"
    )

    # moto's CloudFormation creates state machines in the Step Functions
    # backend that does not execute them; the API, configured to execute
    # them, answers from the other. Hand each one over, as created.
    for machine in list(stepfunctions_backends[ACCOUNT][REGION].state_machines):
        stepfunctions_parser_backends[ACCOUNT][REGION].create_state_machine(
            machine.name, machine.definition, machine.roleArn
        )

    # moto's CloudFormation keeps a role's inline policies as the template's
    # objects, where its IAM enforcement reads the JSON text IAM keeps.
    for role in iam_backends[ACCOUNT]["aws"].roles.values():
        role.policies = {
            name: document if isinstance(document, str) else json.dumps(document)
            for name, document in role.policies.items()
        }

    lambda_ = services.client("lambda")
    sts = services.client("sts")
    function_names, environments, credentials = {}, {}, {}
    # The binary of each function: the crate whose zip its CodeUri names in
    # the template (the translated function keeps the logical id).
    check_stack = check_stack_module()
    source = check_stack.load_template(TEMPLATE)["Resources"]
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function" or name not in resources:
            continue
        binary = check_stack.function_binary(source[name])
        function_names[binary] = resources[name]
        configuration = lambda_.get_function_configuration(FunctionName=resources[name])
        # What Lambda does at a cold start: a session of the function's role.
        session = sts.assume_role(
            RoleArn=configuration["Role"], RoleSessionName=resources[name], DurationSeconds=43200
        )["Credentials"]
        credentials[binary] = {
            "AWS_ACCESS_KEY_ID": session["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
            "AWS_SESSION_TOKEN": session["SessionToken"],
        }
        # Lambda keeps every variable as a string (moto keeps a Number
        # parameter's value as a number).
        environments[binary] = {
            key: str(value) for key, value in configuration.get("Environment", {}).get("Variables", {}).items()
        }
    stack = Stack(outputs, resources, function_names, environments, credentials, by_condition)

    definition = services.client("stepfunctions").describe_state_machine(stateMachineArn=stack.state_machine_arn)[
        "definition"
    ]
    assert "${" not in definition, f"a substitution of the state machine was not made: {definition}"
    function_arns = {
        function["FunctionName"]: function["FunctionArn"] for function in lambda_.list_functions()["Functions"]
    }
    for binary in ("extract-attachments", "detect-labels", "notify"):
        assert function_arns[function_names[binary]] in definition, f"the state machine does not invoke {binary}"
    return stack


# --- the functions' permissions on S3 ---------------------------------------


def _access_key_of(authorization: str) -> str:
    """The access key of a SigV4 Authorization header."""
    credential = authorization.partition("Credential=")[2]
    return credential.partition("/")[0]


def _s3_permissions_enforced(services: Services) -> list:
    """moto's IAM enforcement, for S3 requests made with a function's role
    credentials: each is allowed only by a statement of the role's policies
    whose action and resource (arn:aws:s3:::bucket/key) match, as on AWS, so
    that a permission the template forgot (s3:ListBucket, a prefix) fails
    the test.

    Narrowly: moto matches a statement's Resource only for S3 and SQS; every
    other request it checks against `*`, which no statement naming a table,
    topic or state machine matches, so they are not checked here (the roles'
    other permissions are checked statically, infra/check_stack.py). The
    tests act as the account's administrator (their own access key is not
    checked), a presigned link is not checked (moto reads only the
    Authorization header), and the signature is not checked (moto does not
    recompute the SDK's aws-chunked payload signatures).
    """
    authorize = ActionAuthenticatorMixin._authenticate_and_authorize_s3_action

    def authorize_functions_on_s3(responses, bucket_name=None, key_name=None):
        if services.stack is None:
            return
        access_key = _access_key_of(responses.headers.get("Authorization", ""))
        if any(access_key == credentials["AWS_ACCESS_KEY_ID"] for credentials in services.stack.credentials.values()):
            authorize(responses, bucket_name=bucket_name, key_name=key_name)

    return [
        mock.patch.object(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0),
        mock.patch.object(ActionAuthenticatorMixin, "_authenticate_and_authorize_normal_action", lambda *_, **__: None),
        mock.patch.object(ActionAuthenticatorMixin, "_authenticate_and_authorize_s3_action", authorize_functions_on_s3),
        mock.patch.object(S3IAMRequest, "check_signature", lambda _: None),
    ]


# --- the services ----------------------------------------------------------


@dataclass
class Services:
    """moto and cargo lambda watch, shared by every test of a session."""

    endpoint: str
    function_log: Path
    # Each binary's cargo lambda watch, running it with its function's
    # environment in the session's stack.
    runtime_urls: dict[str, str] = field(default_factory=dict)
    stack: Stack | None = None
    rekognition: EmulatedRekognition = field(default_factory=EmulatedRekognition)
    alert_writes: AlertWrites = field(default_factory=AlertWrites)
    function_log_offset: int = 0

    def mark_function_log(self) -> None:
        self.function_log_offset = self.function_log.stat().st_size

    def function_log_since_mark(self) -> str:
        with self.function_log.open("rb") as log:
            log.seek(self.function_log_offset)
            return log.read().decode(errors="replace")

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            # A retried Invoke would run a function twice: never retry here.
            config=BotoConfig(retries={"total_max_attempts": 1}, read_timeout=INVOKE_TIMEOUT_SECONDS),
        )

    def post(self, path: str, document: dict[str, Any] | None = None) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=json.dumps(document or {}).encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30):
            pass


def _cargo_lambda() -> str:
    beside_python = Path(sys.executable).parent / "cargo-lambda"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("cargo-lambda")
    if found is None:
        raise RuntimeError("cargo-lambda is not installed: run `make e2e`, which installs it")
    return found


def _function_process_environment(
    function_environment: dict[str, str],
    credentials: dict[str, str],
    endpoint: str,
    s3_endpoint: str,
    trusted: Path,
) -> dict[str, str]:
    """What a function's process runs with: the environment CloudFormation
    gave the function, and what Lambda's runtime would add (its role's
    credentials, the region), pointed at moto. Nothing of the `IPCAM_*`
    variables of whoever runs the tests: only the stack's."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("IPCAM_")}
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_S3": s3_endpoint,
            "SSL_CERT_FILE": str(trusted),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    environment.update(credentials)
    environment.update(function_environment)
    return environment


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    moto_port, https_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    s3_endpoint = f"https://127.0.0.1:{https_port}"
    log = tmp_path_factory.mktemp("cargo-lambda") / "watch.log"
    log.touch()
    certificate, key, trusted = _test_certificates(tmp_path_factory.mktemp("tls"))
    started = Services(endpoint=endpoint, function_log=log)

    def detect_labels(response: RekognitionResponse) -> str:
        return json.dumps(started.rekognition.detect_labels(json.loads(response.body)))

    put_item = DynamoDBBackend.put_item

    def put_item_one_at_a_time(backend, table_name, item_attrs, *args, **kwargs):
        return started.alert_writes.put_item(put_item, backend, table_name, item_attrs, *args, **kwargs)

    with ExitStack() as cleanup:
        # The state machine's tasks reach Lambda through moto's own port.
        # The tests follow the https:// links of alerts: they trust the test
        # authority too.
        cleanup.enter_context(
            mock.patch.dict(os.environ, {"MOTO_PORT": str(moto_port), "SSL_CERT_FILE": str(trusted)})
        )
        cleanup.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", _invoke_through(started)))
        cleanup.enter_context(mock.patch.object(RekognitionResponse, "detect_labels", detect_labels))
        cleanup.enter_context(mock.patch.object(DynamoDBBackend, "put_item", put_item_one_at_a_time))
        for patch in _s3_permissions_enforced(started):
            cleanup.enter_context(patch)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        server.start()
        cleanup.callback(server.stop)
        https_server = HttpsMotoServer(https_port, certificate, key)
        https_server.start()
        cleanup.callback(https_server.stop)
        started.post(
            "/moto-api/config",
            {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}},
        )
        # The stack as CloudFormation creates it: its functions' names and
        # environments are those the processes below run with (each test
        # deploys it again, named alike).
        started.stack = deploy_stack(started)

        build_environment = _function_process_environment({}, {}, endpoint, s3_endpoint, trusted)
        # Build what `cargo lambda watch` runs (`cargo run --bin NAME`, same
        # profile, same target directory), so that no invoke waits for a build.
        for binary in started.stack.function_names:
            subprocess.run(
                ["cargo", "build", *PROFILE_FLAGS, "--bin", binary], cwd=REPO, env=build_environment, check=True
            )
        # One cargo lambda watch per function: it runs every function it
        # serves with its own environment, and each function has its own.
        with log.open("ab") as log_file:
            for binary, function_environment in started.stack.environments.items():
                port = free_port()
                watch = subprocess.Popen(
                    [
                        _cargo_lambda(),
                        "lambda",
                        "watch",
                        "--invoke-address",
                        "127.0.0.1",
                        "--invoke-port",
                        str(port),
                        "--concurrency",
                        str(FUNCTION_CONCURRENCY),
                        "--ignore-changes",
                        *PROFILE_FLAGS,
                    ],
                    cwd=REPO,
                    env=_function_process_environment(
                        function_environment, started.stack.credentials[binary], endpoint, s3_endpoint, trusted
                    ),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                cleanup.callback(_stop_process_group, watch)
                wait_for_port(port, watch, log, timeout=60)
                started.runtime_urls[binary] = f"http://127.0.0.1:{port}"
        yield started


def _stop_process_group(process: subprocess.Popen) -> None:
    """Stops cargo lambda watch and the function processes it started."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed test's report shows what the functions logged meanwhile."""
    outcome = yield
    report = outcome.get_result()
    services = getattr(item, "funcargs", {}).get("services")
    if report.failed and report.when == "call" and services is not None:
        report.sections.append(("function logs (cargo lambda watch)", services.function_log_since_mark()))


# --- one test's AWS account ------------------------------------------------


@dataclass
class Alert:
    """One message the alert topic delivered to the subscribed queue."""

    body: dict[str, Any]
    attributes: dict[str, str]


@dataclass
class Published:
    """One message published to the alert topic, as SNS received it."""

    message_id: str
    subject: str | None
    attributes: dict[str, Any]


@dataclass
class SentEmail:
    """One e-mail SES accepted for sending (SendRawEmail)."""

    message_id: str
    source: str
    destinations: list[str]
    raw: bytes


class EmulatedAws:
    """A fresh account with the pipeline's stack deployed from
    infra/template.yaml, and what a test needs to drive it and to look at
    what AWS holds afterwards. The names of what the stack created come from
    the stack (`stack`), never from the tests."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.s3 = services.client("s3")
        self.sfn = services.client("stepfunctions")
        self.sqs = services.client("sqs")
        self.lambda_ = services.client("lambda")
        self.dynamodb = services.client("dynamodb")
        self.sns = services.client("sns")
        self.queue_url = ""
        self.stack: Stack | None = None

    def deploy(self) -> None:
        """Creates the stack in moto's CloudFormation, then what `make deploy`
        and the tests add by hand: the configuration at the key the stack's
        functions read, the SendGrid password in SSM, the SES domain identity
        (which moto's CloudFormation does not create) and a queue subscribed
        to the alert topic, from which the tests read the alerts."""
        self.stack = deploy_stack(self.services)
        expected = self.services.stack
        if expected is not None:
            # moto draws session tokens from os.urandom, not from its seeded
            # generator: the role sessions get back the tokens the functions'
            # processes hold.
            for binary, credentials in self.stack.credentials.items():
                held = expected.credentials.get(binary, {}).get("AWS_SESSION_TOKEN", "")
                for session in sts_backends[ACCOUNT]["aws"].assumed_roles:
                    if session.access_key_id == credentials["AWS_ACCESS_KEY_ID"]:
                        session.session_token = held
                        credentials["AWS_SESSION_TOKEN"] = held
        if expected is not None and (
            self.stack.function_names != expected.function_names
            or self.stack.environments != expected.environments
            or self.stack.credentials != expected.credentials
        ):
            raise AssertionError(
                "the stack deployed for this test names its resources otherwise than the stack whose "
                f"environments the functions run with:\n{self.stack.environments}\n{expected.environments}"
            )
        self.s3.put_object(Bucket=self.bucket, Key=self.stack.config_key, Body=CONFIG_TOML.encode())
        assert self.remembered() == [], "the alerts table of a new test is not empty"

        # The SendGrid password, where `make deploy` writes it.
        self.services.client("ssm").put_parameter(
            Name=self.stack.sendgrid_password_parameter, Value=SENDGRID_PASSWORD, Type="SecureString"
        )
        # The domain identity the stack creates (AWS::SES::EmailIdentity),
        # which moto's CloudFormation does not: SES sends only from a
        # verified identity.
        self.services.client("sesv2").create_email_identity(EmailIdentity=self.stack.outputs["DomainName"])
        self.queue_url = self.subscribe_queue(ALERT_QUEUE_NAME)

    @property
    def bucket(self) -> str:
        return self.stack.bucket

    @property
    def alerts_table(self) -> str:
        return self.stack.alerts_table

    @property
    def state_machine_arn(self) -> str:
        return self.stack.state_machine_arn

    @property
    def incoming_prefix(self) -> str:
        return self.stack.incoming_prefix

    def execution_arn(self, name: str) -> str:
        """The ARN of the pipeline's execution of that name."""
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def function_name(self, binary: str) -> str:
        """The stack's name of the function built from that crate."""
        return self.stack.function_names[binary]

    def subscribe_queue(self, name: str, filter_policy: dict[str, Any] | None = None) -> str:
        """Creates an SQS queue and subscribes it to the alert topic with raw
        message delivery and, if given, a filter policy on the message
        attributes (`camera`, `labels`); returns the queue's URL."""
        queue_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attributes = {"RawMessageDelivery": "true"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        self.sns.subscribe(TopicArn=self.stack.alert_topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
        return queue_url

    # Driving the pipeline.

    def store_message(self, key: str, raw: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=raw)

    def invoke(self, function: str, event: dict[str, Any]) -> tuple[Any, str | None]:
        """Invokes the stack's function built from the crate `function`
        through the Lambda API: its answer, and the function error flag
        (`Unhandled`) if it failed."""
        response = self.lambda_.invoke(FunctionName=self.function_name(function), Payload=json.dumps(event).encode())
        return json.loads(response["Payload"].read()), response.get("FunctionError")

    def receive_by_ses(self, raw_message: bytes, receipt_event: dict[str, Any]) -> dict[str, Any]:
        """What SES does with a received message: its S3 action stores it
        under the incoming prefix, then its Lambda action invokes ingest-ses
        with the receipt event. Returns the function's answer."""
        self.store_message(self.incoming_key(receipt_event), raw_message)
        answer, error = self.invoke("ingest-ses", receipt_event)
        assert error is None, f"ingest-ses failed: {answer}"
        return answer

    def incoming_key(self, receipt_event: dict[str, Any]) -> str:
        return self.incoming_prefix + receipt_event["Records"][0]["ses"]["mail"]["messageId"]

    def post_to_sendgrid_endpoint(self, raw_message: bytes, authorization: str | None) -> dict[str, Any]:
        """A SendGrid Inbound Parse post in raw mode, as API Gateway (HTTP
        API, payload format 2.0) hands it to ingest-sendgrid: a base64
        multipart/form-data body whose `email` field holds the whole message.
        Returns the function's HTTP answer."""
        answer, error = self.invoke("ingest-sendgrid", _sendgrid_raw_post(raw_message, authorization))
        assert error is None, f"ingest-sendgrid failed: {answer}"
        return answer

    @staticmethod
    def sendgrid_authorization(password: str = SENDGRID_PASSWORD) -> str:
        """The basic-auth header SendGrid sends for credentials written into
        the Inbound Parse URL."""
        token = base64.b64encode(f"{SENDGRID_USERNAME}:{password}".encode()).decode()
        return f"Basic {token}"

    # What AWS holds afterwards.

    def executions(self) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]

    def finished_execution(self, execution_arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + EXECUTION_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            execution = self.sfn.describe_execution(executionArn=execution_arn)
            if execution["status"] != "RUNNING":
                return execution
            time.sleep(0.1)
        raise AssertionError(f"execution {execution_arn} still running after {EXECUTION_TIMEOUT_SECONDS} s")

    def the_only_execution(self) -> dict[str, Any]:
        """The one execution started, once it has finished."""
        executions = self.executions()
        assert len(executions) == 1, f"expected one execution, found {executions}"
        return self.finished_execution(executions[0]["executionArn"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]

    def final_state(self, execution_arn: str) -> str:
        """The name of the last state the execution entered."""
        entered = [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history(execution_arn)
            if "stateEnteredEventDetails" in event
        ]
        assert entered, f"execution {execution_arn} entered no state"
        return entered[-1]

    def remembered(self) -> list[dict[str, Any]]:
        """Every item of the alerts table, in DynamoDB's JSON."""
        return self.dynamodb.scan(TableName=self.alerts_table, ConsistentRead=True)["Items"]

    def put_alerts_item(self, item: dict[str, Any]) -> None:
        """Writes an item to the alerts table, as the AWS CLI would."""
        self.dynamodb.put_item(TableName=self.alerts_table, Item=item)

    def alerts(self, queue_url: str | None = None) -> list[Alert]:
        """Every message the topic delivered to the subscribed queue, or to
        the queue at `queue_url`, taken off it."""
        queue_url = queue_url or self.queue_url
        alerts = []
        while True:
            received = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not received:
                return alerts
            for message in received:
                attributes = {
                    name: value.get("StringValue", "")
                    for name, value in message.get("MessageAttributes", {}).items()
                }
                alerts.append(Alert(json.loads(message["Body"]), attributes))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def told_the_operator(self) -> list[tuple[str | None, str]]:
        """The subject and text of every message published to the
        operational topic."""
        topic = sns_backends[ACCOUNT][REGION].topics[self.stack.ops_topic_arn]
        return [(subject, message) for _id, message, subject, _attributes, _group in topic.sent_notifications]

    def published(self) -> list[Published]:
        """Every message published to the alert topic, with the subject and
        attributes SNS received (moto keeps them)."""
        topic = sns_backends[ACCOUNT][REGION].topics[self.stack.alert_topic_arn]
        return [
            Published(message_id, subject, dict(attributes or {}))
            for message_id, _message, subject, attributes, _group in topic.sent_notifications
        ]

    @staticmethod
    def sent_emails() -> list[SentEmail]:
        """Every raw e-mail SES accepted for sending, in order (moto keeps
        them and delivers none)."""
        return [
            SentEmail(sent.id, sent.source, list(sent.destinations), sent.raw_data.encode())
            for sent in ses_backends[ACCOUNT][REGION].sent_messages
            if hasattr(sent, "raw_data")
        ]

    def object_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def object(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def rekognition(services: Services) -> EmulatedRekognition:
    services.rekognition = EmulatedRekognition()
    return services.rekognition


@pytest.fixture
def alert_writes(services: Services) -> AlertWrites:
    services.alert_writes = AlertWrites()
    return services.alert_writes


@pytest.fixture
def aws(services: Services, rekognition: EmulatedRekognition, alert_writes: AlertWrites) -> EmulatedAws:
    """A freshly reset emulated account with the stack deployed."""
    services.post("/moto-api/reset")
    services.mark_function_log()
    account = EmulatedAws(services)
    account.deploy()
    return account


def _sendgrid_raw_post(raw_message: bytes, authorization: str | None) -> dict[str, Any]:
    boundary = "xYzZY"
    fields = [
        ("to", b"alerts@cams.example.com"),
        ("from", b"FrontDoor Camera <frontdoor@cams.example.com>"),
        ("subject", b"Motion Detection Alarm: FrontDoor"),
        # SendGrid received it for the front door's secret address.
        ("envelope", json.dumps({"to": [SECRET_ADDRESSES["frontdoor"]], "from": "frontdoor@cams.example.com"}).encode()),
        ("charsets", b'{"to":"UTF-8","from":"UTF-8","subject":"UTF-8"}'),
        ("SPF", b"pass"),
        ("email", raw_message),
    ]
    body = b""
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return http_api_post(body, boundary, authorization)


def http_api_post(form_body: bytes, boundary: str, authorization: str | None) -> dict[str, Any]:
    """A SendGrid form post as the HTTP API (payload format 2.0) hands it to
    ingest-sendgrid."""
    headers = {
        "content-type": f"multipart/form-data; boundary={boundary}",
        "content-length": str(len(form_body)),
        "host": "inbound.cams.example.com",
        "user-agent": "Sendlib/1.0 inbound.cams.example.com",
    }
    if authorization is not None:
        headers["authorization"] = authorization
    return {
        "version": "2.0",
        "routeKey": "POST /sendgrid",
        "rawPath": "/sendgrid",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "a1b2c3d4e5",
            "domainName": "inbound.cams.example.com",
            "domainPrefix": "inbound",
            "http": {
                "method": "POST",
                "path": "/sendgrid",
                "protocol": "HTTP/1.1",
                "sourceIp": "167.89.117.8",
                "userAgent": "Sendlib/1.0 inbound.cams.example.com",
            },
            "requestId": "Nq3xYh2voAMEbvQ=",
            "routeKey": "POST /sendgrid",
            "stage": "$default",
            "time": "29/Nov/2026:06:41:09 +0000",
            "timeEpoch": 1795761669000,
        },
        "body": base64.b64encode(form_body).decode(),
        "isBase64Encoded": True,
    }


def pytest_configure(config: pytest.Config) -> None:
    # moto warns of each resource type of the stack it does not create, at
    # each deployment; deploy_stack checks that list (NOT_CREATED_BY_MOTO).
    config.addinivalue_line("filterwarnings", "ignore:Tried to parse AWS.* not supported by moto:UserWarning")
