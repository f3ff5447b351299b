"""How long each Lambda function takes to start, as Lambda sees it: from
the start of its process to its first request to the Runtime API
(GET /2018-06-01/runtime/invocation/next), against a hello-world
`lambda_runtime` function built with the same profile, in the same run.

Each function gets the environment Lambda gives it in the stack: the
variables infra/template.yaml sets for it (its own and the Globals', every
parameter at its default, each resource named as created here) and Lambda's
own variables, read and built by infra/smoke_arm64.py's `Template` and
`lambda_environment`, with moto for AWS (`AWS_ENDPOINT_URL`) and test
credentials. The hello world gets Lambda's variables only. moto, served on
loopback by this script, holds what those variables name (the bucket, the
alerts table, the topics, the state machine, the SendGrid password in SSM
Parameter Store) and, as the functions' configuration, samples/ipcam.toml,
which leaves `[detector]` at its default, `kind = "gated"`: detect-labels
loads the embedded model at cold start, as it does in the stack.

A small Runtime API server here records when the first request for an
event arrives (the process is then stopped; no event is sent). The moto
server records, for the GET of the configuration and for the SSM
GetParameter of ingest-sendgrid's password, when the request reached moto's
application and when its answer was ready. Each run reports the whole start,
and the start without the configuration read (moto's own time answering its
GET, taken out, as the goal counts it apart). Runs go round the binaries in
turn, so that a busy spell of the machine falls on all of them alike.

usage: cold_start.py [--runs N] BINARY_DIR

BINARY_DIR holds the five function binaries and examples/hello_lambda.
"""

import argparse
import http.server
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "infra"))

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from smoke_arm64 import (  # noqa: E402
    FUNCTIONS,
    TEMPLATE,
    EmulatedAws,
    Template,
    free_port,
    lambda_environment,
)
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

HELLO = "hello_lambda"
CONFIG = REPO / "samples" / "ipcam.toml"
# Longest a function may take to ask for its first event.
START_TIMEOUT_SECONDS = 30


