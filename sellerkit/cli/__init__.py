"""The ``sellerkit`` command line. ``sellerkit.cli.main`` builds the app; each command group
lives in its own module with a ``register(app)`` function and imports what it needs lazily, so
``sellerkit --help`` stays fast.

Small helpers shared by command modules live here: ``print_json`` for ``--json`` output (plain
stdout, never rich markup or wrapping) and ``UserError`` for failures that are the user's to fix.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from sellerkit.errors import SellerkitError

__all__ = ["UserError", "print_json"]


class UserError(SellerkitError):
    """A command-line mistake (an unknown name, a bad combination of options); exits with 2."""


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout, for ``--json`` output meant for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
