#!/usr/bin/env bash
# Overview / target API latency with 3 years of hourly data for 20 air
# stations (SQLite). Prints the median and p90 of N requests of `/` and
# `/api/v1/targets`. Usage: bench/overview.sh [N=50]
# NOTE: the 50 stack outlets' minute data of the issue's scenario are not
# generated yet (the HJ 212 ingestion tables were not committed when this
# script was written); the air data dominate the overview's queries.
set -euo pipefail
N=${1:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -p gongjian >/dev/null
BIN=$CARGO_TARGET_DIR/release/gongjian
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 - "$WORK/air.csv" <<'PY'
import sys, datetime, random
random.seed(7)
out = open(sys.argv[1], "w")
out.write("station,time,so2,no2,co,o3,pm10,pm25\n")
end = datetime.datetime.now().replace(minute=0, second=0, microsecond=0)
start = end - datetime.timedelta(days=3 * 365)
for s in range(20):
    t = start
    while t <= end:
        pm = 20 + random.randrange(80)
        out.write(f"B{s:03d},{t:%Y-%m-%d %H:%M},{5+random.randrange(10)},{15+random.randrange(30)},0.{4+random.randrange(5)},{30+random.randrange(120)},{pm*17//10},{pm}\n")
        t += datetime.timedelta(hours=1)
PY
T0=$(date +%s.%N)
"$BIN" import air "$WORK/air.csv" --data-dir "$WORK" >/dev/null
T1=$(date +%s.%N)
echo "import: $(wc -l < "$WORK/air.csv") rows in $(echo "$T1 - $T0" | bc) s"
PASS=bench-password-1
"$BIN" user add --data-dir "$WORK" --username bench --role office --password "$PASS" >/dev/null 2>&1 || true
"$BIN" serve --data-dir "$WORK" --http 127.0.0.1:18089 >/dev/null 2>&1 & SERVER=$!
sleep 2
JAR=$WORK/jar
curl -s -c "$JAR" -H 'content-type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$PASS\"}" http://127.0.0.1:18089/api/v1/auth/login >/dev/null
for path in / /api/v1/targets; do
  for i in $(seq "$N"); do
    curl -s -b "$JAR" -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:18089$path"
  done | sort -n | awk -v p="$path" '{a[NR]=$1} END {printf "%s: median %.1f ms, p90 %.1f ms (n=%d)\n", p, a[int((NR+1)/2)]*1000, a[int(NR*0.9)]*1000, NR}'
done
