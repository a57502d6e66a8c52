#!/usr/bin/env bash
# Model-server benchmarks for docs/benchmarks.md (issue 6). Not a test: numbers depend on the machine.
#   1. demo MLP (surge model demo), one instance: concurrency sweep 1..64 with dynamic batching and
#      without; throughput at saturation of each; p99 at 70% of the batched saturation (open loop)
#      — over HTTP (JSON) and over gRPC (ModelInfer), and the batching gain of each;
#   2. synthetic backend, 5 ms + 0.05 ms/item, max_batch_size 64: throughput at saturation vs the
#      analytic capacity 64 / (5 ms + 64 × 0.05 ms);
#   3. server overhead: zero-cost synthetic model, 256-float input, keep-alive, the same closed
#      loop (16 in flight) over JSON HTTP, binary-tensor HTTP and gRPC ModelInfer: infer/s per
#      core of server CPU and CPU µs per request (server utime+stime from /proc), each protocol
#      against JSON (targets: gRPC ≥ 1.5×, binary HTTP ≥ 1.3×). With 2+ cores the server is pinned
#      to CPU 0 and the load generator to CPU 1 (taskset), so the client's CPU (the gRPC client
#      uses ~2.5× the HTTP one's) does not compete with the server's.
# Usage: bench/serve_bench.sh [--quick] [--overhead-only]
#   (SURGE=path/to/surge; default build/src/cli/surge). Run it on a quiet machine (no build).
set -euo pipefail
SURGE=${SURGE:-build/src/cli/surge}
WINDOW=2s; DURATION=10s; ONLY_OVERHEAD=0
for arg in "$@"; do
  case $arg in
    --quick) WINDOW=500ms; DURATION=3s ;;
    --overhead-only) ONLY_OVERHEAD=1 ;;
    *) echo "usage: bench/serve_bench.sh [--quick] [--overhead-only]" >&2; exit 2 ;;
  esac
done
T=$(mktemp -d /tmp/surge-serve-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

# start_serve REPO → sets PORT (HTTP), GPORT (gRPC) and SPID
start_serve() {
  ${SERVE_PIN:-} "$SURGE" serve --model-repository "$1" --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --workers 1 \
    >"$T/serve.out" 2>"$T/serve.err" &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 1 600); do
    PORT=$(grep -o '^surge serve listening on [0-9.]*:[0-9]*' "$T/serve.out" 2>/dev/null | head -1 | sed 's/.*://') || true
    GPORT=$(grep -o 'gRPC listening on [0-9.]*:[0-9]*' "$T/serve.out" 2>/dev/null | head -1 | sed 's/.*://') || true
    if [[ -n ${PORT:-} && -n ${GPORT:-} ]] && curl -fs "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "surge serve did not become ready" >&2; cat "$T/serve.err" >&2; exit 1
}
stop_serve() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; PORT=""; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

json_field() { python3 -c "import json,sys; j=json.load(open('$1')); print($2)"; }

echo "# surge serve benchmarks — $(date -u +%FT%TZ), $(nproc) cores, $(uname -r)"
echo "# command: bench/serve_bench.sh $*"

if ((ONLY_OVERHEAD == 0)); then

# ---- 1. demo MLP: batching vs none ---------------------------------------------------------------
"$SURGE" model demo "$T/batched" >/dev/null
mkdir -p "$T/plain" && cp -r "$T/batched/mlp" "$T/plain/mlp"
python3 - "$T/plain/mlp/config.pbtxt" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r"dynamic_batching \{[^}]*\}\n", "", s)
open(p, "w").write(s)
PY
for variant in batched plain; do
  start_serve "$T/$variant"
  "$SURGE" load --url "http://127.0.0.1:$PORT" --model mlp --sweep 1,2,4,8,16,32,64 \
    --window "$WINDOW" --max-windows 8 --json >"$T/$variant.json"
  "$SURGE" load --protocol grpc --url "127.0.0.1:$GPORT" --model mlp --sweep 1,2,4,8,16,32,64 \
    --window "$WINDOW" --max-windows 8 --json >"$T/$variant.grpc.json"
  stop_serve
