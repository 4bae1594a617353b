"""``sellerkit reports get`` / ``reports list`` against an emulator on loopback."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit.cli.reports_cmd import parse_since
from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.server import EmulatorServer

LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    emu = Emulator(EmulatorConfig(seed=0, report_seconds=0.5))
    with EmulatorServer(emulator=emu) as srv:
        yield srv


def run(server: EmulatorServer, tmp_path: Path, *args: str, columns: int = 120) -> Any:
    from sellerkit.cli.main import app

    emu = server.emulator
    env: dict[str, str | None] = {k: None for k in os.environ
                                  if k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))
                                  and not k.startswith("SELLERKIT_TEST_")}
    env.update(SELLERKIT_CONFIG=os.devnull, SELLERKIT_STATE_DIR=str(tmp_path),
               SELLERKIT_CLIENT_ID=emu.config.client_id,
               SELLERKIT_CLIENT_SECRET=emu.config.client_secret,
               SELLERKIT_REFRESH_TOKEN=emu.refresh_token(0),
               SELLERKIT_ENDPOINT=server.base_url,
               SELLERKIT_LWA_ENDPOINT=server.base_url + "/auth/o2/token",
               SELLERKIT_RATE_LIMITER="memory", COLUMNS=str(columns))
    return CliRunner().invoke(app, list(args), env=env)


def test_get_writes_csv_atomically_with_progress_on_stderr(server: EmulatorServer,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "listings.csv"
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--marketplace", "US",
            "--since", "30d", "-o", str(out), "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows and rows[0]["seller-sku"]
    assert (out.stat().st_mode & 0o777) == 0o600
    assert "queued" in r.stderr or "in progress" in r.stderr
    assert "downloading" in r.stderr and f"{len(rows)} rows written" in r.stderr
    assert r.stdout == ""


def test_get_json_summary_and_reuse(server: EmulatorServer, tmp_path: Path) -> None:
    a = run(server, tmp_path, "reports", "get", LISTINGS, "-o", str(tmp_path / "a.jsonl"),
            "--format", "jsonl", "--marketplace", "US", "--json")
    b = run(server, tmp_path, "reports", "get", LISTINGS, "-o", str(tmp_path / "b.jsonl"),
            "--format", "jsonl", "--marketplace", "US", "--json")
    assert a.exit_code == 0 and b.exit_code == 0, a.stderr + b.stderr
    first, second = json.loads(a.stdout), json.loads(b.stdout)
    assert first["status"] == "DONE" and second["reused"] and \
        second["report_id"] == first["report_id"]
    lines = (tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == second["rows"] and "seller-sku" in json.loads(lines[0])


def test_get_to_stdout_as_tsv(server: EmulatorServer, tmp_path: Path) -> None:
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--marketplace", "US")
    assert r.exit_code == 0, r.stderr
    header = r.stdout.splitlines()[0].split("\t")
    assert header[:4] == ["item-name", "item-description", "listing-id", "seller-sku"]


def test_cancelled_writes_nothing_and_fatal_is_one_error(server: EmulatorServer,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "none.tsv"
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--marketplace", "US", "-o", str(out),
            "--option", "emulatorOutcome=CANCELLED")
    assert r.exit_code == 0 and "CANCELLED" in r.stderr and not out.exists()
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--marketplace", "US", "-o", str(out),
            "--option", "emulatorOutcome=FATAL", "--json")
    assert r.exit_code == 2 and not out.exists() and r.stdout == ""
    err = json.loads(r.stderr)["error"]
    assert err["type"] == "ReportFailedError" and "errorDetails" in err["message"]


def test_mistakes_are_one_line_in_cli_terms(server: EmulatorServer, tmp_path: Path) -> None:
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--since", "yesterday")
    assert r.exit_code == 2 and "--since 'yesterday'" in r.stderr and "Traceback" not in r.stderr
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--format", "xlsx")
    assert r.exit_code == 2 and "--format" in r.stderr
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--json")
    assert r.exit_code == 2 and "-o FILE" in json.loads(r.stderr)["error"]["message"]
    r = run(server, tmp_path, "reports", "list")
    assert r.exit_code == 2 and "--type" in r.stderr
    r = run(server, tmp_path, "reports", "get", LISTINGS)  # no marketplace anywhere
    assert r.exit_code == 2 and "--marketplace" in r.stderr and "marketplace_ids" not in r.stderr


def test_list_shows_the_reports(server: EmulatorServer, tmp_path: Path) -> None:
    made = run(server, tmp_path, "reports", "get", LISTINGS, "--marketplace", "US", "-o",
               str(tmp_path / "x.tsv"), "--json")
    rid = json.loads(made.stdout)["report_id"]
    r = run(server, tmp_path, "reports", "list", "--type", LISTINGS, "--json")
    assert r.exit_code == 0, r.stderr
    listed = [json.loads(line) for line in r.stdout.splitlines()]
    assert rid in [x["reportId"] for x in listed]
    table = run(server, tmp_path, "reports", "list", "--type", LISTINGS, "--status", "DONE",
                columns=80)
    assert table.exit_code == 0 and rid in table.stdout
    # readable at 80 columns: nothing cut off with an ellipsis, the type broken only after "_"
    lines = table.stdout.splitlines()
    assert "…" not in table.stdout and max(len(line) for line in lines) <= 80
    assert LISTINGS in "".join(w.strip() for line in lines for w in line.split("  ") if "_" in w)


def test_parse_since() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_since("30d", now=now) == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    assert parse_since("12h", now=now) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert parse_since("2026-11-05", now=now) == datetime(2026, 11, 5, tzinfo=UTC)


def test_get_as_parquet(server: EmulatorServer, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "listings.parquet"
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--marketplace", "US", "-o", str(out),
            "--format", "parquet")
    assert r.exit_code == 0, r.stderr
    table = pq.read_table(out)
    assert table.num_rows > 0 and "seller-sku" in table.column_names
    r = run(server, tmp_path, "reports", "get", LISTINGS, "--format", "parquet")
    assert r.exit_code == 2 and "-o FILE" in r.stderr
