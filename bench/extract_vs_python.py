"""Runs `ipcam extract --json` and the least Python extractor on the same
message several times each, and prints the median wall time of each whole
process, their ratio, and the peak memory (max RSS) of each.

usage: extract_vs_python.py IPCAM MESSAGE RUNS [CONFIG]
       extract_vs_python.py --floor XTASK MESSAGE RUNS

With --floor, times `xtask floor MESSAGE` (read, base64-decode and hash
every part, nothing else) instead of `ipcam extract`.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def interleaved_wall_times(commands, runs):
    """Wall times of each command, run in turn, so that a busy spell of the
    machine falls on all of them alike."""
    times = [[] for _ in commands]
    for _ in range(runs):
        for command, measured in zip(commands, times):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            measured.append(time.perf_counter() - start)
    return times


def peak_rss_kb(command):
    finished = subprocess.run(
        ["/usr/bin/time", "-v", *command],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", finished.stderr)
    return int(found.group(1))


def floor(xtask, message, runs):
    runs = int(runs)
    size = os.path.getsize(message)
    command = [xtask, "floor", message]
    (times,) = interleaved_wall_times([command], runs)
    print(
        f"floor on {size / 1e6:.1f} MB: median {statistics.median(times) * 1000:8.1f} ms over {runs} runs, "
        f"peak RSS {peak_rss_kb(command) / 1024:6.1f} MB"
    )


def main(ipcam, message, runs, config=None):
    runs = int(runs)
    size = os.path.getsize(message)
    rust = [ipcam, "extract", message, "--json"]
    if config:
        rust += ["--config", config]
    python = [sys.executable, os.path.join(HERE, "least_python_extract.py"), message]

    extracted = json.loads(subprocess.run(rust, check=True, capture_output=True).stdout)
    python_count = int(subprocess.run(python, check=True, capture_output=True).stdout)
    print(
        f"message: {size / 1e6:.1f} MB; ipcam kept {len(extracted['frames'])} frames and "
        f"skipped {len(extracted['skipped'])} parts; Python decoded {python_count} pictures"
    )

    rust_times, python_times = interleaved_wall_times([rust, python], runs)
    rust_median = statistics.median(rust_times)
    python_median = statistics.median(python_times)
    rust_rss = peak_rss_kb(rust)
    python_rss = peak_rss_kb(python)
    print(f"ipcam extract --json : median {rust_median * 1000:8.1f} ms over {runs} runs, peak RSS {rust_rss / 1024:6.1f} MB")
    print(f"python email package : median {python_median * 1000:8.1f} ms over {runs} runs, peak RSS {python_rss / 1024:6.1f} MB")
    print(f"speed-up: {python_median / rust_median:.1f}x (target 10x)")
    print(
        f"ipcam peak memory: {rust_rss * 1024 / size:.2f}x the message size (target below 3x)"
    )


if __name__ == "__main__":
    if sys.argv[1] == "--floor":
        floor(*sys.argv[2:])
    else:
        main(*sys.argv[1:])
