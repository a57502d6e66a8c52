#!/usr/bin/env bash
# grpc_proxy_bench.sh — gRPC unary calls through `surge gateway` (h2c in front, per-request
# balancing over h2c upstream pools) side by side with HAProxy 2.6 and nginx 1.22 (grpc_pass), in
# one run, interleaved, with the shared harness bench/peers/grpc_https_bench.sh: 4 tiny gRPC
# upstreams (bench/grpc_upstream.cc) and h2load (64 streams over 4 connections) on CPU 1, every
# proxy on CPU 0 with one worker. SCENARIO=https (or bench/https_proxy_bench.sh) measures HTTPS
# (HTTP/1.1 over TLS, keep-alive, one certificate for every proxy) instead; SCENARIO=grpcs gRPC
# with TLS + ALPN h2 on the client side.
#
#   bench/grpc_proxy_bench.sh                        # gRPC: limit, nginx, HAProxy, surge
#   bench/https_proxy_bench.sh                       # HTTPS: limit, nginx, HAProxy, surge
#   REPS=5 DURATION=10 bench/grpc_proxy_bench.sh     # every knob of the harness passes through
#   SURGE_CANDIDATE=0 bench/grpc_proxy_bench.sh      # peers only
#
# The surge command line is ONE variable per scenario (placeholders: see the harness;
# {SURGE} = the binary):
#   SURGE_GRPC_CMD   default below: --upstreams HOST:PORT,... --upstream-protocol h2
#                    ({UPSTREAMS_H2C} gives h2c://HOST:PORT,... instead)
#   SURGE_GRPCS_CMD  default below: the same with --tls-cert/--tls-key
#   SURGE_HTTPS_CMD  default below: --tls-cert/--tls-key
# SURGE_CANDIDATE=auto (default): surge runs when `surge gateway --help` names what the scenario
# needs (--upstream-protocol / --tls-cert), else the peers run alone and a note says why; 1 = always;
# 0 = never. SURGE=path/to/surge (default build/src/cli/surge; run from a private copy),
# SURGE_WORKERS (default 1),
# GRPC_UPSTREAM_BIN (default: bench/grpc_upstream.cc compiled into a temp folder at start).
# Tools (Debian 12): nginx haproxy wrk nghttp2-client (h2load) curl openssl — scripts/install-deps
# --bench installs them. Results: docs/benchmarks.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SCENARIO=${SCENARIO:-grpc}
SURGE=${SURGE:-$ROOT/build/src/cli/surge}
WORKERS=${SURGE_WORKERS:-1}
HARNESS=$HERE/peers/grpc_https_bench.sh
CANDIDATE=${SURGE_CANDIDATE:-auto}

SURGE_GRPC_CMD=${SURGE_GRPC_CMD:-"{SURGE} gateway --listen 127.0.0.1:{PORT} --upstreams {UPSTREAMS} --upstream-protocol h2 --algorithm round_robin --workers $WORKERS --admin off --log-level warn"}
SURGE_GRPCS_CMD=${SURGE_GRPCS_CMD:-"{SURGE} gateway --listen 127.0.0.1:{PORT} --upstreams {UPSTREAMS} --upstream-protocol h2 --tls-cert {CERT} --tls-key {KEY} --algorithm round_robin --workers $WORKERS --admin off --log-level warn"}
SURGE_HTTPS_CMD=${SURGE_HTTPS_CMD:-"{SURGE} gateway --listen 127.0.0.1:{PORT} --upstreams {UPSTREAMS} --tls-cert {CERT} --tls-key {KEY} --algorithm round_robin --workers $WORKERS --admin off --log-level warn"}

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }

case $SCENARIO in
    grpc) cmd=$SURGE_GRPC_CMD; needs='--upstream-protocol' ;;
    grpcs) cmd=$SURGE_GRPCS_CMD; needs='--tls-cert' ;;
    https) cmd=$SURGE_HTTPS_CMD; needs='--tls-cert' ;;
    *) log "SCENARIO must be grpc, grpcs or https"; exit 2 ;;
esac

# Private copies (the surge binary, the gRPC upstream): others may rebuild build/ during the run.
COPY_DIR=$(mktemp -d "${TMPDIR:-/tmp}/surge_bench_bin.XXXXXX")
trap 'rm -rf "$COPY_DIR"' EXIT

if [[ $SCENARIO != https && -z ${GRPC_UPSTREAM_BIN:-} ]]; then
    # self-contained (libnghttp2 only): compiled from this checkout in a few seconds
    log "compiling bench/grpc_upstream.cc"
    nice -n 5 "${CXX:-c++}" -O2 -std=c++20 -Wall -Wextra -Werror "$HERE/grpc_upstream.cc" -lnghttp2 \
        -o "$COPY_DIR/grpc_upstream" ||
        { log "cannot compile bench/grpc_upstream.cc (needs g++ and libnghttp2-dev), or set GRPC_UPSTREAM_BIN"; exit 2; }
    GRPC_UPSTREAM_BIN=$COPY_DIR/grpc_upstream
fi
[[ $SCENARIO == https ]] || export GRPC_UPSTREAM_BIN

if [[ $CANDIDATE != 0 ]]; then
    if [[ ! -x $SURGE ]]; then
        [[ $CANDIDATE == 1 ]] && { log "$SURGE not found (make build, or set SURGE)"; exit 2; }
        log "note: $SURGE not found; measuring the peers only"
        CANDIDATE=0
    else
        SURGE=$(cd "$(dirname "$SURGE")" && pwd)/$(basename "$SURGE")
        if [[ $CANDIDATE == auto ]] && ! "$SURGE" gateway --help 2>&1 | grep -q -- "$needs"; then
            log "note: \`surge gateway --help\` does not mention '$needs' yet; measuring the peers only (SURGE_CANDIDATE=1 forces it)"
            CANDIDATE=0
        fi
    fi
fi

export SCENARIO
if [[ $CANDIDATE == 0 ]]; then
    "$HARNESS"
    exit
fi
cp "$SURGE" "$COPY_DIR/surge"
dirty=$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | head -n 1)
BENCH_NOTE="surge: copy of $SURGE (built $(date -u -r "$SURGE" '+%Y-%m-%d %H:%M UTC'); tree at $(git -C "$ROOT" log -1 --format=%h 2>/dev/null || echo '?')${dirty:+ with uncommitted changes under src/})"
export BENCH_NOTE
log "$BENCH_NOTE"
export CANDIDATE_NAME=${CANDIDATE_NAME:-surge}
"$HARNESS" "${cmd//"{SURGE}"/"$COPY_DIR/surge"}"
