"""The snapshot file (atomic, 0600, in the state directory) and ``sellerkit limits``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sellerkit.cli.limits_cmd import register
from sellerkit.ratelimit import RateLimiter, default_snapshot_path, read_snapshot
from tests.ratelimit.helpers import FakeClock, ctx


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SELLERKIT_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def app() -> typer.Typer:
    a = typer.Typer()
    register(a)

    @a.command("noop")  # typer needs two commands to keep subcommand names
    def noop() -> None:
        pass

    return a


def used_limiter() -> RateLimiter:
    clock = FakeClock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep, margin=0)
    c = ctx("orders_v0.getOrders", seller="0123456789abcdef")
    for _ in range(21):
        lim.acquire(c, max_wait=100)
    lim.record(c, status=200, rate_limit_header="0.0167")
    lim.record(c, status=429, rate_limit_header=None)
    body = {"reportType": "GET_SALES_AND_TRAFFIC_REPORT"}
    lim.acquire(ctx("reports_2021_06_30.createReport", body=body), max_wait=0)
    return lim


def test_save_snapshot_is_private_and_round_trips(state_dir: Path) -> None:
    lim = used_limiter()
    path = lim.save_snapshot()
    assert path == default_snapshot_path() == state_dir / "limits.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = read_snapshot()
    assert doc is not None and doc["backend"] == "RateLimiter"
    by_layer = {(b["operation"], b["layer"]): b for b in doc["buckets"]}
    orders = by_layer[("orders_v0.getOrders", "seller")]
    assert orders["acquired"] == 21 and orders["throttles"] == 1 and orders["waits"] == 1
    assert orders["learned_rate"] == 0.0167
    assert ("reports_2021_06_30.createReport", "report") in by_layer
    assert not list(state_dir.glob(".*tmp"))  # no temp file left behind


def test_read_snapshot_missing_and_corrupt(tmp_path: Path) -> None:
    assert read_snapshot(tmp_path / "nothing.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a sellerkit limits snapshot"):
        read_snapshot(bad)


def test_limits_command_json_and_table(state_dir: Path) -> None:
    used_limiter().save_snapshot()
    runner = CliRunner()
    out = runner.invoke(app(), ["limits", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert {b["layer"] for b in doc["buckets"]} == {"seller", "report"}
    out = runner.invoke(app(), ["limits"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "getOrders" in out.output and "orders_v0" in out.output
    assert "GET_SALES_AND_TRAFFIC_REPORT" in out.output
    assert "012345" in out.output and "0123456789abcdef" not in out.output  # short hashes
    assert "1/120s" in out.output   # halved by the 429
    assert "learned" in out.output   # the wide table at 200 columns
    narrow = runner.invoke(app(), ["limits"], env={"COLUMNS": "80"})
    assert "429s" in narrow.output and "learned" not in narrow.output


def test_limits_command_without_a_snapshot(state_dir: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app(), ["limits"])
    assert out.exit_code == 0 and "no rate-limit snapshot yet" in out.output
    out = runner.invoke(app(), ["limits", "--json"])
    assert json.loads(out.output) == {"version": 1, "buckets": []}


def test_limits_command_reads_live_redis(redis_url: str) -> None:
    from sellerkit.ratelimit import RedisRateLimiter

    lim = RedisRateLimiter(redis_url)
    lim.acquire(ctx("orders_v0.getOrder"), max_wait=0)
    out = CliRunner().invoke(app(), ["limits", "--json", "--redis", redis_url])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert [(b["operation"], b["acquired"]) for b in doc["buckets"]] == [
        ("orders_v0.getOrder", 1)]
    lim.close()
