#!/usr/bin/env bash
# Extraction benchmark: `ipcam extract --json` against Python's `email`
# package doing the least (walk, decode, hash each picture), on one burst
# e-mail of 64 distinct 1280x720 JPEG frames (about 8 MB), whole process
# each time. Prints median wall times, their ratio and peak memory.
#
#   make bench-extract            (or: bench/extract_vs_python.sh [RUNS])
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-11}"
target="${CARGO_TARGET_DIR:-target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time to measure peak memory" >&2
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

cargo build --release -q -p xtask
cargo build --release -q -p ipcam
"$target/release/xtask" burst "$work/burst.eml" 64

echo "== default settings: at most 10 frames kept, the rest skipped as over the cap"
echo "   (the first 10 pictures are decoded, judged, fingerprinted and hashed; the parts"
echo "   past the cap are only looked at: their first bytes, and, when one is the size of a"
echo "   kept frame, whether it copies it. Python decodes and hashes all 64.)"
python3 bench/extract_vs_python.py "$target/release/ipcam" "$work/burst.eml" "$runs"

echo
echo "== max_frames = 64: every frame decoded and compared for near-duplicates"
printf '[extract]\nmax_frames = 64\n' > "$work/all-frames.toml"
python3 bench/extract_vs_python.py "$target/release/ipcam" "$work/burst.eml" "$runs" "$work/all-frames.toml"
