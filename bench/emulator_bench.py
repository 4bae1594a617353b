"""Emulator throughput: simple GETs per second over loopback, one server process (one core).

    python3 bench/emulator_bench.py [--seconds 5] [--connections 4]

The emulator runs in a subprocess (uvicorn, one event loop, so one core); the bench drives it with
keep-alive ``http.client`` connections from a few threads and prints requests per second for:

* ``bare``: validation and rate limits off (routing, auth, answer);
* ``limits off``: validation on, rate limits off (``--no-rate-limits``);
* ``validation + limits``: validation on, rate limits on with a huge ``--rate-scale`` so nothing
  throttles.

Wall-clock figures depend on what else the machine runs; the bench also prints requests per
CPU-second of the server process (from /proc), which does not. Each mode is measured on a
simulated operation (getMarketplaceParticipations) and on a generated
one (fba_inbound_v1.getItemEligibilityPreview). Target: >= 2,000 GETs/s with limits off, at most
2x slower with validation and limits on.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]

SERVER = """
import os, sys
if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
    os.sched_setaffinity(0, {0})  # the server gets core 0 to itself
from sellerkit.cli.emulator_cmd import serve
from sellerkit.emulator.config import EmulatorConfig
mode = sys.argv[1]
serve(EmulatorConfig(port=0, orders=50, rate_limits=(mode == "limits"),
                     rate_scale=1e9 if mode == "limits" else 1.0,
                     validate=(mode != "bare")))
"""

PATHS = {
    "simulated": "/sellers/v1/marketplaceParticipations",
    "generated": "/fba/inbound/v1/eligibility/itemPreview?asin=B0EMULATOR&program=INBOUND",
}


def start(mode: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(ROOT))
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    raise SystemExit("the emulator did not start")


def token(base_url: str) -> str:
    u = urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    body = ("grant_type=refresh_token&refresh_token=Atzr%7Cemulator-refresh-token"
            "&client_id=amzn1.application-oa2-client.emulator"
            "&client_secret=amzn1.oa2-cs.v1.emulator-secret")
    conn.request("POST", "/auth/o2/token", body,
                 {"content-type": "application/x-www-form-urlencoded"})
    return str(json.loads(conn.getresponse().read())["access_token"])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), or 0 when unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive(base_url: str, path: str, tok: str, seconds: float, connections: int) -> float:
    u = urlsplit(base_url)
    counts = [0] * connections
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(u.hostname, u.port)
        headers = {"x-amz-access-token": tok, "user-agent": "bench/1.0 (Language=Python)"}
        n = 0
        while time.perf_counter() < stop:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(f"HTTP {resp.status}")
                break
            n += 1
        counts[i] = n
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start_t = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start_t
    if errors:
        raise SystemExit(f"unexpected response: {errors[0]}")
    drive.last_count = sum(counts)  # type: ignore[attr-defined]
    return sum(counts) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=4)
    args = ap.parse_args()
    results: dict[tuple[str, str], float] = {}
    cpu_results: dict[tuple[str, str], float] = {}
    cores = os.cpu_count() or 1
    if hasattr(os, "sched_setaffinity") and cores > 1:
        os.sched_setaffinity(0, set(range(1, cores)))  # the clients stay off the server's core
    print(f"server: 1 core; clients: {max(1, cores - 1)} core(s), {args.connections} "
          "keep-alive connections", flush=True)
    for mode, label in (("bare", "bare"), ("nolimits", "limits off"),
                        ("limits", "validation + limits")):
        proc, base_url = start(mode)
        try:
            tok = token(base_url)
            for kind, path in PATHS.items():
                drive(base_url, path, tok, 0.5, args.connections)  # warm-up
                cpu0 = cpu_seconds(proc.pid)
                results[(label, kind)] = drive(base_url, path, tok, args.seconds,
                                               args.connections)
                cpu = cpu_seconds(proc.pid) - cpu0
                per_cpu = drive.last_count / cpu if cpu > 0 else float("nan")  # type: ignore[attr-defined]
                cpu_results[(label, kind)] = per_cpu
                print(f"{label:>20} {kind:>10}: {results[(label, kind)]:8.0f} GETs/s wall, "
                      f"{per_cpu:8.0f} GETs per server CPU-second", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    for kind in PATHS:
        off, on = cpu_results[("limits off", kind)], cpu_results[("validation + limits", kind)]
        print(f"{kind}: per server CPU-second: limits off {off:.0f}, validation + limits "
              f"{on:.0f}, slowdown x{off / on:.2f} (target: >= 2000/s off, <= x2 on)")


if __name__ == "__main__":
    main()
