"""``kill -9`` in the middle of ``sellerkit sync orders``: a subprocess syncing from an emulator on a
loopback port (Amazon's rate plans sped up 1000 times, limits on) is killed after a random
delay or after a random number of pages, then run again, until a run completes. The vault must
end with exactly the emulator's orders (ids and last-update dates), none stored twice, every
item once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sellerkit.vault import Vault
from tests.sync._emu import item_counts, orders_of, settle, stored, truth

ROOT = Path(__file__).resolve().parents[2]
SINCE = datetime.now(UTC) - timedelta(days=400)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    from sellerkit.emulator import EmulatorConfig, EmulatorServer

    seed = getattr(request, "param", 1)
    with EmulatorServer(EmulatorConfig(port=0, seed=seed, orders=60, rate_scale=1000)) as srv:
        settle(srv.emulator)
        yield srv


def _env(server: Any, vault_url: str, key: str, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    cfg = server.emulator.config
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(PYTHONPATH=path, SELLERKIT_CONFIG=os.devnull, SELLERKIT_STATE_DIR=str(state),
               SELLERKIT_CLIENT_ID=cfg.client_id, SELLERKIT_CLIENT_SECRET=cfg.client_secret,
               SELLERKIT_REFRESH_TOKEN=cfg.refresh_token, SELLERKIT_ENDPOINT=server.base_url,
               SELLERKIT_LWA_ENDPOINT=server.base_url + "/auth/o2/token", SELLERKIT_REGION="NA",
               SELLERKIT_VAULT_URL=vault_url, SELLERKIT_VAULT_KEY=key, SELLERKIT_USER="sync-bot")
    return env


def _pages_committed(engine: Any) -> int:
    from sqlalchemy import select

    from sellerkit.vault.schema import sync_checkpoints

    with engine.connect() as conn:
        row = conn.execute(select(sync_checkpoints.c.stats)).first()
    return int((row[0] or {}).get("pages", 0)) if row is not None else 0


def _prepare(vault_url: str, key: str) -> None:
    with Vault.open(vault_url, key=key) as v:
        v.users.bootstrap_admin("admin")
        from sellerkit.vault import Principal, Role

        v.users.add(Principal("admin", Role.ADMIN), "sync-bot", Role.ADMIN, kind="service")


def kill_and_resume(server: Any, vault_url: str, key: str, tmp: Path, seed: int, *,
                    kills: int = 2) -> tuple[dict[str, Any], list[int]]:
    """Run the sync, SIGKILL it ``kills`` times at random points, then let it finish. Returns
    the last run's summary and the pages committed at each kill."""
    from sellerkit.vault.store import create_vault_engine

    _prepare(vault_url, key)
    env = _env(server, vault_url, key, tmp / "state")
    cmd = [sys.executable, "-m", "sellerkit.cli", "sync", "orders", "--page-size", "3",
           "--since", SINCE.strftime("%Y-%m-%dT%H:%M:%SZ"), "--json"]
    rng = random.Random(seed)
    engine = create_vault_engine(vault_url)
    killed_at: list[int] = []
    try:
        for _ in range(kills + 3):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            if len(killed_at) < kills:
                before = _pages_committed(engine)
                # after a random number of pages, or a random delay after the run's first page
                pages = rng.randint(1, 5) if rng.random() < 0.5 else 1
                delay = 0.0 if pages > 1 else rng.uniform(0.0, 0.4)
                deadline = time.monotonic() + 60
                while (proc.poll() is None and _pages_committed(engine) < before + pages
                       and time.monotonic() < deadline):
                    time.sleep(0.01)
                time.sleep(delay)
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.communicate(timeout=30)
                    killed_at.append(_pages_committed(engine))
                    continue
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            total = _pages_committed(engine)
            assert any(0 < k < total for k in killed_at), (killed_at, total)  # mid-window
            return json.loads(out), killed_at
    finally:
        engine.dispose()
    raise AssertionError("the sync never completed")


@pytest.mark.parametrize("server", [11, 12], indirect=True)
def test_sigkill_at_random_points_then_resume_gives_the_exact_order_set(
        server: Any, sqlite_vault_url: str, tmp_path: Path, request: pytest.FixtureRequest
        ) -> None:
    seed = request.node.callspec.params["server"]
    key = f"file:{tmp_path / 'vault.key'}"
    summary, killed_at = kill_and_resume(server, sqlite_vault_url, key, tmp_path, seed)
    _check(server.emulator, sqlite_vault_url, key, summary, killed_at)


def test_sigkill_on_postgresql(server: Any, postgres_vault_url: str, tmp_path: Path) -> None:
    key = f"file:{tmp_path / 'vault.key'}"
    summary, killed_at = kill_and_resume(server, postgres_vault_url, key, tmp_path, 5, kills=1)
    _check(server.emulator, postgres_vault_url, key, summary, killed_at)


def _check(emu: Any, url: str, key: str, summary: dict[str, Any], killed_at: list[int]) -> None:
    assert summary["completed"] and summary["resumed"]
    with Vault.open(url, key=key) as v:
        assert stored(v) == truth(emu, summary["high_water"])
        assert item_counts(v) == {o["id"]: len(o["items"]) for o in orders_of(emu)}
