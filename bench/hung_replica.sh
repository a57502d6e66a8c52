#!/bin/bash
# Hung replica (docs/benchmarks.md, "Hung replica"): three `surge upstream` replicas behind
# `surge gateway` (round_robin, retries 2, timeouts.per_try PER_TRY (default 1s), health checks
# every 2 s), `surge load` at 50 req/s open loop; replica r2 is SIGSTOPped at t=5 s for 20 s.
#   bench/hung_replica.sh whole   one 30 s load run (failed requests, p99, max)
#   bench/hung_replica.sh split   a 9 s run, then a 21 s run starting 4 s after the stop (its max is
#                                 "every request from 4 s after the stop")
# PER_TRY=0 measures the gateway without a per-try timeout. SURGE=path/to/surge (default: build/).
set -u
SURGE=${SURGE:-$(dirname "$0")/../build/src/cli/surge}
MODE=${1:-whole}
D=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  rm -rf "$D"
}
trap cleanup EXIT
waitFor() { for _ in $(seq 100); do grep -q listening "$1" && return; sleep 0.1; done; }
ports=()
for n in r1 r2 r3; do
  "$SURGE" upstream --listen 127.0.0.1:0 --name $n > "$D/$n.out" 2>&1 &
  pids+=($!); eval "pid_$n=$!"
done
for n in r1 r2 r3; do waitFor "$D/$n.out"; ports+=($(grep -o '127.0.0.1:[0-9]*' "$D/$n.out" | head -1)); done
cat > "$D/gw.yaml" <<Y
listen: 127.0.0.1:0
admin: 127.0.0.1:0
workers: 2
algorithm: round_robin
retries: 2
timeouts: {per_try: ${PER_TRY:-1s}}
health_check: {path: /v2/health/ready, interval: 2s, timeout: 1s}
backends: [${ports[0]}, ${ports[1]}, ${ports[2]}]
Y
"$SURGE" gateway --config "$D/gw.yaml" > "$D/gw.out" 2> "$D/gw.log" &
pids+=($!)
waitFor "$D/gw.out"
GW=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$D/gw.out" | grep -o '[0-9]*$')
echo '{"x":1}' > "$D/body.json"
LOAD=("$SURGE" load --url "http://127.0.0.1:$GW" --path /v2/models/m/infer --input "$D/body.json" --json)
( sleep 5; kill -STOP "$pid_r2"; sleep 20; kill -CONT "$pid_r2" ) &
if [[ $MODE == whole ]]; then
  "${LOAD[@]}" --rate 50 --duration 30s
else
  "${LOAD[@]}" --rate 50 --duration 9s; echo
  "${LOAD[@]}" --rate 50 --duration 21s
fi
echo
grep -iE "eject|healthy" "$D/gw.log"
