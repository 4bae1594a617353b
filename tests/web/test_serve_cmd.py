"""``sellerkit serve``: bad settings end in one clear line (exit 2); the real command serves the
connect page with the security headers and logs the callback without its query string."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from tests.web.conftest import free_socket

ROOT = Path(__file__).resolve().parents[2]
CREDS = {"SELLERKIT_CLIENT_ID": "amzn1.application-oa2-client.emulator",
         "SELLERKIT_CLIENT_SECRET": "amzn1.oa2-cs.v1.emulator-secret"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    env.update(HOME=str(tmp_path), SELLERKIT_CONFIG=os.devnull, PYTHONPATH=str(ROOT),
               SELLERKIT_VAULT_URL=f"sqlite:///{tmp_path / 'vault.sqlite3'}", COLUMNS="200",
               **CREDS, **extra)
    return env


@pytest.mark.parametrize(("args", "needle"), [
    ([], "application_id is not set"),
    (["--application-id", "amzn1.application-oa2-client.emulator"], "MD1000"),
    (["--application-id", "amzn1.sp.solution.x"], "app status"),
    (["--application-id", "amzn1.sp.solution.x", "--app-status", "draft"], "redirect URI"),
    (["--application-id", "amzn1.sp.solution.x", "--app-status", "draft", "--redirect-uri",
      "https://a.example/cb", "--allow-ip", "nonsense"], "--allow-ip"),
    (["--application-id", "amzn1.sp.solution.x", "--app-status", "draft", "--redirect-uri",
      "https://a.example/cb", "--tls-cert", "/nonexistent.pem"], "--tls-key"),
])
def test_bad_settings_fail_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, ["serve", *args], env=_env(tmp_path))
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_the_command_serves_the_connect_page(tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sellerkit.cli", "serve", "--port", str(port),
         "--application-id", "amzn1.sp.solution.emulator", "--app-status", "published",
         "--redirect-uri", f"http://127.0.0.1:{port}/callback"],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"{base}/connect", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "sellerkit serve did not start"
                time.sleep(0.1)
        assert r.status_code == 200 and "Authorize with Amazon" in r.text
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in r.headers  # no TLS, no HSTS
        r = httpx.get(f"{base}/callback?state=s3cr3t-state&spapi_oauth_code=ANcode123"
                      "&selling_partner_id=A1", timeout=5)
        assert r.status_code == 400
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "GET /callback 400" in out  # its own access line...
    assert "s3cr3t-state" not in out and "ANcode123" not in out  # ...without the query
