#!/usr/bin/env bash
# Overview / target API latency with 3 years of hourly data for 20 air
# stations and a year of 10-minute data (plus 3 years of hourly values) for
# 50 stack outlets, on SQLite. Prints the median and p90 of N requests of
# `/`, `/overview/status` and `/api/v1/targets`, first request included
# separately (it builds the in-memory year cache).
# Usage: bench/overview.sh [N=50]
# BENCH_DATA=DIR keeps the generated database in DIR and reuses it on the
# next run (generating it takes several minutes).
set -euo pipefail
N=${1:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
# GONGJIAN_BIN measures another build (bench/compare.sh passes an older one).
if [ -z "${GONGJIAN_BIN:-}" ]; then
  cargo build --release -p gongjian >/dev/null
fi
BIN=${GONGJIAN_BIN:-$CARGO_TARGET_DIR/release/gongjian}
PORT=${BENCH_PORT:-18089}
if [ -n "${BENCH_DATA:-}" ]; then
  WORK=$BENCH_DATA; mkdir -p "$WORK"
  trap 'kill $SERVER 2>/dev/null || true' EXIT
else
  WORK=$(mktemp -d)
  trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
fi
SERVER=
if [ ! -e "$WORK/generated" ]; then
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
# The stations are registered first (an air import takes only registered stations).
{ echo "站点编码,站点名称,类型"; for s in $(seq 0 19); do printf 'B%03d,B%03d站,空气站\n' "$s" "$s"; done; } > "$WORK/stations.csv"
# (Builds before station registration took any station the import named.)
if "$BIN" sites import --help >/dev/null 2>&1; then
  "$BIN" sites import "$WORK/stations.csv" --data-dir "$WORK" >/dev/null
fi
T0=$(date +%s.%N)
"$BIN" import air "$WORK/air.csv" --data-dir "$WORK" >/dev/null
T1=$(date +%s.%N)
echo "import: $(wc -l < "$WORK/air.csv") rows in $(echo "$T1 - $T0" | bc) s"
# 50 stack outlets: sites, factors with limits, devices, a year of 2051
# minute values every 10 minutes and 3 years of hourly values, written
# straight into the database (the HJ 212 path is measured by bench/ingest.sh).
python3 - "$WORK/gongjian.db" <<'PY'
import sqlite3, sys, time, random
random.seed(11)
db = sqlite3.connect(sys.argv[1])
now = int(time.time()); now -= now % 600
factors = [("a21026", "二氧化硫", "35", 18), ("a21002", "氮氧化物", "50", 32),
           ("a34013", "颗粒物", "10", 4), ("a19001", "氧气含量", None, 9), ("a00000", "烟气流量", None, 120)]
cur = db.cursor()
for i in range(50):
    cur.execute("INSERT INTO sites (code, name, kind, created_at) VALUES (?, ?, 'stack_gas', ?)",
                (f"BENCH-G{i:03d}", f"基准企业{i:02d} 排口", now))
    sid = cur.lastrowid
    for code, name, limit, _ in factors:
        cur.execute("INSERT INTO site_factors (site_id, factor, name, unit, limit_value) VALUES (?, ?, ?, 'mg/m³', ?)",
                    (sid, code, name, limit))
    cur.execute("INSERT INTO devices (mn, pw, site_id, created_at, updated_at) VALUES (?, '123456', ?, ?, ?)",
                (f"BENCH{i:019d}", sid, now, now))
    def rows(kind, step, span):
        for t in range(now - span, now, step):
            for code, _, _, typical in factors:
                v = typical * (0.6 + 0.8 * random.random())
                yield (sid, code, kind, t, f"{v:.2f}", f"{v:.2f}", "N", "hj212", now)
    cur.executemany("INSERT INTO series (site_id, factor, kind, period_start, value, converted, flag, source, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    rows("min", 600, 365 * 86400))
    cur.executemany("INSERT INTO series (site_id, factor, kind, period_start, value, converted, flag, source, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    rows("hour", 3600, 3 * 365 * 86400))
db.commit()
print("stack rows:", db.execute("SELECT COUNT(*) FROM series s JOIN sites t ON t.id = s.site_id WHERE t.kind = 'stack_gas'").fetchone()[0])
PY
touch "$WORK/generated"
fi
PASS=bench-password-1
"$BIN" migrate --data-dir "$WORK" >/dev/null
echo "$PASS" | "$BIN" user add --data-dir "$WORK" --role office --org 区环境攻坚办 --org-kind office \
  --password-stdin bench >/dev/null 2>&1 || true   # exists on a reused dataset
# Targets are judged against the campaign of the year: this year's copy of
# the 2020 plan, as an office would write it with `plan copy`.
YEAR=$(TZ=Asia/Shanghai date +%Y)
# (Builds before campaign years judged the embedded 2020 plan: no copy.)
if "$BIN" plan copy --help >/dev/null 2>&1; then
  [ -d "$WORK/plan-$YEAR" ] || "$BIN" plan copy "$ROOT/plans/pingyuan-2020" --year "$YEAR" -o "$WORK/plan-$YEAR" >/dev/null
  "$BIN" plan load "$WORK/plan-$YEAR" --data-dir "$WORK" >/dev/null
fi
"$BIN" serve --data-dir "$WORK" --http 127.0.0.1:$PORT --hj212 127.0.0.1:0 >"$WORK/serve.log" 2>&1 & SERVER=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
JAR=$WORK/jar
# A failed login would measure the redirect to /login, not the pages.
curl -sf -c "$JAR" -H 'content-type: application/json' \
  -d "{\"username\":\"bench\",\"password\":\"$PASS\"}" http://127.0.0.1:$PORT/api/v1/auth/login >/dev/null
for path in / /overview/status /api/v1/targets; do
  curl -sf -b "$JAR" -o /dev/null -w "$path first request: %{time_total} s\n" "http://127.0.0.1:$PORT$path"
  for i in $(seq "$N"); do
    curl -sf -b "$JAR" -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT$path"
  done | sort -n | awk -v p="$path" '{a[NR]=$1} END {printf "%s: median %.1f ms, p90 %.1f ms (n=%d)\n", p, a[int((NR+1)/2)]*1000, a[int(NR*0.9)]*1000, NR}'
done
