#!/usr/bin/env bash
# Air benchmark: generates a year of hourly data for 100 stations (876,000
# rows, deterministic), times `gongjian evaluate air` (release, CSV in, JSON
# out) end to end, times python-aqi computing the same six IAQIs + AQI per
# row in the same run, and prints rows/s, medians and the ratio. With
# CRITERION=1 it also runs the criterion library bench (IAQI+AQI).
#
#   bench/air.sh            # RUNS=5 by default
#   RUNS=3 CRITERION=1 bench/air.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${AIR_BENCH_DIR:-$TARGET/air-bench}
RUNS=${RUNS:-5}
mkdir -p "$WORK"

echo "== building gongjian (release)" >&2
(cd "$ROOT" && cargo build --release -p gongjian >&2)
BIN="$TARGET/release/gongjian"

VENV="$WORK/venv"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== installing python-aqi into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q python-aqi >&2
fi

if [ "${CRITERION:-0}" = 1 ]; then
    echo "== criterion: cargo bench -p gongjian-standards --bench air" >&2
    (cd "$ROOT" && cargo bench -p gongjian-standards --bench air 2>&1 | tee "$WORK/criterion.txt" >&2)
fi

python3 "$ROOT/bench/air.py" --bin "$BIN" --python "$VENV/bin/python" \
    --work "$WORK" --runs "$RUNS" ${CRITERION:+--criterion "$WORK/criterion.txt"}
