#!/usr/bin/env bash
# Scale-from-zero latency: the latency of the first request through `surge up --min-replicas 0`
# (held by the gateway's activator while a replica starts) against the replica's own cold start
# (`surge serve` spawned → /v2/health/ready answers 200), REPS times each, on this machine.
#   SURGE=build/src/cli/surge REPS=5 SYNC=5s bench/scale_from_zero.sh
# SYNC is the autoscaler's sync period: with the in-process poke the first request does not wait
# for it. Each run starts from a true zero: no backend in the gateway and no replica process
# (statusReplicas 0 at a sync after the gateway emptied). Prints one line per run and the medians.
set -euo pipefail

export SURGE=${SURGE:-build/src/cli/surge}
export REPS=${REPS:-5}
export SYNC=${SYNC:-5s}
exec python3 - <<'EOF'
import json, os, re, shutil, signal, statistics, subprocess, tempfile, time, urllib.request

surge, reps, sync = os.environ["SURGE"], int(os.environ["REPS"]), os.environ["SYNC"]
tmp = tempfile.mkdtemp(prefix="surge-zero-bench.")


def get(url, timeout=60):
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as r:
        body = r.read()
        return r.status, time.monotonic() - t0, body


def port_after(label, line):
    return int(re.search(r":(\d+)", line[line.index(label):]).group(1))


def wait_for(pred, timeout, what, poll=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(poll)
    raise SystemExit(f"timed out waiting for {what}")


up = subprocess.Popen(
    [surge, "up", "--synthetic", "--min-replicas", "0", "--scale-to-zero-after", "2s",
     "--sync-period", sync, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
     "--autoscaler-admin", "127.0.0.1:0", "--state-dir", tmp + "/state", "--log-level", "info"],
    stdout=subprocess.PIPE, stderr=open(tmp + "/up.log", "w"), text=True)
try:
    while True:
        line = up.stdout.readline()
        if not line:
            raise SystemExit("surge up exited; see " + tmp + "/up.log")
        if "surge up ready" in line:
            break
    gw, admin, scaler = (port_after(k, line) for k in ("listening on", "(admin", "autoscaler"))
    status = lambda: json.loads(get(f"http://127.0.0.1:{scaler}/status")[2])
    backends = lambda: json.loads(get(f"http://127.0.0.1:{admin}/backends")[2])["backends"]

    first = []
    for i in range(reps):
        wait_for(lambda: not backends(), 120, "no backend in the gateway")
        syncs = status()["syncs"]
        wait_for(lambda: status()["syncs"] > syncs and status()["statusReplicas"] == 0, 120,
                 "no replica process")
        code, secs, _ = get(f"http://127.0.0.1:{gw}/v2/models/mlp")
        print(f"first request after scale to zero #{i + 1}: HTTP {code}, {secs:.3f} s", flush=True)
        first.append(secs)
finally:
    up.send_signal(signal.SIGTERM)
    up.wait(60)

cold = []
repo = tmp + "/state/models-synthetic"
for i in range(reps):
    t0 = time.monotonic()
    p = subprocess.Popen([surge, "serve", "--model-repository", repo, "--listen", "127.0.0.1:0",
                          "--grpc-listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = port_after("listening on", p.stdout.readline())
    wait_for(lambda: get(f"http://127.0.0.1:{port}/v2/health/ready", 1)[0] == 200, 60, "ready",
             poll=0.002)
    c = time.monotonic() - t0
    p.terminate()
    p.wait()
    print(f"replica cold start (spawn → ready) #{i + 1}: {c:.3f} s", flush=True)
    cold.append(c)

mf, mc = statistics.median(first), statistics.median(cold)
print(f"median first-request latency {mf:.3f} s (min {min(first):.3f}, max {max(first):.3f})")
print(f"median replica cold start    {mc:.3f} s (min {min(cold):.3f}, max {max(cold):.3f})")
print(f"activation overhead (median difference) {mf - mc:.3f} s")
shutil.rmtree(tmp, ignore_errors=True)
EOF