class Clock:
    """The moments this script records, shared with its servers' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.config_key = None
        self.calls = {}
        self.next_asked = threading.Event()
        self.next_at = None

    def reset(self) -> None:
        with self.lock:
            self.calls = {}
            self.next_at = None
            self.next_asked.clear()

    def record(self, call: str, asked: float, answered: float) -> None:
        with self.lock:
            self.calls.setdefault(call, answered - asked)


def runtime_api(clock: Clock, port: int) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/2018-06-01/runtime/invocation/next"):
                now = time.perf_counter()
                with clock.lock:
                    if clock.next_at is None:
                        clock.next_at = now
                clock.next_asked.set()
                # The process is stopped once measured; no event is sent.
                time.sleep(START_TIMEOUT_SECONDS)
            self.send_error(404)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class TimedAws(EmulatedAws):
    """infra/smoke_arm64.py's moto, holding what the stack holds, served
    here so that the calls a function makes at cold start are timed."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.timed_server = None

    def __enter__(self) -> "TimedAws":
        moto = DomainDispatcherApplication(create_backend_app)
        clock = self.clock

        def app(environ, start_response):
            call = None
            if environ["REQUEST_METHOD"] == "GET" and environ.get("PATH_INFO", "").endswith(clock.config_key or "\0"):
                call = "config"
            elif environ.get("HTTP_X_AMZ_TARGET") == "AmazonSSM.GetParameter":
                call = "ssm"
            if call is None:
                return moto(environ, start_response)
            asked = time.perf_counter()
            body = b"".join(moto(environ, start_response))
            clock.record(call, asked, time.perf_counter())
            return [body]

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.timed_server = make_server("127.0.0.1", self.port, app, threaded=True, request_handler=Quiet)
        threading.Thread(target=self.timed_server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.timed_server.shutdown()


def one_start(binary: Path, env: dict, clock: Clock) -> tuple[float, dict]:
    """The start in seconds, and the time moto took for each timed call."""
    clock.reset()
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(binary)],
        env=env,
        cwd=binary.parent,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        if not clock.next_asked.wait(START_TIMEOUT_SECONDS):
            process.kill()
            raise RuntimeError(f"{binary.name} did not ask for an event: {process.stderr.read().decode()[-2000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        stderr = process.stderr.read().decode(errors="replace")
        process.wait()
        process.stderr.close()
    with clock.lock:
        if clock.next_at is None:
            raise RuntimeError(f"{binary.name} exited before asking for an event: {stderr[-2000:]}")
        return clock.next_at - started, dict(clock.calls)


def spread(values: list[float]) -> str:
    """Median, and the quartiles and extremes, in ms."""
    ms = sorted(value * 1000 for value in values)
    q1, _, q3 = statistics.quantiles(ms, n=4) if len(ms) > 1 else (ms[0], ms[0], ms[0])
    return f"{statistics.median(ms):6.1f} [{q1:5.1f}-{q3:5.1f}] ({ms[0]:5.1f}-{ms[-1]:5.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("binaries", type=Path)
    arguments = parser.parse_args()

    directory = arguments.binaries.resolve()
    binaries = {name: directory / name for name in FUNCTIONS}
    binaries[HELLO] = directory / "examples" / HELLO
    for name, binary in binaries.items():
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing: build it first (make bench-cold-start does)")

    clock = Clock()
    runtime_port = free_port()
    runtime_api(clock, runtime_port)
    template = Template(TEMPLATE)
    with TimedAws(clock) as aws:
        aws.deploy(template)
        environments = {
            name: lambda_environment(name, template, f"127.0.0.1:{runtime_port}", aws.endpoint, binaries[name].parent)
            for name in FUNCTIONS
        }
        # The hello world: what Lambda gives any function, none of the stack's.
        hello = dict(environments[FUNCTIONS[0]])
        for variable in template.environment(FUNCTIONS[0]):
            hello.pop(variable)
        hello["AWS_LAMBDA_FUNCTION_NAME"] = HELLO
        hello["LAMBDA_TASK_ROOT"] = str(binaries[HELLO].parent)
        environments[HELLO] = hello
        # The configuration the functions read, in place of the smoke test's.
        stack = environments[FUNCTIONS[0]]
        clock.config_key = stack["IPCAM_CONFIG_KEY"]
        aws.client("s3").put_object(Bucket=stack["IPCAM_BUCKET"], Key=clock.config_key, Body=CONFIG.read_bytes())

        totals = {name: [] for name in binaries}
        without_config = {name: [] for name in binaries}
        calls = {name: {} for name in binaries}
        # One start of each first, unmeasured, so that every binary is in the
        # page cache.
        for name, binary in binaries.items():
            one_start(binary, environments[name], clock)
        for _ in range(arguments.runs):
            for name, binary in binaries.items():
                total, timed = one_start(binary, environments[name], clock)
                totals[name].append(total)
                without_config[name].append(total - timed.get("config", 0.0))
                for call, seconds in timed.items():
                    calls[name].setdefault(call, []).append(seconds)

    hello_median = statistics.median(without_config[HELLO])
    print(f"process start to first GET .../invocation/next, {arguments.runs} runs each, in turn")
    print("ms: median [quartiles] (fastest-slowest)")
    print(f"{'function':20} {'start':>33} {'without the config GET':>33} {'x hello':>8}")
    for name in binaries:
        ratio = statistics.median(without_config[name]) / hello_median
        print(f"{name:20} {spread(totals[name]):>33} {spread(without_config[name]):>33} {ratio:8.2f}")
    print("moto's own time answering the calls made at cold start (ms)")
    for name in binaries:
        for call, values in calls[name].items():
            what = {"config": "GET of the configuration", "ssm": "SSM GetParameter"}[call]
            print(f"{name:20} {what:33} {spread(values):>33}")
    print("goal: at most 2x the hello world, the configuration's GET counted apart")


if __name__ == "__main__":
    main()
