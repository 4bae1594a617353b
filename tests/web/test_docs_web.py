"""The Python example of docs/web.md runs as written (in a temp dir, in this process)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_page_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)  # the example's vault is a relative SQLite path
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "docs/web.md", "exec"), {"__name__": "docs_web_example"})  # noqa: S102
    assert out.getvalue().strip() == "http://127.0.0.1:8787/apps/authorize/consent"
    assert (tmp_path / "web-demo.sqlite3").exists()
