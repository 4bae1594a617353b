"""The marked examples of docs/sync.md run as written and print what their comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "sync.md"
BLOCKS = re.findall(r"<!-- docs-example -->\n```python\n(.*?)```", DOC.read_text(encoding="utf-8"),
                    flags=re.S)


def test_the_page_has_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_example_runs_and_prints_what_it_says(code: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})  # noqa: S102 - our own documentation
    printed = [line.strip() for line in out.getvalue().splitlines()]
    claimed = [m.group(1).strip() for line in code.splitlines()
               if (m := re.search(r"print\(.*\)\s+#\s*(.+)$", line))]
    assert claimed
    assert printed == claimed
