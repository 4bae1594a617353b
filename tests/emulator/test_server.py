"""The emulator over real HTTP: EmulatorServer in a thread, and ``sellerkit emulator`` as a
process that prints its URL and stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig, EmulatorServer
from sellerkit.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)

from .conftest import ROOT

CREDS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}


def _token(base_url: str) -> str:
    r = httpx.post(f"{base_url}/auth/o2/token", data={"grant_type": "refresh_token",
                                                      "refresh_token": DEFAULT_REFRESH_TOKEN,
                                                      **CREDS})
    assert r.status_code == 200
    return str(r.json()["access_token"])


def test_emulator_server_serves_over_loopback() -> None:
    with EmulatorServer(EmulatorConfig(rate_limits=False, orders=3)) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        token = _token(server.base_url)
        with httpx.Client(base_url=server.base_url) as c:
            r = c.get("/sellers/v1/marketplaceParticipations",
                      headers={"x-amz-access-token": token})
            assert r.status_code == 200
            assert r.headers["x-amzn-RequestId"]
            assert c.get("/_emulator/health").json()["status"] == "ok"


def test_reset_fault_drops_the_connection_over_http() -> None:
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=1))
    with EmulatorServer(emulator=emu) as server:
        token = _token(server.base_url)
        headers = {"x-amz-access-token": token}
        url = f"{server.base_url}/sellers/v1/marketplaceParticipations"
        emu.set_faults("reset:1")
        with httpx.Client() as c:
            with pytest.raises(httpx.RemoteProtocolError):
                c.get(url, headers=headers)
            emu.set_faults("503:1")
            r = c.get(url, headers=headers)
            assert r.status_code == 503
            assert r.json()["errors"][0]["code"] == "ServiceUnavailable"
            emu.set_faults(None)
            assert c.get(url, headers=headers).status_code == 200


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    code = ("import typer\nfrom sellerkit.cli.emulator_cmd import register\n"
            "app = typer.Typer()\nregister(app)\n@app.command('noop')\ndef noop() -> None: pass\n"
            "app()\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code, "emulator", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=str(ROOT))
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C" in line:
            break
    text = "".join(lines)
    m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", text)
    if m is None:
        proc.kill()
        raise AssertionError(f"no URL in output: {text!r} {proc.stderr.read()!r}")  # type: ignore[union-attr]
    return proc, m.group(1), lines


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return out, err


def test_cli_prints_url_and_credentials_and_stops_on_ctrl_c() -> None:
    proc, base_url, lines = _start_cli("--orders", "2")
    try:
        text = "".join(lines)
        assert DEFAULT_CLIENT_ID in text and DEFAULT_CLIENT_SECRET in text
        assert DEFAULT_REFRESH_TOKEN in text
        token = _token(base_url)
        r = httpx.get(f"{base_url}/sellers/v1/marketplaceParticipations",
                      headers={"x-amz-access-token": token})
        assert r.status_code == 200
    finally:
        out, err = _stop(proc)
    assert "emulator stopped" in out
    assert "Traceback" not in err


def test_cli_does_not_echo_given_secrets() -> None:
    proc, base_url, lines = _start_cli("--client-secret", "my-own-secret-value",
                                       "--refresh-token", "Atzr|mine")
    try:
        text = "".join(lines)
        assert "my-own-secret-value" not in text and "Atzr|mine" not in text
        r = httpx.post(f"{base_url}/auth/o2/token", data={
            "grant_type": "refresh_token", "refresh_token": "Atzr|mine",
            "client_id": DEFAULT_CLIENT_ID, "client_secret": "my-own-secret-value"})
        assert r.status_code == 200
    finally:
        _stop(proc)


def test_cli_rejects_a_bad_fault_spec() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-c", "from sellerkit.cli.main import main; main()",
                        "emulator", "--faults", "500:7"], capture_output=True, text=True,
                       env=env, cwd=str(ROOT), timeout=60, check=False)
    if "No module named" in r.stderr:
        pytest.skip("the CLI main module is not there yet")
    assert r.returncode != 0
    assert "outside 0..1" in r.stdout + r.stderr


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=3, state_file=state))
    if emu.simulation is None or not hasattr(emu.simulation, "dump"):
        pytest.skip("the simulation cannot dump its state")
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        r = c.post("/apps/authorize/consent", data={
            "application_id": emu.config.application_id, "state": "s", "version": "beta"})
        code = r.headers["location"].split("spapi_oauth_code=")[1]
        minted = c.post("/auth/o2/token", data={"grant_type": "authorization_code",
                                                "code": code, **CREDS}).json()["refresh_token"]
    assert emu.save_state() == state
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    data = json.loads(state.read_text())
    assert data["version"] == 1 and "simulation" in data
    again = Emulator(EmulatorConfig(rate_limits=False, orders=3, state_file=state))
    assert again.seller_ids == emu.seller_ids
    assert again.simulation.dump() == emu.simulation.dump()
    with httpx.Client(transport=again.sync_transport(), base_url="http://e") as c:
        r = c.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                           "refresh_token": minted, **CREDS})
        assert r.status_code == 200


def test_unreadable_state_and_empty_models_are_configuration_errors(tmp_path: Path) -> None:
    from sellerkit.errors import ConfigurationError

    bad = tmp_path / "state.json"
    bad.write_text("{oops")
    with pytest.raises(ConfigurationError, match="state"):
        Emulator(EmulatorConfig(state_file=bad))
    empty = tmp_path / "models"
    empty.mkdir()
    with pytest.raises(ConfigurationError, match="model files"):
        Emulator(EmulatorConfig(models=empty))


def test_cli_main_registers_emulator_and_demo() -> None:
    main = pytest.importorskip("sellerkit.cli.main")
    from typer.testing import CliRunner

    result = CliRunner().invoke(main.app, ["--help"])
    assert result.exit_code == 0
    assert "emulator" in result.output and "demo" in result.output
    helped = CliRunner().invoke(main.app, ["emulator", "--help"])
    assert "--rate-scale" in helped.output and "--faults" in helped.output


def test_concurrent_clients_over_http_and_in_process() -> None:
    from concurrent.futures import ThreadPoolExecutor

    emu = Emulator(EmulatorConfig(orders=5, sellers=4, rate_scale=5))
    with EmulatorServer(emulator=emu) as server:
        in_process = httpx.Client(transport=emu.sync_transport(), base_url="http://e")
        over_http = httpx.Client(base_url=server.base_url)
        tokens = [emu.access_token(i) for i in range(4)]

        def work(i: int) -> list[int]:
            client = in_process if i % 2 else over_http
            headers = {"x-amz-access-token": tokens[i % 4]}
            return [client.get("/sellers/v1/marketplaceParticipations",
                               headers=headers).status_code for _ in range(15)]

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for batch in pool.map(work, range(8)) for s in batch]
        in_process.close()
        over_http.close()
    assert set(statuses) <= {200, 429}
    # each seller's bucket holds 15 (burst) plus what refills during the run at 0.08/s
    assert 60 <= statuses.count(200) <= 64
