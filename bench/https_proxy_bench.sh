#!/usr/bin/env bash
# https_proxy_bench.sh — HTTPS (HTTP/1.1 over TLS, keep-alive) through `surge gateway` side by
# side with HAProxy 2.6 and nginx 1.22, the same certificate for all: bench/grpc_proxy_bench.sh
# with SCENARIO=https (see there for the knobs; the surge command line is SURGE_HTTPS_CMD).
#
#   bench/https_proxy_bench.sh
#   REPS=5 bench/https_proxy_bench.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIO=https exec "$HERE/grpc_proxy_bench.sh" "$@"
