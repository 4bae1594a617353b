"""Every Python example in docs/workflows.md runs, and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_example_runs_and_prints_what_it_says(code: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {})  # noqa: S102 - our own documentation
    printed = out.getvalue().splitlines()
    claimed = [(i, m.group(1).strip()) for i, line in enumerate(code.splitlines())
               if "print(" in line and (m := re.search(r"print\(.*\)\s+#\s*(.+)$", line))]
    for _, comment in claimed:
        expected = comment.split(":")[0].strip() if comment.startswith("False:") else comment
        assert any(line.strip() == expected.strip() for line in printed), (comment, printed)
