"""The emulated app's LWA client secrets: expiry, rotation and the notifications about them.

What Amazon documents (sp-api-facts.md §12; research/next-waves.md §4):

- a client secret must be rotated every 180 days; Amazon warns 90 days before the deadline with
  ``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` (payload ``applicationOAuthClientSecretExpiry
  {clientId, clientSecretExpiryTime, clientSecretExpiryReason}``, e.g. ``PERIODIC_ROTATION``);
- ``rotateApplicationClientSecret`` (``POST /applications/2023-11-30/clientSecret``, grantless
  scope ``sellingpartnerapi::client_credential:rotation``, no body) answers 204; the new secret
  is not in the answer but in an ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` notification
  (``applicationOAuthClientNewSecret {clientId, newClientSecret, newClientSecretExpiryTime,
  oldClientSecretExpiryTime}``) on the SQS queue registered in the developer console;
- the old secret keeps working for a while: about 7 days in Amazon's sample (UNCONFIRMED in the
  reference docs), the grace used here;
- both notifications use the camelCase envelope, payload version ``2023-11-30``.

The emulator has no developer console: ``EmulatorConfig.secret_queue_arn`` (``sellerkit
emulator --secret-queue ARN``) is the queue registered there for both types. Without it the
notifications still land in the in-process outbox (``Emulator.notifications``).

When Amazon sends the expiry warning is known only as "90 days before"; here it is sent once per
secret, as soon as the app's current secret is within 90 days of its expiry (at start, or on the
first request after the clock passes that point). ``EmulatorConfig.client_secret_expires_at``
sets the configured secret's expiry (default: 180 days after start). Whether Amazon also sends
one about the old secret after a rotation is unknown: the emulator does not.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["EXPIRY_NOTICE", "OLD_SECRET_GRACE", "SECRET_LIFETIME", "ClientSecrets", "Rotation"]

DAY = 86_400.0
SECRET_LIFETIME = 180 * DAY
OLD_SECRET_GRACE = 7 * DAY
EXPIRY_NOTICE = 90 * DAY
NEW_SECRET = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"  # noqa: S105 - a notification type
SECRET_EXPIRY = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"  # noqa: S105 - a notification type
PAYLOAD_VERSION = "2023-11-30"


@dataclass(frozen=True)
class Rotation:
    """The outcome of one rotation (the new secret is only ever sent to the SQS queue)."""

    new_secret: str
    new_expires_at: float
    old_expires_at: float

    def __repr__(self) -> str:
        return (f"Rotation(new_secret='**********', new_expires_at={self.new_expires_at}, "
                f"old_expires_at={self.old_expires_at})")


class ClientSecrets:
    """Every client secret of the app that LWA may still accept, newest first."""

    def __init__(self, initial: str, *, expires_at: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # [secret, expires_at, warned]
        self._secrets: list[list[Any]] = [[initial, float(expires_at), False]]

    @property
    def current(self) -> str:
        return str(self._secrets[0][0])

    @property
    def current_expires_at(self) -> float:
        return float(self._secrets[0][1])

    def accepts(self, secret: str) -> bool:
        """Whether LWA takes ``secret`` now (compared in constant time, every entry)."""
        now = self._clock()
        ok = False
        for value, expires_at, _ in list(self._secrets):
            match = secrets.compare_digest(secret.encode(), str(value).encode())
            ok = ok or (match and expires_at > now)
        return ok

    def rotate(self) -> Rotation:
        """A new current secret; the previous ones expire within ``OLD_SECRET_GRACE``."""
        now = self._clock()
        new = "amzn1.oa2-cs.v1." + secrets.token_hex(32)
        with self._lock:
            for entry in self._secrets:
                entry[1] = min(float(entry[1]), now + OLD_SECRET_GRACE)
            old_expires = float(self._secrets[0][1])
            self._secrets.insert(0, [new, now + SECRET_LIFETIME, False])
            self._secrets = [e for e in self._secrets if e[1] > now][:10]
        return Rotation(new, now + SECRET_LIFETIME, old_expires)

    def due_warning(self) -> float | None:
        """The current secret's expiry when its warning is due and not sent yet (then it counts
        as sent), else None."""
        now = self._clock()
        with self._lock:
            entry = self._secrets[0]
            if entry[2] or entry[1] - now > EXPIRY_NOTICE or entry[1] <= now:
                return None
            entry[2] = True
            return float(entry[1])

    def dump(self) -> list[list[Any]]:
        with self._lock:
            return [list(e) for e in self._secrets]

    def load(self, data: Any) -> None:
        if not isinstance(data, list):
            return
        loaded = [[str(e[0]), float(e[1]), bool(e[2])] for e in data
                  if isinstance(e, list) and len(e) == 3 and isinstance(e[0], str)]
        if loaded:
            with self._lock:
                self._secrets = loaded


def new_secret_payload(client_id: str, rotation: Rotation, iso: Callable[[float], str]
                       ) -> dict[str, Any]:
    return {"applicationOAuthClientNewSecret": {
        "clientId": client_id, "newClientSecret": rotation.new_secret,
        "newClientSecretExpiryTime": iso(rotation.new_expires_at),
        "oldClientSecretExpiryTime": iso(rotation.old_expires_at)}}


def expiry_payload(client_id: str, expires_at: float, iso: Callable[[float], str],
                   reason: str = "PERIODIC_ROTATION") -> dict[str, Any]:
    return {"applicationOAuthClientSecretExpiry": {
        "clientId": client_id, "clientSecretExpiryTime": iso(expires_at),
        "clientSecretExpiryReason": reason}}
