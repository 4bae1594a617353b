"""``sellerkit feeds submit|listings`` against an emulator on a loopback port."""

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

FAST = ["--poll-interval", "0.01", "--rate-limiter", "memory"]


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    emu = Emulator(EmulatorConfig(orders=20, seed=4, feed_seconds=0.05, rate_scale=1000))
    with EmulatorServer(emulator=emu) as s:
        yield s


def run(server: EmulatorServer, args: list[str], tmp_path: Path, **extra: str) -> Any:
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
               SELLERKIT_LWA_ENDPOINT=server.base_url + "/auth/o2/token", COLUMNS="120")
    env.update(extra)
    return CliRunner().invoke(app, args, env=env)


def listings(server: EmulatorServer) -> dict[str, Any]:
    emu = server.emulator
    return emu.simulation._state.d["listings"][emu.seller_ids[0]]


def write_jsonl(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(m) for m in messages) + "\n\n", encoding="utf-8")
    return path


def test_listings_builds_validates_and_submits(server: EmulatorServer, tmp_path: Path) -> None:
    sku = sorted(listings(server))[0]
    f = write_jsonl(tmp_path / "changes.jsonl", [
        {"sku": sku, "operationType": "DELETE"},
        {"sku": "GONE", "operationType": "DELETE"}])
    r = run(server, ["feeds", "listings", str(f), "--marketplace", "US", "--json", *FAST],
            tmp_path, SELLERKIT_SELLER_ID=server.emulator.seller_ids[0])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "DONE" and doc["applied"] == [1] and list(doc["failed"]) == ["2"]
    assert r.stderr == ""  # --json: nothing but the result
    assert sku not in listings(server)

    plain = run(server, ["feeds", "listings", str(f), "--marketplace", "US", *FAST,
                         "--seller-id", server.emulator.seller_ids[0]], tmp_path)
    assert plain.exit_code == 0, plain.stderr
    assert "2 messages read" in plain.stderr and "created" in plain.stderr
    assert "DONE" in plain.stderr  # the status changes, on stderr
    assert "DONE" in plain.stdout and "does not exist" in plain.stdout


def test_invalid_message_is_rejected_before_any_call(server: EmulatorServer,
                                                     tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "bad.jsonl", [
        {"sku": "A", "operationType": "UPDATE", "productType": "PRODUCT"}])
    before = len(server.emulator.simulation._state.d["documents"])
    r = run(server, ["feeds", "listings", str(f), "--marketplace", "US", "--json",
                     "--seller-id", "A1", *FAST], tmp_path)
    assert r.exit_code == 2
    err = json.loads(r.stderr)["error"]
    assert err["type"] == "ValidationError"
    assert err["problems"] == ["message 0 (messageId 1, sku 'A'): /messages/0: 'attributes' "
                               "is required for operationType UPDATE"]
    assert len(server.emulator.simulation._state.d["documents"]) == before
    notjson = tmp_path / "broken.jsonl"
    notjson.write_text('{"sku": "A"\n', encoding="utf-8")
    r = run(server, ["feeds", "listings", str(notjson), "--seller-id", "A1", *FAST], tmp_path)
    assert r.exit_code == 2 and "line 1 is not valid JSON" in r.stderr


def test_submit_xml_file_and_fatal(server: EmulatorServer, tmp_path: Path) -> None:
    f = tmp_path / "product.xml"
    f.write_text("<AmazonEnvelope/>", encoding="utf-8")
    r = run(server, ["feeds", "submit", str(f), "--type", "POST_PRODUCT_DATA",
                     "--marketplace", "US", "--json", *FAST], tmp_path)
    assert r.exit_code == 1
    err = json.loads(r.stderr)["error"]
    assert err["type"] == "FeedFailedError" and "2025-07-31" in err["message"]
    r = run(server, ["feeds", "submit", str(tmp_path / "missing.xml"), "--type", "X",
                     "--marketplace", "US"], tmp_path)
    assert r.exit_code == 2 and "cannot read" in r.stderr


def test_submit_json_listings_file(server: EmulatorServer, tmp_path: Path) -> None:
    seller = server.emulator.seller_ids[0]
    sku = sorted(listings(server))[1]
    f = tmp_path / "feed.json"
    f.write_text(json.dumps({"header": {"sellerId": seller, "version": "2.0"}, "messages": [
        {"messageId": 5, "sku": sku, "operationType": "DELETE"}]}), encoding="utf-8")
    r = run(server, ["feeds", "submit", str(f), "--type", "JSON_LISTINGS_FEED",
                     "--marketplace", "US", "--json", *FAST], tmp_path)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["applied"] == [5]
