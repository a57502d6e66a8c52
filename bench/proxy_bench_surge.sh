#!/usr/bin/env bash
# proxy_bench_surge.sh — the shared side-by-side reverse-proxy benchmark (nginx, HAProxy) with
# `surge gateway` as the candidate: one worker (pinned like the peers), round robin, admin off.
#
#   bench/proxy_bench_surge.sh                    # fast scenario: 0 ms upstream, 64 connections
#   SCENARIO=slow bench/proxy_bench_surge.sh      # 2 ms upstream, 256 connections
#   REPS=5 DURATION=10 bench/proxy_bench_surge.sh # every knob of the harness passes through
#
# SURGE=path/to/surge (default build/src/cli/surge), SURGE_BENCH_HARNESS=path/to/proxy_bench.sh
# (default bench/peers/proxy_bench.sh in this repository), SURGE_WORKERS (default 1).
# Results: docs/benchmarks.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SURGE=${SURGE:-$ROOT/build/src/cli/surge}
HARNESS=${SURGE_BENCH_HARNESS:-$HERE/peers/proxy_bench.sh}
WORKERS=${SURGE_WORKERS:-1}

[[ -x $SURGE ]] || { echo "proxy_bench_surge: $SURGE not found (make build, or set SURGE)" >&2; exit 2; }
[[ -x $HARNESS ]] || { echo "proxy_bench_surge: harness $HARNESS not found (set SURGE_BENCH_HARNESS)" >&2; exit 2; }
SURGE=$(cd "$(dirname "$SURGE")" && pwd)/$(basename "$SURGE")

export CANDIDATE_NAME=${CANDIDATE_NAME:-surge}
exec "$HARNESS" "$SURGE gateway --listen 127.0.0.1:{PORT} --upstreams {UPSTREAMS} --algorithm round_robin --workers $WORKERS --admin off --log-level warn"
