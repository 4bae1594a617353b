"""inventory (filled in below)."""

from __future__ import annotations

from typing import Any

HANDLERS: dict[str, Any] = {}
