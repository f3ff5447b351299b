#!/usr/bin/env python3
"""Smoke test of the deployable arm64 zips: does each function start and
answer an invocation, as it would on Lambda?

`make zips` cross-compiles the five functions for aarch64 (glibc, linked by
zig) into LAMBDA_DIR/<function>/bootstrap.zip. Nothing else ever runs those
binaries before AWS does. Here each one is taken out of its zip and run
under `qemu-aarch64-static`, with Debian's aarch64 loader and glibc
(`-L /usr/aarch64-linux-gnu`, package libc6-arm64-cross), against:

- a Lambda Runtime API served by this script on loopback, one per function:
  the first GET /2018-06-01/runtime/invocation/next hands out one event
  (with the Lambda-Runtime-Aws-Request-Id, -Deadline-Ms and
  -Invoked-Function-Arn headers); the POSTs to .../invocation/<id>/response,
  .../invocation/<id>/error and /runtime/init/error are recorded; a second
  GET is held until the process is stopped;
- moto on loopback for every AWS service the functions call, holding what
  the stack holds: each resource the functions' environments name (the
  bucket, the alerts table with the keys infra/template.yaml gives it, the
  topics, the state machine), the configuration (SMOKE_CONFIG) the functions
  read from the bucket at cold start, the SendGrid password in SSM, the SES
  identity alerts are sent from.

Each function gets the environment Lambda gives it: the variables
infra/template.yaml sets for it (the Globals' and its own, every parameter
at its default but those of PARAMETER_OVERRIDES, each resource named as
created here), its memory size, and Lambda's own variables.

The events follow one camera e-mail (samples/frontdoor_person.eml, a
visitor at the door) through the pipeline, each function fed what the one
before it produced, as the state machine feeds it:

- ingest-ses: the SES receipt event for the stored message, addressed to
  the camera's secret address; it must start an execution;
- ingest-sendgrid: the same message as a SendGrid Inbound Parse post
  (raw mode, with the right credentials) through the HTTP API; it must
  answer 200 "accepted" and start an execution;
- extract-attachments: the input of the execution ingest-ses started (as
  moto's Step Functions recorded it); it must find the snapshot and store
  it as a frame;
- detect-labels: the first frame, as the state machine's DetectLabels state
  passes it; the configuration has the embedded model decide
  (`[detector] kind = "embedded"`), so the model is loaded at cold start and
  no Rekognition answer is needed; it must see the visitor and alert;
- notify: the event, its frames and that analysis, as the Notify state
  passes them; it must publish the alert.

Every function must answer with a successful response: none is let off
with an error answer. An init error (the process exits, or posts
/runtime/init/error, before it asks for an event), a crash, an error answer,
or no answer within the deadlines fails the test. Per function it prints
the time from the process's start to its first GET of .../invocation/next
(its init, the configuration read from S3 included) and to its answer.

usage: smoke_arm64.py [LAMBDA_DIR]   (out/lambda by default; run it with the
venv's Python, which has moto, boto3 and cfn-lint: make smoke-arm64 does)
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import http.server
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
from cfnlint.decode import decode
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

# Run as a script from any directory: its own folder, infra/, is on the path.
from check_stack import function_binary

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
STATE_MACHINE_DEFINITION = ROOT / "statemachine" / "pipeline.asl.json"
SAMPLE_MESSAGE = ROOT / "samples" / "frontdoor_person.eml"

# In the order of the pipeline: each is fed what the one before it produced.
FUNCTIONS = ("ingest-ses", "ingest-sendgrid", "extract-attachments", "detect-labels", "notify")

QEMU = os.environ.get("QEMU_AARCH64", "qemu-aarch64-static")
# Where Debian's libc6-arm64-cross puts the aarch64 loader and glibc.
SYSROOT = Path(os.environ.get("QEMU_LD_PREFIX", "/usr/aarch64-linux-gnu"))

# Deadlines, under emulation. Measured on a 2-core machine busy with a
# build: the slowest init, detect-labels' (it loads the embedded model), took
# 1.2 to 2.5 s, and its answer (the model run on one frame under QEMU) 5 to
# 9 s more; every other function started in under 0.6 s and answered within
# 0.6 s of that. The deadlines leave more than ten times that for a slower
# machine, and still fail a function that hangs.
INIT_DEADLINE_SECONDS = 60
ANSWER_DEADLINE_SECONDS = 120
# How long a stopped function has to exit before it is killed.
STOP_GRACE_SECONDS = 5

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account for any access key it does not know
STACK = "ipcam"
MAIL_DOMAIN = "cams.example.com"
SECRET_ADDRESS = "frontdoor-k7q2m4x9c3v8b5n6z2w4r7t3yd@cams.example.com"
SENDGRID_USERNAME = "sendgrid"
SENDGRID_PASSWORD = "smoke-arm64-inbound-password"
MESSAGE_ID = "smokearm64frontdoorperson0001"

# The stack's parameters that have no usable default: SendGrid's user name
# is empty unless SendGrid is enabled, and the function then refuses to start.
PARAMETER_OVERRIDES = {"SendGridUsername": SENDGRID_USERNAME, "EnableSendGrid": "true"}
SMOKE_CONFIG = f"""\
# The configuration of the arm64 smoke test (infra/smoke_arm64.py). The
# embedded model alone decides, so it is loaded at cold start, and the sample
# visitor (a Person at over 60 %) alerts with no Rekognition answer needed.
[detector]
kind = "embedded"

