"""``sellerkit datakiosk query`` against an emulator on loopback."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.server import EmulatorServer

QUERY = """# emulatorPageSize: 4
query {
  analytics_salesAndTraffic_2024_04_24 {
    salesAndTrafficByDate(startDate: "2026-02-01", endDate: "2026-02-10", aggregateBy: DAY,
                          marketplaceIds: ["ATVPDKIKX0DER"]) {
      startDate
      traffic { pageViews sessions }
    }
  }
}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    emu = Emulator(EmulatorConfig(seed=0, report_seconds=0.3))
    with EmulatorServer(emulator=emu) as srv:
        yield srv


def run(server: EmulatorServer, tmp_path: Path, *args: str) -> Any:
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
               SELLERKIT_RATE_LIMITER="memory", COLUMNS="120")
    return CliRunner().invoke(app, ["datakiosk", "query", *args, "--poll-interval", "0.1"],
                              env=env)


def write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "q.graphql"
    f.write_text(text, encoding="utf-8")
    return f


def test_records_to_stdout_progress_on_stderr(server: EmulatorServer, tmp_path: Path) -> None:
    r = run(server, tmp_path, str(write(tmp_path, QUERY)))
    assert r.exit_code == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["startDate"] for x in records] == [f"2026-02-{d:02d}" for d in range(1, 11)]
    assert set(records[0]["traffic"]) == {"pageViews", "sessions"}
    assert "page 3" in r.stderr and "downloading" in r.stderr
    assert "10 records from 3 document(s)" in r.stderr
    assert "/_emulator/documents/" not in r.stderr


def test_output_file_atomic_and_json_summary(server: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "traffic.jsonl"
    r = run(server, tmp_path, str(write(tmp_path, QUERY)), "-o", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "DONE" and summary["records"] == 10
    assert summary["documents"] == 3 and len(summary["query_ids"]) == 3
    assert len(out.read_text(encoding="utf-8").splitlines()) == 10
    assert (out.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_fatal_is_one_json_error_and_no_file(server: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "bad.jsonl"
    r = run(server, tmp_path, str(write(tmp_path, QUERY.replace("sessions", "sesions"))),
            "-o", str(out), "--json")
    assert r.exit_code != 0
    err = json.loads(r.stderr)["error"]
    assert err["type"] == "QueryFailedError" and "sesions" in err["message"]
    assert not out.exists()


def test_no_data_and_user_mistakes(server: EmulatorServer, tmp_path: Path) -> None:
    out = tmp_path / "none.jsonl"
    r = run(server, tmp_path, str(write(tmp_path, "# emulatorOutcome: NO_DATA\n" + QUERY)),
            "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert "no data" in r.stderr and not out.exists()
    missing = run(server, tmp_path, str(tmp_path / "nope.graphql"), "--json")
    assert missing.exit_code == 2 and "-o FILE" in json.loads(missing.stderr)["error"]["message"]
    r = run(server, tmp_path, str(tmp_path / "nope.graphql"))
    assert r.exit_code == 2 and "is not a file" in r.stderr and "Traceback" not in r.stderr
