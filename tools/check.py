"""Run every check CI runs: the catalog and vault migrations are fresh, ruff, mypy, then the test suite.

    python3 tools/check.py                  # all of it
    python3 tools/check.py --models DIR     # Amazon's models from DIR (else $SELLERKIT_MODELS_DIR,
                                            # then ../shared/sp-api-models)
    python3 tools/check.py -- -k auth       # extra arguments go to pytest

Without Amazon's models (a fresh clone), the checks that need them (the catalog check and the
model tests) are skipped, each saying why, and everything else runs. In CI (CI=true) the models
must be there and no test may skip: a missing models directory fails the run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from models_source import ENV, locate  # noqa: E402


def run(*cmd: str, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    if rc != 0:
        raise SystemExit(rc)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", metavar="DIR", help="a copy of amzn/selling-partner-api-models")
    args = ap.parse_args(own)
    where = locate(args.models)
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    env = dict(os.environ)
    py = sys.executable
    if where.root is None:
        if where.explicit:
            print(f"check.py: {where.reason}", file=sys.stderr)
            return 2
        if ci:
            print(f"check.py: {where.reason}. CI must have them; nothing may be skipped there.",
                  file=sys.stderr)
            return 1
        print(f"SKIPPED: the catalog check (tools/gen_catalog.py --check) and the model tests: "
              f"{where.reason}", flush=True)
        env.pop(ENV, None)
    else:
        env[ENV] = str(where.root)
        run(py, "tools/gen_catalog.py", "--check", "--models", str(where.root))
        run(py, "tools/gen_pii_fields.py", "--check", "--models", str(where.root))
    run(py, "tools/unasync.py", "--check")
    run(py, "tools/gen_vault_migration.py", "--check")
    run(py, "-m", "ruff", "check", "sellerkit", "tests", "tools", "bench")
    run(py, "-m", "mypy")
    # the suite on every core (at most 4: many tests start servers and subprocesses of their own);
    # (each worker gets a Redis database of its own: tests/conftest.py)
    workers = ["-n", str(min(os.cpu_count() or 1, 4))] if "-n" not in extra else []
    run(py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *workers, *extra, env=env)
    if where.root is None:
        print(f"SKIPPED (see above): the catalog check and the model tests; {where.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
