"""Run every check CI runs: the catalog is fresh, ruff, mypy, then the test suite.

    python3 tools/check.py            # all of it
    python3 tools/check.py -- -k auth # extra arguments go to pytest
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    if rc != 0:
        raise SystemExit(rc)


def main() -> None:
    extra = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    py = sys.executable
    run(py, "tools/gen_catalog.py", "--check")
    run(py, "tools/unasync.py", "--check")
    run(py, "-m", "ruff", "check", "sellerkit", "tests", "tools", "bench")
    run(py, "-m", "mypy")
    run(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra)


if __name__ == "__main__":
    main()
