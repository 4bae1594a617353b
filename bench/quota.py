"""How much of the quota do clients get, and how many 429s do they draw?

    python3 bench/quota.py                      # all configurations, ~4-5 minutes
    python3 bench/quota.py --configs 1t,8t --phase-seconds 5
    python3 bench/quota.py --json               # figures as JSON on stdout
    python3 bench/quota.py --configs 200a --phases 2 --repeat 10   # the "dip" check

The emulator runs in its own process with rate limits on and ``--rate-scale`` (default 60: one
emulated second holds a minute of Amazon's quota). It logs every throttling decision it makes,
so completed requests and 429s are counted where Amazon would count them, not by the clients.

Every configuration runs four phases of ``--phase-seconds`` (default 10) each, on fresh buckets
(new emulator limiter, new client limiter or Redis prefix):

    getOrders       1 seller     0.0167/s burst 20   (x scale)
    getOrder        1 seller     0.5/s    burst 30   (x scale)
    getCatalogItem  1 seller     2/s      burst 2    (x scale)
    getCatalogItem  50 sellers   2/s each, and an application-wide limit of 100/s burst 100
                                 (set on both sides; Amazon's is 250/s x scale, which 50 sellers
                                 never reach, so the bench lowers it to make the layer bind)

Clients: ``1t`` one thread; ``8t`` eight threads; ``200a`` 200 asyncio tasks; ``4p`` four
processes sharing a RedisRateLimiter; ``8t-noapp`` (not run by default) a control with the
client's application layer turned off; ``spapi-1t``/``spapi-8t`` python-amazon-sp-api 2.1.35 on
the same workload, installed in a private venv (``--spapi-python``, or created under
``$TMPDIR/sellerkit-bench-spapi``), retrying 429s with its own ``throttle_retry`` (delay scaled
by 1/scale like the quotas).

"Allowed" is what the emulator's buckets allow in the phase window: per seller
``burst + rate * seconds``, capped by the application bucket where there is one. Completed
requests are the ones the emulator let through inside the window.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing; spawned workers too
    sys.path.insert(0, str(ROOT))

US = "ATVPDKIKX0DER"
GET_ORDERS = "orders_v0.getOrders"
GET_ORDER = "orders_v0.getOrder"
CATALOG = "catalog_items_2022_04_01.getCatalogItem"
WARMUP = "sellers_v1.getMarketplaceParticipations"
PLANS = {GET_ORDERS: (0.0167, 20), GET_ORDER: (0.5, 30), CATALOG: (2.0, 2)}
APP_RATE_SCALED = 100.0  # the application-wide limit of the 50-seller phase, after scaling
SELLERS = 50


@dataclass
class Phase:
    name: str
    op: str
    sellers: int
    app_limit: bool = False


PHASES = [
    Phase("getOrders", GET_ORDERS, 1),
    Phase("getOrder", GET_ORDER, 1),
    Phase("getCatalogItem", CATALOG, 1),
    Phase("getCatalogItem x50 sellers (app layer)", CATALOG, SELLERS, app_limit=True),
]


@dataclass
class Outcome:
    config: str
    phase: str
    sellers: int
    completed: int
    allowed: float
    throttled: int
    client_errors: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def percent(self) -> float:
        return 100.0 * self.completed / self.allowed if self.allowed else 0.0


def allowed(phase: Phase, scale: float, seconds: float) -> float:
    rate, burst = PLANS[phase.op]
    total = phase.sellers * (burst + rate * scale * seconds)
    if phase.app_limit:
        total = min(total, APP_RATE_SCALED + APP_RATE_SCALED * seconds)
    return total


def refresh_token(base: str, i: int) -> str:
    return base if i == 0 else f"{base}-{i}"


# -- the emulator process -------------------------------------------------------------------

def emulator_main(conn: Any, scale: float, sellers: int) -> None:
    from sellerkit.emulator.config import EmulatorConfig
    from sellerkit.emulator.ratelimit import RateLimiter as EmulatorLimiter
    from sellerkit.emulator.server import EmulatorServer

    cfg = EmulatorConfig(rate_scale=scale, sellers=sellers, orders=20)
    server = EmulatorServer(cfg).start()
    emu = server.emulator
    log: list[tuple[float, str, bool]] = []

    def install(app_limits: dict[str, float] | None) -> None:
        lim = EmulatorLimiter(scale=scale, clock=emu.clock, app_limits=app_limits)
        inner = lim.acquire

        def acquire(op: Any, application_id: str, seller_id: str) -> bool:
            ok = inner(op, application_id, seller_id)
            log.append((time.time(), op.key, ok))
            return ok

        lim.acquire = acquire  # type: ignore[method-assign]
        emu.limiter = lim

    install(None)
    orders: list[list[str]] = []
    asins: list[str] = []
    try:  # real ids from the simulation, so calls answer 200 (reaching in: a bench's licence)
        asins = list(emu.simulation.catalog_asins())[:200]
        state = emu.simulation._state
        for sid in emu.seller_ids:
            orders.append(sorted(o for o, (s, rec) in state.order_index.items()
                                 if s == sid and rec.get("created", 0) <= time.time())[:50])
    except (AttributeError, KeyError, TypeError):
        orders = [[f"902-{i:07d}-0000000" for i in range(50)] for _ in emu.seller_ids]
    asins = asins or [f"B{i:09d}" for i in range(200)]
    conn.send({"url": server.base_url, "client_id": cfg.client_id,
               "client_secret": cfg.client_secret, "refresh_token": cfg.refresh_token,
               "orders": orders, "asins": asins})
    while True:
        msg = conn.recv()
        if msg[0] == "reset":
            log.clear()
            install(msg[1])
            conn.send("ok")
        elif msg[0] == "stats":
            _, op, t0, t1 = msg
            snap = list(log)
            conn.send({
                "completed": sum(1 for t, k, ok in snap if ok and k == op and t0 <= t <= t1),
                "late": sum(1 for t, k, ok in snap if ok and k == op and t > t1),
                "throttled": sum(1 for t, _, ok in snap if not ok and t >= t0),
            })
        else:
            break
    server.stop()


class Emulator:
    def __init__(self, scale: float, sellers: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=emulator_main, args=(child, scale, sellers), daemon=True)
        self.proc.start()
        self.info: dict[str, Any] = self.conn.recv()
        self.scale = scale

    def reset(self, phase: Phase) -> None:
        app = {CATALOG: APP_RATE_SCALED / self.scale} if phase.app_limit else None
        self.conn.send(("reset", app))
        self.conn.recv()

    def stats(self, op: str, t0: float, t1: float) -> dict[str, int]:
        self.conn.send(("stats", op, t0, t1))
        return self.conn.recv()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.conn.send(("stop",))
        self.proc.join(timeout=10)


# -- sellerkit clients ----------------------------------------------------------------------

def limiter_kwargs(phase: Phase, scale: float) -> dict[str, Any]:
    kw: dict[str, Any] = {"rate_scale": scale}
    if phase.app_limit:
        kw["app_limits"] = {CATALOG: (APP_RATE_SCALED / scale, int(APP_RATE_SCALED))}
    return kw


def call_args(op: str, info: dict[str, Any], seller: int, k: int) -> dict[str, Any]:
    if op == GET_ORDERS:
        return {"MarketplaceIds": [US], "CreatedAfter": "2020-01-01T00:00:00Z"}
    if op == GET_ORDER:
        ids = info["orders"][seller] or ["902-0000000-0000000"]
        return {"orderId": ids[k % len(ids)]}
    return {"asin": info["asins"][k % len(info["asins"])], "marketplaceIds": [US]}


def sync_clients(info: dict[str, Any], sellers: range, limiter: Any) -> list[Any]:
    from sellerkit import SellingPartner

    return [SellingPartner(client_id=info["client_id"], client_secret=info["client_secret"],
                           refresh_token=refresh_token(info["refresh_token"], i),
                           endpoint=info["url"], lwa_endpoint=info["url"] + "/auth/o2/token",
                           rate_limiter=limiter) for i in sellers]


def sync_worker(clients: list[Any], sellers: list[int], phase: Phase, info: dict[str, Any],
                deadline: float, offset: int, errors: list[str]) -> None:
    from sellerkit import CallOptions
    from sellerkit.errors import RateLimitWaitError, SellerkitError

    k = offset
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return
        i = k % len(clients)
        k += 1
        try:
            clients[i].call(phase.op, options=CallOptions(max_wait=remaining),
                            **call_args(phase.op, info, sellers[i], k))
        except RateLimitWaitError:
            if len(clients) == 1:
                return  # the next token is past the end of the phase
            time.sleep(0.005)
        except SellerkitError as exc:
            errors.append(type(exc).__name__)


def soon() -> float:
    return time.time() + 0.3


def run_threads(info: dict[str, Any], phase: Phase, scale: float, threads: int,
                seconds: float, start: Callable[[], float] = soon, limiter: Any = None
                ) -> tuple[list[str], float]:
    from sellerkit.ratelimit import RateLimiter

    lim = limiter if limiter is not None else RateLimiter(**limiter_kwargs(phase, scale))
    sellers = list(range(phase.sellers))
    clients = sync_clients(info, range(phase.sellers), lim)
    for sp in clients:
        sp.call(WARMUP)  # LWA token and connection before the clock starts
    errors: list[str] = []
    t0 = start()
    time.sleep(max(0.0, t0 - time.time()))
    workers = [threading.Thread(target=sync_worker, args=(
        clients, sellers, phase, info, t0 + seconds, n * 7, errors)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for sp in clients:
        sp.close()
    return errors, t0


async def run_tasks(info: dict[str, Any], phase: Phase, scale: float, tasks: int,
                    seconds: float) -> tuple[list[str], float]:
    import asyncio

    from sellerkit import AsyncSellingPartner, CallOptions
    from sellerkit.errors import RateLimitWaitError, SellerkitError
    from sellerkit.ratelimit import RateLimiter

    lim = RateLimiter(**limiter_kwargs(phase, scale))
    clients = [AsyncSellingPartner(
        client_id=info["client_id"], client_secret=info["client_secret"],
        refresh_token=refresh_token(info["refresh_token"], i), endpoint=info["url"],
        lwa_endpoint=info["url"] + "/auth/o2/token", rate_limiter=lim)
        for i in range(phase.sellers)]
    await asyncio.gather(*(sp.call(WARMUP) for sp in clients))
    errors: list[str] = []
    t0 = soon()
    deadline = t0 + seconds

    async def worker(offset: int) -> None:
        k = offset
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                return
            i = k % len(clients)
            k += 1
            try:
                await clients[i].call(phase.op, options=CallOptions(max_wait=remaining),
                                      **call_args(phase.op, info, i, k))
            except RateLimitWaitError:
                if len(clients) == 1:
                    return
                await asyncio.sleep(0.005)
            except SellerkitError as exc:
                errors.append(type(exc).__name__)

    await asyncio.sleep(max(0.0, t0 - time.time()))
    await asyncio.gather(*(worker(n) for n in range(tasks)))
    for sp in clients:
        await sp.aclose()
    return errors, t0


def process_main(info: dict[str, Any], phase_d: dict[str, Any], scale: float, seconds: float,
                 redis_url: str, prefix: str, index: int, out: Any, go: Any, when: Any
                 ) -> None:
    from sellerkit.ratelimit import RedisRateLimiter

    phase = Phase(**phase_d)
    lim = RedisRateLimiter(redis_url, prefix=prefix, **limiter_kwargs(phase, scale))

    def start() -> float:
        out.put("ready")
        go.wait()
        return float(when.value)

    errors, _ = run_threads(info, phase, scale, 1, seconds, start=start, limiter=lim)
    if index == 0:
        lim.save_snapshot(Path(tempfile.gettempdir()) / "sellerkit-bench-limits.json")
    lim.close()
    out.put(errors)


def run_processes(info: dict[str, Any], phase: Phase, scale: float, procs: int,
                  seconds: float, redis_url: str, prefix: str) -> tuple[list[str], float]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    go = ctx.Event()
    when = ctx.Value("d", 0.0)
    ps = [ctx.Process(target=process_main, args=(info, asdict(phase), scale, seconds,
                                                 redis_url, prefix, n, out, go, when))
          for n in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        assert out.get(timeout=120) == "ready"
    t0 = soon()
    when.value = t0
    go.set()
    errors: list[str] = []
    for _ in ps:
        errors += out.get(timeout=seconds + 120)
    for p in ps:
        p.join(timeout=30)
    return errors, t0


# -- python-amazon-sp-api ---------------------------------------------------------------------

def spapi_worker(spec: dict[str, Any]) -> None:
    """Runs under the venv that has python-amazon-sp-api; imports no sellerkit."""
    from sp_api.api import CatalogItems, Orders
    from sp_api.api.catalog_items.catalog_items import CatalogItemsVersion
    from sp_api.auth import AccessTokenClient
    from sp_api.base import Marketplaces, SellingApiException
    from sp_api.util import throttle_retry

    info, op, sellers = spec["info"], spec["op"], spec["sellers"]
    host = info["url"].split("://", 1)[1]

    class LocalLwa(AccessTokenClient):
        scheme = "http://"

    LocalLwa.host = host
    creds = {"lwa_app_id": info["client_id"], "lwa_client_secret": info["client_secret"]}

    def make(i: int) -> Any:
        kw = {"refresh_token": refresh_token(info["refresh_token"], i), "credentials": creds,
              "auth_token_client_class": LocalLwa}
        if op == CATALOG:
            c = CatalogItems(Marketplaces.US, version=CatalogItemsVersion.V_2022_04_01, **kw)
        else:
            c = Orders(Marketplaces.US, version="v0", **kw)
        c.endpoint = info["url"]  # the library has no endpoint option; its attribute works
        return c

    clients = [make(i) for i in range(sellers)]
    retry = throttle_retry(tries=10, delay=5 / spec["scale"], rate=1.3)

    def one(c: Any, i: int, k: int) -> None:
        if op == GET_ORDERS:
            c.get_orders(CreatedAfter="2020-01-01T00:00:00Z", MarketplaceIds=[US])
        elif op == GET_ORDER:
            ids = info["orders"][i] or ["902-0000000-0000000"]
            c.get_order(ids[k % len(ids)])
        else:
            c.get_catalog_item(info["asins"][k % len(info["asins"])], marketplaceIds=[US])

    call = retry(one)
    for c in clients:
        c.auth  # noqa: B018 - fetch the LWA token before the clock starts
    errors: list[str] = []
    print("ready", flush=True)
    t0 = float(sys.stdin.readline())
    deadline = t0 + spec["seconds"]

    def worker(offset: int) -> None:
        k = offset
        while time.time() < deadline:
            i = k % len(clients)
            k += 1
            try:
                call(clients[i], i, k)
            except SellingApiException as exc:
                errors.append(type(exc).__name__)

    time.sleep(max(0.0, t0 - time.time()))
    ts = [threading.Thread(target=worker, args=(n * 7,)) for n in range(spec["threads"])]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(errors))


def spapi_python(arg: str | None) -> str:
    if arg:
        return arg
    venv = Path(tempfile.gettempdir()) / "sellerkit-bench-spapi"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        subprocess.check_call([str(py), "-m", "pip", "install", "-q",
                               "python-amazon-sp-api==2.1.35"])
    return str(py)


def run_spapi(py: str, info: dict[str, Any], phase: Phase, scale: float, threads: int,
              seconds: float) -> tuple[list[str], float]:
    spec = {"info": info, "op": phase.op, "sellers": phase.sellers, "scale": scale,
            "threads": threads, "seconds": seconds}
    proc = subprocess.Popen([py, __file__, "--spapi-worker", json.dumps(spec)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError(f"python-amazon-sp-api worker failed:\n{proc.stderr.read()[-2000:]}"
                           if proc.stderr else "python-amazon-sp-api worker failed")
    t0 = soon()
    proc.stdin.write(f"{t0!r}\n")
    proc.stdin.flush()
    stdout, stderr = proc.communicate(timeout=seconds + 300)
    if proc.returncode != 0:
        raise RuntimeError(f"python-amazon-sp-api worker failed:\n{stderr[-2000:]}")
    return list(json.loads(stdout.strip().splitlines()[-1])), t0


# -- driver -----------------------------------------------------------------------------------

CONFIGS = {
    "1t": "1 thread",
    "8t": "8 threads",
    "200a": "200 asyncio tasks",
    "4p": "4 processes + Redis",
    "spapi-1t": "python-amazon-sp-api, 1 thread",
    "spapi-8t": "python-amazon-sp-api, 8 threads",
    "8t-noapp": "8 threads, no client app layer",
}


def run_phase(cfg: str, phase: Phase, emu: Emulator, args: argparse.Namespace, n: int
              ) -> Outcome:
    import asyncio

    info, scale, seconds = emu.info, args.rate_scale, args.phase_seconds
    emu.reset(phase)
    if cfg == "1t":
        errors, t0 = run_threads(info, phase, scale, 1, seconds)
    elif cfg == "8t":
        errors, t0 = run_threads(info, phase, scale, 8, seconds)
    elif cfg == "8t-noapp":  # control: the client does not know the application-wide limit
        from sellerkit.ratelimit import RateLimiter

        errors, t0 = run_threads(info, phase, scale, 8, seconds,
                                 limiter=RateLimiter(rate_scale=scale, app_limits={}))
    elif cfg == "200a":
        errors, t0 = asyncio.run(run_tasks(info, phase, scale, 200, seconds))
    elif cfg == "4p":
        errors, t0 = run_processes(info, phase, scale, 4, seconds, args.redis,
                                   f"bench:{os.getpid()}:{n}:")
    elif cfg in ("spapi-1t", "spapi-8t"):
        errors, t0 = run_spapi(args.spapi_py, info, phase, scale,
                               1 if cfg == "spapi-1t" else 8, seconds)
    else:
        raise SystemExit(f"unknown configuration {cfg!r}")
    time.sleep(0.3)
    st = emu.stats(phase.op, t0, t0 + seconds)
    kinds: dict[str, int] = {}
    for e in errors:
        kinds[e] = kinds.get(e, 0) + 1
    return Outcome(CONFIGS[cfg], phase.name, phase.sellers, st["completed"],
                   allowed(phase, scale, seconds), st["throttled"], len(errors),
                   extra={"errors": kinds, "late": st["late"]})


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--spapi-worker":
        spapi_worker(json.loads(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate-scale", type=float, default=60.0)
    ap.add_argument("--phase-seconds", type=float, default=10.0)
    ap.add_argument("--configs", default="1t,8t,200a,4p,spapi-1t,spapi-8t")
    ap.add_argument("--phases", default="0,1,2,3", help="indexes into the phase list")
    ap.add_argument("--redis", default=os.environ.get("SELLERKIT_BENCH_REDIS",
                                                      "redis://127.0.0.1:6379/14"))
    ap.add_argument("--spapi-python", default=None)
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every configuration and phase this many times in a row")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    phases = [PHASES[int(i)] for i in args.phases.split(",")]
    args.spapi_py = spapi_python(args.spapi_python) if any(
        c.startswith("spapi") for c in configs) else None
    os.environ.setdefault("SELLERKIT_STATE_DIR", tempfile.mkdtemp(prefix="sellerkit-bench-"))
    emu = Emulator(args.rate_scale, SELLERS)
    results: list[Outcome] = []
    try:
        n = 0
        for cfg in [c for c in configs for _ in range(max(1, args.repeat))]:
            for phase in phases:
                n += 1
                out = run_phase(cfg, phase, emu, args, n)
                results.append(out)
                if not args.json:
                    print(f"{out.config:34} {out.phase:40} {out.completed:6d} / "
                          f"{out.allowed:8.1f} = {out.percent:6.1f}%   429s: {out.throttled:5d}"
                          f"   client errors: {out.client_errors} {out.extra['errors'] or ''}",
                          flush=True)
    finally:
        emu.close()
    if args.json:
        print(json.dumps([{**asdict(r), "percent": round(r.percent, 2)} for r in results],
                         indent=1))
        return
    print(f"\nrate scale {args.rate_scale:g}, {args.phase_seconds:g}s per phase")
    print(f"{'configuration':34} {'completed':>10} {'allowed':>10} {'%':>7} {'429s':>7}")
    for cfg in configs:
        rows = [r for r in results if r.config == CONFIGS[cfg]]
        done = sum(r.completed for r in rows)
        allow = sum(r.allowed for r in rows)
        worst = min((r.percent for r in rows), default=0.0)
        print(f"{CONFIGS[cfg]:34} {done:10d} {allow:10.1f} {100 * done / allow:6.1f}% "
              f"{sum(r.throttled for r in rows):7d}   (lowest phase {worst:.1f}%)")


if __name__ == "__main__":
    main()
