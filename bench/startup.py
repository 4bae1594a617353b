"""Start-up time: sellerkit's imports and ``sellerkit --help`` against the peers, in one run.

    python3 bench/startup.py [--runs N] [--no-peers] [--farm-bench] [--json]
                             [--sellerkit-root DIR]   # measure another checkout (before/after)

Each figure is taken in fresh interpreters (best and median of ``--runs``, default 7):

- the statement alone, timed inside the interpreter (interpreter start-up excluded):
  ``import sellerkit``, ``from sellerkit import SellingPartner``, ``... AsyncSellingPartner``,
  the import plus building a client (what a serverless cold start pays before its first call),
  and each peer's client import in the peers' virtualenv (``bench/.venv-peers``, the one
  ``bench/clients.py`` sets up; created here on the first run);
- ``sellerkit --help`` as a whole process (``from sellerkit.cli.main import main``, as the
  console script does), wall and CPU time, next to a bare ``python -c pass`` measured in turn
  with it, so the part that is sellerkit's own shows apart from interpreter start-up;
- ``python -X importtime``: the modules that cost most in ``from sellerkit import
  SellingPartner`` and in ``sellerkit --help``, by self time (one run; orientation only), and
  whether httpx, asyncio or the generated resources were loaded at all.

sellerkit's modules are byte-compiled first (``compileall``), as ``pip install`` does for the
peers: with ``PYTHONDONTWRITEBYTECODE`` set (as on this project's machines) a source checkout is
otherwise compiled again in every fresh interpreter, which is not what an installed package pays.

Targets (issue 7, section 9): the client import at most 0.5x the fastest peer's, and
``sellerkit --help`` under 200 ms. The machine is shared: read the ratios, measured in the
same run, before the absolute figures. ``--farm-bench`` also times ``sellerkit --help`` with the
host's ``farm-bench`` tool when it is installed (paired against ``python -c pass``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import clients  # noqa: E402
from clients import _clean_env, ensure_venv, venv_python  # noqa: E402

TARGET_IMPORT_RATIO = 0.5
TARGET_HELP_MS = 200.0

SELLERKIT_STATEMENTS = {
    "import sellerkit": "import sellerkit",
    "from sellerkit import SellingPartner": "from sellerkit import SellingPartner",
    "from sellerkit import AsyncSellingPartner": "from sellerkit import AsyncSellingPartner",
    "import + SellingPartner(...)": (
        "from sellerkit import SellingPartner; "
        "SellingPartner(client_id='amzn1.application-oa2-client.x', client_secret='s', "
        "refresh_token='Atzr|r', region='NA', rate_limiter=False)"),
}
PEER_STATEMENTS = {
    "python-amazon-sp-api": "from sp_api.api import Sellers",
    "amzn-sp-api": "import spapi",
    "amzn-selling-partner": "from amzn_selling_partner import SellingPartner",
}
HELP_CODE = ("import sys\nfrom sellerkit.cli.main import main\nsys.argv = ['sellerkit', '--help']\n"
             "main()\n")
# Every interpreter starts outside any checkout: ``python -c`` puts its working directory first
# on sys.path, which would shadow the sellerkit that PYTHONPATH names.
NEUTRAL_CWD = "/"
WATCHED = ("httpx", "asyncio", "h11", "http.client", "rich", "typer",
           "sellerkit.client._generated.resources", "sellerkit.catalog")


def statement_ms(py: str, stmt: str, env: dict[str, str], runs: int) -> list[float] | None:
    """The statement's own time in ``runs`` fresh interpreters, in ms (None: it failed)."""
    code = ("import time; t = time.perf_counter(); " + stmt +
            "; print(time.perf_counter() - t)")
    out: list[float] = []
    for _ in range(runs):
        r = subprocess.run([py, "-c", code], capture_output=True, text=True, env=env,
                           stdin=subprocess.DEVNULL, timeout=120, cwd=NEUTRAL_CWD)
        if r.returncode != 0:
            return None
        out.append(float(r.stdout.strip().splitlines()[-1]) * 1000)
    return out


def process_ms(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) milliseconds of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
                   check=True, cwd=NEUTRAL_CWD)
    wall = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
    return wall, cpu


def importtime(code: str, env: dict[str, str], top: int = 8) -> dict[str, Any]:
    """One ``-X importtime`` run: total, the costliest modules by self time, watched modules."""
    probe = (code + "\nimport sys\n"
             f"print('LOADED', [m for m in {WATCHED!r} if m in sys.modules])\n")
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", probe], capture_output=True,
                       text=True, env=env, stdin=subprocess.DEVNULL, timeout=120,
                       cwd=NEUTRAL_CWD)
    rows: list[tuple[int, int, str]] = []
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), m.group(4)))
    # Interpreter start-up (site and what it pulls in) is the same for every command: skip it.
    start = next((i for i, row in enumerate(rows) if row[2] == "site"), -1) + 1
    mine = rows[start:]
    loaded = next((line[7:] for line in r.stdout.splitlines() if line.startswith("LOADED ")),
                  "?")
    return {"total_ms": round(sum(row[0] for row in mine) / 1000, 1),
            "top_self_ms": [(name, round(us / 1000, 1))
                            for us, _, name in sorted(mine, reverse=True)[:top]],
            "loaded": loaded}


