"""``sellerkit call`` as people use it: one process per call against a running emulator (real
Amazon rate ratios, time-scaled), bucket state shared between the processes, stdout that stays
parseable, --paginate, and the flags that reach CallOptions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit.emulator import Emulator
from sellerkit.emulator.config import EmulatorConfig
from sellerkit.emulator.server import EmulatorServer
from tests.ratelimit.helpers import counting

ROOT = Path(__file__).resolve().parents[2]
SCALE = 30.0  # getOrders: Amazon's 0.0167/s burst 20 becomes 0.5/s burst 20
GET_ORDERS = "orders_v0.getOrders"
ORDERS_ARGS = ["call", GET_ORDERS, "-p", "MarketplaceIds=US",
               "-p", "CreatedAfter=2020-01-01T00:00:00Z"]


class Served:
    def __init__(self, server: EmulatorServer, seen: Counter[tuple[str, bool]]) -> None:
        self.server = server
        self.seen = seen

    def env(self, state: Path, **extra: str) -> dict[str, str]:
        emu = self.server.emulator
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
        env.update(PYTHONPATH=str(ROOT), SELLERKIT_CONFIG=os.devnull,
                   SELLERKIT_STATE_DIR=str(state), COLUMNS="100",
                   SELLERKIT_CLIENT_ID=emu.config.client_id,
                   SELLERKIT_CLIENT_SECRET=emu.config.client_secret,
                   SELLERKIT_REFRESH_TOKEN=emu.refresh_token(0),
                   SELLERKIT_ENDPOINT=self.server.base_url,
                   SELLERKIT_LWA_ENDPOINT=self.server.base_url + "/auth/o2/token")
        env.update(extra)
        return env

    def run(self, args: list[str], state: Path, **extra: str) -> subprocess.CompletedProcess[str]:
        """A real ``sellerkit`` process (slow on a loaded host: only where processes matter)."""
        return subprocess.run([sys.executable, "-m", "sellerkit.cli", *args], cwd=ROOT,
                              env=self.env(state, **extra), capture_output=True, text=True,
                              timeout=300, check=False)

    def invoke(self, args: list[str], state: Path, **extra: str) -> Result:
        """The same command in this process (each invocation opens its own limiter)."""
        from sellerkit.cli.main import app

        env: dict[str, str | None] = {k: None for k in os.environ
                                      if k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))
                                      and not k.startswith("SELLERKIT_TEST_")}
        env.update({k: v for k, v in self.env(state, **extra).items()
                    if k.startswith(("SELLERKIT_", "COLUMNS"))})
        r = CliRunner().invoke(app, args, env=env)
        return Result(r.exit_code, r.stdout, r.stderr)


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def served() -> Iterator[Served]:
    """A fresh emulator per test: its buckets start full, like the client's state dir."""
    emu = Emulator(EmulatorConfig(rate_scale=SCALE, orders=60, seed=7))
    seen = counting(emu)
    with EmulatorServer(emulator=emu) as server:
        yield Served(server, seen)


def limits_json(served: Served, state: Path) -> dict[str, Any]:
    out = served.invoke(["limits", "--json"], state)
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def orders_bucket(doc: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in doc["buckets"] if b["operation"] == GET_ORDERS and b["layer"] == "seller")


def test_25_consecutive_calls_share_the_buckets_and_draw_no_429(served: Served,
                                                                tmp_path: Path) -> None:
    served.seen.clear()
    for i in range(25):
        out = served.run([*ORDERS_ARGS, "--json"], tmp_path)
        assert out.returncode == 0, (i, out.stderr)
        assert "Orders" in json.loads(out.stdout)["payload"]
    assert served.seen[(GET_ORDERS, False)] == 0  # not one 429
    assert served.seen[(GET_ORDERS, True)] == 25
    bucket = orders_bucket(limits_json(served, tmp_path))
    assert bucket["acquired"] == 25  # one bucket across 25 processes
    assert bucket["throttles"] == 0
    assert bucket["learned_rate"] == pytest.approx(0.0167 * SCALE, rel=0.02)


