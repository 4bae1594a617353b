"""``sellerkit emulator`` flags: --access-log logs at the default log level, and --models that
holds no sandbox cases fails instead of serving zero of them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from sellerkit.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_access_log_logs_without_log_level_info(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "sellerkit.cli", "emulator", "--port", "0",
                             "--access-log"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        base = None
        deadline = time.monotonic() + 120
        while base is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            base = m.group(1) if m else None
        assert base, "the emulator did not print its URL"
        for _ in range(100):  # the banner comes just before uvicorn accepts
            try:
                assert httpx.get(base + "/_emulator/health", timeout=5).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
    assert '"GET /_emulator/health HTTP/1.1" 200' in out, out


def test_models_dir_without_sandbox_cases_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "not a model"}')
    result = runner.invoke(app, ["emulator", "--port", "0", "--models", str(tmp_path)])
    assert result.exit_code == 2
    assert f"--models {tmp_path} holds no static sandbox cases" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["emulator", "--port", "0", "--models", str(empty)])
    assert result.exit_code == 2 and "no model files" in result.stderr
    assert "listening" not in result.stdout


def test_bad_log_level() -> None:
    result = runner.invoke(app, ["emulator", "--port", "0", "--log-level", "loud"])
    assert result.exit_code == 2 and "--log-level 'loud' is not one of" in result.stderr
