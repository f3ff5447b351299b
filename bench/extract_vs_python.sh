#!/usr/bin/env bash
# Extraction benchmark: `ipcam extract --json` against Python's `email`
# package doing the least (walk, decode, hash each picture), whole process
# each time, on the shapes of message a camera sends:
#   - a burst of 64 distinct 1280x720 JPEG frames (about 8 MB), with the
#     default cap of 10 frames and with every frame kept;
#   - 64 frames repeating eight scenes, eight copies each a few bytes apart
#     (about 8 MB): every frame is fingerprinted before it is dropped;
#   - a camera's usual burst: 3 frames of one 1920x1080 scene, each with its
#     own sensor noise.
# For each: median wall times, their ratio and peak memory against the
# message size; then the floor, reading, base64-decoding and hashing the
# message alone (`xtask floor`), on the two large shapes.
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
xtask="$target/release/xtask"
ipcam="$target/release/ipcam"
"$xtask" burst "$work/distinct.eml" 64
"$xtask" burst "$work/eight-scenes.eml" 64 --scenes 8
"$xtask" burst "$work/three-frames.eml" 3 --scenes 1 --noise-copies --size 1920x1080

echo "== 64 distinct frames, default settings: at most 10 frames kept, the rest skipped as over the cap"
echo "   (the first 10 pictures are judged, fingerprinted and hashed; the parts past the cap are"
echo "   only looked at: their first bytes, and, when one is the size of a kept frame, whether it"
echo "   copies it. Python decodes and hashes all 64.)"
python3 bench/extract_vs_python.py "$ipcam" "$work/distinct.eml" "$runs"

echo
echo "== 64 distinct frames, max_frames = 64: every frame fingerprinted and compared for near-duplicates"
printf '[extract]\nmax_frames = 64\n' > "$work/all-frames.toml"
python3 bench/extract_vs_python.py "$ipcam" "$work/distinct.eml" "$runs" "$work/all-frames.toml"

echo
echo "== 64 frames of 8 scenes, copies a few bytes apart, default settings: 8 kept, 56 near-duplicates"
python3 bench/extract_vs_python.py "$ipcam" "$work/eight-scenes.eml" "$runs"

echo
echo "== 3 frames of one 1920x1080 scene, each with its own sensor noise, default settings"
python3 bench/extract_vs_python.py "$ipcam" "$work/three-frames.eml" "$runs"

echo
echo "== the floor: read, base64-decode and hash every part, nothing else (xtask floor)"
python3 bench/extract_vs_python.py --floor "$xtask" "$work/distinct.eml" "$runs"
python3 bench/extract_vs_python.py --floor "$xtask" "$work/eight-scenes.eml" "$runs"
