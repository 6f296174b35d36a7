#!/usr/bin/env bash
# Schema-driven fuzzing of the JSON API with schemathesis against a real
# `gongjian demo` server (fresh SQLite in a temporary directory), signed in as
# the demo admin. Long: not run by CI. Needs `pip install schemathesis`.
#
#   scripts/api-fuzz.sh [max-examples-per-operation]   (default 25)
#
# Excluded operations: the three that end or disable the fuzzer's own
# session (logout, password change, a password reset, which sets "must change
# password" on the account it resets, the admin's included).
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-25}"
bin="${GONGJIAN_BIN:-}"
if [ -z "$bin" ]; then
    cargo build -q -p gongjian
    bin="${CARGO_TARGET_DIR:-target}/debug/gongjian"
fi
command -v st >/dev/null || { echo "schemathesis is not installed (pip install schemathesis)" >&2; exit 2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port="$(free_port)"
hj212_port="$(free_port)"
dir="$(mktemp -d)"
"$bin" demo --data-dir "$dir" --http "127.0.0.1:$http_port" --hj212 "127.0.0.1:$hj212_port" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$http_port"
for _ in $(seq 1 100); do
    curl -sf "$base/healthz" >/dev/null && break
    sleep 0.2
done

jar="$dir/cookies"
curl -sf -c "$jar" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"gongjian2020"}' "$base/api/v1/auth/login" >/dev/null
session="$(awk '$6 == "gongjian_session" {print $7}' "$jar")"
csrf="$(curl -sf -b "$jar" "$base/api/v1/me" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')"

st run "$base/api/v1/openapi.json" \
    --url "$base" \
    -H "Cookie: gongjian_session=$session" \
    -H "X-CSRF-Token: $csrf" \
    --checks all \
    --max-examples "$examples" \
    --exclude-path /api/v1/auth/logout \
    --exclude-path /api/v1/me/password \
    --exclude-path '/api/v1/users/{id}/password' \
    --generation-deterministic \
    --generation-with-security-parameters false \
    --no-color \
    "${@:2}"
