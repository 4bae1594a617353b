"""Helpers the governance tests (audit, users, monitor) share: a vault with a settable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sellerkit.vault import Vault


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def open_vault(url: str, tmp_path: Path, clock: Clock | None = None) -> Vault:
    """A vault at ``url`` with its key in a file under ``tmp_path`` (the same key every time)."""
    key = tmp_path / "vault.key"
    return Vault.open(url, key=f"file:{key}", clock=clock or Clock())

