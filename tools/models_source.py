"""Where Amazon's models are, and which copy of them the catalog was generated from.

A *models root* is a copy of the public repository amzn/selling-partner-api-models: the directory
that holds ``models/`` (the Swagger files) and ``schemas/`` (payload schemas). It is found, first
match wins, at:

1. ``--models DIR`` (``tools/check.py``, ``tools/gen_catalog.py``);
2. the environment variable ``SELLERKIT_MODELS_DIR``;
3. ``../shared/sp-api-models`` beside the repository (the developers' and CI's copy).

The ``models/`` directory itself is accepted as well (``--models`` used to mean that).
``tools/fetch_models.py`` downloads the pinned commit for a machine that has none.

``sellerkit/catalog/data/source.json`` (written by ``tools/gen_catalog.py``) records the commit the
catalog was generated from and the SHA-256 of every file under ``models/`` and ``schemas/``, so
a fetched copy can be checked file by file against the copy the catalog was built from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENV = "SELLERKIT_MODELS_DIR"
REPOSITORY = "amzn/selling-partner-api-models"
DEFAULT_ROOT = ROOT.parent / "shared" / "sp-api-models"
SOURCE_JSON = ROOT / "sellerkit" / "catalog" / "data" / "source.json"
TREES = ("models", "schemas")  # the parts of the repository sellerkit reads
HOW_TO_GET = ("set SELLERKIT_MODELS_DIR to a copy of amzn/selling-partner-api-models, "
              "or run python3 tools/fetch_models.py")
_COMMIT = re.compile(r"\bcommit\s+([0-9a-f]{40})\b")


@dataclass(frozen=True)
class Location:
    """The outcome of looking for the models: ``root`` is None when there are none."""

    root: Path | None
    path: Path  # where we looked
    origin: str  # "--models", "SELLERKIT_MODELS_DIR" or "default"

    @property
    def explicit(self) -> bool:
        return self.origin != "default"

    @property
    def reason(self) -> str:
        """Why there are no models (for skip messages and errors)."""
        where = f"{self.path}" if self.origin == "default" else f"{self.path} ({self.origin})"
        return f"Amazon's models are not at {where}: no models/*/*.json there; {HOW_TO_GET}"


def normalize(path: Path) -> Path:
    """The models root for ``path``, which may also name its ``models/`` directory."""
    path = path.expanduser()
    if not (path / "models").is_dir() and path.name == "models" and path.is_dir():
        return path.parent
    return path


def has_models(root: Path) -> bool:
    return any((root / "models").glob("*/*.json"))


def locate(explicit: str | Path | None = None, env: Mapping[str, str] | None = None) -> Location:
    env = os.environ if env is None else env
    if explicit:
        path, origin = Path(explicit), "--models"
    elif env.get(ENV):
        path, origin = Path(env[ENV]), ENV
    else:
        path, origin = DEFAULT_ROOT, "default"
    root = normalize(path)
    return Location(root if has_models(root) else None, path, origin)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under the trees sellerkit reads, by POSIX path relative to ``root``."""
    out: dict[str, str] = {}
    for tree in TREES:
        for p in sorted((root / tree).rglob("*")):
            if p.is_file():
                out[p.relative_to(root).as_posix()] = sha256_file(p)
    return dict(sorted(out.items()))


def commit_of(root: Path) -> str | None:
    """The commit named in ``root/SOURCE.txt`` (the shared copy's note; fetch_models writes one)."""
    note = root / "SOURCE.txt"
    if not note.is_file():
        return None
    m = _COMMIT.search(note.read_text(encoding="utf-8", errors="replace"))
    return m.group(1) if m else None


def recorded_source(path: Path = SOURCE_JSON) -> dict[str, Any]:
    """The source record the checked-in catalog was generated from."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def data_file_main(tool: str, output: Path, make: Callable[[Path], str],
                   argv: list[str] | None = None, *, description: str | None = None,
                   summary: Callable[[str], str] | None = None) -> int:
    """The command line of a generator that derives one checked-in data file from the models:
    ``--models DIR`` (else ``SELLERKIT_MODELS_DIR``, else ``../shared/sp-api-models``) and
    ``--check`` (exit 1 when the file is stale). ``make(models_root)`` renders the file's text;
    ``summary(text)`` may add to the "wrote" line."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--models", type=Path, default=None,
                    help="the sp-api-models checkout; default: $SELLERKIT_MODELS_DIR, else "
                         "../shared/sp-api-models")
    ap.add_argument("--check", action="store_true", help="fail if the checked-in file is stale")
    args = ap.parse_args(argv)
    where = locate(args.models)
    if where.root is None:
        print(f"{tool}: {where.reason}", file=sys.stderr)
        return 2
    text = make(where.root)
    shown = output.relative_to(ROOT)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"{shown} is stale: run python3 tools/{tool}.py", file=sys.stderr)
            return 1
        print(f"{shown} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {shown}" + (f" ({summary(text)})" if summary else ""))
    return 0
