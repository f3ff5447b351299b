"""What an e-mail costs on AWS, measured (`make cost`; not part of `make test`).

Runs each scenario of tests/cost_scenarios.py (nothing of interest in 3
frames, an alert on frame 1 or 3, a text-only e-mail, a quiet hour, a
stranger refused at the door; behind the embedded model's gate, a frame it
stops, three frames of nothing, a visitor it lets through to Rekognition)
through the real state machine and the real
functions on emulated AWS, with the machinery of the end-to-end tests
(tests/conftest.py: moto, `cargo lambda watch`, EmulatedRekognition). Each
scenario runs once to warm up and then COST_RUNS times (3 by default), each
time in a fresh account, so that no alert remembered from one run silences
the next. What is billed is counted from what AWS saw:

* state transitions: from the execution history, one per state entered and
  one per retry;
* Rekognition DetectLabels calls: as EmulatedRekognition received them;
* Lambda invocations and their durations: each call moto makes to a
  function, timed here, with the function's MemorySize in infra/template.yaml;
* S3, SNS, SES and DynamoDB requests: every request the functions' AWS SDK
  makes to moto, plus what AWS itself does for the stack (SES's S3 action
  stores the message: one PUT; Rekognition reads each frame it is shown
  from S3: one GET);
* SES receiving: one e-mail and its 256 KB chunks.

Prints a report in Markdown (and writes it to out/cost.md): the unit prices,
one line per scenario, each scenario item by item per e-mail and per 1,000
e-mails, and the functions' measured durations.

Run it through pytest, with the end-to-end tests' conftest as a plugin:
    PYTHONPATH=tests .venv/bin/pytest -p no:cacheprovider -p conftest -q -s bench/cost.py
"""

from __future__ import annotations

import importlib.metadata
import io
import math
import os
import platform
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from unittest import mock

import pytest
import yaml
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from conftest import FUNCTIONS_OPTIMISED, REPO, AlertWrites, EmulatedAws, EmulatedRekognition, Services, check_stack_module
from cost_scenarios import SCENARIOS, Run, Scenario, receive

RUNS = int(os.environ.get("COST_RUNS", "3"))
REPORT = REPO / "out" / "cost.md"
TEMPLATE = REPO / "infra" / "template.yaml"

# SES bills received mail per 1,000 e-mails and per 1,000 chunks of 256 KB.
SES_CHUNK_BYTES = 256 * 1024
GIB = 1024**3


# --- prices ------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    what: str
    usd: float
    per: int
    unit: str

    def cost(self, quantity: float) -> float:
        return quantity * self.usd / self.per


# us-east-1 list prices, the ones docs/deploy.md uses (on-demand, past any
# free tier, first volume tier).
PRICES = {
    "transitions": Price("Step Functions Standard", 0.025, 1_000, "state transitions"),
    "rekognition": Price("Rekognition DetectLabels", 1.00, 1_000, "images (first million a month)"),
    "lambda_requests": Price("Lambda requests", 0.20, 1_000_000, "requests"),
    "lambda_gb_s": Price("Lambda duration, arm64", 0.0000133334, 1, "GB-s"),
    "s3_put": Price("S3 PUT, COPY, POST, LIST", 0.005, 1_000, "requests"),
    "s3_get": Price("S3 GET and other requests", 0.0004, 1_000, "requests"),
    "s3_storage": Price("S3 Standard storage", 0.023, 1, "GB-month"),
    "sns": Price("SNS publishes", 0.50, 1_000_000, "publishes (of up to 64 KB)"),
    "ses_received": Price("SES receiving, e-mails", 0.10, 1_000, "e-mails"),
    "ses_chunks": Price("SES receiving, chunks", 0.09, 1_000, "chunks of 256 KB"),
    "ses_sent": Price("SES sending", 0.10, 1_000, "e-mails"),
    "ses_sent_gb": Price("SES sending, attachments", 0.12, 1, "GB (the whole message counted)"),
    "dynamodb_reads": Price("DynamoDB on demand, reads", 0.125, 1_000_000, "read request units"),
    "dynamodb_writes": Price("DynamoDB on demand, writes", 0.625, 1_000_000, "write request units"),
}


# --- the stack ---------------------------------------------------------------


