"""Where the limiter's last snapshot lives between a run and ``sellerkit limits``.

The file is ``limits.json`` in ``platformdirs.user_state_dir("sellerkit")``, or in
``$SELLERKIT_STATE_DIR`` when set (read at call time). It holds bucket counters and opaque
credential hashes, never a secret; it is still written 0600, via a temp file, fsync and rename,
so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sellerkit._files import write_private

if TYPE_CHECKING:
    from sellerkit.ratelimit._base import BucketState

__all__ = ["default_snapshot_path", "read_snapshot", "write_snapshot"]

FILE_NAME = "limits.json"


def default_snapshot_path() -> Path:
    env = os.environ.get("SELLERKIT_STATE_DIR")
    if env:
        return Path(env) / FILE_NAME
    import platformdirs

    return Path(platformdirs.user_state_dir("sellerkit")) / FILE_NAME


def write_snapshot(states: Iterable[BucketState], path: str | Path | None = None, *,
                   backend: str = "") -> Path:
    target = Path(path) if path is not None else default_snapshot_path()
    doc = {
        "version": 1,
        "saved_at": time.time(),
        "backend": backend,
        "buckets": [s.to_dict() for s in states],
    }
    return write_private(target, json.dumps(doc, indent=1) + "\n")


def read_snapshot(path: str | Path | None = None) -> dict[str, Any] | None:
    """The saved snapshot, or None when no run has saved one yet."""
    target = Path(path) if path is not None else default_snapshot_path()
    try:
        with open(target, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("buckets"), list):
        raise ValueError(f"{target} is not a sellerkit limits snapshot")
    return doc