[alerts]
email_to = ["owner@home.example"]
email_from = "Cameras <alerts@{MAIL_DOMAIN}>"

[[cameras]]
name = "frontdoor"
labels = ["person"]
min_confidence = 50

[ingest.secret_addresses]
frontdoor = "{SECRET_ADDRESS}"
"""


class SmokeFailure(Exception):
    """A function did not start, or did not answer as it should."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the stack's view of each function -----------------------------------


NO_VALUE = object()  # AWS::NoValue: the property or variable is left out


def kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


class Template:
    """infra/template.yaml, read for what each function is given: its
    environment, every parameter at its default (but PARAMETER_OVERRIDES),
    each resource a variable names given a name here and created in moto
    (EmulatedAws.deploy)."""

    def __init__(self, path: Path) -> None:
        template, matches = decode(str(path))
        if matches or template is None:
            details = "; ".join(str(match) for match in matches) or "unreadable"
            raise SmokeFailure(f"cannot read {path}: {details}")
        self.template = template
        self.resources = template.get("Resources", {})
        # The resources the functions' environments name: logical id to type.
        self.referenced: dict[str, str] = {}

    def function(self, binary: str) -> dict:
        for resource in self.resources.values():
            if (
                resource.get("Type") == "AWS::Serverless::Function"
                and function_binary(resource) == binary
            ):
                return resource
        raise SmokeFailure(f"infra/template.yaml deploys no function with binary {binary}")

    def property(self, binary: str, key: str):
        own = self.function(binary).get("Properties", {})
        if key in own:
            return own[key]
        return self.template.get("Globals", {}).get("Function", {}).get(key)

    def environment(self, binary: str) -> dict[str, str]:
        """The variables the stack sets for the function, with the values
        they take here."""
        values: dict[str, str] = {}
        for source in (self.template.get("Globals", {}).get("Function", {}), self.function(binary)["Properties"]):
            for name, value in source.get("Environment", {}).get("Variables", {}).items():
                value = self.evaluate(value, f"{binary}'s {name}")
                if value is not NO_VALUE:
                    values[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return values

    def evaluate(self, node, where: str):
        if isinstance(node, (str, int, float, bool)):
            return node
        if isinstance(node, list):
            return [self.evaluate(item, where) for item in node]
        if isinstance(node, dict) and len(node) == 1:
            [(function, argument)] = node.items()
            if function == "Ref":
                return self.ref(argument, where)
            if function == "Condition":
                return self.condition(argument, where)
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self.evaluate(when_true if self.condition(name, where) else when_false, where)
            if function == "Fn::Equals":
                left, right = (self.evaluate(part, where) for part in argument)
                return str(left) == str(right)
            if function == "Fn::Not":
                return not self.evaluate(argument[0], where)
            if function == "Fn::And":
                return all(self.evaluate(part, where) for part in argument)
            if function == "Fn::Or":
                return any(self.evaluate(part, where) for part in argument)
            if function == "Fn::FindInMap":
                mapping, key, name = (self.evaluate(part, where) for part in argument)
                return self.template["Mappings"][mapping][key][name]
            if function == "Fn::Join":
                delimiter, items = argument
                return delimiter.join(str(item) for item in self.evaluate(items, where))
            if function == "Fn::GetAtt":
                logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self.attribute(logical, attribute, where)
            if function == "Fn::Sub" and isinstance(argument, str):
                text = argument
                while "${" in text:
                    start = text.index("${")
                    end = text.index("}", start)
                    name = text[start + 2 : end]
                    value = self.attribute(*name.split(".", 1), where) if "." in name else self.ref(name, where)
                    text = text[:start] + str(value) + text[end + 1 :]
                return text
        raise SmokeFailure(f"{where} is {node!r}, which the smoke test cannot evaluate: teach it Template.evaluate")

    def condition(self, name: str, where: str) -> bool:
        if name not in self.template.get("Conditions", {}):
            raise SmokeFailure(f"{where} names the condition {name}, which the template does not define")
        return bool(self.evaluate(self.template["Conditions"][name], where))

    def ref(self, name: str, where: str):
        pseudo = {
            "AWS::StackName": STACK,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in PARAMETER_OVERRIDES:
            return PARAMETER_OVERRIDES[name]
        if name in self.template.get("Parameters", {}):
            return self.template["Parameters"][name].get("Default", "")
        return self.attribute(name, "Ref", where)

    def attribute(self, logical: str, attribute: str, where: str):
        """A resource's `Ref` or `Fn::GetAtt` value here."""
        resource = self.resources.get(logical)
        if resource is None:
            raise SmokeFailure(f"{where} refers to {logical}, which the template does not define")
        kind = resource.get("Type")
        name = resource_name(logical)
        values = {
            "AWS::S3::Bucket": {"Ref": name, "Arn": f"arn:aws:s3:::{name}"},
            "AWS::DynamoDB::Table": {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"},
            "AWS::SNS::Topic": {"Ref": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}", "TopicName": name},
            "AWS::SQS::Queue": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", "QueueName": name},
            "AWS::Serverless::StateMachine": {
                "Ref": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
                "Name": name,
            },
        }.get(kind, {})
        if attribute not in values:
            raise SmokeFailure(
                f"{where} refers to {logical}.{attribute} ({kind}), which the smoke test does not emulate: "
                "teach it Template.attribute and EmulatedAws.deploy"
            )
        self.referenced[logical] = kind
        return values[attribute]


def resource_name(logical: str) -> str:
    """The name a resource of the stack has here (a physical name)."""
    return f"{STACK}-{kebab(logical)}"


# --- emulated AWS ----------------------------------------------------------


class EmulatedAws:
    """moto on loopback, holding what the stack holds."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.state_machine_arn = ""

    def __enter__(self) -> "EmulatedAws":
        # moto's server logs every request it serves: the functions' own
        # output says more.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def deploy(self, template: Template) -> None:
        """Creates what the functions' environments name, as the stack
        creates it, then what `make deploy` adds: the configuration file
        and the SendGrid password; and the SES identity alerts are sent from."""
        environments = {function: template.environment(function) for function in FUNCTIONS}
        for logical, kind in template.referenced.items():
            name = resource_name(logical)
            properties = template.resources[logical].get("Properties", {})
            if kind == "AWS::S3::Bucket":
                self.client("s3").create_bucket(Bucket=name)
            elif kind == "AWS::DynamoDB::Table":
                self.client("dynamodb").create_table(
                    TableName=name,
                    BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=properties["AttributeDefinitions"],
                    KeySchema=properties["KeySchema"],
                )
            elif kind == "AWS::SNS::Topic":
                self.client("sns").create_topic(Name=name)
            elif kind == "AWS::SQS::Queue":
                self.client("sqs").create_queue(QueueName=name)
            elif kind == "AWS::Serverless::StateMachine":
                self.create_state_machine(name)
            else:
                raise SmokeFailure(f"the smoke test cannot create {logical} ({kind}): teach EmulatedAws.deploy")
        first = environments[FUNCTIONS[0]]
        self.client("s3").put_object(
            Bucket=first["IPCAM_BUCKET"], Key=first["IPCAM_CONFIG_KEY"], Body=SMOKE_CONFIG.encode()
        )
        self.client("ssm").put_parameter(
            Name=environments["ingest-sendgrid"]["IPCAM_SENDGRID_PASSWORD_PARAMETER"],
            Value=SENDGRID_PASSWORD,
            Type="SecureString",
        )
        self.client("sesv2").create_email_identity(EmailIdentity=MAIL_DOMAIN)

    def create_state_machine(self, name: str) -> None:
        """The real definition; moto records the executions started and,
        as it is not asked to, runs none of them."""
        definition = STATE_MACHINE_DEFINITION.read_text()
        for placeholder, function in (
            ("ExtractAttachmentsFunctionArn", "extract-attachments"),
            ("DetectLabelsFunctionArn", "detect-labels"),
            ("NotifyFunctionArn", "notify"),
        ):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{function}"
            definition = definition.replace(f"${{{placeholder}}}", arn)
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", type="STANDARD"
        )["stateMachineArn"]

    def executions(self) -> list[dict]:
        sfn = self.client("stepfunctions")
        listed = sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return [sfn.describe_execution(executionArn=execution["executionArn"]) for execution in listed]


# --- the Lambda Runtime API --------------------------------------------------


@dataclass
class Invocation:
    """One invocation of one function, and what the function did with it."""

    event: dict[str, Any]
    deadline_ms: int
    function_arn: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    handed_out: bool = False
    first_next_at: float | None = None
    # "response", "error", "init error", or what else the function sent.
    answer: str | None = None
    answered_at: float | None = None
    answer_body: bytes = b""
    error_type: str | None = None
    unexpected: list[str] = field(default_factory=list)


class RuntimeApi:
    """The Lambda Runtime API for one invocation, on loopback."""

    PREFIX = "/2018-06-01/runtime"

    def __init__(self, invocation: Invocation) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != f"{RuntimeApi.PREFIX}/invocation/next":
                    outer.unexpected(f"GET {self.path}")
                    return self.reply(404, {"errorMessage": "not found"})
                now = time.perf_counter()
                with invocation.lock:
                    first = not invocation.handed_out
                    invocation.handed_out = True
                    if invocation.first_next_at is None:
                        invocation.first_next_at = now
                invocation.changed.set()
                if not first:
                    # The function is ready for another event: there is none.
                    invocation.stopping.wait(INIT_DEADLINE_SECONDS + ANSWER_DEADLINE_SECONDS)
                    return
                body = json.dumps(invocation.event).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(invocation.deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", invocation.function_arn)
                self.send_header("Lambda-Runtime-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.read_body()
                path = self.path
                invocation_path = f"{RuntimeApi.PREFIX}/invocation/{invocation.request_id}/"
                if path == f"{RuntimeApi.PREFIX}/init/error":
                    answer = "init error"
                elif path == invocation_path + "response":
                    answer = "response"
                elif path == invocation_path + "error":
                    answer = "error"
                else:
                    outer.unexpected(f"POST {path}: {body[:500]!r}")
                    return self.reply(404, {"errorMessage": "not found"})
                with invocation.lock:
                    if invocation.answer is None:
                        invocation.answer = answer
                        invocation.answered_at = time.perf_counter()
                        invocation.answer_body = body
                        invocation.error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                    else:
                        invocation.unexpected.append(f"a second answer, {answer}: {body[:500]!r}")
                invocation.changed.set()
                self.reply(202, {"status": "OK"})

            def read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def reply(self, status: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                error = sys.exc_info()[1]
                if isinstance(error, ConnectionError):
                    # The function was stopped with a connection open.
                    return
                outer.unexpected(f"the Runtime API failed on a request: {error!r}")

        self.invocation = invocation
        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def unexpected(self, what: str) -> None:
        with self.invocation.lock:
            self.invocation.unexpected.append(what)
        self.invocation.changed.set()

    def __enter__(self) -> "RuntimeApi":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.invocation.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


# --- one function ------------------------------------------------------------


@dataclass
class Outcome:
    function: str
    init_seconds: float | None = None
    answer_seconds: float | None = None
    answer: str | None = None
    body: Any = None
    error_type: str | None = None
    failure: str | None = None

    def summary(self) -> str:
        if self.answer is None:
            return "no answer"
        text = self.body if isinstance(self.body, str) else json.dumps(self.body)
        if self.answer == "error":
            return f"error {self.error_type}: {text}"
        return f"{self.answer}: {text}"


def lambda_environment(function: str, template: Template, runtime_api: str, endpoint: str, task_root: Path) -> dict:
    """What Lambda gives the function, with moto for AWS."""
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": str(template.property(function, "Handler")),
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": f"{STACK}-{function}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(template.property(function, "MemorySize") or 128),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/ipcam/{STACK}/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "smoke-arm64",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    logging_config = template.property(function, "LoggingConfig") or {}
    if logging_config.get("LogFormat") == "JSON":
        environment["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        level = logging_config.get("ApplicationLogLevel")
        if level is not None:
            environment["AWS_LAMBDA_LOG_LEVEL"] = str(template.evaluate(level, f"{function}'s log level"))
    environment.update(template.environment(function))
    return environment


def unzip_bootstrap(zip_path: Path, into: Path) -> Path:
    if not zip_path.is_file():
        raise SmokeFailure(f"{zip_path} is missing: make zips builds it")
    into.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        if "bootstrap" not in archive.namelist():
            raise SmokeFailure(f"{zip_path} holds no bootstrap: {archive.namelist()}")
        # Lambda runs the file with the permissions the zip gives it.
        mode = archive.getinfo("bootstrap").external_attr >> 16
        if not mode & 0o111:
            raise SmokeFailure(f"{zip_path}: bootstrap is not executable (mode {mode:o}): Lambda cannot run it")
        archive.extract("bootstrap", into)
    bootstrap = into / "bootstrap"
    bootstrap.chmod(mode & 0o777)
    return bootstrap


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def exit_description(returncode: int) -> str:
    if returncode < 0:
        return f"killed by signal {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


def run_function(
    function: str, zip_path: Path, event: dict, template: Template, aws: EmulatedAws, workdir: Path
) -> Outcome:
    """Runs the function's bootstrap under QEMU until it answered `event`."""
    outcome = Outcome(function)
    task_root = workdir / function
    bootstrap = unzip_bootstrap(zip_path, task_root)
    timeout = int(template.property(function, "Timeout") or 3)
    invocation = Invocation(
        event=event,
        # What Lambda would say: the function's timeout from now; QEMU is
        # slower, so the smoke test's own deadline is longer.
        deadline_ms=int(time.time() * 1000) + max(timeout, ANSWER_DEADLINE_SECONDS) * 1000,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{function}",
    )
    log_path = workdir / f"{function}.log"
    with RuntimeApi(invocation) as api, log_path.open("wb") as log:
        environment = lambda_environment(function, template, api.address, aws.endpoint, task_root)
        started = time.perf_counter()
        process = subprocess.Popen(
            [QEMU, "-L", str(SYSROOT), str(bootstrap)],
            cwd=task_root,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            outcome.failure = wait_for_answer(invocation, process, started)
        finally:
            stop(process)
    with invocation.lock:
        if invocation.first_next_at is not None:
            outcome.init_seconds = invocation.first_next_at - started
        if invocation.answered_at is not None:
            outcome.answer_seconds = invocation.answered_at - started
        outcome.answer = invocation.answer
        outcome.error_type = invocation.error_type
        text = invocation.answer_body.decode(errors="replace")
        try:
            outcome.body = json.loads(text)
        except ValueError:
            outcome.body = text
        if outcome.failure is None and invocation.unexpected:
            outcome.failure = "unexpected requests to the Runtime API: " + "; ".join(invocation.unexpected)
    if outcome.failure is None and outcome.answer != "response":
        outcome.failure = f"answered with an {outcome.answer}"
    if outcome.failure is not None:
        outcome.failure += "\n" + indent(tail(log_path))
    return outcome


def wait_for_answer(invocation: Invocation, process: subprocess.Popen, started: float) -> str | None:
    """None once the function answered, else what went wrong."""
    while True:
        with invocation.lock:
            asked, answered = invocation.first_next_at, invocation.answer
        if answered is not None:
            return None if answered != "init error" else "reported an init error"
        now = time.perf_counter()
        if asked is None and now - started > INIT_DEADLINE_SECONDS:
            return f"did not ask for an event within {INIT_DEADLINE_SECONDS} s of its start"
        if asked is not None and now - asked > ANSWER_DEADLINE_SECONDS:
            return f"did not answer within {ANSWER_DEADLINE_SECONDS} s of asking for the event"
        if process.poll() is not None:
            # An answer may have arrived just before the exit.
            with invocation.lock:
                if invocation.answer is not None:
                    continue
            when = "before asking for an event (an init error)" if asked is None else "before answering"
            return f"{exit_description(process.returncode)} {when}"
        invocation.changed.wait(0.05)
        invocation.changed.clear()


def tail(log_path: Path, lines: int = 25) -> str:
    text = log_path.read_text(errors="replace").splitlines()
    shown = "\n".join(text[-lines:]) or "(nothing)"
    return f"its last output ({log_path}):\n{shown}"


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# --- the events ----------------------------------------------------------------


def ses_receipt(raw: bytes) -> dict:
    """SES's receipt event for the message, received for the camera's
    secret address, after its S3 action stored it."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": now,
                        "source": str(message["From"].addresses[0].addr_spec),
                        "messageId": MESSAGE_ID,
                        "destination": [SECRET_ADDRESS],
                        "headersTruncated": False,
                        "headers": [{"name": name, "value": str(value)} for name, value in message.items()],
                        "commonHeaders": {
                            "from": [str(message["From"])],
                            "to": [SECRET_ADDRESS],
                            "subject": str(message["Subject"]),
                        },
                    },
                    "receipt": {
                        "timestamp": now,
                        "processingTimeMillis": 412,
                        "recipients": [SECRET_ADDRESS],
                        "spamVerdict": {"status": "PASS"},
                        "virusVerdict": {"status": "PASS"},
                        "spfVerdict": {"status": "PASS"},
                        "dkimVerdict": {"status": "GRAY"},
                        "dmarcVerdict": {"status": "GRAY"},
                        "action": {
                            "type": "Lambda",
                            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-ingest-ses",
                            "invocationType": "Event",
                        },
                    },
                },
            }
        ]
    }


def sendgrid_post(raw: bytes) -> dict:
    """A SendGrid Inbound Parse post in raw mode for the camera's secret
    address, with the stack's credentials, as the HTTP API (payload format
    2.0) hands it to ingest-sendgrid."""
    boundary = "xYzZY"
    fields = [
        ("to", SECRET_ADDRESS.encode()),
        ("from", b"FrontDoor Camera <frontdoor@cams.example.com>"),
        ("subject", b"Motion Detection Alarm: FrontDoor"),
        ("envelope", json.dumps({"to": [SECRET_ADDRESS], "from": "frontdoor@cams.example.com"}).encode()),
        ("charsets", b'{"to":"UTF-8","from":"UTF-8","subject":"UTF-8"}'),
        ("SPF", b"pass"),
        ("email", raw),
    ]
    body = b""
    for name, value in fields:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    credentials = base64.b64encode(f"{SENDGRID_USERNAME}:{SENDGRID_PASSWORD}".encode()).decode()
    now = time.gmtime()
    return {
        "version": "2.0",
        "routeKey": "POST /sendgrid",
        "rawPath": "/sendgrid",
        "rawQueryString": "",
        "headers": {
            "authorization": f"Basic {credentials}",
            "content-type": f"multipart/form-data; boundary={boundary}",
            "content-length": str(len(body)),
            "host": f"inbound.{MAIL_DOMAIN}",
            "user-agent": "Sendlib/1.0",
        },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "a1b2c3d4e5",
            "domainName": f"inbound.{MAIL_DOMAIN}",
            "domainPrefix": "inbound",
            "http": {
                "method": "POST",
                "path": "/sendgrid",
                "protocol": "HTTP/1.1",
                "sourceIp": "167.89.117.8",
                "userAgent": "Sendlib/1.0",
            },
            "requestId": "smoke-arm64",
            "routeKey": "POST /sendgrid",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", now),
            "timeEpoch": int(time.time() * 1000),
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


# --- the checks -------------------------------------------------------------------


@dataclass
class Step:
    function: str
    # The event, from what the functions before it answered; None when it
    # cannot be made (the function that makes it failed).
    event: Callable[[], dict | None]
    # Raises SmokeFailure when the answer is not what the function should answer.
    check: Callable[[Any], None]


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeFailure(what)


def smoke(lambda_dir: Path) -> list[Outcome]:
    template = Template(TEMPLATE)
    raw = SAMPLE_MESSAGE.read_bytes()
    answers: dict[str, Any] = {}

    with EmulatedAws() as aws, tempfile.TemporaryDirectory(prefix="smoke-arm64-") as scratch:
        aws.deploy(template)
        incoming = template.environment("ingest-ses")["IPCAM_INCOMING_PREFIX"]
        # SES's S3 action stores the message before its Lambda action runs.
        bucket = template.environment("ingest-ses")["IPCAM_BUCKET"]
        aws.client("s3").put_object(Bucket=bucket, Key=incoming + MESSAGE_ID, Body=raw)

        def check_ingest_ses(answer: Any) -> None:
            expect(answer.get("disposition") == "CONTINUE", f"disposition is not CONTINUE: {answer}")
            [message] = answer.get("messages", [None])
            expect(message.get("outcome") == "Started", f"no execution started: {answer}")
            started = [e for e in aws.executions() if e["executionArn"] == message.get("execution")]
            expect(len(started) == 1, f"Step Functions has no execution {message.get('execution')}")
            answers["execution input"] = json.loads(started[0]["input"])

        def check_ingest_sendgrid(answer: Any) -> None:
            expect(answer.get("statusCode") == 200, f"status is not 200: {answer}")
            expect(answer.get("body") == "accepted", f"the post was not accepted: {answer}")
            expect(len(aws.executions()) == 2, "the post started no execution of its own")

        def check_extract(answer: Any) -> None:
            expect(answer.get("camera") == "frontdoor", f"the camera is not frontdoor: {answer}")
            expect(not answer.get("hold"), f"the e-mail was held: {answer.get('hold')}")
            expect(len(answer.get("frames", [])) == 1, f"not one frame: {answer}")
            frame = answer["frames"][0]
            stored = aws.client("s3").head_object(Bucket=frame["bucket"], Key=frame["key"])
            expect(stored["ContentLength"] == frame["size"], f"the stored frame is not the one answered: {frame}")

        def frame_to_analyse() -> dict | None:
            extracted = answers.get("extract-attachments")
            if extracted is None:
                return None
            # As the state machine's DetectLabels state passes it.
            return {
                "camera": extracted["camera"],
                "event": extracted["event"]["id"],
                "receivedAt": extracted["event"]["receivedAt"],
                "frameIndex": 0,
                "frameCount": len(extracted["frames"]),
                "frame": extracted["frames"][0],
            }

        def check_detect(answer: Any) -> None:
            labels = answer.get("detection", {}).get("labels", [])
            expect(answer.get("alert") is True, f"the visitor did not alert: {answer}")
            expect(any(label.get("name", "").lower() == "person" for label in labels), f"no person seen: {answer}")

        def alert_request() -> dict | None:
            extracted, analysis = answers.get("extract-attachments"), answers.get("detect-labels")
            if extracted is None or analysis is None:
                return None
            # As the state machine's Notify state passes it.
            return {
                "version": extracted["version"],
                "event": extracted["event"],
                "camera": extracted["camera"],
                "frames": extracted["frames"],
                "analysis": analysis,
            }

        def check_notify(answer: Any) -> None:
            expect(bool(answer.get("messageId")), f"no SNS message id: {answer}")
            expect(answer.get("subject") == "Person at frontdoor", f"not the alert expected: {answer}")

        steps = [
            Step("ingest-ses", lambda: ses_receipt(raw), check_ingest_ses),
            Step("ingest-sendgrid", lambda: sendgrid_post(raw), check_ingest_sendgrid),
            Step("extract-attachments", lambda: answers.get("execution input"), check_extract),
            Step("detect-labels", frame_to_analyse, check_detect),
            Step("notify", alert_request, check_notify),
        ]
        assert [step.function for step in steps] == list(FUNCTIONS)

        outcomes = []
        for step in steps:
            event = step.event()
            if event is None:
                outcomes.append(Outcome(step.function, failure="not run: the function before it failed"))
                continue
            print(f"smoke-arm64: {step.function} ...", flush=True)
            try:
                outcome = run_function(
                    step.function, lambda_dir / step.function / "bootstrap.zip", event, template, aws, Path(scratch)
                )
            except SmokeFailure as failure:
                outcome = Outcome(step.function, failure=str(failure))
            if outcome.failure is None:
                try:
                    expect(isinstance(outcome.body, dict), f"the answer is not a JSON object: {outcome.body!r}")
                    step.check(outcome.body)
                    answers[step.function] = outcome.body
                except (SmokeFailure, AttributeError, KeyError, TypeError, ValueError) as wrong:
                    outcome.failure = f"answered, but not as it should: {wrong}"
            outcomes.append(outcome)
            if outcome.failure is not None:
                # Keep the log: the scratch directory goes.
                kept = Path(tempfile.gettempdir()) / f"smoke-arm64-{step.function}.log"
                log = Path(scratch) / f"{step.function}.log"
                if log.exists():
                    shutil.copy(log, kept)
                    outcome.failure = outcome.failure.replace(str(log), str(kept))
    return outcomes


def seconds(value: float | None) -> str:
    return f"{value:8.2f}" if value is not None else f"{'-':>8}"


def report(outcomes: list[Outcome]) -> None:
    print()
    print("arm64 bootstrap under QEMU: seconds from process start to its first GET .../invocation/next (init)")
    print("and to its answer")
    print(f"{'function':22} {'init':>8} {'answer':>8}  result")
    for outcome in outcomes:
        verdict = "ok" if outcome.failure is None else "FAILED"
        print(f"{outcome.function:22} {seconds(outcome.init_seconds)} {seconds(outcome.answer_seconds)}  {verdict}")
    print()
    for outcome in outcomes:
        answer = outcome.summary()
        print(f"{outcome.function}: {answer if len(answer) <= 400 else answer[:400] + ' …'}")
    failures = [outcome for outcome in outcomes if outcome.failure is not None]
    for outcome in failures:
        print(f"\nsmoke-arm64: {outcome.function} FAILED: {outcome.failure}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lambda_dir", nargs="?", type=Path, default=ROOT / "out" / "lambda")
    arguments = parser.parse_args()
    if shutil.which(QEMU) is None:
        print(f"smoke-arm64: {QEMU} is missing: apt-get install qemu-user-static (make smoke-arm64 does)",
              file=sys.stderr)
        return 2
    if not (SYSROOT / "lib" / "ld-linux-aarch64.so.1").exists():
        print(f"smoke-arm64: no aarch64 glibc under {SYSROOT}: apt-get install libc6-arm64-cross", file=sys.stderr)
        return 2
    try:
        outcomes = smoke(arguments.lambda_dir)
    except SmokeFailure as failure:
        print(f"smoke-arm64: {failure}", file=sys.stderr)
        return 1
    report(outcomes)
    return 1 if any(outcome.failure is not None for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
