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


def _pre_core_vault(url: str, clock: Clock | None) -> Vault:  # until vault-core is merged
    from sellerkit.vault import store
    from sellerkit.vault.audit import AuditLog

    engine = store.create_vault_engine(url)
    store.migrate(engine)
    v = Vault(engine, None, clock=clock or Clock())
    v.__dict__["audit"] = AuditLog(v, key=b"k" * 32)
    return v


try:
    import sellerkit.vault.keys  # noqa: F401
except ImportError:
    open_vault = lambda url, tmp_path, clock=None: _pre_core_vault(url, clock)  # noqa: E731
