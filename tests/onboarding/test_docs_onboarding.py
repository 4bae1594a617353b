"""The Python examples of docs/onboarding.md run as written (a fresh interpreter, no profile,
no credentials in the environment), and the flags the page names exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_docs_examples import ROOT, blocks, run_doc, with_checks


def test_the_onboarding_doc_examples_run(tmp_path: Path) -> None:
    code = blocks("docs/onboarding.md")
    assert code
    r = run_doc(with_checks("\n".join(code)), tmp_path)
    assert r.returncode == 0, r.stderr


def test_the_emulator_switches_the_docs_name_exist() -> None:
    from typer.testing import CliRunner

    from sellerkit.cli.main import app

    text = (ROOT / "docs" / "onboarding.md").read_text(encoding="utf-8")
    flags = set(re.findall(r"sellerkit emulator ((?:--[\w-]+))", text))
    assert flags >= {"--lwa-fault", "--clock-skew", "--missing-role", "--faults"}
    help_text = CliRunner().invoke(app, ["emulator", "--help"], env={"COLUMNS": "200"}).stdout
    for flag in (*flags, "--no-rdt"):
        assert flag in help_text
