#!/usr/bin/env bash
# End-to-end HJ 212 ingestion benchmark: N simulated loggers against
# `gongjian serve` (release build) on SQLite, and on PostgreSQL when
# GONGJIAN_BENCH_POSTGRES_URL is set (a fresh database for each invocation:
# the simulated clock starts now, so a second run on the same database
# would send keys the first one stored, and store nothing new).
#
# With PostgreSQL, the NATS path too (a private nats-server, `gongjian
# gateway`, one `serve --ingest nats` writer; BENCH_NATS=0 skips it) and its
# ratio against the direct PostgreSQL run.
#
# Prints: values stored per second (acknowledged after commit), p50/p99
# send→ack round trip measured by the loggers (an upper bound of the
# server's received→ack time), the server's CPU time per stored value, and
# the server's RSS growth per connection.
#
# Then (issue 16) the plain-`sqlite3` baseline, bench/sqlite_baseline.py,
# writing the same shape of rows (LOGGERS frames per transaction, the
# simulated stack's 5 values a frame; BASELINE_VALUES overrides) for
# BASELINE_SECONDS (10; 0 skips it), and the platform's ratio against it:
# values/s of wall time, and values per CPU second (the server's CPU
# against the script's). The loggers run on the same cores as the server,
# so the CPU ratio is the fairer one.
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
BASELINE_SECONDS=${BASELINE_SECONDS:-10}
BASELINE_VALUES=${BASELINE_VALUES:-5}
TICKS=$(getconf CLK_TCK)
ulimit -n 65536 2>/dev/null || true

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# User + system CPU time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Sum of `cpu_ticks` over several processes.
cpu_ticks_all() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }

# A port in [LO, LO+SPAN) that nothing listens on (RabbitMQ's 25672, say).
free_port() {
  local p
  while true; do
    p=$(($1 + RANDOM % $2))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}

wait_port() {
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.2; done
  return 1
}

# Start the platform for `run`: sets HJ (the HJ 212 port), PIDS (every
# platform process, the first one measured for memory) and LOGS.
start_direct() {
  local url=$1 dir=$2
  HJ=$(free_port 20000 10000); local http; http=$(free_port 30000 2000)
  GONGJIAN_HJ212_MAX_CONNECTIONS_PER_ADDR=$((LOGGERS + 64)) \
  GONGJIAN_LOG_LEVEL=warn "$BIN" serve --data-dir "$dir" --database "$url" \
      --http 127.0.0.1:$http --hj212 127.0.0.1:$HJ >/dev/null 2>"$dir/serve.log" &
  PIDS=($!); LOGS=("$dir/serve.log")
}

# The NATS path (issue 16 item 4) on one machine: a private
# `nats-server -js` (its store in the run's directory), `gongjian gateway`
# publishing each frame and acknowledging the logger after JetStream's
# publish ack, and one writer, `gongjian serve --ingest nats`, committing
# batches to the database before it acks the messages.
start_nats() {
  local url=$1 dir=$2
  HJ=$(free_port 20000 10000); local http; http=$(free_port 30000 2000)
  local nport; nport=$(free_port 14000 1000)
  nats-server -js -a 127.0.0.1 -p $nport -sd "$dir/nats" >"$dir/nats.log" 2>&1 &
  local npid=$!
  PIDS=($npid)
  wait_port $nport || { echo "== nats: nats-server did not start" >&2; tail "$dir/nats.log" >&2; return 1; }
  local common=(--data-dir "$dir" --database "$url" --nats "nats://127.0.0.1:$nport")
  GONGJIAN_HJ212_MAX_CONNECTIONS_PER_ADDR=$((LOGGERS + 64)) \
  GONGJIAN_LOG_LEVEL=warn "$BIN" gateway "${common[@]}" --hj212 127.0.0.1:$HJ \
      >/dev/null 2>"$dir/gateway.log" &
  local gpid=$!
  GONGJIAN_LOG_LEVEL=warn "$BIN" serve "${common[@]}" --ingest nats --http 127.0.0.1:$http \
      >/dev/null 2>"$dir/writer.log" &
  local wpid=$!
  PIDS=($gpid $wpid $npid); LOGS=("$dir/gateway.log" "$dir/writer.log" "$dir/nats.log")
}

