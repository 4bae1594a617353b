"""A string that never shows itself in a repr, str, log line or traceback."""

from __future__ import annotations

from typing import Any


class Secret:
    """Wraps a credential. ``str()`` and ``repr()`` print a mask; ``reveal()`` returns the value.

    Equality compares values in constant time; ``fingerprint`` is a short hash, safe to log, that
    tells two secrets apart (e.g. which client secret a token store entry belongs to).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a string, got {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        import hashlib

        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        import hmac

        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


def secret_or_none(value: str | Secret | None) -> Secret | None:
    if value is None or value == "":
        return None
    return Secret(value)
