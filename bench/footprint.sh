#!/usr/bin/env bash
# Storage footprint of HJ 212 data on SQLite (issue 16): bytes per stored
# value in `series` with its indexes, bytes per upload in the idempotency
# ledger and bytes per frame in the raw archive (`hj212_raw`), with the
# ratio against the layout before migration 0029 (rowid tables) measured
# on the same rows: the stored series and ledger rows are copied, in
# arrival order, into a fresh database of each layout (bench/footprint.py).
#
# The data: LOGGERS simulated stack loggers (`gongjian simulate`, 5 factors
# a frame) against `gongjian serve` (release build) for SECONDS, sending as
# fast as acks return with simulated time running SPEED times faster
# (bench/ingest.sh's driver) — real-time, minute, hour and day data and the
# platform's rollups, as the real writer stores them. FOOTPRINT_SYNTH=1
# needs no binary: python writes one simulated day of LOGGERS loggers
# (real-time every 30 s, minute data every 10 min, hours) the way
# `commit_ingest` stores it.
#
# The raw archive is measured twice: as `commit_ingest` writes it (one
# `hj212_raw` row per frame), then after `gongjian raw pack --older-than 0`
# has moved every row into zstd blocks (`hj212_raw_blocks`, migration
# 0032), as the `raw_packing` job of `serve` does with rows older than 10
# minutes, and the real-time and minute values after `gongjian series pack
# --all` has moved them into day blocks (`series_blocks`, migration 0034),
# as the `series_packing` job does with days that ended an hour ago.
# FOOTPRINT_SYNTH=1 packs only when GONGJIAN_BIN names a binary
# (which then also creates the schema, so that it can open the database);
# PACK_LEVEL=N packs at zstd level N instead of the default.
#
#   bench/footprint.sh [LOGGERS=50] [SECONDS=60]
set -euo pipefail
cd "$(dirname "$0")/.."
LOGGERS=${1:-50}
SECONDS_RUN=${2:-60}
SPEED=${SPEED:-100000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DB=$WORK/gongjian.db

url="sqlite://$DB"
BIN=""
if [ -n "${FOOTPRINT_SYNTH:-}" ]; then
  echo "== simulated day written by python: $LOGGERS stack loggers"
  if [ -n "${GONGJIAN_BIN:-}" ]; then
    BIN=$GONGJIAN_BIN
    GONGJIAN_LOG_LEVEL=warn "$BIN" migrate --data-dir "$WORK/data" --database "$url" >/dev/null
  fi
  python3 bench/footprint.py synth "$DB" "$LOGGERS" >/dev/null
else
  if [ -z "${GONGJIAN_BIN:-}" ]; then
    cargo build --release -p gongjian >/dev/null
  fi
  BIN=${GONGJIAN_BIN:-${CARGO_TARGET_DIR:-target}/release/gongjian}
  hj=$((20000 + RANDOM % 10000)) http=$((30000 + RANDOM % 2000))
  "$BIN" simulate --target 127.0.0.1:1 --loggers "$LOGGERS" --kind stack --register "$url" \
      --duration 0 >/dev/null 2>&1 || true
  GONGJIAN_HJ212_MAX_CONNECTIONS_PER_ADDR=$((LOGGERS + 64)) \
  GONGJIAN_LOG_LEVEL=warn "$BIN" serve --data-dir "$WORK/data" --database "$url" \
      --http 127.0.0.1:$http --hj212 127.0.0.1:$hj >/dev/null 2>"$WORK/serve.log" &
  pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$hj) 2>/dev/null && break; sleep 0.2; done
  if ! kill -0 $pid 2>/dev/null; then
    echo "the server did not start:" >&2; tail -20 "$WORK/serve.log" >&2; exit 1
  fi
  echo "== gongjian serve on SQLite: $LOGGERS stack loggers, ${SECONDS_RUN}s, speed $SPEED"
  "$BIN" simulate --target 127.0.0.1:$hj --loggers "$LOGGERS" --kind stack --speed "$SPEED" \
      --duration "$SECONDS_RUN" --outage 0 --exceedance 0.02 --calibration 0.01
  sleep 3  # a last rollup pass
  kill -TERM $pid; wait $pid || true
