#!/usr/bin/env python3
"""The simulator against the real stack: a step load on `surge up` and the equivalent `surge sim`
(docs/simulation.md, "Real stack vs simulator").

  bench/sim_fidelity.py [--surge build/src/cli/surge] [--low 40] [--high 160] [--base-us 16000]
                        [--target 30] [--window-s 20] [--low-windows 1] [--high-windows 2]
                        [--runs 3] [--out DIR]

The real side: `surge up --synthetic --synthetic-max-batch 1 --synthetic-latency L` — the demo
model, one instance, one request at a time, --base-us per request (L = base - 0.1 ms per row) —,
the HPA policy below (requests_per_second, --target per replica, 2..8 replicas, sync
every 5 s, scale-up without limits or stabilization) and --per-try-timeout 0 (the simulator has
no per-try timeout or retries). The load is one `surge load --rate R --duration W` per window of
--window-s (the latency of each request measured from its due time, so each process reports its
window): --low-windows at --low req/s then --high-windows at --high. With the defaults the
windows are the three phases — before the step, the step (the overload and its clearing), after
it — 20 s each. The step comes half a sync
period after a sync. A surge process takes 1-3 s to start on a busy machine (the binary loads
libtorch), so each window's process is spawned that much early (calibrated on a first short run)
and its real start is read back (when its JSON arrived - its elapsed_s) — the simulation replays the real
window starts, not the intended ones. Before the windows, a calibration run (--calibrate-s at --low
req/s, not compared) measures the model's latency distribution where nothing queues.

Read back from the run: the sync period and phase (/status lastSyncTime, the instant a sync reads
its metrics), the scale events (/events, stamped with their sync's time), each replica's cold start
(its scale decision -> "added replica-N ... to the gateway" in surge up's JSON log), the mean
service time (the replicas' Triton compute counters per execution).

The simulation: the same policy, sync period and phase; deterministic (evenly spaced) arrivals
with the real window starts; the replicas' cold starts in the order they were added (`cold_start:
[...]`); the service time as a `percentiles` distribution — the calibration's min, p50, p90, p95,
p99 and max (each the median of three short runs at --low), less the gateway's and the client's
share (so that its mean is the counters' service time); least_latency with the gateway's 10 s
slow start from 10 %. One simulation with a row per sync (its `desired` is that sync's decision),
one per window whose row is the part of the window where only its own requests arrived (the
processes start irregularly, so consecutive windows can overlap by a fraction of a second; a real
`surge load` reports only its own requests).

--runs times (default 3), each with a fresh `surge up`. Checks: the same scale events at the same
syncs in every run, and each window's p99 — the median over the runs, real against simulated —
within --tolerance (25 %): a single run's p99 at 40 req/s is its 4th-slowest request, which one
scheduling stall of a loaded machine decides. Exit 0 when both hold, 1 otherwise (2: a run failed).
"""
import argparse
import csv
import datetime
import json
import os
import re
import shutil
from statistics import median
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

POLICY = """hpa:
  metadata: {{name: fidelity}}
  spec:
    minReplicas: 2
    maxReplicas: 8
    metrics:
      - type: Pods
        pods:
          metric: {{name: requests_per_second}}
          target: {{type: AverageValue, averageValue: "{target}"}}
    behavior:
      scaleUp: {{stabilizationWindowSeconds: 0, policies: [{{type: Pods, value: 8, periodSeconds: 5}}]}}
      scaleDown: {{stabilizationWindowSeconds: 300}}
"""
SYNC_S = 5


