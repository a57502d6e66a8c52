#!/usr/bin/env bash
# Model-server benchmarks for docs/benchmarks.md (issue 6). Not a test: numbers depend on the machine.
#   1. demo MLP (surge model demo), one instance: concurrency sweep 1..64 with dynamic batching and
#      without; throughput at saturation of each; p99 at 70% of the batched saturation (open loop);
#   2. synthetic backend, 5 ms + 0.05 ms/item, max_batch_size 64: throughput at saturation vs the
#      analytic capacity 64 / (5 ms + 64 × 0.05 ms);
#   3. server overhead: zero-cost synthetic model, 256-float input, HTTP keep-alive: infer/s per
#      core of server CPU and CPU µs per request (server utime+stime from /proc).
# Usage: bench/serve_bench.sh [--quick]   (SURGE=path/to/surge; default build/src/cli/surge)
set -euo pipefail
SURGE=${SURGE:-build/src/cli/surge}
WINDOW=2s; DURATION=10s
if [[ ${1:-} == --quick ]]; then WINDOW=500ms; DURATION=3s; fi
T=$(mktemp -d /tmp/surge-serve-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT

# start_serve REPO → sets PORT and SPID
start_serve() {
  "$SURGE" serve --model-repository "$1" --listen 127.0.0.1:0 --workers 1 >"$T/serve.out" 2>"$T/serve.err" &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 1 600); do
    PORT=$(grep -o 'listening on [0-9.]*:[0-9]*' "$T/serve.out" "$T/serve.err" 2>/dev/null | head -1 | sed 's/.*://') || true
    if [[ -n ${PORT:-} ]] && curl -fs "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "surge serve did not become ready" >&2; cat "$T/serve.err" >&2; exit 1
}
stop_serve() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; PORT=""; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

json_field() { python3 -c "import json,sys; j=json.load(open('$1')); print($2)"; }

echo "# surge serve benchmarks — $(date -u +%FT%TZ), $(nproc) cores, $(uname -r)"
echo "# command: bench/serve_bench.sh ${1:-}"

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
start_serve "$T/zero"
"$SURGE" load --url "http://127.0.0.1:$PORT" --model z --concurrency 8 --duration 2s >/dev/null  # warm
c0=$(cpu_ticks "$SPID")
"$SURGE" load --url "http://127.0.0.1:$PORT" --model z --concurrency 16 --duration "$DURATION" --json >"$T/zero.json"
c1=$(cpu_ticks "$SPID")
stop_serve
python3 - "$T/zero.json" "$c0" "$c1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["levels"][0]
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
print(f"\n## Server overhead: zero-cost model, 256 FP32 inputs (JSON), keep-alive, 16 connections, 1 worker\n")
print(f"{l['ok_rps']:.0f} infer/s using {cpu / l['duration_s']:.2f} cores of server CPU → "
      f"**{l['ok'] / cpu:.0f} infer/s per core**, {1e6 * cpu / l['ok']:.1f} CPU µs/request, "
      f"p99 {l['latency_s']['p99']*1e3:.2f} ms, errors {l['errors']}")
PY
