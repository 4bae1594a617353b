"""What onboarding remembers between runs that is not configuration: the LWA client secret's expiry.

Amazon announces a client secret's end with the ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY``
notification and delivers a rotated one with ``APPLICATION_OAUTH_CLIENT_NEW_SECRET``.
``sellerkit secrets rotate`` records what it learns here; ``doctor`` and ``road`` read it.

The file is ``onboarding.json`` in ``$SELLERKIT_STATE_DIR`` or the user state directory, written
0600 and atomically. It holds no secret: a client id, dates and where the fact came from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sellerkit._files import write_private

__all__ = ["SecretExpiry", "default_state_path", "read_secret_expiry", "record_secret_expiry"]

FILE_NAME = "onboarding.json"


def default_state_path() -> Path:
    env = os.environ.get("SELLERKIT_STATE_DIR")
    if env:
        return Path(env) / FILE_NAME
    import platformdirs

    return Path(platformdirs.user_state_dir("sellerkit")) / FILE_NAME


@dataclass(frozen=True)
class SecretExpiry:
    """When the client secret of ``client_id`` stops working, as last learnt from ``source``."""

    client_id: str
    expires_at: datetime
    recorded_at: datetime
    source: str  # e.g. "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY", "secrets rotate"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a damaged state file only loses remembered dates; doctor re-learns them
    return data if isinstance(data, dict) else {}


def record_secret_expiry(profile: str, *, client_id: str, expires_at: datetime, source: str,
                         path: Path | None = None, now: datetime | None = None) -> SecretExpiry:
    """Remember the secret expiry of ``profile``'s app (replacing what was known before)."""
    target = path or default_state_path()
    data = _read(target)
    entry = SecretExpiry(client_id, expires_at.astimezone(UTC),
                         (now or datetime.now(UTC)).astimezone(UTC), source)
    profiles = data.setdefault("secret_expiry", {})
    profiles[profile] = {"client_id": entry.client_id, "expires_at": entry.expires_at.isoformat(),
                         "recorded_at": entry.recorded_at.isoformat(), "source": entry.source}
    write_private(target, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return entry


def read_secret_expiry(profile: str, *, path: Path | None = None) -> SecretExpiry | None:
    """The last recorded secret expiry of ``profile``, or None when nothing was recorded."""
    entry = _read(path or default_state_path()).get("secret_expiry", {}).get(profile)
    if not isinstance(entry, dict):
        return None
    try:
        return SecretExpiry(str(entry["client_id"]), datetime.fromisoformat(entry["expires_at"]),
                            datetime.fromisoformat(entry["recorded_at"]), str(entry["source"]))
    except (KeyError, TypeError, ValueError):
        return None
