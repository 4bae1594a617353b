"""Per-call options, kept apart from API parameters.

``CallOptions`` fields default to ``UNSET`` (not ``None``): an unset field falls back to the
client's setting, while an explicit ``None`` means "none" (e.g. ``timeout=None``: no timeout
beyond the client's hard cap is not allowed, so ``None`` there means the client default).
Precedence: call > client > built-in default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final


class _Unset:
    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True)
class CallOptions:
    """Options for one call.

    timeout: seconds for one HTTP attempt (connect, send and read), never the wait for quota.
    max_wait: seconds a call may wait for rate-limit capacity (0 fails fast, None: as long as
        the quota requires); unset: the client's (``paginate`` and ``sellerkit.bulk``: None).
    max_attempts: attempts including the first (1 disables retries).
    rdt: False to call a restricted operation with the plain access token (no buyer data).
    rdt_data_elements: data elements for the Restricted Data Token (e.g. ``["buyerInfo"]``).
    restricted_data_token: an RDT you obtained yourself; sent instead of the access token.
    headers: extra request headers.
    """

    timeout: float | _Unset = UNSET
    max_wait: float | _Unset = UNSET
    max_attempts: int | _Unset = UNSET
    rdt: bool = True
    rdt_data_elements: Sequence[str] | _Unset = UNSET
    restricted_data_token: str | _Unset = UNSET
    headers: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown: dict[str, Any] = {}
        for name in ("timeout", "max_wait", "max_attempts", "rdt_data_elements"):
            v = getattr(self, name)
            if v is not UNSET:
                shown[name] = v
        if not self.rdt:
            shown["rdt"] = False
        if self.restricted_data_token is not UNSET:
            shown["restricted_data_token"] = "**********"  # noqa: S105 (a mask)
        if self.headers:
            shown["headers"] = list(self.headers)
        return "CallOptions(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


DEFAULT_OPTIONS: Final = CallOptions()