done
python3 - "$T/batched.json" "$T/plain.json" <<'PY'
import json, sys
b, p = (json.load(open(f)) for f in sys.argv[1:3])
print("\n## Demo MLP (512→1024→1024→16), one instance, 1 intra-op thread: concurrency sweep\n")
print("| concurrency | batched infer/s | p50 ms | p99 ms | avg batch | no batching infer/s | p50 ms | p99 ms |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for lb, lp in zip(b["levels"], p["levels"]):
    ms = lambda l, k: f'{l["latency_s"][k]*1e3:.1f}'
    ab = lb.get("avg_batch")
    print(f'| {lb["concurrency"]} | {lb["ok_rps"]:.0f} | {ms(lb,"p50")} | {ms(lb,"p99")} | '
          f'{ab:.1f} | {lp["ok_rps"]:.0f} | {ms(lp,"p50")} | {ms(lp,"p99")} |' if ab is not None else
          f'| {lb["concurrency"]} | {lb["ok_rps"]:.0f} | {ms(lb,"p50")} | {ms(lb,"p99")} | - | '
          f'{lp["ok_rps"]:.0f} | {ms(lp,"p50")} | {ms(lp,"p99")} |')
sb = max(l["ok_rps"] for l in b["levels"]); sp = max(l["ok_rps"] for l in p["levels"])
print(f"\nsaturation: batched {sb:.0f} infer/s, no batching {sp:.0f} infer/s → **{sb/sp:.2f}×**")
with open(sys.argv[1] + ".sat", "w") as f: f.write(f"{sb}\n")
PY
python3 - "$T/batched.json" "$T/plain.json" "$T/batched.grpc.json" "$T/plain.grpc.json" <<'PY'
import json, sys
hb, hp, gb, gp = (max(l["ok_rps"] for l in json.load(open(f))["levels"]) for f in sys.argv[1:5])
print("\n### Dynamic-batching gain by protocol (saturation, same sweep)\n")
print("| protocol | batched infer/s | no batching infer/s | gain |")
print("|---|---:|---:|---:|")
print(f"| HTTP (JSON) | {hb:.0f} | {hp:.0f} | {hb/hp:.2f}× |")
print(f"| gRPC (ModelInfer) | {gb:.0f} | {gp:.0f} | {gb/gp:.2f}× |")
# Batching itself, protocol by protocol: throughput at each concurrency (a gain at saturation also
# includes each protocol's CPU per request, which competes with the model's thread).
hb_l, gb_l = (json.load(open(f))["levels"] for f in (sys.argv[1], sys.argv[3]))
print("\n| concurrency | HTTP (JSON) batched infer/s | gRPC batched infer/s |")
print("|---:|---:|---:|")
for h, g in zip(hb_l, gb_l):
    print(f'| {h["concurrency"]} | {h["ok_rps"]:.0f} | {g["ok_rps"]:.0f} |')
PY
SAT=$(cat "$T/batched.json.sat")
RATE=$(python3 -c "print(int(0.7 * $SAT))")
start_serve "$T/batched"
"$SURGE" load --url "http://127.0.0.1:$PORT" --model mlp --rate "$RATE" --duration "$DURATION" --json >"$T/open70.json"
stop_serve
python3 - "$T/open70.json" "$RATE" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
print(f"\nopen loop at 70% of batched saturation ({sys.argv[2]} req/s, {l['duration_s']:.0f} s): "
      f"{l['ok_rps']:.0f} ok/s, p50 {l['latency_s']['p50']*1e3:.1f} ms, p99 "
      f"{l['latency_s']['p99']*1e3:.1f} ms, errors {l['errors']}, avg batch {l.get('avg_batch')}")
PY

# ---- 2. synthetic capacity -----------------------------------------------------------------------
mkdir -p "$T/syn/s/1"
cat >"$T/syn/s/config.pbtxt" <<'PB'
backend: "synthetic"
max_batch_size: 64
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { preferred_batch_size: [ 64 ] max_queue_delay_microseconds: 2000 }
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "base_latency_us" value { string_value: "5000" } }
parameters { key: "per_item_latency_us" value { string_value: "50" } }
PB
start_serve "$T/syn"
"$SURGE" load --url "http://127.0.0.1:$PORT" --model s --concurrency 256 --duration "$DURATION" --json >"$T/syn.json"
stop_serve
python3 - "$T/syn.json" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
cap = 64 / (0.005 + 64 * 0.00005)
print(f"\n## Synthetic backend (5 ms + 0.05 ms/item, max_batch_size 64), closed loop, 256 connections\n")
print(f"{l['ok_rps']:.0f} infer/s vs analytic {cap:.0f} → **{100*l['ok_rps']/cap:.1f}%**, "
      f"avg batch {l.get('avg_batch')}, p99 {l['latency_s']['p99']*1e3:.1f} ms, errors {l['errors']}")
