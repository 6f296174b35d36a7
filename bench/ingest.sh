#!/usr/bin/env bash
# End-to-end HJ 212 ingestion benchmark: N simulated loggers against
# `gongjian serve` (release build) on SQLite, and on PostgreSQL when
# GONGJIAN_BENCH_POSTGRES_URL is set (a database that may be wiped).
#
# Prints: values stored per second (acknowledged after commit), p50/p99
# send→ack round trip measured by the loggers (an upper bound of the
# server's received→ack time), and the server's RSS growth per connection.
#
#   bench/ingest.sh [LOGGERS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
LOGGERS=${1:-2000}
SECONDS_RUN=${2:-30}
SPEED=${SPEED:-100000}   # simulated seconds per real second: loggers send as fast as acks return
# GONGJIAN_BIN runs another build (bench/compare.sh passes an older one);
# the loggers are simulated by GONGJIAN_SIM_BIN (default: the same binary).
if [ -z "${GONGJIAN_BIN:-}" ]; then
  cargo build --release -p gongjian >/dev/null
fi
BIN=${GONGJIAN_BIN:-${CARGO_TARGET_DIR:-target}/release/gongjian}
SIM=${GONGJIAN_SIM_BIN:-$BIN}
ulimit -n 65536 2>/dev/null || true

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

run() {
  local label=$1 url=$2
  local dir; dir=$(mktemp -d)
  # Below the ephemeral range (32768+): a port a previous run's 2,000
  # connections still hold in TIME_WAIT cannot be bound.
  local hj=$((20000 + RANDOM % 10000)) http=$((30000 + RANDOM % 2000))
  "$BIN" simulate --target 127.0.0.1:1 --loggers "$LOGGERS" --kind stack --register "$url" --duration 0 >/dev/null 2>&1 || true
  # Every virtual logger connects from 127.0.0.1: lift the per-address cap
  # (64 by default, against one site opening thousands of connections).
  GONGJIAN_HJ212_MAX_CONNECTIONS_PER_ADDR=$((LOGGERS + 64)) \
  GONGJIAN_LOG_LEVEL=warn "$BIN" serve --data-dir "$dir" --database "$url" \
      --http 127.0.0.1:$http --hj212 127.0.0.1:$hj >/dev/null 2>"$dir/serve.log" &
  local pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$hj) 2>/dev/null && break; sleep 0.2; done
  if ! kill -0 $pid 2>/dev/null; then
    echo "== $label: the server did not start:" >&2; tail -20 "$dir/serve.log" >&2; return 1
  fi
  local rss0; rss0=$(rss_kb $pid)
  # Connections only (no data) to measure memory per connection.
  "$SIM" simulate --target 127.0.0.1:$hj --loggers "$LOGGERS" --kind stack --speed 0.000001 \
      --duration 5 --outage 0 --exceedance 0 --calibration 0 >/dev/null &
  local idle=$!
  sleep 4
  local rss1; rss1=$(rss_kb $pid)
  wait $idle || true
  local out
  out=$("$SIM" simulate --target 127.0.0.1:$hj --loggers "$LOGGERS" --kind stack --speed "$SPEED" \
      --duration "$SECONDS_RUN" --outage 0 --exceedance 0.02 --calibration 0.01)
  local rss2; rss2=$(rss_kb $pid)
  kill -TERM $pid; wait $pid || true
  echo "== $label: $LOGGERS loggers, ${SECONDS_RUN}s"
  echo "$out"
  echo "server RSS: idle ${rss0} kB, ${LOGGERS} idle connections ${rss1} kB, after load ${rss2} kB"
  echo "memory per connection: $(( (rss1 - rss0) * 1024 / LOGGERS )) bytes"
  rm -rf "$dir"
}

SQLITE_DIR=$(mktemp -d)
run sqlite "sqlite://$SQLITE_DIR/gongjian.db"
rm -rf "$SQLITE_DIR"
if [ -n "${GONGJIAN_BENCH_POSTGRES_URL:-}" ]; then
  run postgres "$GONGJIAN_BENCH_POSTGRES_URL"
fi