def test_a_failing_call_keeps_the_state(served: Served, tmp_path: Path) -> None:
    assert served.invoke(ORDERS_ARGS, tmp_path).returncode == 0
    before = orders_bucket(limits_json(served, tmp_path))
    assert before["acquired"] == 1
    # a mistake before sending, an API error, and a failure to connect
    bad_param = served.invoke([*ORDERS_ARGS, "-p", "CreatedAftr=x"], tmp_path)
    assert bad_param.returncode == 2 and "did you mean 'CreatedAfter'" in bad_param.stderr
    missing = served.invoke(["call", "orders_v0.getOrder", "-p", "orderId=000-0000000-0000000"],
                         tmp_path)
    assert missing.returncode == 1, missing.stderr
    unreachable = served.invoke(ORDERS_ARGS, tmp_path, SELLERKIT_ENDPOINT="http://127.0.0.1:9",
                                SELLERKIT_MAX_ATTEMPTS="1")
    assert unreachable.returncode != 0
    doc = limits_json(served, tmp_path)
    after = orders_bucket(doc)
    assert after["acquired"] >= before["acquired"]  # never blanked, never lost
    assert {b["operation"] for b in doc["buckets"]} >= {GET_ORDERS, "orders_v0.getOrder"}
    table = served.invoke(["limits"], tmp_path)
    assert "getOrders" in table.stdout and "getOrder" in table.stdout


def test_a_failing_call_keeps_the_memory_snapshot(served: Served, tmp_path: Path) -> None:
    ok = served.invoke([*ORDERS_ARGS, "--rate-limiter", "memory"], tmp_path)
    assert ok.returncode == 0, ok.stderr
    snapshot = tmp_path / "limits.json"
    saved = snapshot.read_text()
    assert GET_ORDERS in saved
    failed = served.invoke([*ORDERS_ARGS, "-p", "Bogus=1"], tmp_path,
                        SELLERKIT_RATE_LIMITER="memory")
    assert failed.returncode == 2
    assert snapshot.read_text() == saved
    assert not (tmp_path / "ratelimit.sqlite3").exists()  # memory means memory


def test_json_mode_stdout_is_the_result_and_errors_are_one_object(served: Served,
                                                                   tmp_path: Path) -> None:
    ok = served.invoke([*ORDERS_ARGS, "--json"], tmp_path)
    assert ok.returncode == 0 and ok.stderr == ""
    assert isinstance(json.loads(ok.stdout)["payload"]["Orders"], list)

    failures = [
        (["call", "orders_v0.getOrder", "-p", "orderId=000-0000000-0000000", "--json"], 1,
         "NotFoundError"),
        ([*ORDERS_ARGS, "-p", "MaxResultsPerPage=abc", "--json"], 2, "ConfigurationError"),
        ([*ORDERS_ARGS, "--bogus", "--json"], 2, "NoSuchOption"),
        (["call", "orders_v0.getOrdrs", "--json"], 2, "UnknownOperationError"),
        ([*ORDERS_ARGS, "-p", "MarketplaceIds=XX", "--json"], 2, "ValidationError"),
    ]
    for args, code, kind in failures:
        out = served.invoke(args, tmp_path)
        assert out.returncode == code, (args, out.stderr)
        assert out.stdout == "", args
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, (args, out.stderr)
        err = json.loads(lines[0])["error"]
        assert err["type"] == kind and err["exit_code"] == code and err["message"]
    err = json.loads(served.invoke(failures[0][0], tmp_path).stderr)["error"]
    assert err["status"] == 404 and err["operation"] == "orders_v0.getOrder"


def test_json_channels_of_a_real_process(served: Served, tmp_path: Path) -> None:
    ok = served.run([*ORDERS_ARGS, "--json"], tmp_path)
    assert ok.returncode == 0 and ok.stderr == "" and json.loads(ok.stdout)["payload"]
    bad = served.run(["call", "orders_v0.getOrder", "-p", "orderId=000-0000000-0000000",
                      "--json"], tmp_path)
    assert bad.returncode == 1 and bad.stdout == ""
    assert json.loads(bad.stderr)["error"]["status"] == 404


