"""Text helpers for tables that must stay readable in 80 columns."""

from __future__ import annotations

import re

__all__ = ["break_identifier"]

# Places an identifier may break: after "/", "_", "-", "." or a space, and before the capital
# of a camelCase word. Never inside a word or a number.
_BREAKS = re.compile(r"(?<=[/_\-. ])|(?<=[a-z0-9])(?=[A-Z])")


def break_identifier(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken only between its parts
    (``fulfillment_inbound_`` / ``2024_03_20``, ``GET /orders/`` / ``v0/orders``). A part longer
    than ``width`` stays whole on its own line."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    line = ""
    for part in (p for p in _BREAKS.split(text) if p):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = part
        else:
            line += part
    if line:
        lines.append(line)
    return "\n".join(lines)
