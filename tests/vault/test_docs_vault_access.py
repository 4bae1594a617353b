"""docs/vault-access.md runs as written: its Python blocks in order in one fresh interpreter
(``expr  # 'value'`` lines checked), then its console commands on the vault they made,
each printing what the page shows under it (``...`` ends what is shown) and failing only where
the page shows an error."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerkit.cli.main import app
from tests.test_docs_examples import _console_commands, blocks, run_doc, with_checks

runner = CliRunner()

PAGE = "docs/vault-access.md"


def test_the_vault_access_page_runs_as_written(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code = blocks(PAGE)
    assert len(code) >= 3
    r = run_doc(with_checks("\n".join(code)), tmp_path)
    assert r.returncode == 0, r.stderr[-4000:]
    assert (tmp_path / "vault-demo.sqlite3").exists()

    # The commands run in this process (CliRunner: what a user sees, without paying for a new
    # interpreter and its imports per command); a `printf ... |` before one is its stdin.
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SELLERKIT_")}
    env.update({"SELLERKIT_CONFIG": os.devnull, "COLUMNS": "100"})
    commands = _console_commands(PAGE)
    assert len(commands) >= 10
    monkeypatch.chdir(tmp_path)
    for cmd, shown in commands:
        if cmd.startswith("export "):
            name, _, value = cmd.removeprefix("export ").partition("=")
            env[name] = value
            continue
        feed, _, rest = cmd.rpartition("|") if "|" in cmd else ("", "", cmd)
        stdin = subprocess.run(["bash", "-c", feed], capture_output=True, text=True,
                               check=True).stdout if feed else None
        args = shlex.split(rest)
        assert args[0] == "sellerkit", cmd
        res = runner.invoke(app, args[1:], input=stdin, env=env)
        printed = res.stdout + res.stderr
        assert res.exception is None or isinstance(res.exception, SystemExit), (cmd, printed)
        shows_error = any(line.startswith("error:") for line in shown)
        assert (res.exit_code != 0) == shows_error, (cmd, res.exit_code, printed[-2000:])
        for line in shown:
            start = line.split("...", 1)[0].strip()
            assert start in printed, (cmd, line, printed[-2000:])
    assert (tmp_path / "report-bot.key").read_text().startswith("skv1_")
