"""What a terminal user sees: wait status lines, shell completion, help without type noise,
tables that stay readable at 80 columns, and file errors that say what to do."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from sellerkit.cli.main import SellerkitGroup, app

runner = CliRunner()
NARROW = {"COLUMNS": "80"}
WAIT = {"seconds": 58.0, "operation": "orders_v0.getOrders", "limit": "burst 20, 1 per 60 s"}


def _waiting_app() -> typer.Typer:
    demo = typer.Typer(cls=SellerkitGroup)

    @demo.command("wait")
    def wait(as_json: bool = typer.Option(False, "--json")) -> None:
        log = logging.getLogger("sellerkit.ratelimit")
        log.info("waiting for capacity", extra={"sellerkit_wait": WAIT})
        log.info("some other note")  # not a wait: not shown
        typer.echo('{"ok": true}')

    @demo.command("other")
    def other() -> None:
        pass

    return demo


def test_rate_limit_waits_become_a_status_line_on_stderr() -> None:
    logger = logging.getLogger("sellerkit.ratelimit")
    root_handlers = list(logging.getLogger().handlers)
    level = logger.level
    result = runner.invoke(_waiting_app(), ["wait"])
    assert result.exit_code == 0
    assert result.stdout == '{"ok": true}\n'
    assert result.stderr == "waiting 58 s for orders_v0.getOrders (burst 20, 1 per 60 s)\n"
    # installed for the command only, on that logger only
    assert not [h for h in logger.handlers if type(h).__name__ == "WaitStatusHandler"]
    assert logger.level == level
    assert logging.getLogger().handlers == root_handlers


def test_json_mode_keeps_stderr_for_errors() -> None:
    result = runner.invoke(_waiting_app(), ["wait", "--json"])
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout) == {"ok": True}


def test_on_a_terminal_the_status_line_is_transient() -> None:
    from sellerkit.cli._status import WaitStatusHandler

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    handler = WaitStatusHandler(stream)
    record = logging.LogRecord("sellerkit.ratelimit", logging.INFO, __file__, 1, "w", None, None)
    record.sellerkit_wait = dict(WAIT, seconds=2.46)
    handler.emit(record)
    handler.emit(record)
    handler.clear()
    text = stream.getvalue()
    assert text == ("\r\x1b[2Kwaiting 2.5 s for orders_v0.getOrders (burst 20, 1 per 60 s)" * 2
                    + "\r\x1b[2K")
    assert "\n" not in text


def test_show_completion_prints_a_script_without_prompting() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"], input="")
    assert result.exit_code == 0
    assert "complete" in result.stdout and "_SELLERKIT_COMPLETE" in result.stdout
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout


def test_help_shows_no_bool_for_plain_flags() -> None:
    for args in (["--help"], ["call", "--help"], ["emulator", "--help"], ["limits", "--help"],
                 ["operations", "--help"]):
        result = runner.invoke(app, args, env=NARROW)
        assert result.exit_code == 0, args
        assert "<bool>" not in result.stdout, args
    call_help = runner.invoke(app, ["call", "--help"], env={"COLUMNS": "120"}).stdout
    for flag in ("--paginate", "--timeout", "--max-wait", "--rdt-elements", "--rate-limiter"):
        assert flag in call_help


def _cells(text: str) -> set[str]:
    return set(re.findall(r"[\w./{}-]+", text))


def test_operations_table_at_80_columns() -> None:
    from sellerkit.catalog import get_catalog

    result = runner.invoke(app, ["operations"], env=NARROW)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = _cells(result.stdout)
    ops = list(get_catalog())
    # no key broken mid-word: whole, or (when longer than the column) split after its "."
    # (an API name longer than the column itself splits after an "_")
    broken = [op.key for op in ops if op.key not in words
              and not (op.operation_id in words
                       and (f"{op.api_key}." in words or len(op.api_key) > 45))]
    assert broken == []
    assert sum(op.key in words for op in ops) > 250
    for op in ops:
        if op.rate is not None:
            assert f"{op.rate:g}" in words  # no truncated numbers
    assert "…" not in result.stdout


def test_operations_table_keeps_rows_together_when_wide() -> None:
    result = runner.invoke(app, ["operations", "--api", "orders_v0"], env={"COLUMNS": "160"})
    line = next(ln for ln in result.stdout.splitlines() if "orders_v0.getOrders " in ln)
    assert "GET /orders/v0/orders" in line and "0.0167" in line and "20" in line


def test_marketplaces_and_limits_tables_at_80_columns(tmp_path: Path) -> None:
    result = runner.invoke(app, ["marketplaces"], env=NARROW)
    assert result.exit_code == 0 and "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "United Arab Emirates" in result.stdout and "sellingpartnerapi-fe.amazon.com" in result.stdout

    from sellerkit.ratelimit import RateLimiter
    from tests.ratelimit.helpers import FakeClock, ctx

    clock = FakeClock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep, margin=0)
    for key in ("fulfillment_inbound_2024_03_20.generatePlacementOptions",
                "catalog_items_2022_04_01.getCatalogItem", "orders_v0.getOrders"):
        for _ in range(3):
            lim.acquire(ctx(key, seller="0123456789abcdef"), max_wait=100)
    lim.acquire(ctx("reports_2021_06_30.createReport",
                    body={"reportType": "GET_SALES_AND_TRAFFIC_REPORT"}), max_wait=0)
    snap = lim.save_snapshot(tmp_path / "snap.json")
    result = runner.invoke(app, ["limits", "--file", str(snap)], env=NARROW)
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    words = _cells(result.stdout)
    for name in ("generatePlacementOptions", "fulfillment_inbound_2024_03_20", "getCatalogItem",
                 "catalog_items_2022_04_01", "GET_SALES_AND_TRAFFIC_REPORT", "1/900s", "250/s",
                 "0.0167/s", "012345"):
        assert name in words, name
    assert "…" not in result.stdout


def test_limits_file_errors_say_which_file_and_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(app, ["limits", "--file", str(bad)])
    assert result.exit_code == 2
    assert f"--file {bad} is not JSON" in result.stderr
    assert "pass a snapshot written by sellerkit" in result.stderr
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    result = runner.invoke(app, ["limits", "--file", str(other), "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "not a sellerkit limits snapshot" in json.loads(result.stderr)["error"]["message"]
    result = runner.invoke(app, ["limits", "--file", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    result = runner.invoke(app, ["limits", "--file", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_limits_without_state_goes_to_stderr() -> None:
    result = runner.invoke(app, ["limits"])
    assert result.exit_code == 0 and result.stdout == ""
    assert "no rate-limit snapshot yet" in result.stderr
