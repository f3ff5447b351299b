#!/usr/bin/env python3
"""Load-and-fault run of `ipcam serve` on loopback (`make soak`).

Bounded in count and time, loopback only. While 30 slow clients hold SMTP
connections with half-sent lines, 50 SMTP clients send 1,000 camera
e-mails and the HTTP endpoint receives 200 SendGrid posts; half-way the
server is killed with SIGKILL and started again on the same store (the
clients retry what was not acknowledged, as cameras and SendGrid do); at
the end it gets SIGINT with the slow clients still connected.

Prints: messages sent, acknowledged (250/200), processed (execution
finished), alerts, lost = acknowledged - processed (must be 0),
duplicates (executions run more than once to their end; must be 0), the
time from SIGINT to exit (must be under 10 s) and the server's peak
memory. Exits 1 if lost, duplicates or the stop time is out of bounds.
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (ROOT / "samples" / "frontdoor_person.eml").read_bytes()
USER, PASSWORD = "camera", "s3cret"
CONFIG = f"""
[[cameras]]
name = "frontdoor"
from = "frontdoor@cams.example.com"
labels = ["person"]

[serve]
username = "{USER}"
password = "{PASSWORD}"
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DEADLINE = time.monotonic() + 40 * 60  # the whole run, whatever happens


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def email(kind, number):
    """The sample e-mail made unique by a header: its own digest, its own id."""
    return f"X-Soak: {kind}-{number}\n".encode() + SAMPLE


def message_id(source, raw):
    return f"{source}-{hashlib.sha256(raw).hexdigest()[:40]}"


class Server:
    def __init__(self, binary, folder, smtp_port, http_port):
        self.binary, self.folder = binary, folder
        self.smtp_port, self.http_port = smtp_port, http_port
        self.process = None
        self.peak_kib = 0
        self.log = open(folder / "server.log", "ab")

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "serve", "--config", str(self.folder / "ipcam.toml"),
             "--smtp", f"127.0.0.1:{self.smtp_port}", "--http", f"127.0.0.1:{self.http_port}",
             "--store", str(self.folder / "store")],
            stdout=subprocess.DEVNULL, stderr=self.log)
        until = time.monotonic() + 120
        while time.monotonic() < until:
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    sys.exit(f"soak: the server ended at start (see {self.folder}/server.log)")
                time.sleep(0.2)
        sys.exit("soak: the server did not listen within 120 s")

    def sample_memory(self):
        try:
            for line in open(f"/proc/{self.process.pid}/status"):
                if line.startswith("VmHWM:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))
        except OSError:
            pass


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.acknowledged = set()
        self.refused = {}

    def attempt(self):
        with self.lock:
            self.sent += 1

    def ack(self, id_):
        with self.lock:
            self.acknowledged.add(id_)

    def refuse(self, what):
        with self.lock:
            self.refused[what] = self.refused.get(what, 0) + 1


def send_smtp(server, tally, number, stop):
    raw = email("smtp", number)
    for _ in range(200):  # a camera retries what was not acknowledged
        if stop.is_set() or time.monotonic() > DEADLINE:
            return
        tally.attempt()
        try:
            with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=60) as smtp:
                smtp.login(USER, PASSWORD)
                smtp.mail("frontdoor@cams.example.com")
                smtp.rcpt("alerts@home.example")
                code, reply = smtp.data(raw)
            if code == 250:
                tally.ack(reply.decode().rsplit(" ", 1)[-1])
                return
            tally.refuse(f"smtp {code}")
        except (OSError, smtplib.SMTPException) as err:
            tally.refuse(f"smtp {type(err).__name__}")
        time.sleep(0.5)


def post_sendgrid(server, tally, number, stop):
    raw = email("http", number)
    boundary = "xYzZY"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nalerts@home.example\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n").encode() \
        + raw + f"\r\n--{boundary}--\r\n".encode()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for _ in range(200):
        if stop.is_set() or time.monotonic() > DEADLINE:
            return
        tally.attempt()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=60)
            connection.request("POST", "/inbound", body, {
                "Authorization": f"Basic {auth}",
                "Content-Type": f"multipart/form-data; boundary={boundary}"})
            answer = connection.getresponse()
            text = answer.read().decode()
            connection.close()
            if answer.status == 200 and "accepted" in text:
                tally.ack(message_id("sendgrid", raw))
                return
            tally.refuse(f"http {answer.status}")
        except OSError as err:
            tally.refuse(f"http {type(err).__name__}")
        time.sleep(0.5)


