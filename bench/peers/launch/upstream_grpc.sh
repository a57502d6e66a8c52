#!/usr/bin/env bash
# Start one h2c gRPC upstream (bench/grpc_upstream.cc: one thread, a fixed small reply to every
# unary call) in the FOREGROUND (exec), so the caller can record its PID.
#   upstream_grpc.sh PORT WORKDIR [DELAY_US]
# Env GRPC_UPSTREAM_BIN: the grpc_upstream binary (built by `cmake --build build --target
# grpc_upstream`); GRPC_REPLY_BYTES: reply payload size (default 16).
set -euo pipefail
port=${1:?port}
wd=${2:?workdir}
delay_us=${3:-0}
bin=${GRPC_UPSTREAM_BIN:?set GRPC_UPSTREAM_BIN to the grpc_upstream binary}
mkdir -p "$wd"
exec "$bin" --listen "127.0.0.1:$port" --reply-bytes "${GRPC_REPLY_BYTES:-16}" --delay-us "$delay_us"
