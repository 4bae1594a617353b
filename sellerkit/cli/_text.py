"""Text helpers for tables that must stay readable in 80 columns."""

from __future__ import annotations

import re

__all__ = ["break_identifier"]

# Places an identifier may break, strongest first: after ".", "/" or a space; then after "_"
# or "-", or before the capital of a camelCase word. Never inside a word or a number.
_PRIMARY = re.compile(r"(?<=[./ ])")
_SECONDARY = re.compile(r"(?<=[_\-])|(?<=[a-z0-9])(?=[A-Z])")


def _fill(parts: list[str], width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for part in parts:
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = part
        else:
            line += part
    if line:
        lines.append(line)
    return lines


def break_identifier(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken only between its parts:
    ``services_v1.`` / ``rescheduleAppointment...``, ``GET /orders/`` / ``v0/orders``; a part
    still too long breaks after ``_`` or between camelCase words. A single word longer than
    ``width`` stays whole on its own line."""
    if len(text) <= width:
        return text
    lines: list[str] = []
    pending: list[str] = []
    for part in (p for p in _PRIMARY.split(text) if p):
        if len(part) > width:  # on lines of its own, so no fragment sticks to the next part
            lines += _fill(pending, width) + _fill([p for p in _SECONDARY.split(part) if p],
                                                   width)
            pending = []
        else:
            pending.append(part)
    return "\n".join(lines + _fill(pending, width))
