"""Client throughput: calls per second of sellerkit against its peers, sync and async.

    python3 bench/clients.py [--calls N] [--async-calls N] [--concurrency C] [--op sellers|order|both]
                             [--rounds R] [--only a,b,...] [--json]

One run starts the bench server (``bench/_server.py``, its own process) and measures, each client
in a fresh process of its own, against that same server:

- sync, N sequential calls: bare ``http.client`` keep-alive (the floor), raw ``httpx.Client``,
  sellerkit ``SellingPartner``, python-amazon-sp-api, amzn-sp-api, amzn-selling-partner;
- async, N calls with C in flight: raw ``httpx.AsyncClient``, sellerkit ``AsyncSellingPartner``
  and each peer's async API (amzn-sp-api has none: its thread-pool ``async_req`` stands in);
- transport candidates (urllib3, httpcore, tuned httpx, aiohttp, an asyncio-streams floor), and
  the same sellerkit client with its API calls sent by prototype transports
  (``bench/clients_proto.py``), so the transport can be chosen by measurement;
- ``import sellerkit`` and ``from sellerkit import SellingPartner`` in a fresh interpreter
  (best of 5), and the peers' imports for comparison.

sellerkit runs with ``rate_limiter=False``: this bench measures the client pipeline (validation,
serialization, auth, transport, response handling); the rate limiter is measured by
``bench/quota.py``. The peers run with their throttling off where they have one.

The peers live in their own virtualenv, ``bench/.venv-peers`` (created on the first run with
``python3 -m venv`` and pip), so they never touch the project's environment. The server runs on
that virtualenv's Python too, for its uvloop; without it the server falls back to asyncio.

Figures: the best repetition over all rounds (the least disturbed by other load on the machine)
and the client's CPU time per call (less sensitive to that load).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _server import start_server  # noqa: E402

VENV = BENCH / ".venv-peers"
PEERS = {
    "python-amazon-sp-api": "2.1.35",
    "amzn-sp-api": "1.13.0",
    "amzn-selling-partner": "1.6.0",
}
# Not peers: the server's event loop and an async transport candidate.
EXTRAS = ["uvloop", "aiohttp"]

# name -> (group, where it runs: "project" = the project's Python with sellerkit on its path;
# "venv" = the peers' virtualenv; "project+venv" = the project's Python with the venv's
# site-packages appended, for aiohttp under sellerkit without installing it in the project)
CLIENTS: dict[str, tuple[str, str]] = {
    "httpclient": ("floor", "project"),
    "asyncio-raw": ("floor", "project"),
    "httpx": ("baseline", "project"),
    "sellerkit": ("sellerkit", "project"),
    "python-amazon-sp-api": ("peer", "venv"),
    "amzn-sp-api": ("peer", "venv"),
    "amzn-selling-partner": ("peer", "venv"),
    "urllib3": ("transport", "project"),
    "httpcore": ("transport", "project"),
    "httpx-tuned": ("transport", "project"),
    "aiohttp": ("transport", "venv"),
    "sellerkit-proto": ("prototype", "project"),
    "sellerkit-aiohttp": ("prototype", "project+venv"),
}
SYNC_CLIENTS = ["httpclient", "httpx", "sellerkit", "python-amazon-sp-api", "amzn-sp-api",
                "amzn-selling-partner", "urllib3", "httpcore", "httpx-tuned", "sellerkit-proto"]
ASYNC_CLIENTS = ["asyncio-raw", "httpx", "sellerkit", "python-amazon-sp-api", "amzn-sp-api",
                 "amzn-selling-partner", "httpcore", "aiohttp", "sellerkit-proto",
                 "sellerkit-aiohttp"]
GROUP_ALIASES = {"peers": [k for k, v in CLIENTS.items() if v[0] == "peer"],
                 "transports": [k for k, v in CLIENTS.items() if v[0] == "transport"],
                 "prototypes": [k for k, v in CLIENTS.items() if v[0] == "prototype"],
                 "floor": ["httpclient", "asyncio-raw"]}

TARGET_SYNC = 1.5
TARGET_ASYNC = 2.0
TARGET_IMPORT_MS = 150.0


SELLERKIT_ROOT = ROOT  # --sellerkit-root: measure another checkout (e.g. a patched copy)


def _clean_env(with_sellerkit: bool) -> dict[str, str]:
    """The machine's environment minus anything that configures an SP-API client."""
    prefixes = ("SELLERKIT_", "LWA_", "SP_API_", "AMZN_SELLING_PARTNER_", "SELLING_PARTNER_",
                "AWS_ENV", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    if with_sellerkit:
        env["PYTHONPATH"] = str(SELLERKIT_ROOT)
    return env


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(log: Any) -> str | None:
    """Create or complete the peers' virtualenv. Returns why it is unusable, or None."""
    py = venv_python()
    stamp = VENV / ".bench-requirements"
    wanted = "\n".join([f"{k}=={v}" for k, v in PEERS.items()] + EXTRAS)
    if py.exists() and stamp.exists() and stamp.read_text() == wanted:
        return None
    try:
        if not py.exists():
            log(f"creating {VENV.relative_to(ROOT)} (first run) ...")
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True,
                           stdin=subprocess.DEVNULL, timeout=300)
        pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        log("installing " + ", ".join(f"{k}=={v}" for k, v in PEERS.items()) + " ...")
        subprocess.run(pip + [f"{k}=={v}" for k, v in PEERS.items()], check=True,
                       stdin=subprocess.DEVNULL, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        return f"could not set up {VENV}: {exc}"
    for extra in EXTRAS:  # optional: the run goes on without them
        r = subprocess.run(pip + [extra], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=600)
        if r.returncode != 0:
            log(f"note: could not install {extra} into the peers' venv")
    stamp.write_text(wanted)
    return None


def _has_module(py: Path, module: str) -> bool:
    r = subprocess.run([str(py), "-c", f"import {module}"], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    return r.returncode == 0


def run_worker(client: str, mode: str, url: str, args: argparse.Namespace, op: str
               ) -> dict[str, Any]:
    where = CLIENTS[client][1]
    in_venv = where == "venv"
    py = str(venv_python()) if in_venv else sys.executable
    calls = args.calls if mode == "sync" else args.async_calls
    cmd = [py, str(BENCH / "clients_workers.py"), "--client", client, "--mode", mode,
           "--url", url, "--op", op, "--calls", str(calls), "--concurrency",
           str(args.concurrency), "--repeats", str(args.repeats)]
    if where == "project+venv":
        site = next(iter((VENV / "lib").glob("python*/site-packages")), None)
        if site is not None:
            cmd += ["--extra-path", str(site)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           env=_clean_env(with_sellerkit=not in_venv), timeout=600)
    except subprocess.TimeoutExpired:
        return {"client": client, "mode": mode, "rates": [], "cpu_us": [], "note": "",
                "error": "timed out after 600 s"}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
    return {"client": client, "mode": mode, "rates": [], "cpu_us": [], "note": "",
            "error": f"worker failed (exit {r.returncode}): {tail}"}


def import_time(py: str, stmt: str, env: dict[str, str], runs: int = 5) -> float | None:
    """Best of ``runs`` fresh interpreters, in ms, of ``stmt`` alone (not interpreter start)."""
    code = ("import time; t = time.perf_counter(); " + stmt +
            "; print(time.perf_counter() - t)")
    best = None
    for _ in range(runs):
        r = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env,
                           stdin=subprocess.DEVNULL, timeout=120)
        if r.returncode != 0:
            return None
        ms = float(r.stdout.strip().splitlines()[-1]) * 1000
        best = ms if best is None else min(best, ms)
    return best


def _selected(only: str | None) -> set[str]:
    if not only:
        return set(CLIENTS)
    chosen: set[str] = set()
    for name in only.split(","):
        name = name.strip()
        if name in GROUP_ALIASES:
            chosen.update(GROUP_ALIASES[name])
        elif name in CLIENTS:
            chosen.add(name)
        elif name:
            raise SystemExit(f"unknown client {name!r}; known: {', '.join(CLIENTS)}, "
                             f"or a group: {', '.join(GROUP_ALIASES)}")
    return chosen


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge the rounds: best and median calls/s, lowest CPU per call, per (op, mode, client)."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in results:
        key = (r["op"], r["mode"], r["client"])
        m = merged.setdefault(key, {"op": r["op"], "mode": r["mode"], "client": r["client"],
                                    "group": CLIENTS[r["client"]][0], "rates": [],
                                    "cpu_us": [], "note": r.get("note", ""), "error": None})
        m["rates"] += r["rates"]
        m["cpu_us"] += r["cpu_us"]
        m["note"] = m["note"] or r.get("note", "")
        if r.get("error") and not r["rates"]:
            m["error"] = r["error"]
    rows = []
    for m in merged.values():
        if m["rates"]:
            m["best"] = max(m["rates"])
            m["median"] = statistics.median(m["rates"])
            m["cpu_us_min"] = min(m["cpu_us"])
        rows.append(m)
    verdicts = []
    for op in sorted({r["op"] for r in rows}):
        for mode, target in (("sync", TARGET_SYNC), ("async", TARGET_ASYNC)):
            here = [r for r in rows if r["op"] == op and r["mode"] == mode and "best" in r]
            sk = next((r for r in here if r["client"] == "sellerkit"), None)
            peers = [r for r in here if r["group"] == "peer"]
            if sk is None or not peers:
                continue
            fastest = max(peers, key=lambda r: r["best"])
            for r in here:
                r["vs_fastest_peer"] = r["best"] / fastest["best"]
            ratio = sk["best"] / fastest["best"]
            verdicts.append({"op": op, "mode": mode, "sellerkit": sk["best"],
                             "fastest_peer": fastest["client"], "peer": fastest["best"],
                             "ratio": ratio, "target": target, "met": ratio >= target})
    return {"rows": rows, "verdicts": verdicts}


def print_table(summary: dict[str, Any], imports: dict[str, float | None],
                meta: dict[str, Any]) -> None:
    print(f"\nserver: {meta['server']}; sync {meta['calls']} calls x {meta['repeats']} "
          f"repetitions, async {meta['async_calls']} calls with {meta['concurrency']} in flight "
          f"x {meta['repeats']}; {meta['rounds']} round(s), figures = best repetition")
    if meta["sellerkit_root"] != str(ROOT):
        print(f"sellerkit measured from {meta['sellerkit_root']} (not this repo)")
    print("sellerkit runs with rate_limiter=False: this measures the client pipeline; the rate "
          "limiter is measured by bench/quota.py.\n")
    for op in sorted({r["op"] for r in summary["rows"]}):
        for mode in ("sync", "async"):
            rows = [r for r in summary["rows"] if r["op"] == op and r["mode"] == mode]
            if not rows:
                continue
            rows.sort(key=lambda r: -r.get("best", -1))
            print(f"== {mode}, {op} ({'GET ' + meta['paths'][op]})")
            print(f"  {'client':<22} {'group':<10} {'calls/s':>9} {'median':>9} "
                  f"{'CPU us/call':>11} {'vs peer':>8}")
            for r in rows:
                if "best" not in r:
                    print(f"  {r['client']:<22} {r['group']:<10} {'-':>9} {'-':>9} {'-':>11} "
                          f"{'':>8}  could not run: {r['error']}")
                    continue
                vs = f"{r['vs_fastest_peer']:.2f}x" if "vs_fastest_peer" in r else ""
                print(f"  {r['client']:<22} {r['group']:<10} {r['best']:>9.0f} "
                      f"{r['median']:>9.0f} {r['cpu_us_min']:>11.0f} {vs:>8}")
            notes = [(r["client"], r["note"]) for r in rows if r.get("note")]
            for client, note in notes:
                print(f"    {client}: {note}")
            print()
    if imports:
        print("== import time (fresh interpreter, best of 5)")
        for stmt, ms in imports.items():
            shown = f"{ms:.1f} ms" if ms is not None else "failed"
            print(f"  {stmt:<58} {shown:>10}")
        print()
    print("== targets")
    for v in summary["verdicts"]:
        print(f"  {v['mode']:<5} {v['op']:<8} sellerkit {v['sellerkit']:.0f}/s vs fastest peer "
              f"{v['fastest_peer']} {v['peer']:.0f}/s = {v['ratio']:.2f}x (target "
              f">= {v['target']}x): {'met' if v['met'] else 'MISSED'}")
    ms = imports.get("import sellerkit")
    if ms is not None:
        print(f"  import sellerkit {ms:.1f} ms (target < {TARGET_IMPORT_MS:.0f} ms): "
              f"{'met' if ms < TARGET_IMPORT_MS else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=2000, help="sync calls per repetition")
    ap.add_argument("--async-calls", type=int, default=1000, help="async calls per repetition")
    ap.add_argument("--concurrency", type=int, default=100, help="async calls in flight")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions per worker")
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds over all clients, interleaved so load hits them alike")
    ap.add_argument("--op", choices=["sellers", "order", "both"], default="sellers")
    ap.add_argument("--only", help="comma-separated clients or groups (peers, transports, floor)")
    ap.add_argument("--mode", choices=["sync", "async", "both"], default="both")
    ap.add_argument("--no-imports", action="store_true", help="skip the import-time figures")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead")
    ap.add_argument("--sellerkit-root", type=Path, default=ROOT,
                    help="the checkout whose sellerkit is measured (default: this repo)")
    args = ap.parse_args(argv)
    global SELLERKIT_ROOT
    SELLERKIT_ROOT = args.sellerkit_root.resolve()
    if not (SELLERKIT_ROOT / "sellerkit" / "__init__.py").exists():
        raise SystemExit(f"no sellerkit package under {SELLERKIT_ROOT}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    chosen = _selected(args.only)
    needs_venv = any(CLIENTS[c][1] != "project" for c in chosen)
    venv_error = ensure_venv(log) if needs_venv else None
    venv_ok = needs_venv and venv_error is None
    if not venv_ok and venv_python().exists():
        venv_ok = True  # an existing venv still serves the server's uvloop
    server_py = str(venv_python()) if venv_ok and _has_module(venv_python(), "uvloop") \
        else None
    meta: dict[str, Any] = {
        "server": "uvloop (peers' venv Python)" if server_py else "asyncio (no uvloop: a "
                  "lower ceiling; see the floor rows)",
        "calls": args.calls, "async_calls": args.async_calls, "concurrency": args.concurrency,
        "repeats": args.repeats, "rounds": args.rounds, "python": sys.version.split()[0],
        "sellerkit_root": str(SELLERKIT_ROOT),
        "paths": {"sellers": "/sellers/v1/marketplaceParticipations",
                  "order": "/orders/v0/orders/{orderId}"},
    }
    ops = ["sellers", "order"] if args.op == "both" else [args.op]
    modes = ["sync", "async"] if args.mode == "both" else [args.mode]
    plan = [(op, mode, c) for op in ops for mode in modes
            for c in (SYNC_CLIENTS if mode == "sync" else ASYNC_CLIENTS) if c in chosen]
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    budget = 60.0 + 30.0 * len(plan) * args.rounds
    with start_server(max_seconds=budget, python=server_py) as url:
        for rnd in range(args.rounds):
            for op, mode, client in plan:
                res: dict[str, Any]
                if CLIENTS[client][1] != "project" and venv_error:
                    res = {"client": client, "mode": mode, "rates": [], "cpu_us": [],
                           "note": "", "error": venv_error}
                else:
                    log(f"[round {rnd + 1}/{args.rounds}] {mode:<5} {op:<7} {client} ...")
                    res = run_worker(client, mode, url, args, op)
                res["op"] = op
                results.append(res)
    imports: dict[str, float | None] = {}
    if not args.no_imports and "sellerkit" in chosen:
        env = _clean_env(with_sellerkit=True)
        imports["import sellerkit"] = import_time(sys.executable, "import sellerkit", env)
        imports["from sellerkit import SellingPartner"] = import_time(
            sys.executable, "from sellerkit import SellingPartner", env)
        if venv_ok:
            penv = _clean_env(with_sellerkit=False)
            py = str(venv_python())
            for stmt, client in (("from sp_api.api import Sellers", "python-amazon-sp-api"),
                                 ("import spapi", "amzn-sp-api"),
                                 ("from amzn_selling_partner import SellingPartner",
                                  "amzn-selling-partner")):
                if client in chosen:
                    imports[f"{stmt}  ({client})"] = import_time(py, stmt, penv)
    summary = summarize(results)
    meta["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps({"meta": meta, "imports": imports, **summary}, indent=2))
    else:
        print_table(summary, imports, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
