"""The CLI: sellerkit vault purge/retention/hold/holds/release/inventory/export/decrypt-export/
evidence/config and sellerkit incident ..., in-process, on a fresh SQLite vault; and the
walkthrough of docs/vault-retention.md, run as written."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import typer.testing
from typer.testing import CliRunner

from sellerkit.vault import Vault
from tests.vault.ret_helpers import PII_VALUES, seed_order

ROOT = Path(__file__).resolve().parents[2]
_BUILT: dict[int, Any] = {}


def _built_once(app: Any) -> Any:
    # Typer rebuilds the whole click tree (every command's signature) on each invoke: ~0.4 s
    # here; the tree does not change between invocations, so build it once for this module.
    if id(app) not in _BUILT:
        _BUILT[id(app)] = typer.main.get_command(app)
    return _BUILT[id(app)]


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.env: dict[str, str | None] = {k: None for k in os.environ
                                           if k.startswith("SELLERKIT_")
                                           and not k.startswith("SELLERKIT_TEST_")}
        self.env.update({"SELLERKIT_VAULT_URL": f"sqlite:///{tmp_path / 'vault.sqlite3'}",
                         "SELLERKIT_VAULT_KEY": f"file:{tmp_path / 'vault.key'}",
                         "SELLERKIT_USER": "admin", "COLUMNS": "200"})

    def vault(self) -> Vault:
        return Vault.open(self.env["SELLERKIT_VAULT_URL"], key=self.env["SELLERKIT_VAULT_KEY"])

    def __call__(self, *args: str, ok: bool = True, user: str | None = None) -> tuple[int, str, str]:
        from sellerkit.cli.main import app

        env = dict(self.env)
        if user:
            env["SELLERKIT_USER"] = user
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            with mock.patch.object(typer.testing, "_get_command", _built_once):
                r = CliRunner().invoke(app, list(args), env=env)
        finally:
            os.chdir(cwd)
        if ok:
            assert r.exit_code == 0, (args, r.stdout, r.stderr, r.exception)
        return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    c = Cli(tmp_path)
    with c.vault() as v:
        v.users.bootstrap_admin("admin")
        v.users.add(v.users.cli_principal("admin"), "ann", "analyst")
    yield c


def test_purge_holds_and_retention_status(cli: Cli) -> None:
    with cli.vault() as v:
        now = datetime.now(UTC)
        seed_order(v, "118-0000001-0000001", purchase=now - timedelta(days=50),
                   delivered=now - timedelta(days=40))
        seed_order(v, "118-0000002-0000002", purchase=now - timedelta(days=50),
                   delivered=now - timedelta(days=40))
    _, out, _ = cli("vault", "retention")
    assert "policy dpp-2025-11-11" in out and "overdue now: 2" in out
    code, _, err = cli("vault", "hold", "--scope", "order", "--target", "118-0000002-0000002",
                       "--retain-days", "60", ok=False)
    assert code == 2 and "reason" in err
    _, out, _ = cli("vault", "hold", "--scope", "order", "--target", "118-0000002-0000002",
                    "--retain-days", "60", "--reason", "tax audit", "--json")
    hold_id = json.loads(out)["id"]
    _, out, _ = cli("vault", "purge", "--dry-run")
    assert "dry run" in out and "118-" not in out
    _, out, _ = cli("vault", "purge", "--json")
    report = json.loads(out)
    assert report["counts"]["orders_pii_erased"] == 1 and report["counts"]["orders_pii_held"] == 1
    assert "118-" not in out and not any(p in out for p in PII_VALUES)
    _, out, _ = cli("vault", "holds", "--json")
    assert [h["id"] for h in json.loads(out)] == [hold_id]
    cli("vault", "release", str(hold_id))
    _, out, _ = cli("vault", "holds")
    assert "no legal holds" in out
    _, out, _ = cli("vault", "purge")
    assert re.search(r"orders pii erased\s+.*1", out)
    code, _, err = cli("vault", "purge", user="ann", ok=False)
    assert code == 2 and "may not" in err


def test_inventory_export_and_decrypt(cli: Cli, tmp_path: Path) -> None:
    _, out, _ = cli("vault", "inventory", "--json")
    kinds = {i["kind"]: i for i in json.loads(out)}
    assert kinds["database"]["status"] == "pii-field-encrypted"
    assert kinds["key_file"]["mode"] == "0600"
    _, out, _ = cli("vault", "export", "--out", "orders.skx", "--json")
    assert json.loads(out)["records"] == 0
    assert (tmp_path / "orders.skx").read_bytes().startswith(b"sellerkit-export 1\n")
    _, out, _ = cli("vault", "decrypt-export", "orders.skx")
    assert json.loads(out) == {"what": "orders", "records": []}
    _, out, _ = cli("vault", "inventory")
    assert "orders.skx" in out and "encrypted" in out
    code, _, err = cli("vault", "export", "--out", "p.skx", "--pii", ok=False)
    assert code == 2 and "purpose" in err
    code, _, err = cli("vault", "export", "--out", "x.skx", "--since", "yesterday", ok=False)
    assert code == 2 and "ISO 8601" in err


def test_config_incidents_and_evidence(cli: Cli, tmp_path: Path) -> None:
    _, out, _ = cli("vault", "config", "list")
    assert "incident_contact = (unset)" in out
    code, _, err = cli("vault", "config", "set", "incident_contact", "Dana", ok=False)
    assert code == 2 and "Name <email>" in err
    cli("vault", "config", "set", "incident_contact", "Dana Ops <security@example.com>")
    _, out, _ = cli("vault", "config", "get", "incident_contact")
    assert out.strip() == "Dana Ops <security@example.com>"
    code, _, err = cli("vault", "config", "set", "retention.pii_days", "60", ok=False)
    assert code == 2 and "legal hold" in err
    detected = (datetime.now(UTC) - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%MZ")
    _, out, _ = cli("incident", "open", "Token leaked", "--detected-at", detected, "--json")
    iid = json.loads(out)["id"]
    _, out, _ = cli("incident", "list")
    assert "OVERDUE by 6h" in out
    _, out, _ = cli("incident", "list", "--json")
    assert json.loads(out)[0]["overdue"] is True
    _, out, _ = cli("incident", "draft", str(iid))
    assert "Dana Ops <security@example.com>" in out and "UNCONFIRMED" in out
    cli("incident", "notified", str(iid))
    _, out, _ = cli("incident", "close", str(iid), "--resolution", "rotated")
    assert "closed" in out
    code, _, err = cli("incident", "open", "x", "--detected-at", "2026-05-01T09:00", ok=False)
    assert code == 2 and "time zone" in err
    cli("vault", "evidence", "--out", "pack")
    assert sorted(p.name for p in (tmp_path / "pack").iterdir()) == [
        "data-flow.svg", "evidence.json", "evidence.md"]
    assert "Dana Ops" in (tmp_path / "pack" / "evidence.md").read_text()


def test_the_docs_walkthrough_runs_as_written(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "vault-retention.md").read_text()
    block = re.search(r"```console\n(.*?)```", text, re.S)
    assert block is not None
    lines = [ln.removeprefix("$ ") for ln in block.group(1).splitlines() if ln.startswith("$ ")]
    assert lines[0] == "sellerkit vault init" and len(lines) > 10
    cli = Cli(tmp_path)
    cli.env["SELLERKIT_USER"] = None  # as in the docs: the OS login name, made admin by init
    for line in lines:
        argv = shlex.split(line)
        assert argv[0] == "sellerkit"
        cli(*argv[1:])
    assert (tmp_path / "notice.txt").exists() and (tmp_path / "evidence" / "evidence.md").exists()