def summary(values: list[float] | None) -> dict[str, float] | None:
    if not values:
        return None
    return {"best": round(min(values), 1), "median": round(statistics.median(values), 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--farm-bench", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--sellerkit-root", type=Path, default=ROOT,
                    help="the checkout whose sellerkit is measured (default: this one)")
    args = ap.parse_args()
    clients.SELLERKIT_ROOT = args.sellerkit_root.resolve()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    env = _clean_env(with_sellerkit=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q",
                    str(clients.SELLERKIT_ROOT / "sellerkit")],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
    results: dict[str, Any] = {"imports": {}, "peers": {}, "help": {}, "importtime": {}}
    peer_py: str | None = None
    if not args.no_peers:
        problem = ensure_venv(log)
        if problem:
            log(f"note: no peers ({problem})")
        else:
            peer_py = str(venv_python())
    # Interleave sellerkit and the peers round by round, so drifting load hits all alike.
    samples: dict[str, list[float]] = {}
    failed: set[str] = set()
    penv = _clean_env(with_sellerkit=False)
    for _ in range(args.runs):
        for name, stmt in SELLERKIT_STATEMENTS.items():
            got = statement_ms(sys.executable, stmt, env, 1)
            if got is None:
                failed.add(name)
            else:
                samples.setdefault(name, []).extend(got)
        if peer_py is not None:
            for peer, stmt in PEER_STATEMENTS.items():
                got = statement_ms(peer_py, stmt, penv, 1)
                if got is None:
                    failed.add(peer)
                else:
                    samples.setdefault(peer, []).extend(got)
    for name in SELLERKIT_STATEMENTS:
        results["imports"][name] = summary(samples.get(name)) if name not in failed else None
    for peer, stmt in PEER_STATEMENTS.items():
        if peer_py is not None:
            results["peers"][f"{stmt}  ({peer})"] = (
                summary(samples.get(peer)) if peer not in failed else None)

    bare: list[tuple[float, float]] = []
    helped: list[tuple[float, float]] = []
    for _ in range(args.runs):
        bare.append(process_ms([sys.executable, "-c", "pass"], env))
        helped.append(process_ms([sys.executable, "-c", HELP_CODE], env))
    results["help"] = {
        "sellerkit --help wall ms": summary([w for w, _ in helped]),
        "sellerkit --help cpu ms": summary([c for _, c in helped]),
        "python -c pass wall ms": summary([w for w, _ in bare]),
        "python -c pass cpu ms": summary([c for _, c in bare]),
        "sellerkit's part (help - pass) wall ms": summary(
            [h[0] - b[0] for h, b in zip(helped, bare, strict=True)]),
    }
    results["importtime"] = {
        "from sellerkit import SellingPartner": importtime(
            "from sellerkit import SellingPartner", env),
        "sellerkit --help": importtime(
            "import contextlib, io\nfrom sellerkit.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), "
            "contextlib.suppress(SystemExit):\n    main(['--help'])", env),
    }

    client = results["imports"].get("from sellerkit import SellingPartner")
    peers = [v["best"] for v in results["peers"].values() if v]
    verdict: dict[str, Any] = {}
    if client and peers:
        ratio = client["best"] / min(peers)
        verdict["client import / fastest peer"] = round(ratio, 2)
        verdict["client import target (<= 0.5x)"] = "met" if ratio <= TARGET_IMPORT_RATIO \
            else "NOT met"
    help_wall = results["help"]["sellerkit --help wall ms"]
    if help_wall:
        verdict["sellerkit --help target (< 200 ms, median wall)"] = (
            "met" if help_wall["median"] < TARGET_HELP_MS else "NOT met")
    results["verdict"] = verdict

    farm = shutil.which("farm-bench") if args.farm_bench else None
    if farm:
        r = subprocess.run([farm, "-n", str(args.runs), "--vs", f"{sys.executable} -c pass",
                            "--", sys.executable, "-c", HELP_CODE], capture_output=True,
                           text=True, env=env, stdin=subprocess.DEVNULL, timeout=600,
                           cwd=NEUTRAL_CWD)
        results["farm-bench sellerkit --help vs python -c pass"] = r.stdout + r.stderr

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"start-up of {clients.SELLERKIT_ROOT}, {args.runs} fresh interpreters each, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print("\nimport (the statement alone, ms)            best   median")
    for name, v in {**results["imports"], **results["peers"]}.items():
        shown = f"{v['best']:7.1f}  {v['median']:7.1f}" if v else "   failed"
        print(f"  {name:<60}"[:62] + shown)
    print("\nwhole process (ms)                            best   median")
    for name, v in results["help"].items():
        shown = f"{v['best']:7.1f}  {v['median']:7.1f}" if v else "   failed"
        print(f"  {name:<44}{shown}")
    for name, info in results["importtime"].items():
        print(f"\n-X importtime, {name}: {info['total_ms']} ms of imports after start-up; "
              f"loaded: {info['loaded']}")
        for module, ms in info["top_self_ms"]:
            print(f"    {ms:7.1f} ms  {module}")
    print("\ntargets")
    for name, v in verdict.items():
        print(f"  {name}: {v}")
    if "farm-bench sellerkit --help vs python -c pass" in results:
        print("\nfarm-bench, sellerkit --help (A) vs python -c pass (B)")
        print(results["farm-bench sellerkit --help vs python -c pass"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
