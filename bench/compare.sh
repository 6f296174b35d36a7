#!/usr/bin/env bash
# An older build against this one on the same machine, the same data and
# the same hour, rounds alternating old/new so the machine's drift falls on
# both: 总览 latency (bench/overview.sh) and HJ 212 ingestion
# (bench/ingest.sh, the loggers simulated by this build for both servers).
# Prints each run's figures and the new/old ratios of the medians.
#
#   bench/compare.sh OLD_BINARY [ROUNDS=2] [REQUESTS=50] [LOGGERS=2000] [SECONDS=30]
#
# Build the old binary from a worktree, e.g.
#   git worktree add /tmp/old 074f844 && (cd /tmp/old && cargo build --release -p gongjian)
set -euo pipefail
OLD=$(realpath "$1"); ROUNDS=${2:-2}; N=${3:-50}; LOGGERS=${4:-2000}; SECS=${5:-30}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -p gongjian >/dev/null
NEW=$CARGO_TARGET_DIR/release/gongjian
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/figures

# BENCH_ONLY=overview or ingest runs one half.
ONLY=${BENCH_ONLY:-}
# One dataset, generated through the old build and copied for the new one,
# which migrates it forward on start.
if [ "$ONLY" != ingest ]; then
GONGJIAN_BIN=$OLD BENCH_DATA=$WORK/old bench/overview.sh 1 >/dev/null
cp -r "$WORK/old" "$WORK/new"
fi
for r in $(seq "$ROUNDS"); do
  [ "$ONLY" = ingest ] && break
  for who in old new; do
    bin=$OLD; [ $who = new ] && bin=$NEW
    GONGJIAN_BIN=$bin BENCH_DATA=$WORK/$who bench/overview.sh "$N" | grep median \
      | sed "s/^/$who /" | tee -a "$OUT"
  done
done
for r in $(seq "$ROUNDS"); do
  [ "$ONLY" = overview ] && break
  for who in old new; do
    bin=$OLD; [ $who = new ] && bin=$NEW
    BASELINE_SECONDS=0 GONGJIAN_BIN=$bin GONGJIAN_SIM_BIN=$NEW bench/ingest.sh "$LOGGERS" "$SECS" \
      | grep values_per_second \
      | python3 -c 'import json,sys; d=json.load(sys.stdin); print("values/s: median %s, ack p50 %s ms, ack p99 %s ms" % (d["values_per_second"], d["ack_ms_p50"], d["ack_ms_p99"]))' \
      | sed "s/^/$who ingest /" | tee -a "$OUT"
  done
done
echo "== medians of the rounds, new/old"
python3 - "$OUT" <<'PY'
import re, sys, statistics
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"(old|new) (.*?): median ([0-9.]+)", line)
    if m:
        rows.setdefault(m.group(2), {}).setdefault(m.group(1), []).append(float(m.group(3)))
for what, v in rows.items():
    if "old" in v and "new" in v:
        o, n = statistics.median(v["old"]), statistics.median(v["new"])
        print(f"{what}: old {o:g}, new {n:g}, new/old {n / o:.2f}")
PY
