"""Rotating the LWA client secret, and keeping track of when it expires.

``rotate_client_secret`` (``sellerkit secrets rotate --queue-url URL``):

1. checks that the SQS queue can be read (before anything changes at Amazon);
2. calls ``rotateApplicationClientSecret`` (grantless, scope
   ``sellingpartnerapi::client_credential:rotation``: the client's catalog knows the scope and
   fetches the client_credentials token itself); Amazon answers 204, without the secret;
3. waits on the queue (long polling) for ``APPLICATION_OAUTH_CLIENT_NEW_SECRET`` of this client
   id, published after the call: the new secret arrives only there, on the queue registered in
   the Solution Provider Portal (Notification Preferences);
4. stores the new secret where the profile keeps its secrets (the OS keyring or the 0600 config
   file), deletes the message (it holds the secret), and verifies the secret with an LWA token
   exchange (the refresh token when the profile has one, else a grantless token);
5. records the new secret's expiry (``sellerkit.onboarding.state``) and reports the old one's
   (about 7 days after the rotation; sp-api-facts.md §12).

``APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY`` notices met on the way are recorded too, and
``watch`` (``sellerkit secrets watch``) consumes a queue for both types: expiry notices are
recorded for every profile of that client id (``doctor`` and ``road`` read them), a new secret
(from a rotation started elsewhere, e.g. in the portal) is stored and verified like above.
A notice older than what is already recorded (an expiry warning published before the last
rotation, delivered late: SQS standard queues do not keep order) is deleted, not recorded.
Other notifications on the queue are left there, for their own consumers.

Nothing here prints or logs a secret: messages carry masked values only.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerkit._secret import Secret
from sellerkit.errors import ConfigurationError, SellerkitError
from sellerkit.onboarding.secrets import Storage

__all__ = [
    "NEW_SECRET",
    "ROTATION_SCOPE",
    "SECRET_EXPIRY",
    "RotationResult",
    "RotationTimeoutError",
    "WatchStats",
    "rotate_client_secret",
    "watch",
]

NEW_SECRET = "APPLICATION_OAUTH_CLIENT_NEW_SECRET"  # noqa: S105 - a notification type
SECRET_EXPIRY = "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY"  # noqa: S105 - a notification type
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
ROTATE_OPERATION = "application_management_2023_11_30.rotateApplicationClientSecret"
VERIFY_SCOPE = "sellingpartnerapi::notifications"
# a new-secret notice published this long before our call still counts as ours (clock skew)
_SKEW = timedelta(minutes=5)
_AMAZON_PRINCIPAL = "arn:aws:iam::437568002678:root"


class RotationTimeoutError(SellerkitError):
    """The rotation was requested but its new secret did not arrive on the queue in time."""

    exit_code = 1


@dataclass(frozen=True)
class RotationResult:
    profile: str
    client_id: str
    storage: Storage
    new_expires_at: datetime | None
    old_expires_at: datetime | None
    verified: bool
    verify_error: str | None = None
    expiry_notices: int = 0
    notes: tuple[str, ...] = ()


@dataclass
class WatchStats:
    received: int = 0
    expiry_recorded: int = 0
    secrets_stored: int = 0
    stale: int = 0
    left: int = 0
    events: list[str] = field(default_factory=list)


def _sqs(queue_url: str, sqs: Any, endpoint_url: str | None, region: str | None) -> Any:
    from sellerkit.workflows.notification_consumer import _boto3_client, _region_of

    if not queue_url.startswith(("https://", "http://")):
        raise ConfigurationError(f"--queue-url {queue_url!r} is not an SQS queue URL "
                                 "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME; an ARN is not "
                                 "a URL)")
    if sqs is not None:
        return sqs
    return _boto3_client(endpoint_url, region or _region_of(queue_url) or "us-east-1")


def _call(what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    from sellerkit.workflows.notification_consumer import _sqs_call

    return _sqs_call(what, fn, **kwargs)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _parse(message: dict[str, Any]) -> Any:
    from sellerkit.workflows.notification_types import NotificationParseError, parse_notification

    try:
        return parse_notification(message, strict=False)
    except NotificationParseError:
        return None


def _profiles_for(client_id: str) -> list[str]:
    from sellerkit.config import read_profiles

    return sorted(n for n, t in read_profiles()[1].items() if t.get("client_id") == client_id)


def _record_expiry(profile: str, client_id: str, expires_at: datetime, event_time: datetime | None,
                   source: str) -> bool:
    """Record unless what is recorded already is newer than this notice."""
    from sellerkit.onboarding.state import read_secret_expiry, record_secret_expiry

    known = read_secret_expiry(profile)
    if (known is not None and known.client_id == client_id and event_time is not None
            and event_time < known.recorded_at):
        return False
    record_secret_expiry(profile, client_id=client_id, expires_at=expires_at, source=source)
    return True


def _store_and_verify(profile: str, settings: Any, new_secret: Secret, *, secrets_mode: str,
                      transport: Any = None) -> tuple[Storage, bool, str | None]:
    from sellerkit.config import default_config_file, read_profiles, save_profile
    from sellerkit.onboarding.secrets import is_marker, store_secrets

    path = default_config_file()
    table = read_profiles(path)[1].get(profile, {})
    mode = secrets_mode
    if mode == "auto" and "client_secret" in table and not is_marker(table["client_secret"]):
        mode = "file"  # keep it where the profile keeps it
    stored, storage = store_secrets(profile, {"client_secret": new_secret},
                                    config_file=str(path), mode=mode)
    save_profile(profile, stored, path)
    ok, error = verify_secret(settings, new_secret, transport=transport)
    return storage, ok, error


def verify_secret(settings: Any, secret: Secret, *, transport: Any = None) -> tuple[bool, str | None]:
    """An LWA exchange with ``secret``: the refresh token's grant when the settings have one,
    else a grantless token. Returns (worked, why not)."""
    import httpx

    from sellerkit.auth.lwa import LwaClient

    lwa = LwaClient(str(settings.client_id), secret, endpoint=settings.lwa_url, max_attempts=2,
                    timeout=min(30.0, float(settings.timeout)))
    kw: dict[str, Any] = {"transport": transport} if transport is not None else {}
    try:
        with httpx.Client(timeout=settings.timeout, **kw) as http:
            if settings.refresh_token is not None:
                lwa.access_token(http, refresh_token=settings.refresh_token)
            else:
                lwa.access_token(http, scope=VERIFY_SCOPE)
    except SellerkitError as exc:
        return False, str(exc)
    return True, None


def rotate_client_secret(profile: str | None, queue_url: str, *, wait: float = 300.0,
                         sqs: Any = None, sqs_endpoint: str | None = None,
                         aws_region: str | None = None, secrets_mode: str = "auto",
                         transport: Any = None, clock: Callable[[], float] = time.monotonic,
                         status: Callable[[str], None] = lambda s: None) -> RotationResult:
    """Rotate the client secret of ``profile`` and store the new one (see the module doc)."""
    from sellerkit import SellingPartner
    from sellerkit.client.options import CallOptions
    from sellerkit.config import default_config_file, load_settings, read_profiles
    from sellerkit.errors import TransportError

    if not math.isfinite(wait) or wait <= 0:
        raise ConfigurationError("--wait must be a positive number of seconds")
    settings = load_settings(profile=profile)
    name = settings.profile or profile or "default"
    path = default_config_file()
    if name not in read_profiles(path)[1]:
        raise ConfigurationError(
            f"secrets rotate stores the new secret in a profile, and there is no profile "
            f"{name!r} in {path}; create it with 'sellerkit init --profile {name}'")
    if not settings.client_id or settings.client_secret is None:
        raise ConfigurationError(f"profile {name!r} needs client_id and client_secret to rotate "
                                 "the secret", missing=("client_id", "client_secret"))
    client_id = settings.client_id
    notes: tuple[str, ...] = ()
    source = settings.sources.get("client_secret", "")
    if source.startswith("env"):
        notes = (f"client_secret comes from {source}, which overrides the profile: update it "
                 "there too",)
    client = _sqs(queue_url, sqs, sqs_endpoint, aws_region)
    attrs = _call(f"reading {queue_url}", client.get_queue_attributes, QueueUrl=queue_url,
                  AttributeNames=["QueueArn"])
    arn = (attrs.get("Attributes") or {}).get("QueueArn", queue_url)

    started = datetime.now(UTC)
    status(f"asking Amazon to rotate the client secret of {client_id} ...")
    sp_kw: dict[str, Any] = {"transport": transport} if transport is not None else {}
    unanswered = ""
    with SellingPartner(settings=settings, rate_limiter=False, **sp_kw) as sp:
        try:
            # one attempt only: a retry after a lost answer could rotate twice, and the first
            # new secret would then expire within days
            sp.call(ROTATE_OPERATION, options=CallOptions(max_attempts=1))
        except TransportError as exc:
            unanswered = (f"The rotation request got no answer ({exc}), so Amazon may or may "
                          "not have rotated the secret. ")
            status(f"the rotation request got no answer ({exc}); waiting on the queue anyway")
    status(f"rotation requested; waiting up to {wait:g} s for {NEW_SECRET} on {arn}")

    deadline = clock() + wait
    held: list[str] = []  # receipts of messages that are not ours, released at the end
    notices = 0
    result: RotationResult | None = None
    try:
        while result is None:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            got = _call(f"receiving from {queue_url}", client.receive_message,
                        QueueUrl=queue_url, MaxNumberOfMessages=10,
                        WaitTimeSeconds=max(0, min(20, int(math.ceil(remaining)))),
                        VisibilityTimeout=max(30, min(900, int(wait) + 30)))
            for m in got.get("Messages") or []:
                n = _parse(m)
                body = n.body if n is not None else {}
                cid = body.get("clientId") if n is not None else None
                if n is None or cid != client_id or n.type not in (NEW_SECRET, SECRET_EXPIRY):
                    held.append(m["ReceiptHandle"])
                    continue
                if n.type == SECRET_EXPIRY:
                    expires = _time(body.get("clientSecretExpiryTime"))
                    if expires is not None:
                        notices += _record_expiry(name, client_id, expires, n.event_time,
                                                  SECRET_EXPIRY)
                    _delete(client, queue_url, m)
                    continue
                if result is not None:  # one new secret per rotation: leave any other
                    held.append(m["ReceiptHandle"])
                    continue
                published = n.event_time or n.publish_time
                if published is not None and published < started - _SKEW:
                    # a new secret from an earlier rotation: superseded by this one
                    _delete(client, queue_url, m)
                    continue
                secret = body.get("newClientSecret")
                if not isinstance(secret, str) or not secret:
                    held.append(m["ReceiptHandle"])
                    continue
                new_secret = Secret(secret)
                storage, ok, error = _store_and_verify(name, settings, new_secret,
                                                       secrets_mode=secrets_mode,
                                                       transport=transport)
                _delete(client, queue_url, m)
                new_exp = _time(body.get("newClientSecretExpiryTime"))
                old_exp = _time(body.get("oldClientSecretExpiryTime"))
                if new_exp is not None:
                    from sellerkit.onboarding.state import record_secret_expiry

                    record_secret_expiry(name, client_id=client_id, expires_at=new_exp,
                                         source="secrets rotate")
                result = RotationResult(name, client_id, storage, new_exp, old_exp, ok, error,
                                        notices, notes)
                # the rest of this batch is still handled: nothing is left invisible
    finally:
        _release(client, queue_url, held)
    if result is not None:
        return dataclasses.replace(result, expiry_notices=notices)
    raise RotationTimeoutError(
        f"{unanswered}the rotation was requested at {started:%Y-%m-%d %H:%M:%S} UTC, but no "
        f"{NEW_SECRET} "
        f"for {client_id} arrived on {queue_url} within {wait:g} s. The old secret keeps "
        "working for about 7 days: do not rotate again. Check that this queue is the one "
        "registered in the Solution Provider Portal (Notification Preferences > Application "
        f"Client New Secret) and that its policy lets {_AMAZON_PRINCIPAL} call sqs:SendMessage "
        f"and sqs:GetQueueAttributes; then 'sellerkit secrets watch --queue-url {queue_url} "
        f"--profile {name}' picks the secret up")


def _release(client: Any, queue_url: str, receipts: list[str]) -> None:
    """Make the messages that are not ours visible again at once, for their own consumers."""
    import contextlib

    for receipt in receipts:
        with contextlib.suppress(Exception):  # it reappears after its timeout anyway
            client.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt,
                                             VisibilityTimeout=0)


def _delete(client: Any, queue_url: str, m: dict[str, Any]) -> None:
    _call(f"deleting a message from {queue_url}", client.delete_message, QueueUrl=queue_url,
          ReceiptHandle=m["ReceiptHandle"])


def watch(queue_url: str, *, once: bool = False, sqs: Any = None,
          sqs_endpoint: str | None = None, aws_region: str | None = None,
          secrets_mode: str = "auto", transport: Any = None, wait_time: int = 20,
          stop: Any = None, status: Callable[[str], None] = lambda s: None) -> WatchStats:
    """Consume ``queue_url`` for the two client secret notifications (see the module doc);
    ``once``: until a receive comes back empty. ``stop`` (a ``threading.Event``) ends it."""
    from sellerkit.config import load_settings
    from sellerkit.onboarding.secrets import mask

    client = _sqs(queue_url, sqs, sqs_endpoint, aws_region)
    stats = WatchStats()
    held: list[str] = []
    try:
        while stop is None or not stop.is_set():
            got = _call(f"receiving from {queue_url}", client.receive_message,
                        QueueUrl=queue_url, MaxNumberOfMessages=10,
                        WaitTimeSeconds=1 if once else max(0, min(20, wait_time)),
                        VisibilityTimeout=60)
            messages = got.get("Messages") or []
            if not messages and once:
                break
            for m in messages:
                stats.received += 1
                n = _parse(m)
                if n is None or n.type not in (NEW_SECRET, SECRET_EXPIRY):
                    held.append(m["ReceiptHandle"])
                    stats.left += 1
                    continue
                body = n.body
                cid = str(body.get("clientId") or "")
                profiles = _profiles_for(cid)
                if not profiles:
                    stats.left += 1
                    held.append(m["ReceiptHandle"])
                    status(f"{n.type} for {cid or '?'}: no profile has that client id; left on "
                           "the queue")
                    continue
                if n.type == SECRET_EXPIRY:
                    expires = _time(body.get("clientSecretExpiryTime"))
                    if expires is None:
                        held.append(m["ReceiptHandle"])
                        stats.left += 1
                        continue
                    for p in profiles:
                        if _record_expiry(p, cid, expires, n.event_time, SECRET_EXPIRY):
                            stats.expiry_recorded += 1
                            stats.events.append(f"{p}: client secret expires {expires:%Y-%m-%d}")
                            status(f"profile {p!r}: the client secret expires "
                                   f"{expires:%Y-%m-%d %H:%M} UTC "
                                   f"({body.get('clientSecretExpiryReason') or 'no reason given'})")
                        else:
                            stats.stale += 1
                    _delete(client, queue_url, m)
                    continue
                secret = body.get("newClientSecret")
                if not isinstance(secret, str) or not secret:
                    held.append(m["ReceiptHandle"])
                    stats.left += 1
                    continue
                new_exp = _time(body.get("newClientSecretExpiryTime"))
                for p in profiles:
                    from sellerkit.onboarding.state import read_secret_expiry, record_secret_expiry

                    known = read_secret_expiry(p)
                    if (known is not None and known.source == "secrets rotate"
                            and n.event_time is not None and n.event_time < known.recorded_at):
                        stats.stale += 1  # an older rotation's secret: already superseded
                        continue
                    settings = load_settings(profile=p)
                    storage, ok, error = _store_and_verify(p, settings, Secret(secret),
                                                           secrets_mode=secrets_mode,
                                                           transport=transport)
                    if new_exp is not None:
                        record_secret_expiry(p, client_id=cid, expires_at=new_exp,
                                             source="secrets rotate")
                    stats.secrets_stored += 1
                    verdict = "verified with LWA" if ok else f"LWA refused it: {error}"
                    stats.events.append(f"{p}: new client secret stored")
                    status(f"profile {p!r}: new client secret {mask(secret)} stored "
                           f"{storage.describe()}; {verdict}")
                _delete(client, queue_url, m)
    finally:
        _release(client, queue_url, held)
    return stats