class _TemplateLoader(yaml.SafeLoader):
    """Reads a CloudFormation template, its intrinsic functions (!Ref,
    !Sub...) read as None."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def stack_settings() -> tuple[dict[str, int], int]:
    """Each function's MemorySize (MB) in infra/template.yaml, by binary,
    and the days the bucket keeps e-mails and pictures."""
    template = yaml.load(TEMPLATE.read_text(), Loader=_TemplateLoader)
    default = (template.get("Globals", {}).get("Function", {}) or {}).get("MemorySize", 128)
    memory = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = check_stack_module().function_binary(resource)
        memory[binary] = int(resource["Properties"].get("MemorySize", default))
    retention = int(template["Parameters"]["MessageRetentionDays"]["Default"])
    return memory, retention


# --- what AWS saw ------------------------------------------------------------


@dataclass
class Request:
    """One request of a function's AWS SDK, as moto received it."""

    service: str
    operation: str
    bytes: int
    at: float


@dataclass
class Invocation:
    function: str
    started: float
    seconds: float

    def made(self, request: Request) -> bool:
        return self.started <= request.at <= self.started + self.seconds


@dataclass
class Meter:
    requests: list[Request] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mark(self) -> tuple[int, int]:
        with self.lock:
            return len(self.requests), len(self.invocations)

    def since(self, mark: tuple[int, int]) -> tuple[list[Request], list[Invocation]]:
        with self.lock:
            return self.requests[mark[0] :], self.invocations[mark[1] :]

    def record_request(self, environ: dict[str, Any]) -> None:
        agent = f"{environ.get('HTTP_USER_AGENT', '')} {environ.get('HTTP_X_AMZ_USER_AGENT', '')}"
        if "aws-sdk-rust" not in agent:
            return  # the scenario's own calls, and moto's
        scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
        service = scope[1] if scope else "unknown"
        size = int(environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            operation = target.rsplit(".", 1)[-1]
        elif environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            operation = urllib.parse.parse_qs(body.decode()).get("Action", ["unknown"])[0]
        elif service == "s3" and "list-type=" in environ.get("QUERY_STRING", ""):
            operation = "LIST"
        else:
            operation = environ.get("REQUEST_METHOD", "unknown")
        with self.lock:
            self.requests.append(Request(service, operation, size, time.perf_counter()))

    def record_invocation(self, function: str, started: float, seconds: float) -> None:
        with self.lock:
            self.invocations.append(Invocation(function, started, seconds))


@pytest.fixture(scope="session")
def meter(services: Services):
    """Records every request the functions make to emulated AWS, and times
    every invocation of a function (on top of conftest's invoke, which
    hands it to cargo lambda watch)."""
    meter = Meter()
    dispatch = DomainDispatcherApplication.__call__
    invoke = LambdaSimpleBackend.invoke

    def metered_dispatch(application, environ, start_response):
        meter.record_request(environ)
        return dispatch(application, environ, start_response)

    def timed_invoke(backend, function_name, qualifier, *args, **kwargs):
        # Recorded by binary, as the functions' memory sizes are known.
        binary = services.stack.binary(backend.get_function(function_name, qualifier).function_name)
        started = time.perf_counter()
        try:
            return invoke(backend, function_name, qualifier, *args, **kwargs)
        finally:
            meter.record_invocation(binary, started, time.perf_counter() - started)

    with (
        mock.patch.object(DomainDispatcherApplication, "__call__", metered_dispatch),
        mock.patch.object(LambdaSimpleBackend, "invoke", timed_invoke),
    ):
        yield meter


# --- one e-mail's bill -------------------------------------------------------


@dataclass
class Usage:
    """The billed quantities of one e-mail."""

    quantities: Counter
    seconds: dict[str, list[float]]
    # The functions' requests to AWS, by function, service and operation.
    requests: Counter

    @classmethod
    def of(
        cls,
        scenario: Scenario,
        run: Run,
        requests: list[Request],
        invocations: list[Invocation],
        rekognition: EmulatedRekognition,
        sent_bytes: list[int],
        memory: dict[str, int],
        retention_days: int,
    ) -> Usage:
        q: Counter = Counter()
        made: Counter = Counter()
        raw = scenario.raw
        q["transitions"] = run.transitions
        q["rekognition"] = len(rekognition.calls)
        seconds: dict[str, list[float]] = {}
        for invocation in invocations:
            q["lambda_requests"] += 1
            q[f"invocations:{invocation.function}"] += 1
            seconds.setdefault(invocation.function, []).append(invocation.seconds)
            # Lambda bills each invocation's duration rounded up to the ms.
            billed = math.ceil(invocation.seconds * 1000) / 1000
            q["lambda_gb_s"] += memory[invocation.function] / 1024 * billed
        # SES's S3 action stores the message; Rekognition reads each frame
        # it is shown from S3.
        q["s3_put"] += 1
        stored = len(raw)
        q["s3_get"] += sum(1 for call in rekognition.calls if call.answer == "labels")
        for request in requests:
            by = next((i.function for i in invocations if i.made(request)), "unknown")
            made[(by, request.service, request.operation)] += 1
            operation = (request.service, request.operation)
            if request.service == "s3":
                if request.operation in ("PUT", "POST", "LIST"):
                    q["s3_put"] += 1
                    stored += request.bytes if request.operation == "PUT" else 0
                else:
                    q["s3_get"] += 1
            elif operation == ("sns", "Publish"):
                q["sns"] += 1
            elif operation in (("email", "SendRawEmail"), ("ses", "SendRawEmail")):
                q["ses_sent"] += 1
            elif request.service == "dynamodb" and request.operation in ("GetItem", "Query", "Scan"):
                q["dynamodb_reads"] += 1
            elif request.service == "dynamodb" and request.operation in ("PutItem", "UpdateItem", "DeleteItem"):
                q["dynamodb_writes"] += 1
        q["ses_sent_gb"] = sum(sent_bytes) / GIB
        q["s3_storage"] = stored / GIB * retention_days / 30
        q["s3_stored_bytes"] = stored
        q["ses_received"] = 1
        q["ses_chunks"] = math.ceil(len(raw) / SES_CHUNK_BYTES)
        return cls(q, seconds, made)

    def usd(self) -> float:
        return sum(price.cost(self.quantities[key]) for key, price in PRICES.items())


def mean(usages: list[Usage]) -> Usage:
    keys = set().union(*(usage.quantities for usage in usages))
    quantities = Counter({key: sum(u.quantities[key] for u in usages) / len(usages) for key in keys})
    seconds: dict[str, list[float]] = {}
    made: Counter = Counter()
    for usage in usages:
        for function, durations in usage.seconds.items():
            seconds.setdefault(function, []).extend(durations)
        made.update(usage.requests)
    return Usage(quantities, seconds, Counter({k: v / len(usages) for k, v in made.items()}))


# --- the report --------------------------------------------------------------


def number(value: float, digits: int = 2) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def plain(value: float) -> str:
    """A price as written, without an exponent or trailing zeros."""
    return f"{value:.10f}".rstrip("0").rstrip(".")


def usd(value: float) -> str:
    return f"{value:,.4f}" if value < 0.1 else f"{value:,.3f}"


def render(
    results: dict[str, tuple[Scenario, Usage]],
    memory: dict[str, int],
    retention_days: int,
) -> str:
    moto = importlib.metadata.version("moto")
    lines = [
        "# What an e-mail costs, measured (`make cost`)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d} on emulated AWS (moto {moto}), "
        f"{RUNS} runs of each scenario after one to warm up, the functions built "
        f"{'optimised (release)' if FUNCTIONS_OPTIMISED else 'unoptimised'} for "
        f"{platform.machine()} and served by `cargo lambda watch`. Lambda durations are timed here, "
        "each call from moto's invoke to the function's answer, and priced at the stack's "
        "MemorySize and the arm64 rate: on Lambda (arm64, Graviton) they will differ, "
        + ("" if FUNCTIONS_OPTIMISED else "an optimised build will be quicker, ")
        + "and detect-labels will wait longer on Rekognition, whose emulation here answers at once. "
        "The warm-up run starts each function, so the durations are those of warm functions. "
        "Prices are us-east-1 list prices, past the free tiers.",
        "",
        "## Unit prices",
        "",
        "| item | USD | per |",
        "| --- | --- | --- |",
    ]
    for price in PRICES.values():
        lines.append(f"| {price.what} | {plain(price.usd)} | {price.per:,} {price.unit} |")

    lines += [
        "",
        "## Per e-mail, by scenario",
        "",
        "| scenario | state transitions | Rekognition calls | Lambda invocations | Lambda GB-s "
        "| S3 PUT | S3 GET | SNS publishes | SES chunks received | SES e-mails sent "
        "| DynamoDB reads / writes | USD per 1,000 e-mails |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for scenario, usage in results.values():
        q = usage.quantities
        lines.append(
            f"| {scenario.title} | {number(q['transitions'])} | {number(q['rekognition'])} "
            f"| {number(q['lambda_requests'])} | {q['lambda_gb_s']:.3f} | {number(q['s3_put'])} "
            f"| {number(q['s3_get'])} | {number(q['sns'])} | {number(q['ses_chunks'])} "
            f"| {number(q['ses_sent'])} | {number(q['dynamodb_reads'])} / {number(q['dynamodb_writes'])} "
            f"| **{usd(usage.usd() * 1000)}** |"
        )

    for scenario, usage in results.values():
        q = usage.quantities
        invoked = "; ".join(
            f"{function} ×{number(q[f'invocations:{function}'])}"
            + "".join(
                f", {service} {operation} {number(count)}"
                for (by, service, operation), count in sorted(usage.requests.items())
                if by == function
            )
            for function in memory
            if q[f"invocations:{function}"]
        )
        lines += [
            "",
            f"### {scenario.title}",
            "",
            f"`{scenario.message.relative_to(REPO)}` ({len(scenario.raw):,} bytes) from "
            f"`{scenario.sender}` to `{scenario.recipient}`. "
            f"Each function's invocations and requests to AWS: {invoked or 'none'}. "
            f"Besides: SES's S3 action stores the message (1 PUT), Rekognition reads each "
            f"frame it is shown (S3 GET). Bytes stored in S3: {number(q['s3_stored_bytes'], 0)}, "
            f"kept {retention_days} days.",
            "",
            "| item | per e-mail | per 1,000 e-mails | USD per 1,000 e-mails |",
            "| --- | ---: | ---: | ---: |",
        ]
        for key, price in PRICES.items():
            per_email = q[key]
            digits = 6 if key in ("s3_storage", "ses_sent_gb") else 3
            lines.append(
                f"| {price.what} ({price.unit.split(' (')[0]}) | {number(per_email, digits)} "
                f"| {number(per_email * 1000, digits)} | {usd(price.cost(per_email * 1000))} |"
            )
        lines.append(f"| **total** | | | **{usd(usage.usd() * 1000)}** |")

    lines += [
        "",
        "## Lambda durations measured here",
        "",
        "| function | MemorySize (MB) | calls timed | mean (ms) | longest (ms) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for function, megabytes in memory.items():
        durations = [s for _, usage in results.values() for s in usage.seconds.get(function, [])]
        if not durations:
            continue
        lines.append(
            f"| {function} | {megabytes:,} | {len(durations)} | {sum(durations) / len(durations) * 1000:,.0f} "
            f"| {max(durations) * 1000:,.0f} |"
        )
    return "\n".join(lines) + "\n"


# --- the run -----------------------------------------------------------------


def fresh_account(services: Services) -> tuple[EmulatedAws, EmulatedRekognition]:
    """A reset account with the stack deployed, as conftest's `aws`
    fixture makes one, and a Rekognition that has seen nothing yet."""
    services.rekognition = EmulatedRekognition()
    services.alert_writes = AlertWrites()
    services.post("/moto-api/reset")
    services.mark_function_log()
    account = EmulatedAws(services)
    account.deploy()
    return account, services.rekognition


def test_cost_of_each_scenario(services: Services, meter: Meter) -> None:
    memory, retention_days = stack_settings()
    results: dict[str, tuple[Scenario, Usage]] = {}
    for scenario in SCENARIOS:
        usages = []
        for run in range(RUNS + 1):
            aws, rekognition = fresh_account(services)
            mark = meter.mark()
            done = receive(aws, rekognition, scenario, run)
            if scenario.started:
                assert done.execution["status"] == "SUCCEEDED", done.execution
                assert done.states[-1] == scenario.final_state, (scenario.name, done.states)
            requests, invocations = meter.since(mark)
            sent = [len(email.raw) for email in aws.sent_emails()]
            usage = Usage.of(scenario, done, requests, invocations, rekognition, sent, memory, retention_days)
            if run > 0:
                usages.append(usage)
        results[scenario.name] = (scenario, mean(usages))
    report = render(results, memory, retention_days)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report)
    print("\n" + report)