PY

fi  # ONLY_OVERHEAD

# ---- 3. server overhead --------------------------------------------------------------------------
mkdir -p "$T/zero/z/1"
cat >"$T/zero/z/config.pbtxt" <<'PB'
backend: "synthetic"
max_batch_size: 0
input [ { name: "x" data_type: TYPE_FP32 dims: [ 256 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
instance_group [ { count: 1 kind: KIND_CPU } ]
parameters { key: "base_latency_us" value { string_value: "0" } }
PB
PIN_LOAD=""
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  SERVE_PIN="taskset -c 0"; PIN_LOAD="taskset -c 1"
fi
start_serve "$T/zero"
SERVE_PIN=""
# One protocol at a time, the same method: warm up, then a closed loop of 16 requests in flight for
# DURATION; server CPU (utime+stime) over the run.
measure() {  # NAME LOAD-ARGS...
  local name=$1; shift
  $PIN_LOAD "$SURGE" load "$@" --model z --concurrency 8 --duration 2s >/dev/null  # warm
  local c0 c1
  c0=$(cpu_ticks "$SPID")
  $PIN_LOAD "$SURGE" load "$@" --model z --concurrency 16 --duration "$DURATION" --json \
    >"$T/zero.$name.json"
  c1=$(cpu_ticks "$SPID")
  echo "$c0 $c1" >"$T/zero.$name.cpu"
}
measure json --url "http://127.0.0.1:$PORT"
measure binary --url "http://127.0.0.1:$PORT" --binary
measure grpc --protocol grpc --url "127.0.0.1:$GPORT"
stop_serve
python3 - "$T" "$(getconf CLK_TCK)" "$PIN_LOAD" <<'PY'
import json, sys
t, hz = sys.argv[1], int(sys.argv[2])
pinned = " (server on CPU 0, load on CPU 1)" if sys.argv[3] else ""
print(f"\n## Server overhead: zero-cost model, 256 FP32 inputs, 16 requests in flight, 1 HTTP worker{pinned}\n")
print("| protocol | infer/s | server cores | infer/s per core | CPU µs/request | p99 ms | errors | vs JSON |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
base = None
for name, label in (("json", "HTTP, JSON tensors"), ("binary", "HTTP, binary tensor data"),
                    ("grpc", "gRPC ModelInfer (raw)")):
    l = json.load(open(f"{t}/zero.{name}.json"))["levels"][0]
    c0, c1 = map(int, open(f"{t}/zero.{name}.cpu").read().split())
    cpu = (c1 - c0) / hz
    per_core = l["ok"] / cpu
    base = base or per_core
    print(f"| {label} | {l['ok_rps']:.0f} | {cpu / l['duration_s']:.2f} | **{per_core:.0f}** | "
          f"{1e6 * cpu / l['ok']:.1f} | {l['latency_s']['p99']*1e3:.2f} | {l['errors']} | "
          f"{per_core / base:.2f}× |")
PY
