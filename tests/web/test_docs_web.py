"""The Python example of docs/web.md runs as written (in a fresh interpreter, in a temp dir)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_page_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) == 1
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SELLERKIT_", "LWA_", "SP_API_"))}
    env.update(HOME=str(tmp_path), SELLERKIT_CONFIG=os.devnull, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "http://127.0.0.1:8787/apps/authorize/consent"
