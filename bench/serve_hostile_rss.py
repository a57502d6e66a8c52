#!/usr/bin/env python3
"""Model server under hostile input: peak and settled RSS of a real `surge serve` while four
clients send 60 MB bodies at once (docs/benchmarks.md, "Model server under hostile input").

  bench/serve_hostile_rss.py [SURGE_BIN] [--mb 60] [--clients 4] [--rounds 3]

Scenarios, each against a fresh server (synthetic model, input x FP32 dims [-1], 2 workers):
  mismatch  shape [1], data = 60 MB of "1,1,1,..." (count mismatch: 400)
  claim     shape [10^12], same data (a shape the body cannot back: 400)
  valid     shape [N] matching the data (a legal 60 MB request: 200; tensors really allocated)
Prints baseline VmRSS, VmHWM (peak) and VmRSS 4 s after the last answer, in MiB.
"""
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

CONFIG = """backend: "synthetic"
input [ { name: "x" data_type: TYPE_FP32 dims: [ -1 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
"""


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def body(mb, shape):
    n = mb * 1024 * 1024 // 2
    data = "1," * (n - 1) + "1"
    s = shape if shape is not None else str(n)
    return ('{"inputs":[{"name":"x","shape":[%s],"datatype":"FP32","data":[%s]}]}' % (s, data)).encode()


def post(port, payload, out, i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v2/models/var/infer", payload, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    out[i] = r.status
    c.close()


def run(surge, scenario, mb, clients, rounds):
    d = tempfile.mkdtemp(prefix="surge-hostile-")
    try:
        os.makedirs(f"{d}/repo/var/1")
        with open(f"{d}/repo/var/config.pbtxt", "w") as f:
            f.write(CONFIG)
        p = subprocess.Popen([surge, "serve", "--model-repository", f"{d}/repo", "--listen",
                              "127.0.0.1:0", "--workers", "2"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline()
        port = int(re.search(r":(\d+)", line.split("listening on")[1]).group(1))
        time.sleep(0.5)
        base = status_kib(p.pid, "VmRSS")
        shape = {"mismatch": "1", "claim": "1000000000000", "valid": None}[scenario]
        payload = body(mb, shape)
        statuses = []
        t0 = time.time()
        for _ in range(rounds):
            out = [0] * clients
            ts = [threading.Thread(target=post, args=(port, payload, out, i)) for i in range(clients)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            statuses += out
        secs = time.time() - t0
        hwm = status_kib(p.pid, "VmHWM")
        time.sleep(4)  # the server trims freed memory once a second for 3 s after a large request
        after = status_kib(p.pid, "VmRSS")
        alive = p.poll() is None
        p.terminate()
        p.wait(10)
        print(f"{scenario:9s} {clients}x{mb} MB x{rounds}: statuses {sorted(set(statuses))}, "
              f"baseline {base/1024:.0f} MiB, peak (VmHWM) {hwm/1024:.0f} MiB, "
              f"after 4 s {after/1024:.0f} MiB, {secs:.1f} s, alive {alive}", flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    args = sys.argv[1:]
    surge = "build/src/cli/surge"
    opts = {"--mb": 60, "--clients": 4, "--rounds": 3}
    i = 0
    while i < len(args):
        if args[i] in opts:
            opts[args[i]] = int(args[i + 1])
            i += 2
        else:
            surge = args[i]
            i += 1
    for s in ("mismatch", "claim", "valid"):
        run(surge, s, opts["--mb"], opts["--clients"], opts["--rounds"])


if __name__ == "__main__":
    main()
