"""The client benchmark still runs: its server answers like SP-API and LWA, and
``bench/clients.py`` prints figures for sellerkit, httpx and http.client (no peers, no virtualenv).

Timings are the bench's business, never asserted here.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _server import start_server  # noqa: E402


def _get(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
         ) -> tuple[int, dict[str, str], bytes]:
    conn.request(method, path, body=body)
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def test_server_answers_lwa_and_sp_api_on_one_keep_alive_connection() -> None:
    with start_server(max_seconds=30) as url:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        status, _, body = _get(conn, "POST", "/auth/o2/token",
                               b"grant_type=refresh_token&refresh_token=x")
        token = json.loads(body)
        assert status == 200
        assert token["expires_in"] == 3600 and token["token_type"] and token["access_token"]

        status, headers, body = _get(conn, "GET", "/sellers/v1/marketplaceParticipations")
        assert status == 200
        assert json.loads(body)["payload"][0]["marketplace"]["id"] == "ATVPDKIKX0DER"
        assert headers["x-amzn-ratelimit-limit"] == "0.016"
        first_id = headers["x-amzn-requestid"]

        status, headers, body = _get(conn, "GET", "/orders/v0/orders/123-4567890-1234567")
        assert status == 200
        assert json.loads(body)["payload"]["AmazonOrderId"] == "123-4567890-1234567"
        assert headers["x-amzn-requestid"] != first_id

        status, _, body = _get(conn, "GET", "/nope")
        assert status == 404 and json.loads(body)["errors"][0]["code"] == "NotFound"
        conn.close()


def test_server_handles_pipelined_and_split_requests() -> None:
    import socket

    with start_server(max_seconds=30) as url:
        parts = urlsplit(url)
        assert parts.port is not None
        req = b"GET /sellers/v1/marketplaceParticipations HTTP/1.1\r\nhost: x\r\n\r\n"
        post = (b"POST /auth/o2/token HTTP/1.1\r\nhost: x\r\ncontent-length: 9\r\n\r\n"
                b"grant=abc")
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
            s.sendall(req + post[:30])
            s.sendall(post[30:] + req)
            data = b""
            while data.count(b"HTTP/1.1 200 OK") < 3:
                chunk = s.recv(65536)
                assert chunk, "server closed the connection"
                data += chunk
        assert b"access_token" in data


def test_clients_bench_runs_and_prints_figures() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "clients.py"), "--calls", "50",
         "--async-calls", "50", "--concurrency", "10", "--repeats", "1", "--rounds", "1",
         "--only", "sellerkit,httpx,httpclient", "--no-imports", "--json"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {(row["mode"], row["client"]): row for row in doc["rows"]}
    assert set(rows) == {("sync", "httpclient"), ("sync", "httpx"), ("sync", "sellerkit"),
                         ("async", "httpx"), ("async", "sellerkit")}
    for row in rows.values():
        assert row["error"] is None, row
        assert row["best"] > 0 and row["cpu_us_min"] > 0
    assert "rate_limiter=False" in rows[("sync", "sellerkit")]["note"]


def test_clients_bench_table_names_what_it_measured() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "clients.py"), "--calls", "20",
         "--repeats", "1", "--rounds", "1", "--mode", "sync", "--only", "sellerkit,httpclient",
         "--no-imports"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "rate_limiter=False" in out and "bench/quota.py" in out
    lines = [ln.split() for ln in out.splitlines()]
    figures = {ln[0]: float(ln[2]) for ln in lines
               if len(ln) >= 5 and (ln[0], ln[1]) in (("sellerkit", "sellerkit"),
                                                     ("httpclient", "floor"))}
    assert set(figures) == {"sellerkit", "httpclient"}
    assert all(v > 0 for v in figures.values())


def test_vault_bench_runs_and_prints_figures() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vault.py"), "--orders", "120", "--read", "30",
         "--batch", "50", "--no-postgres", "--json"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    s = doc["sqlite"]
    assert s["orders"] == s["inserted"] == 120 and s["items"] > 120
    assert s["unchanged_orders"] == 120 and s["read"] == 30
    assert s["orders_per_s"] > 0 and s["orders_per_cpu_s"] > 0 and s["reads_per_s"] > 0
