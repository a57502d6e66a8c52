#!/usr/bin/env bash
# up_churn.sh — `surge up` under churn: a load that alternates between 400 and 80 req/s every
# HALF seconds, so the autoscaler scales the local replicas out (to ~8) and back in (to 2) every
# half period, for DURATION seconds. Checks that surge up never dies (the issue-10 SIGSEGV in
# gateway::Worker::pollEvents came within 1-6 minutes of this), that requests keep succeeding, and
# that no replica outlives it. Exit 0 = no crash; non-zero = what went wrong.
#
#   DURATION=1800 bench/up_churn.sh                        # the 30-minute run
#   SURGE=build-asan/src/cli/surge DURATION=1800 bench/up_churn.sh   # the same under ASan
#
# Environment: SURGE (default build/src/cli/surge), DURATION (300 s), HALF (30 s), HIGH (400),
# LOW (80), MAX_REPLICAS (10), SYNC (5s), OUT (a fresh temp dir: logs, load JSON, summary).
set -u
cd "$(dirname "$0")/.."
SURGE=${SURGE:-build/src/cli/surge}
DURATION=${DURATION:-300}
HALF=${HALF:-30}
HIGH=${HIGH:-400}
LOW=${LOW:-80}
MAX_REPLICAS=${MAX_REPLICAS:-10}
SYNC=${SYNC:-5s}
OUT=${OUT:-$(mktemp -d /tmp/surge-up-churn.XXXXXX)}
mkdir -p "$OUT"

cat > "$OUT/policy.yaml" <<YAML
hpa:
  apiVersion: autoscaling/v2
  kind: HorizontalPodAutoscaler
  metadata: {name: up-churn}
  spec:
    minReplicas: 2
    maxReplicas: $MAX_REPLICAS
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "50"}
    behavior:
      scaleUp: {stabilizationWindowSeconds: 0}
      scaleDown:
        stabilizationWindowSeconds: 5
        policies: [{type: Percent, value: 100, periodSeconds: 5}]
YAML

"$SURGE" up --synthetic --config "$OUT/policy.yaml" --sync-period "$SYNC" \
  --listen 127.0.0.1:0 --admin 127.0.0.1:0 --autoscaler-admin 127.0.0.1:0 \
  --state-dir "$OUT/state" --log-level info >"$OUT/up.out" 2>"$OUT/up.log" &
UP=$!
cleanup() { kill -TERM "$UP" 2>/dev/null; }
trap cleanup EXIT INT TERM

for _ in $(seq 900); do
  grep -q "surge up ready: listening on" "$OUT/up.out" 2>/dev/null && break
  kill -0 "$UP" 2>/dev/null || break
  sleep 0.1
done
LINE=$(grep -m1 "surge up ready: listening on" "$OUT/up.out" || true)
if [ -z "$LINE" ]; then
  echo "surge up did not start; see $OUT/up.log" >&2
  exit 1
fi
PORT=$(sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/' <<<"$LINE")
SCALER=$(sed -E 's/.*autoscaler ([0-9.]+:[0-9]+)\).*/\1/' <<<"$LINE")
echo "surge up pid $UP, gateway 127.0.0.1:$PORT, autoscaler $SCALER, output $OUT"

SEEN=""  # every replica pid seen, to check none outlives surge up
replicas() {  # live children of surge up (any of its threads); remembers their pids
  local kids
  kids=$(cat /proc/"$UP"/task/*/children 2>/dev/null)
  for k in $kids; do
    case " $SEEN " in *" $k "*) ;; *) SEEN="$SEEN $k" ;; esac
  done
  wc -w <<<"$kids"
}
alive() {  # pid exists, is not a zombie, and is still one of ours (pids get reused)
  [ -r "/proc/$1/stat" ] && ! sed -E 's/.*\) //' "/proc/$1/stat" | grep -q '^Z' &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$OUT"
}

START=$(date +%s)
cycle=0
fail=0
min_r=999
max_r=0
total=0
errors=0
while [ $(( $(date +%s) - START )) -lt "$DURATION" ]; do
  cycle=$((cycle + 1))
  "$SURGE" load --url "http://127.0.0.1:$PORT" --model mlp --rate-profile "step:$HIGH,$LOW@${HALF}s" \
    --max-connections 256 --timeout 10s --json >"$OUT/load-$cycle.json" 2>>"$OUT/load.log" &
  LOAD=$!
  # Sample the replica count while the cycle runs.
  while kill -0 "$LOAD" 2>/dev/null; do
    r=$(replicas)
    [ "$r" -lt "$min_r" ] && min_r=$r
    [ "$r" -gt "$max_r" ] && max_r=$r
    if ! kill -0 "$UP" 2>/dev/null; then break; fi
    sleep 1
  done
  wait "$LOAD"
  if ! kill -0 "$UP" 2>/dev/null; then
    wait "$UP"
    rc=$?
    echo "FAIL: surge up exited (status $rc) during cycle $cycle; tail of $OUT/up.log:" >&2
    tail -20 "$OUT/up.log" >&2
    fail=1
    break
  fi
  read -r n e < <(python3 -c '
import json, sys
try:
    levels = json.load(open(sys.argv[1]))["levels"]
    print(sum(l["requests"] for l in levels), sum(l["errors"] for l in levels))
except Exception:
    print(0, 0)
' "$OUT/load-$cycle.json")
  total=$((total + n))
  errors=$((errors + e))
  echo "cycle $cycle: $(( $(date +%s) - START ))s, requests $n, errors $e, replicas now $(replicas) (range $min_r..$max_r)"
done

trap - EXIT INT TERM
if [ "$fail" -eq 0 ]; then
  kill -TERM "$UP"
  wait "$UP"
  rc=$?
  [ "$rc" -ne 0 ] && { echo "FAIL: surge up exit status $rc at shutdown" >&2; fail=1; }
fi
sleep 1
left=""
for k in $SEEN; do alive "$k" && left="$left $k"; done
if [ -n "$left" ]; then
  echo "FAIL: replica(s)$left outlived surge up" >&2
  kill -KILL $left 2>/dev/null
  fail=1
fi
segv=$(grep -c -i "sanitizer\|segmentation" "$OUT/up.log" || true)
[ "$segv" -ne 0 ] && { echo "FAIL: sanitizer/segfault report in $OUT/up.log" >&2; fail=1; }
echo "summary: duration ${DURATION}s, cycles $cycle, requests $total, errors $errors, replicas $min_r..$max_r, result $([ $fail -eq 0 ] && echo OK || echo FAIL)" | tee "$OUT/summary.txt"
exit "$fail"
