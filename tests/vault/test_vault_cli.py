"""``sellerkit vault init|status|rotate-key|show``: one process per test through Typer's runner
(the vault is a SQLite file under tmp_path; no stdin)."""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import re
import shlex
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from sellerkit.vault import Role, Vault
from sellerkit.vault.roles import SYSTEM
from tests.vault._orders_data import canary, emulator_orders, v0_payloads

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "data" / "vault.sqlite3"
    monkeypatch.setenv("SELLERKIT_VAULT_URL", f"sqlite:///{db}")
    for name in ("SELLERKIT_VAULT_KEY", "SELLERKIT_USER"):
        monkeypatch.delenv(name, raising=False)
    return db


def _run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_init_creates_database_key_and_admin_then_status(env: Path) -> None:
    code, out, err = _run("vault", "init")
    assert code == 0, err
    key_file = env.with_name("vault.key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert str(env) in out and str(key_file) in out and "fingerprint" in out
    assert f"{getpass.getuser()} (your OS login name) is the vault's first admin" in out
    code, out, _ = _run("vault", "init")  # again: nothing new
    assert code == 0 and "already has 1 user" in out

    code, out, err = _run("vault", "status", "--json")
    assert code == 0, err
    status = json.loads(out)
    assert status["backend"] == "sqlite" and status["encryption"] == "AES-256-GCM"
    assert status["key"]["provider"] == "file" and status["key"]["ref"] == str(key_file)
    assert status["key"]["age_days"] == 0 and status["counts"]["users"] == 1
    code, out, _ = _run("vault", "status")
    assert code == 0 and "data keys:" in out and "1 users" in out


def _seed(db: Path) -> str:
    with Vault.open(f"sqlite:///{db}") as v:
        v.users.add(SYSTEM, "ann", Role.ANALYST)
        with v.write() as conn:
            sid = v.connections.ensure_seller(conn, "A2S", "na")
            orders, items, buyers, addresses = v0_payloads(emulator_orders(3))
            v.orders.upsert_orders(conn, sid, "v0", orders, items=items, buyers=buyers,
                                   addresses=addresses)
    return str(orders[0]["AmazonOrderId"])


def test_show_with_and_without_pii(env: Path) -> None:
    assert _run("vault", "init")[0] == 0
    oid = _seed(env)
    code, out, err = _run("vault", "show", oid)
    assert code == 0, err
    assert oid in out and "item" in out and canary(0)["name"] not in out
    code, out, _ = _run("vault", "show", oid, "--pii", "--purpose", "print the label", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["pii"]["buyer"]["email"] == canary(0)["email"]
    code, out, _ = _run("vault", "show", oid, "--pii", "--purpose", "label")
    assert canary(0)["name"] in out and canary(0)["line1"] in out
    code, _, err = _run("vault", "show", oid, "--pii")
    assert code == 2 and "--pii needs --purpose" in err
    code, out, err = _run("vault", "show", oid, "--pii", "--purpose", "nosy", "--user", "ann")
    assert code == 2 and "role analyst" in err and canary(0)["name"] not in out + err
    code, _, err = _run("vault", "show", oid, "--user", "nobody")
    assert code == 2 and "nobody" in err and "Traceback" not in err
    with Vault.open(f"sqlite:///{env}") as v:
        outcomes = [(e.actor, e.outcome) for e in v.audit.events(SYSTEM, action="pii.read")]
    me = getpass.getuser()
    assert outcomes == [(me, "ok"), (me, "ok"), ("ann", "denied")]


def test_rotate_key_from_the_command_line(env: Path, tmp_path: Path) -> None:
    assert _run("vault", "init")[0] == 0
    oid = _seed(env)
    new = tmp_path / "keys" / "new.key"
    code, out, err = _run("vault", "rotate-key", "--new-key", f"file:{new}")
    assert code == 0, err
    assert "3 data keys" in out and "retired" in out
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    env.with_name("vault.key").unlink()  # the old key is not needed any more
    code, out, err = _run("vault", "show", oid, "--pii", "--purpose", "after rotation", "--json")
    assert code == 0, err
    assert json.loads(out)["pii"]["buyer"]["name"] == canary(0)["name"]
    code, _, err = _run("vault", "rotate-key", "--new-key", f"file:{new}", "--user", "ann")
    assert code == 2 and "may not rotate the vault key" in err


def test_a_wrong_key_is_one_line_naming_the_needed_fingerprint(env: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    code, out, _ = _run("vault", "init", "--json")
    fp = json.loads(out)["key"]["fingerprint"]
    monkeypatch.setenv("OTHER_KEY", "ab" * 32)
    code, out, err = _run("vault", "status", "--key", "env:OTHER_KEY")
    assert code == 2 and fp in err and "Traceback" not in err and "ab" * 32 not in err


# -- docs/vault.md: its marked examples run as written -------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "vault.md"
PY_MARK = re.compile(r"<!-- docs-example: vault -->\n```python\n(.*?)\n```", re.S)
SH_MARK = re.compile(r"<!-- docs-example: vault-cli -->\n```sh\n(.*?)\n```", re.S)


def test_the_python_examples_of_docs_vault_run(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    examples = PY_MARK.findall(DOC.read_text())
    assert len(examples) >= 4
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SELLERKIT_VAULT_KEY", raising=False)
    monkeypatch.delenv("DEMO_VAULT_KEY", raising=False)
    printed = []
    for n, code in enumerate(examples):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"docs/vault.md#{n + 1}", "exec"), {"__name__": "doc"})  # noqa: S102
        printed.append(out.getvalue())
        assert out.getvalue().strip(), f"example {n + 1} printed nothing"
    text = "\n".join(printed)
    assert "AES-256-GCM" in text and "refused: True" in text
    assert "'1 Pine St'" in text and "denied:" in text and "111-0000002-0000002" in text
    assert "Bo Ray" not in printed[3].split("denied:")[0]  # the analyst's part shows no PII


def test_the_cli_example_of_docs_vault_runs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (block,) = SH_MARK.findall(DOC.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SELLERKIT_VAULT_URL", f"sqlite:///{tmp_path / 'demo-vault' / 'v.db'}")
    monkeypatch.delenv("SELLERKIT_VAULT_KEY", raising=False)
    for line in block.splitlines():
        args = shlex.split(line)
        assert args[0] == "sellerkit"
        code, out, err = _run(*args[1:])
        assert code == 0, (line, err)
    assert json.loads(out)["key"]["ref"] == str(tmp_path / "demo-vault" / "new.key")


def test_commands_other_than_init_do_not_create_a_vault(env: Path) -> None:
    for args in (["vault", "status"], ["vault", "show", "111-1"],
                 ["vault", "rotate-key", "--new-key", "env:X"], ["users", "list"],
                 ["vault", "audit", "verify"], ["vault", "purge"], ["vault", "inventory"],
                 ["incident", "list"], ["vault", "alerts", "list"], ["sync", "orders"]):
        code, _, err = _run(*args)
        assert code == 2 and "there is no vault at" in err and "vault init" in err, args
    assert not env.exists() and not env.with_name("vault.key").exists()
