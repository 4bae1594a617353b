"""``hx``: httpx's exception types, imported on first use.

The wires raise httpx's exceptions and the clients catch them (``except hx.HTTPError``), but
httpx costs ~100 ms to import and a call that succeeds never needs it: ``hx.X`` imports httpx
only when it is evaluated, which for an ``except`` clause is when something was raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx as hx
else:

    class _LazyHttpx:
        def __getattr__(self, name: str) -> Any:
            import httpx

            return getattr(httpx, name)

        def __repr__(self) -> str:
            return "<httpx, imported on first use>"

    hx = _LazyHttpx()

__all__ = ["hx"]
