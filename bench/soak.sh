#!/bin/bash
# Soak (docs/design/gateway.md, "Soak connection errors"): `surge gateway` in front of two
# `surge serve` replicas of a synthetic model (2 ms), `surge load --rate 200` for DURATION.
#   bench/soak.sh 180s          the issue's soak
#   bench/soak.sh 40s 3s        the same with the gateway's client idle timeout at 3 s (fast repro)
# Prints surge load's JSON, then the gateway's request/retry/connection counters.
set -u
SURGE=${SURGE:-$(dirname "$0")/../build/src/cli/surge}
DUR=${1:-180s}; IDLE=${2:-}
D=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$D"; }
trap cleanup EXIT
waitFor() { for _ in $(seq 100); do grep -q listening "$1" && return; sleep 0.1; done; }
mkdir -p "$D/repo/m/1"
cat > "$D/repo/m/config.pbtxt" <<C
backend: "synthetic"
max_batch_size: 8
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
dynamic_batching { max_queue_delay_microseconds: 500 }
parameters { key: "base_latency_us" value { string_value: "2000" } }
C
ports=()
for n in 1 2; do
  "$SURGE" serve --model-repository "$D/repo" --listen 127.0.0.1:0 > "$D/s$n.out" 2> "$D/s$n.log" &
  pids+=($!)
done
for n in 1 2; do waitFor "$D/s$n.out"; ports+=($(grep -o '127.0.0.1:[0-9]*' "$D/s$n.out" | head -1)); done
{ echo "listen: 127.0.0.1:0"; echo "admin: 127.0.0.1:0"; echo "backends: [${ports[0]}, ${ports[1]}]"
  [[ -n $IDLE ]] && echo "timeouts: {idle: $IDLE}"; } > "$D/gw.yaml"
"$SURGE" gateway --config "$D/gw.yaml" > "$D/gw.out" 2> "$D/gw.log" &
pids+=($!)
waitFor "$D/gw.out"
GW=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$D/gw.out" | grep -o '[0-9]*$')
ADMIN=$(grep -o 'admin 127.0.0.1:[0-9]*' "$D/gw.out" | grep -o '[0-9]*$')
sleep 2
"$SURGE" load --url "http://127.0.0.1:$GW" --model m --rate 200 --duration "$DUR" --json
echo
curl -s "http://127.0.0.1:$ADMIN/metrics" |
  grep -E "^surge_gateway_(requests_total|retries_total|upstream_connections_total)"
grep -i "too many open files" "$D/gw.log" | head -3