# Whatever a failed run leaves behind (set -e exits mid-run).
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

run() {
  # PREFIX: the loggers' MNs; a second run on the same database takes other
  # loggers (their own sites), or every frame would be a duplicate.
  local label=$1 url=$2 start=${3:-start_direct} prefix=${4:-SIM}
  local dir; dir=$(mktemp -d)
  "$BIN" simulate --target 127.0.0.1:1 --loggers "$LOGGERS" --kind stack --mn-prefix "$prefix" \
      --register "$url" --duration 0 >/dev/null 2>&1 || true
  # Every virtual logger connects from 127.0.0.1: the starters lift the
  # per-address cap (64 by default, against one site opening thousands of
  # connections). Ports below the ephemeral range (32768+): a port a
  # previous run's 2,000 connections still hold in TIME_WAIT cannot be bound.
  # The NATS run counts its commits in the ledger: from what is there now.
  local n0=0
  if [ "$start" = start_nats ]; then
    n0=$(psql "$url" -tAc "SELECT COUNT(*) FROM hj212_uploads WHERE mn LIKE '${prefix}%'")
  fi
  $start "$url" "$dir" || { kill "${PIDS[@]}" 2>/dev/null || true; return 1; }
  local pid=${PIDS[0]}
  wait_port $HJ || true
  sleep 1
  local p
  for p in "${PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "== $label: the platform did not start:" >&2; tail -n 20 "${LOGS[@]}" >&2
      kill "${PIDS[@]}" 2>/dev/null || true; return 1
    fi
  done
  local rss0; rss0=$(rss_kb $pid)
  # Connections only (no data) to measure memory per connection.
  "$SIM" simulate --target 127.0.0.1:$HJ --loggers "$LOGGERS" --kind stack --mn-prefix "$prefix" --speed 0.000001 \
      --duration 5 --outage 0 --exceedance 0 --calibration 0 >/dev/null &
  local idle=$!
  sleep 4
  local rss1; rss1=$(rss_kb $pid)
  wait $idle || true
  local out cpu0 cpu1
  cpu0=$(cpu_ticks_all "${PIDS[@]}")
  out=$("$SIM" simulate --target 127.0.0.1:$HJ --loggers "$LOGGERS" --kind stack --mn-prefix "$prefix" --speed "$SPEED" \
      --duration "$SECONDS_RUN" --outage 0 --exceedance 0.02 --calibration 0.01)
  if [ "$start" = start_nats ]; then
    # The gateway acks a frame once JetStream holds it; the commit comes
    # after. Count the values committed: wait until the writer has drained
    # the stream into the ledger, and divide by the whole time.
    local acked t0 n=0 last=-1 drained=0
    acked=$(echo "$out" | grep values_acked | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames_acked"])')
    t0=$(date +%s.%N)
    while true; do
      n=$(( $(psql "$url" -tAc "SELECT COUNT(*) FROM hj212_uploads WHERE mn LIKE '${prefix}%'") - n0 ))
      [ "$n" -ge "$acked" ] && break
      # Stalled for 10 s: report what is there.
      if [ "$n" = "$last" ]; then drained=$((drained + 1)); [ $drained -ge 20 ] && break; else drained=0; fi
      last=$n; sleep 0.5
    done
    local run_s; run_s=$(echo "$out" | grep values_acked | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
    local per_frame; per_frame=$(echo "$out" | grep values_acked | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["values_acked"]/max(d["frames_acked"],1))')
    COMMITTED=$(python3 -c 'import sys; n,a,r,d,v=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]),float(sys.argv[5]); print("%d %d %.1f %.0f" % (n, a, d, n*v/(r+d)))' \
        "$n" "$acked" "$run_s" "$(python3 -c "import time; print(time.time()-$t0)")" "$per_frame")
    read -r n acked drain_s committed_vps <<<"$COMMITTED"
    echo "committed: $n of $acked acked frames in the ledger, ${drain_s} s after the loggers stopped: ${committed_vps} values/s committed over the whole time"
    COMMITTED_VPS=$committed_vps
  fi
  cpu1=$(cpu_ticks_all "${PIDS[@]}")
  local rss2; rss2=$(rss_kb $pid)
  local nprocs=${#PIDS[@]}
  kill -TERM "${PIDS[@]}"; wait "${PIDS[@]}" || true
  PIDS=()
  echo "== $label: $LOGGERS loggers, ${SECONDS_RUN}s"
  echo "$out"
  # No line printed below may contain "values_per_second": bench/compare.sh
  # finds the simulator's JSON line by that word.
  PLATFORM_CPU=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); c=(int(sys.argv[2])-int(sys.argv[3]))/int(sys.argv[4]); v=d["values_acked"]; print("%.3f %d %.0f %.0f" % (c, v, (c*1e6/v) if v else 0, (v/c) if c else 0))' \
      "$(echo "$out" | grep values_acked)" "$cpu1" "$cpu0" "$TICKS")
  read -r cpu_s values us_per per_cpu <<<"$PLATFORM_CPU"
  PLATFORM_WALL=$(echo "$out" | grep values_acked | python3 -c 'import json,sys; print(json.load(sys.stdin)["values_per_second"])')
  PLATFORM_PER_CPU=$per_cpu
  echo "server CPU (${nprocs} platform process(es)): ${cpu_s} s for ${values} values: ${us_per} µs per value, ${per_cpu} values per CPU second"
  echo "server RSS: idle ${rss0} kB, ${LOGGERS} idle connections ${rss1} kB, after load ${rss2} kB"
  echo "memory per connection: $(( (rss1 - rss0) * 1024 / LOGGERS )) bytes"
  rm -rf "$dir"
}

SQLITE_DIR=$(mktemp -d)
run sqlite "sqlite://$SQLITE_DIR/gongjian.db"
rm -rf "$SQLITE_DIR"
if [ "$BASELINE_SECONDS" != 0 ]; then
  base=$(python3 bench/sqlite_baseline.py --frames "$LOGGERS" --values "$BASELINE_VALUES" \
      --seconds "$BASELINE_SECONDS")
  python3 - "$base" "$PLATFORM_WALL" "$PLATFORM_PER_CPU" <<'PY'
import json, sys
b = json.loads(sys.argv[1]); wall = float(sys.argv[2]); cpu = float(sys.argv[3])
print("== baseline: python sqlite3, %d frames of %d values a transaction, WAL, synchronous=FULL"
      % (b["frames_per_transaction"], b["values_per_frame"]))
print("baseline: %d values/s of wall time, %d values per CPU second"
      % (b["values_per_second"], b["values_per_cpu_second"]))
print("platform/baseline (sqlite): wall %.2f, per CPU second %.2f"
      % (wall / b["values_per_second"], cpu / b["values_per_cpu_second"]))
PY
fi
if [ -n "${GONGJIAN_BENCH_POSTGRES_URL:-}" ]; then
  run postgres "$GONGJIAN_BENCH_POSTGRES_URL"
  PG_WALL=$PLATFORM_WALL
  # BENCH_NATS=0 skips the NATS path (it needs `nats-server` on PATH).
  if [ "${BENCH_NATS:-1}" != 0 ] && command -v nats-server >/dev/null && command -v psql >/dev/null; then
    run "postgres via NATS JetStream (gateway + writer)" "$GONGJIAN_BENCH_POSTGRES_URL" start_nats NATS
    python3 -c 'import sys; print("nats/direct (postgres): %.2f of the values per second committed" % (float(sys.argv[1]) / float(sys.argv[2])))' \
        "$COMMITTED_VPS" "$PG_WALL"
  fi
fi
