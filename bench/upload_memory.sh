#!/usr/bin/env bash
# Peak memory of `gongjian serve` under concurrent report uploads (issue #10,
# item 15). Starts the demo platform from BINARY on a fresh data directory,
# logs in as the township account `yuanwu`, posts N concurrent progress
# reports each carrying one SIZE-byte image, and prints the server's VmHWM
# (peak resident set) and VmRSS (resident set afterwards) from /proc, with
# how the uploads were answered. Not run in CI.
#
#   bench/upload_memory.sh target/release/gongjian [N=32] [SIZE=20000000]
#
# Extra environment (for example GONGJIAN_CAMPAIGN_UPLOADS_PER_USER=32) is
# passed to the server.
set -euo pipefail
BIN=${1:?usage: $0 path/to/gongjian [concurrency] [bytes]}
N=${2:-32}
SIZE=${3:-20000000}
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HJ=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"

GONGJIAN_LOG_LEVEL=warn "$BIN" demo --data-dir "$WORK/data" --http "127.0.0.1:$PORT" \
  --hj212 "127.0.0.1:$HJ" >"$WORK/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 600); do
  curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# One PNG-typed file of SIZE bytes (random after the signature).
python3 - "$WORK/photo.png" "$SIZE" <<'EOF'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(os.urandom(size - 8))
EOF

curl -sf -c "$WORK/jar" -H 'content-type: application/json' \
  -d '{"username":"yuanwu","password":"gongjian2020"}' "$BASE/api/v1/auth/login" >/dev/null
CSRF=$(curl -sf -b "$WORK/jar" "$BASE/api/v1/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
PART=$(curl -sf -b "$WORK/jar" "$BASE/api/v1/assignments" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

hwm() { awk '/^VmHWM|^VmRSS/ {printf "%s %d MB  ", $1, $2/1024}' "/proc/$PID/status"; }
echo "before:  $(hwm)"
PIDS=()
for i in $(seq 1 "$N"); do
  curl -s -o /dev/null -w '%{http_code}\n' -b "$WORK/jar" -H "X-CSRF-Token: $CSRF" \
    -F "text=第 $i 份进展报告" -F "attachment=@$WORK/photo.png;filename=photo$i.png" \
    "$BASE/api/v1/assignments/$PART/reports" >>"$WORK/codes" &
  PIDS+=($!)
done
wait "${PIDS[@]}"
sleep 2
echo "after:   $(hwm)"
echo "answers: $(sort "$WORK/codes" | uniq -c | tr -s ' ' | tr '\n' ';')"
echo "stored:  $(find "$WORK/data/attachments" -type f -not -path '*/.incoming/*' | wc -l) file(s), incoming left: $(find "$WORK/data/attachments" -path '*/.incoming/*' -type f 2>/dev/null | wc -l)"
