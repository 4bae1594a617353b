"""The dry-run examples of docs/aws.md run as written and print what the page shows.

A ```console block after ``<!-- docs-example: dry-run -->`` holds ``$ sellerkit ...`` lines (dry
runs or refusals: they make no call, so they need no AWS and no emulator) followed by their
output; ``...`` stands for lines left out. Every shown line must appear in what the command
prints, in that order.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("boto3")

DOC = Path(__file__).resolve().parents[2] / "docs" / "aws.md"
MARK = re.compile(r"<!-- docs-example: dry-run -->\n```console\n(.*?)\n```", re.S)
EXAMPLES = MARK.findall(DOC.read_text(encoding="utf-8"))


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("block", EXAMPLES, ids=[f"example{i + 1}" for i in range(len(EXAMPLES))])
def test_example_prints_what_the_page_shows(block: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    from sellerkit.cli.main import app

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("COLUMNS", "400")
    lines = block.splitlines()
    command, shown = lines[0], lines[1:]
    assert command.startswith("$ sellerkit aws ")
    argv = shlex.split(command[2:])[1:]
    config = tmp_path / "config.toml"
    result = CliRunner().invoke(app, argv, env={"SELLERKIT_CONFIG": str(config)})
    printed = [line.rstrip() for line in (result.stdout + result.stderr).splitlines()]
    refused = any(line.startswith("error:") for line in shown)
    assert result.exit_code == (2 if refused else 0), result.stdout + result.stderr
    at = 0
    for line in shown:
        if line == "...":
            continue
        while at < len(printed) and printed[at] != line.rstrip():
            at += 1
        assert at < len(printed), f"not printed (in this order): {line!r}\n" + "\n".join(printed)
        at += 1
    assert not config.exists()  # a dry run writes no profile
