"""``--state`` across crashes: a refresh token minted by the consent flow survives a kill -9 of
the emulator process, and the temporary files of an interrupted save (which hold PII and
refresh tokens) are 0600 from creation and removed when the emulator next starts."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.config import (
    DEFAULT_APPLICATION_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URIS,
)

from .conftest import ROOT

CREDS = {"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}
SERVE = ("import sys\nfrom sellerkit.emulator.config import EmulatorConfig\n"
         "from sellerkit.emulator.server import EmulatorServer\n"
         "server = EmulatorServer(EmulatorConfig(rate_limits=False, orders=3, "
         "state_file=sys.argv[1])).start()\n"
         "print('URL', server.base_url, flush=True)\n"
         "import threading\nthreading.Event().wait()\n")


def _spawn(state: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(state)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.match(r"URL (http://\S+)", line)
    if m is None:
        proc.kill()
        raise AssertionError(f"the emulator did not start: {line!r} {proc.communicate()[1]!r}")
    return proc, m.group(1)


def _kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _consent_refresh_token(c: httpx.Client) -> str:
    r = c.post("/apps/authorize/consent", data={"application_id": DEFAULT_APPLICATION_ID,
                                                "state": "s1", "version": "beta"})
    assert r.status_code == 302, r.text
    code = parse_qs(urlsplit(r.headers["location"]).query)["spapi_oauth_code"][0]
    tok = c.post("/auth/o2/token", data={"grant_type": "authorization_code", "code": code,
                                         "redirect_uri": DEFAULT_REDIRECT_URIS[0], **CREDS})
    assert tok.status_code == 200, tok.text
    body: dict[str, Any] = json.loads(tok.content)
    return str(body["refresh_token"])


def _refresh(base_url: str, refresh_token: str) -> httpx.Response:
    return httpx.post(base_url + "/auth/o2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, **CREDS})


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_a_consent_refresh_token_survives_kill_9(tmp_path: Path) -> None:
    state = tmp_path / "emulator-state.json"
    proc, base_url = _spawn(state)
    try:
        with httpx.Client(base_url=base_url) as c:
            refresh = _consent_refresh_token(c)
        assert _refresh(base_url, refresh).status_code == 200
    finally:
        _kill9(proc)
    assert state.exists() and stat.S_IMODE(state.stat().st_mode) == 0o600

    # a save that a crash interrupted left a temporary file holding the same secrets
    leftover = tmp_path / f".emulator-state-{state.name}.{_dead_pid()}.k2j3l4.tmp"
    leftover.write_text(state.read_text(encoding="utf-8"), encoding="utf-8")
    legacy = tmp_path / ".emulator-state-abc123xy"
    legacy.write_text("{}", encoding="utf-8")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("mine", encoding="utf-8")

    proc, base_url = _spawn(state)
    try:
        r = _refresh(base_url, refresh)
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        ok = httpx.get(base_url + "/sellers/v1/marketplaceParticipations",
                       headers={"x-amz-access-token": token})
        assert ok.status_code == 200, ok.text
        assert not leftover.exists() and not legacy.exists()
        assert unrelated.read_text(encoding="utf-8") == "mine"
        assert sorted(p.name for p in tmp_path.iterdir()) == [state.name, "notes.txt"]
    finally:
        _kill9(proc)


def test_temp_files_are_0600_while_written_and_a_live_writer_is_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "s.json"
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=2, state_file=state))
    modes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        for f in tmp_path.glob(".emulator-state-*"):
            modes.append(stat.S_IMODE(f.stat().st_mode))
        real_fsync(fd)

    monkeypatch.setattr("sellerkit.emulator.app.os.fsync", spy)
    assert emu.save_state() == state
    assert modes == [0o600]
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]

    # a save in progress in another live process is not removed by a second emulator
    live = tmp_path / f".emulator-state-s.json.{os.getppid()}.abcd.tmp"
    live.write_text("{}", encoding="utf-8")
    Emulator(EmulatorConfig(rate_limits=False, orders=2, state_file=state))
    assert live.exists()


def test_a_failed_save_during_a_mint_still_answers(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "s.json"
    emu = Emulator(EmulatorConfig(rate_limits=False, orders=2, state_file=state))

    def full(*a: Any, **k: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sellerkit.emulator.app.os.replace", full)
    with httpx.Client(transport=emu.sync_transport(), base_url="http://e") as c:
        refresh = _consent_refresh_token(c)
        assert refresh.startswith("Atzr|")
        assert c.post("/auth/o2/token", data={"grant_type": "refresh_token",
                                              "refresh_token": refresh, **CREDS}).status_code == 200
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-written file either