def ms_of(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000


def now_ms():
    return time.time() * 1000


def get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return json.loads(r.read())


def metric_sum(page, name):
    total = 0.0
    for line in page.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Load:
    """One `surge load` process; start_ms = when its schedule began (output time - elapsed_s)."""

    def __init__(self, surge, out, gw, rate, seconds, name):
        self.spawned = now_ms()
        self.proc = subprocess.Popen(
            [surge, "load", "--url", f"http://127.0.0.1:{gw}", "--input", f"{out}/body.json",
             "--path", "/v2/models/mlp/infer", "--rate", str(rate), "--duration", f"{seconds}s",
             "--timeout", "30s", "--json"],
            stdout=subprocess.PIPE, stderr=open(f"{out}/{name}.log", "w"), text=True)
        self.thread = threading.Thread(target=self._wait)  # notes the end time as it happens
        self.thread.start()

    def _wait(self):
        # surge load flushes its JSON as soon as the run ends (elapsed_s is taken just before),
        # well before the process exits (libtorch's teardown): time the first byte.
        first = self.proc.stdout.read(1)
        self.ended = now_ms()
        self.output = first + self.proc.stdout.read()
        self.proc.wait(timeout=60)

    def finish(self):
        self.thread.join()
        j = json.loads(self.output)
        self.start_ms = self.ended - j["elapsed_s"] * 1000
        self.level = j["levels"][0]
        return self


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--surge", default=os.environ.get("SURGE", "build/src/cli/surge"))
    ap.add_argument("--low", type=int, default=40)
    ap.add_argument("--high", type=int, default=160)
    ap.add_argument("--base-us", type=int, default=16000)
    ap.add_argument("--target", default="30")
    ap.add_argument("--window-s", type=int, default=20)
    ap.add_argument("--low-windows", type=int, default=1)
    ap.add_argument("--high-windows", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.25)
    ap.add_argument("--calibrate-s", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    surge = os.path.abspath(a.surge)
    top = a.out or tempfile.mkdtemp(prefix="surge-sim-fidelity.")
    shutil.rmtree(top, ignore_errors=True)
    results = []
    for i in range(a.runs):
        print(f"---- run {i + 1} of {a.runs}", flush=True)
        r = one_run(a, surge, f"{top}/run{i + 1}")
        if r is None:
            return 2
        results.append(r)
    return verdict(a, results, top)


def verdict(a, results, top):
    """Every run: the same scale events at the same syncs. Each window: the median over the runs
    of the real p99 against the median of the simulated p99 (a single run's p99 at 40 req/s is its
    4th-slowest request, which one scheduling stall of a loaded machine decides)."""
    ok = all(r["events_equal"] for r in results) and all(r["errors"] == 0 for r in results)
    print(f"---- {len(results)} runs: scale events the same at the same syncs in "
          f"{sum(r['events_equal'] for r in results)} of {len(results)}")
    print("window  req/s  real p99 (median)  sim p99 (median)  error   real p99 of the runs")
    for w in range(len(results[0]["windows"])):
        real = [r["windows"][w][0] for r in results]
        sim = [r["windows"][w][1] for r in results]
        err = median(sim) / median(real) - 1
        ok = ok and abs(err) <= a.tolerance
        print(f"{w:4d} {results[0]['rates'][w]:7d} {median(real):14.1f} ms {median(sim):13.1f} ms "
              f"{err * 100:+7.1f}%   " + ", ".join(f"{x:.1f}" for x in real))
    print(f"{'PASS' if ok else 'FAIL'}: the same scale events at the same syncs in every run, each "
          f"window's median p99 within {a.tolerance * 100:.0f}% ({top})")
    return 0 if ok else 1


def one_run(a, surge, out):
    os.makedirs(out)
    policy = POLICY.format(target=a.target)
    with open(f"{out}/policy.yaml", "w") as f:
        f.write(f"sync_period: {SYNC_S}s\n" + policy)
    with open(f"{out}/body.json", "w") as f:
        f.write('{"inputs":[{"name":"INPUT0","shape":[1,512],"datatype":"FP32","data":[%s]}]}'
                % ",".join(["0.5"] * 512))

    up = subprocess.Popen(
        [surge, "up", "--synthetic", "--synthetic-max-batch", "1",
         "--synthetic-latency", f"{a.base_us - 100}us", "--config", f"{out}/policy.yaml",
         "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--autoscaler-admin", "127.0.0.1:0",
         "--state-dir", f"{out}/state", "--run-dir", f"{out}/run", "--log-level", "info",
         "--log-format", "json", "--per-try-timeout", "0"],
        stdout=subprocess.PIPE, stderr=open(f"{out}/up.log", "w"), text=True)
    try:
        r = run(a, surge, out, policy, up)
        return None if r == 2 else r
    finally:
        up.terminate()
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            up.kill()


def run(a, surge, out, policy, up):
    line = ""
    while "surge up ready" not in line:
        line = up.stdout.readline()
        if not line:
            print(f"surge up stopped; see {out}/up.log", file=sys.stderr)
            return 2
    m = re.search(r"listening on [^ ]*:(\d+) \(admin [^ ]*:(\d+), autoscaler [^ ]*:(\d+)\)", line)
    gw, adm, sc = m.groups()

    def sync_state():
        s = get(sc, "/status")
        return s["syncs"], (ms_of(s["lastSyncTime"]) if s["lastSyncTime"] else None)

    # How long a surge load takes to start here (its schedule's origin after the spawn), and the
    # latency where nothing queues (the service time's distribution as the client sees it).
    # Three short runs, each percentile their median: one stall of the machine in one of them
    # does not become the model's tail.
    delays, lat = [], []
    for i in range(3):
        c = Load(surge, out, gw, a.low, a.calibrate_s, f"calibrate{i}").finish()
        delays.append(c.start_ms - c.spawned)
        lat.append(c.level["latency_s"])
    lead = median(delays)
    calibration = {k: median([x[k] for x in lat]) for k in lat[0]}

    n0, t0 = sync_state()
    while t0 is None:
        time.sleep(0.05)
        n0, t0 = sync_state()
    n1, t1 = n0, t0
    while n1 < n0 + 2:
        time.sleep(0.05)
        n1, t1 = sync_state()
    period = (t1 - t0) / (n1 - n0)
    # The step half a period after a sync, far enough ahead to spawn the first window early.
    k = 0
    while t1 + (k + 0.5) * period - a.low_windows * a.window_s * 1000 - lead < now_ms() + 500:
        k += 1
    start = t1 + (k + 0.5) * period - a.low_windows * a.window_s * 1000

    syncs = {}
    polling = True

    def poll():  # each sync's metric as /status showed it (for the report)
        while polling:
            try:
                s = get(sc, "/status")
                if s["syncs"] not in syncs and s["lastSyncTime"]:
                    cm = s.get("currentMetrics") or [{}]
                    syncs[s["syncs"]] = (ms_of(s["lastSyncTime"]), s.get("currentReplicas"),
                                         (cm[0].get("current") or {}).get("averageValue"))
            except Exception:  # noqa: BLE001 - a missed poll only thins the report
                pass
            time.sleep(0.2)

    poller = threading.Thread(target=poll)
    poller.start()
    rates = [a.low] * a.low_windows + [a.high] * a.high_windows
    loads = []
    for w, r in enumerate(rates):
        at = start + w * a.window_s * 1000 - lead
        time.sleep(max(0.0, (at - now_ms()) / 1000))
        loads.append(Load(surge, out, gw, r, a.window_s, f"load{w}"))
    for ld in loads:
        ld.finish()
    polling = False
    poller.join()
    n2, t2 = sync_state()
    period = (t2 - t1) / (n2 - n1)  # each sync waits a period after the last one ended
    origin = loads[0].start_ms  # t = 0 of the simulation
    first_sync = t1 + -(-(origin - t1) // period) * period
    phase = first_sync - origin

    events = [e for e in get(sc, "/events")["events"] if e["reason"] == "SuccessfulRescale"]
    real_events, decided = [], {}
    for e in events:
        t = ms_of(e["time"])
        if t < origin:
            continue
        real_events.append((round((t - first_sync) / period), e["from"], e["to"]))
        for n in range(e["from"] + 1, e["to"] + 1):
            decided[n] = t
    cold = {}
    with open(f"{out}/up.log") as f:
        for line in f:
            try:
                j = json.loads(line)
            except ValueError:
                continue
            mm = re.match(r"added replica-(\d+) .*to the gateway", j.get("message", ""))
            if mm and int(mm.group(1)) in decided:
                cold[int(mm.group(1))] = ms_of(j["time"]) - decided[int(mm.group(1))]
    busy = execs = 0.0
    backends = get(adm, "/backends")
    for b in backends.get("backends", []) if isinstance(backends, dict) else backends:
        with urllib.request.urlopen(f"http://{b['address']}/metrics", timeout=5) as r:
            page = r.read().decode()
        busy += sum(metric_sum(page, f"nv_inference_compute_{p}_duration_us")
                    for p in ("input", "infer", "output"))
        execs += metric_sum(page, "nv_inference_exec_count")
    if not cold or execs == 0:
        print(f"no scale-up ({real_events}, cold starts {cold}) or no replica metrics "
              f"({execs} executions); see {out}/up.log", file=sys.stderr)
        return 2
    cold_ms = sum(cold.values()) / len(cold)
    # In the order the replicas were added (a replica still starting at the end: the mean).
    colds = [cold.get(n, cold_ms) for n in sorted(decided)]
    service_us = busy / execs
    # The calibration's latency less what the gateway and the client add (its mean above the
    # replicas' service time), as the simulated service time's percentiles.
    share_us = max(0.0, calibration["mean"] * 1e6 - service_us)
    pcts = {"p0": calibration["min"], "p50": calibration["p50"], "p90": calibration["p90"],
            "p95": calibration["p95"], "p99": calibration["p99"], "p100": calibration["max"]}
    service = ", ".join(f"{k}: {max(1.0, v * 1e6 - share_us):.0f}us" for k, v in pcts.items())

    # ---- the simulation ---------------------------------------------------------------------
    # t = 0 is PRE before the first window (idle, as the real stack was), so that every window
    # starts at >= W: window k is then row 1 of a run that ends with it (duration start + W)
    # and has start-long rows, i.e. exactly [start, start + W) however irregular the real
    # starts were. Ending the run early changes nothing before it: a request's latency depends
    # only on what arrived before it (FIFO queues), and the random streams are consumed in order.
    pre = a.window_s * 1000
    starts = [ld.start_ms - origin + pre for ld in loads]
    comps = "".join(f"    - step: {{at: {s:.0f}ms, rps: {r}}}\n"
                    f"    - step: {{at: {s + a.window_s * 1000:.0f}ms, rps: -{r}}}\n"
                    for s, r in zip(starts, rates))
    end_ms = starts[-1] + a.window_s * 1000
    pol = "".join("  " + ln + "\n" for ln in policy.splitlines())

    def simulate(name, interval_ms, duration_ms):
        y = (f"name: {name}\nseed: 1\nduration: {duration_ms:.0f}ms\n"
             f"traffic:\n  arrivals: deterministic\n  resolution: 10ms\n  components:\n{comps}"
             f"service: {{distribution: percentiles, {service}}}\n"
             f"replicas: {{count: 2, max: 8, slots: 1, "
             f"cold_start: [{', '.join(f'{c:.0f}ms' for c in colds)}]}}\n"
             "gateway: {algorithm: least_latency, slow_start: 10s, "
             "slow_start_min_weight_percent: 10}\n"
             f"output: {{interval: {interval_ms:.0f}ms}}\n"
             f"autoscaler:\n  sync_period: {period:.0f}ms\n  sync_phase: {(pre + phase) % period or period:.0f}ms\n{pol}")
        with open(f"{out}/{name}.yaml", "w") as f:
            f.write(y)
        subprocess.run([surge, "sim", "--config", f"{out}/{name}.yaml", "--out", f"{out}/{name}",
                        "--progress", "never"], check=True, stdout=subprocess.DEVNULL)
        with open(f"{out}/{name}/{name}.csv") as f:
            return list(csv.DictReader(f))

    # One row per sync (its `desired` is that sync's decision); the rows before the load go.
    sim_events, prev = [], 2
    for i, row in enumerate(simulate("per-sync", period, end_ms)):
        d = int(row["desired"])
        if d != prev:
            sim_events.append((i - int((pre + phase) // period), prev, d))
        prev = d
    # A window's row covers the part of it where only its own requests arrive: the processes
    # start irregularly, so a window can begin before the previous one ended, and the simulated
    # row would otherwise count the other window's requests (a surge load reports only its own).
    ends = [st + a.window_s * 1000 for st in starts]
    spans = [(max([st] + ends[:w][-1:]), min([ends[w]] + starts[w + 1:w + 2]))
             for w, st in enumerate(starts)]
    windows = [simulate(f"window{w}", a_, b_)[1] for w, (a_, b_) in enumerate(spans)]
    starts = [s - pre for s in starts]

    # ---- the report ----------------------------------------------------------------------------
    fmt = lambda ev: ", ".join(f"sync {s}: {f}->{t}" for s, f, t in ev) or "none"  # noqa: E731
    print(f"surge up: {a.base_us / 1000:g} ms synthetic model, one instance; step {a.low} -> "
          f"{a.high} req/s after {a.low_windows * a.window_s} s; HPA requests_per_second target "
          f"{a.target}")
    print(f"measured: sync period {period:.0f} ms, phase {phase:.0f} ms, cold starts "
          f"{', '.join(f'{c:.0f}' for c in colds)} ms (mean {cold_ms:.0f}), service "
          f"{service_us:.0f} us, surge load start-up {lead:.0f} ms")
    print(f"calibration (3 x {a.calibrate_s} s at {a.low} req/s, medians): " + ", ".join(
        f"{k} {v * 1e3:.1f} ms" for k, v in pcts.items()) + f"; gateway + client {share_us:.0f} us"
        f" -> service {{{service}}}")
    print("real syncs (s, replicas, requests_per_second per pod): " + "; ".join(
        f"{(t - origin) / 1000:.1f} {c} {v}" for _, (t, c, v) in sorted(syncs.items())
        if t >= origin))
    print(f"scale events: real {fmt(real_events)}")
    print(f"              sim  {fmt(sim_events)}")
    print("window from  req/s   real p50   real p99    sim p50    sim p99   p99 error  lateness")
    result = {"events_equal": real_events == sim_events, "windows": [], "rates": rates,
              "errors": sum(ld.level["errors"] for ld in loads)}
    for w, (ld, row) in enumerate(zip(loads, windows)):
        lat = ld.level["latency_s"]
        rp50, rp99 = lat["p50"] * 1e3, lat["p99"] * 1e3
        sp50, sp99 = float(row["p50_ms"]), float(row["p99_ms"])
        err = sp99 / rp99 - 1
        result["windows"].append((rp99, sp99))
        print(f"{w:2d} {starts[w] / 1000:7.1f} s {rates[w]:5d} {rp50:8.1f} ms "
              f"{rp99:8.1f} ms {sp50:8.1f} ms {sp99:8.1f} ms {err * 100:+9.1f}%  "
              f"{ld.level['max_send_lateness_s'] * 1e3:5.0f} ms"
              + (f"  errors {ld.level['errors_by_status']}" if ld.level["errors"] else ""))
    return result


if __name__ == "__main__":
    sys.exit(main())