fi

python3 bench/footprint.py compare "$DB" >"$WORK/footprint.json"
echo '{}' >"$WORK/packed.json"
if [ -n "$BIN" ]; then
  level=()
  [ -n "${PACK_LEVEL:-}" ] && level=(--level "$PACK_LEVEL")
  GONGJIAN_LOG_LEVEL=warn "$BIN" raw pack --data-dir "$WORK/data" --database "$url" \
      --older-than 0 "${level[@]}"
  # Every day's real-time and minute values into day blocks (0034), as the
  # series_packing job does with days that ended an hour ago.
  t0=$(date +%s%N)
  GONGJIAN_LOG_LEVEL=warn "$BIN" series pack --data-dir "$WORK/data" --database "$url" --all
  echo "series pack took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  sqlite3_checkpoint='import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(TRUNCATE)")'
  python3 -c "$sqlite3_checkpoint" "$DB"
  python3 bench/footprint.py measure "$DB" >"$WORK/packed.json"
fi
python3 - "$WORK/footprint.json" "$WORK/packed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
packed = json.load(open(sys.argv[2]))
live, copies = d["live"], d["copies"]
s, u, r = live["series"], live["hj212_uploads"], live["hj212_raw"]
kinds = ", ".join(f"{k} {n:,}" for k, n in sorted(live["series_by_kind"].items()))
layout = "WITHOUT ROWID" if live["series_without_rowid"] else "rowid"
print(f"series: {s['rows']:,} values ({kinds}); as stored ({layout}): "
      f"{s['bytes_per_row']} bytes per value incl. indexes")
for kind, c in copies.items():
    what = "all values" if kind == "all" else f"{kind} values only"
    print(f"  same rows, {what} ({c['rows']:,}): before 0029 {c['old_bytes_per_value']} B, "
          f"after {c['new_bytes_per_value']} B per value, before/after {c.get('old_over_new')}")
a = copies["all"]
print(f"hj212_uploads: {u['rows']:,} uploads; before 0029 {a['uploads_old_bytes_per_row']} B, "
      f"after {a['uploads_new_bytes_per_row']} B per upload incl. index")
print(f"hj212_raw: {r['rows']:,} frames, {r['bytes_per_row']} bytes per frame incl. indexes "
      f"(frame text {r['frame_bytes_per_row']} B)")
per_frame = (s["bytes"] + u["bytes"] + r["bytes"]) / r["rows"] if r["rows"] else 0
print(f"per frame stored, all three: {per_frame:.0f} bytes")
if packed:
    a, b = packed["raw_archive"], packed["hj212_raw_blocks"]
    before = r["bytes_per_row"]
    print(f"raw archive packed (zstd blocks, 0032): {a['frames']:,} frames in {b['rows']:,} "
          f"blocks, {a['bytes_per_frame']} bytes per frame incl. rows left and indexes "
          f"(bodies {b['body_bytes'] / max(a['frames'], 1):.1f} B/frame); "
          f"before/after {before / a['bytes_per_frame']:.1f}x (goal >= 5x)")
m = copies.get("min")
if m:
    print(f"minute values as rows: {m['new_bytes_per_value']} B per value "
          f"({m['new_bytes_per_value'] / 24:.1f}x the goal of 24 B)")
sb = packed.get("series_blocks") if packed else None
if sb and sb["values"]:
    bodies = ", ".join(f"{k} {v} B" for k, v in sorted(sb["body_bytes_per_value"].items()))
    rows_left = packed["series_by_kind"].get("min", 0) + packed["series_by_kind"].get("rtd", 0)
    print(f"series blocks (0034): {sb['values']:,} real-time and minute values in "
          f"{sb['rows']:,} day blocks, {sb['bytes_per_value']} bytes per value incl. the "
          f"table's pages (compressed bodies per value: {bodies}); rows left {rows_left:,}")
    if m:
        print(f"goal <= 24 bytes per stored minute value: {sb['bytes_per_value']} B packed "
              f"(rows {m['new_bytes_per_value']} B: {m['new_bytes_per_value'] / sb['bytes_per_value']:.1f}x smaller)")
PY