def slow_client(server, stop):
    """Holds a connection with half a line, again whenever it is dropped."""
    while not stop.is_set() and time.monotonic() < DEADLINE:
        try:
            with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=5) as s:
                s.sendall(b"EHLO slow\r\nMAIL FROM:<slo")
                s.settimeout(1)
                while not stop.is_set():
                    try:
                        if not s.recv(4096):
                            break
                    except socket.timeout:
                        continue
        except OSError:
            time.sleep(0.5)


def finished_runs(log_path):
    """Per execution name, how many runs ended (their outcome logged)."""
    runs = {}
    for line in open(log_path, encoding="utf-8", errors="replace"):
        line = ANSI.sub("", line)
        found = re.search(r"execution=(\S+)", line)
        if not found or any(word in line for word in (
                "resuming", "not started", "could not record", "unreadable")):
            continue
        runs[found[1]] = runs.get(found[1], 0) + 1
    return runs


def processed(store, ids):
    done = 0
    for id_ in ids:
        try:
            record = json.loads((store / "executions" / f"{id_}.json").read_text())
        except (OSError, ValueError):
            continue
        if record.get("status") != "running":
            done += 1
    return done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipcam", default=str(ROOT / "target/release/ipcam"))
    parser.add_argument("--smtp-messages", type=int, default=1000)
    parser.add_argument("--smtp-clients", type=int, default=50)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--slow-clients", type=int, default=30)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ipcam-soak-"))
    (folder / "ipcam.toml").write_text(CONFIG)
    server = Server(args.ipcam, folder, free_port(), free_port())
    server.start()
    tally, stop = Tally(), threading.Event()
    started = time.monotonic()

    slow = [threading.Thread(target=slow_client, args=(server, stop), daemon=True)
            for _ in range(args.slow_clients)]
    for thread in slow:
        thread.start()
    smtp_pool = ThreadPoolExecutor(args.smtp_clients)
    http_pool = ThreadPoolExecutor(4)
    jobs = [smtp_pool.submit(send_smtp, server, tally, n, stop) for n in range(args.smtp_messages)]
    jobs += [http_pool.submit(post_sendgrid, server, tally, n, stop) for n in range(args.posts)]

    # SIGKILL half-way, then a restart on the same store.
    half = (args.smtp_messages + args.posts) // 2
    killed = False
    while time.monotonic() < DEADLINE:
        server.sample_memory()
        if not killed and (len(tally.acknowledged) >= half or all(job.done() for job in jobs)):
            server.process.kill()
            server.process.wait()
            killed = True
            acknowledged_at_kill = len(tally.acknowledged)
            time.sleep(1)
            server.start()
        if killed and all(job.done() for job in jobs):
            break
        time.sleep(0.05)
    sending = time.monotonic() - started

    # Every acknowledged message must come to its end.
    store = folder / "store"
    ids = set(tally.acknowledged)
    until = min(DEADLINE, time.monotonic() + 15 * 60)
    while processed(store, ids) < len(ids) and time.monotonic() < until:
        server.sample_memory()
        time.sleep(1)
    server.sample_memory()

    asked = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    stop_seconds = time.monotonic() - asked
    stop.set()
    smtp_pool.shutdown(cancel_futures=True)
    http_pool.shutdown(cancel_futures=True)

    done = processed(store, ids)
    runs = finished_runs(folder / "server.log")
    duplicates = sum(count - 1 for name, count in runs.items() if count > 1)
    alerts = sum(1 for _ in open(store / "alerts.jsonl")) if (store / "alerts.jsonl").exists() else 0
    lost = len(ids) - done
    print(f"messages sent        {args.smtp_messages} SMTP + {args.posts} HTTP "
          f"({tally.sent} attempts, refused or cut: {dict(sorted(tally.refused.items()))})")
    print(f"acknowledged         {len(ids)}  (250/200; {acknowledged_at_kill if killed else '-'} before the SIGKILL)")
    print(f"processed            {done}")
    print(f"alerts               {alerts}")
    print(f"lost                 {lost}")
    print(f"duplicates           {duplicates}  (runs logged to their end: {sum(runs.values())}, of {len(runs)} executions)")
    print(f"SIGINT to exit       {stop_seconds:.2f} s (with {args.slow_clients} slow clients connected)")
    print(f"peak memory          {server.peak_kib / 1024:.0f} MiB (VmHWM, the larger of the two runs)")
    print(f"sending took         {sending:.0f} s; store and log in {folder}")
    ok = lost == 0 and duplicates == 0 and stop_seconds < 10 and len(ids) == args.smtp_messages + args.posts
    print("soak: " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