def test_without_json_status_goes_to_stderr_and_stdout_is_json(served: Served,
                                                                tmp_path: Path) -> None:
    out = served.invoke(ORDERS_ARGS, tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["payload"]["Orders"]  # piped: plain JSON, no colours
    assert out.stderr.startswith(f"200 {GET_ORDERS}") and "request id" in out.stderr


def test_paginate_prints_json_lines(served: Served, tmp_path: Path) -> None:
    from sellerkit import SellingPartner

    env = served.env(tmp_path)
    with SellingPartner(client_id=env["SELLERKIT_CLIENT_ID"],
                        client_secret=env["SELLERKIT_CLIENT_SECRET"],
                        refresh_token=env["SELLERKIT_REFRESH_TOKEN"],
                        endpoint=env["SELLERKIT_ENDPOINT"],
                        lwa_endpoint=env["SELLERKIT_LWA_ENDPOINT"]) as sp:
        expected = [o["AmazonOrderId"] for o in sp.paginate(
            GET_ORDERS, items=True, MarketplaceIds=["ATVPDKIKX0DER"],
            CreatedAfter="2020-01-01T00:00:00Z", MaxResultsPerPage=7)]
    assert len(expected) > 7  # more than one page
    items = served.invoke([*ORDERS_ARGS, "-p", "MaxResultsPerPage=7", "--paginate"], tmp_path)
    assert items.returncode == 0, items.stderr
    assert [json.loads(line)["AmazonOrderId"] for line in items.stdout.splitlines()] == expected
    assert f"{len(expected)} items" in items.stderr
    pages = served.invoke([*ORDERS_ARGS, "-p", "MaxResultsPerPage=7", "--paginate", "--pages",
                        "--json"], tmp_path)
    assert pages.returncode == 0 and pages.stderr == "", pages.stderr
    docs = [json.loads(line) for line in pages.stdout.splitlines()]
    assert len(docs) == -(-len(expected) // 7)
    assert sum(len(d["payload"]["Orders"]) for d in docs) == len(expected)
    assert all("NextToken" in d["payload"] for d in docs[:-1])
    named = served.invoke([*ORDERS_ARGS, "-p", "MaxResultsPerPage=7", "--paginate", "--items",
                        "Orders"], tmp_path)
    assert named.stdout == items.stdout
    wrong = served.invoke(["call", "orders_v0.getOrder", "-p", "orderId=1", "--paginate",
                        "--json"], tmp_path)
    assert wrong.returncode == 2 and "does not paginate" in wrong.stderr


def test_flags_reach_the_call_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import sellerkit
    from sellerkit.cli.main import app

    seen: dict[str, Any] = {}

    class Response:
        status, request_id, rate_limit, content = 200, "r-1", None, b""
        body: Any = {"payload": {}}

    class FakeClient:
        def __init__(self, **kw: Any) -> None:
            seen["client"] = kw

        def __enter__(self) -> FakeClient:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def call(self, key: str, *, options: Any, **values: Any) -> Response:
            seen["options"], seen["values"] = options, values
            return Response()

    monkeypatch.setattr(sellerkit, "SellingPartner", FakeClient)
    monkeypatch.setenv("SELLERKIT_CLIENT_ID", "id")
    runner = CliRunner()
    result = runner.invoke(app, [
        "call", "orders_v0.getOrderAddress", "-p", "orderId=1", "--timeout", "5",
        "--max-wait", "0", "--rdt-elements", "buyerInfo,shippingAddress",
        "--rdt-elements", "buyerTaxInformation", "--marketplace", "DE", "--json"])
    assert result.exit_code == 0, result.output
    opts = seen["options"]
    assert opts.timeout == 5 and opts.max_wait == 0
    assert list(opts.rdt_data_elements) == ["buyerInfo", "shippingAddress", "buyerTaxInformation"]
    assert seen["client"]["settings"].marketplace == "DE"
    assert seen["client"]["settings"].sources["marketplace"] == "--marketplace"
    result = runner.invoke(app, ["call", "orders_v0.getOrderAddress", "-p", "orderId=1",
                                 "--no-rdt", "--rate-limiter", "off"])
    assert result.exit_code == 0, result.output
    assert seen["options"].rdt is False and seen["client"]["rate_limiter"] is False
    bad = runner.invoke(app, ["call", GET_ORDERS, "--max-wait", "-1"])
    assert bad.exit_code == 2 and "--max-wait" in bad.stderr
    bad = runner.invoke(app, ["call", GET_ORDERS, "--rate-limiter", "mongo"])
    assert bad.exit_code == 2 and "--rate-limiter 'mongo' is not understood" in bad.stderr
