#!/usr/bin/env bash
# HJ 212 codec throughput on one core (issue 4, item 9): decode of typical minute
# (2051) frames — framing, CRC, charset, header, CP and items — in frames/s and MB/s.
# Target: >= 1,000,000 frames/s. Rates are per second of the benchmark thread's CPU
# time, so a busy machine lowers them less than wall-clock would (it still does:
# shared caches and hyper-threads).
#
# Usage: bench/hj212_codec.sh [runs] [seconds-per-run] [--criterion]
#   --criterion  also run the criterion benches (crates/hj212/benches/codec.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-11}
secs=${2:-0.5}
echo "== gongjian-hj212 codec throughput (median of ${runs} runs, ${secs}s each, 1 thread)"
cargo run --quiet --release -p gongjian-hj212 --example codec_throughput -- "$runs" "$secs"
if [[ " $* " == *" --criterion "* ]]; then
  cargo bench -p gongjian-hj212 --bench codec
fi
