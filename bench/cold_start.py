"""How long each Lambda function takes to start, as Lambda sees it: from
the start of its process to its first request to the Runtime API
(GET /2018-06-01/runtime/invocation/next), against a hello-world
`lambda_runtime` function built with the same profile, in the same run.

A small Runtime API server here records when that request arrives; the
functions read their configuration from S3 on moto, served on loopback by
this script, which records when the GET of the configuration arrives and
when its answer is ready. Each run reports the whole start, and the start
without the configuration read (the time from the GET's arrival to its
answer, moto's own time, taken out). Runs go round the binaries in turn, so
that a busy spell of the machine falls on all of them alike.

usage: cold_start.py [--runs N] BINARY_DIR

BINARY_DIR holds the five function binaries and examples/hello_lambda.
"""

import argparse
import http.server
import os
import signal
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

FUNCTIONS = ("ingest-ses", "ingest-sendgrid", "extract-attachments", "detect-labels", "notify")
HELLO = "hello_lambda"
REGION = "eu-west-1"
BUCKET = "ipcam-cold-start"
CONFIG_KEY = "config/ipcam.toml"
REPO = Path(__file__).resolve().parent.parent
# Longest a function may take to ask for its first event.
START_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Clock:
    """The moments this script records, shared with its servers' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.config_asked = None
        self.config_answered = None
        self.next_asked = threading.Event()
        self.next_at = None

    def reset(self) -> None:
        with self.lock:
            self.config_asked = self.config_answered = self.next_at = None
            self.next_asked.clear()


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


def timed_moto(clock: Clock, port: int):
    """moto's backends on loopback, timing the GET of the configuration."""
    moto = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        is_config = environ["REQUEST_METHOD"] == "GET" and environ.get("PATH_INFO", "").endswith(CONFIG_KEY)
        if not is_config:
            return moto(environ, start_response)
        asked = time.perf_counter()
        body = b"".join(moto(environ, start_response))
        with clock.lock:
            clock.config_asked = asked
            clock.config_answered = time.perf_counter()
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:
            pass

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def environment(endpoint: str, runtime_port: int, name: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime_port}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "cold-start",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "RUST_LOG": "warn",
        # What the stack gives every function.
        "IPCAM_BUCKET": BUCKET,
        "IPCAM_CONFIG_KEY": CONFIG_KEY,
        "IPCAM_INCOMING_PREFIX": "incoming/",
        "IPCAM_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:ipcam",
        "IPCAM_TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:ipcam-alerts",
        "IPCAM_SENDGRID_USERNAME": "sendgrid",
        "IPCAM_SENDGRID_PASSWORD": "cold-start-password",
        "IPCAM_ALERTS_TABLE": "ipcam-alerts",
    }
    return env


def one_start(binary: Path, env: dict, clock: Clock) -> tuple[float, float | None]:
    """The start in seconds, and the configuration read's share, if any."""
    clock.reset()
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        if not clock.next_asked.wait(START_TIMEOUT_SECONDS):
            process.kill()
            raise RuntimeError(f"{binary.name} did not ask for an event: {process.stderr.read().decode()[-2000:]}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stderr.close()
    with clock.lock:
        total = clock.next_at - started
        config = None
        if clock.config_asked is not None:
            config = clock.config_answered - clock.config_asked
    return total, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("binaries", type=Path)
    arguments = parser.parse_args()

    clock = Clock()
    moto_port, runtime_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    timed_moto(clock, moto_port)
    runtime_api(clock, runtime_port)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key=CONFIG_KEY, Body=(REPO / "samples" / "ipcam.toml").read_bytes())

    binaries = {name: arguments.binaries / name for name in FUNCTIONS}
    binaries[HELLO] = arguments.binaries / "examples" / HELLO
    for name, binary in binaries.items():
        if not binary.is_file():
            raise SystemExit(f"{binary} is missing: build it first (make bench-cold-start does)")
    totals = {name: [] for name in binaries}
    without_config = {name: [] for name in binaries}
    configs = {name: [] for name in binaries}
    # One start of each first, unmeasured, so that every binary is in the
    # page cache.
    for name, binary in binaries.items():
        one_start(binary, environment(endpoint, runtime_port, name), clock)
    for _ in range(arguments.runs):
        for name, binary in binaries.items():
            total, config = one_start(binary, environment(endpoint, runtime_port, name), clock)
            totals[name].append(total)
            without_config[name].append(total - (config or 0.0))
            if config is not None:
                configs[name].append(config)

    hello = statistics.median(totals[HELLO])
    print(f"process start to first GET .../invocation/next, median of {arguments.runs} runs (ms)")
    print(f"{'function':22} {'start':>7} {'config GET':>11} {'without it':>11} {'x hello':>8}  (goal 2x)")
    for name in binaries:
        median = statistics.median(totals[name]) * 1000
        rest = statistics.median(without_config[name]) * 1000
        config = f"{statistics.median(configs[name]) * 1000:11.1f}" if configs[name] else f"{'-':>11}"
        print(f"{name:22} {median:7.1f} {config} {rest:11.1f} {rest / (hello * 1000):8.2f}")


if __name__ == "__main__":
    main()
