"""``sellerkit doctor``: what is wrong between this machine and a first SP-API call, and the fix.

An ordered checklist; every check ends ``pass``, ``warn``, ``fail`` or ``skip`` (an earlier failure
makes it meaningless), and every ``warn`` / ``fail`` carries a concrete fix:

    profile        settings complete, secrets readable, credentials shaped like Amazon's
    lwa            the refresh-token exchange works; each LWA error said in plain words
    clock          the local clock against the Date header of LWA's (or SP-API's) answer
    network        the region's endpoint reachable (TCP connect, then TLS unless loopback)
    first_call     sellers_v1.getMarketplaceParticipations succeeds and lists marketplaces
    roles          one cheap read per common role; a 403 Unauthorized says which role is missing
    rdt            a Restricted Data Token can be obtained (for an order address path)
    notifications  SQS queues Standard, not FIFO; their policy lets Amazon send; each
                   subscription's type goes to the kind of destination Amazon delivers it to
    sigv4          AWS keys / role ARN / sigv4=true: obsolete since 2023-10-02 (warn, never fail)
    secret_expiry  the LWA client secret's recorded expiry: warn 30 days ahead, fail when past

The calls go through ``SellingPartner`` (one HTTP stack; a fresh in-memory token cache, so the
exchange really happens). Nothing here prints a secret: credentials are described by their
prefix and length only, and every text passes ``sellerkit._log.redact`` on the way out.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sellerkit._log import redact
from sellerkit._secret import Secret
from sellerkit.errors import (
    ApiError,
    ConfigurationError,
    ForbiddenError,
    LwaError,
    SellerkitError,
    TransportError,
)

__all__ = [
    "AMAZON_SQS_PRINCIPAL",
    "CHECK_IDS",
    "Check",
    "DoctorReport",
    "ROLE_PROBES",
    "analyse_queue_policy",
    "credential_problems",
    "run_doctor",
]

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
CHECK_IDS = ("profile", "lwa", "clock", "network", "first_call", "roles", "rdt",
             "notifications", "sigv4", "secret_expiry")
TITLES = {
    "profile": "Profile: complete, secrets readable, credentials well-formed",
    "lwa": "LWA: the refresh token exchange works",
    "clock": "Clock: not skewed",
    "network": "Network: the region's endpoint is reachable",
    "first_call": "First call: getMarketplaceParticipations",
    "roles": "Roles: one probe call per common role",
    "rdt": "Restricted Data Tokens can be obtained",
    "notifications": "Notifications: queues, policies, destinations",
    "sigv4": "SigV4 / IAM settings",
    "secret_expiry": "LWA client secret expiry",
}

CLIENT_ID_PREFIX = "amzn1.application-oa2-client."
CLIENT_SECRET_PREFIX = "amzn1.oa2-cs.v1."  # noqa: S105 - a format prefix, not a secret
REFRESH_TOKEN_PREFIX = "Atzr|"  # noqa: S105 - a format prefix, not a secret
APP_ID_PREFIXES = ("amzn1.sp.solution.", "amzn1.sellerapps.app.")
AMAZON_SQS_PRINCIPAL = "arn:aws:iam::437568002678:root"
_AMAZON_ACCOUNT = "437568002678"
SQS_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes")
SIGV4_OBSOLETE_SINCE = "2023-10-02"
EXPIRY_WARN_DAYS = 30
DEFAULT_MAX_SKEW = 60.0  # seconds
SPP_URL = "https://solutionproviderportal.amazon.com"
RDT_PATH = "/orders/v0/orders/{orderId}/address"

# (role, operation key, parameters: a function of (marketplace id, now))
ROLE_PROBES: tuple[tuple[str, str, Callable[[str, datetime], dict[str, Any]]], ...] = (
    ("Inventory and Order Tracking", "orders_v0.getOrders",
     lambda mp, now: {"MarketplaceIds": [mp],
                      "CreatedAfter": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}),
    ("Amazon Fulfillment", "fba_inventory_v1.getInventorySummaries",
     lambda mp, now: {"granularityType": "Marketplace", "granularityId": mp,
                      "marketplaceIds": [mp]}),
    ("Finance and Accounting", "finances_v0.listFinancialEventGroups",
     lambda mp, now: {"MaxResultsPerPage": 1}),
    ("Product Listing", "catalog_items_2022_04_01.searchCatalogItems",
     lambda mp, now: {"marketplaceIds": [mp], "keywords": ["sellerkit"], "pageSize": 1}),
    ("Pricing", "product_pricing_v0.getCompetitivePricing",
     lambda mp, now: {"MarketplaceId": mp, "ItemType": "Asin", "Asins": ["B000000000"]}),
    ("Reports (any role the report type needs)", "reports_2021_06_30.getReports",
     lambda mp, now: {"reportTypes": ["GET_MERCHANT_LISTINGS_ALL_DATA"], "pageSize": 1}),
    ("Feeds (any role the feed type needs)", "feeds_2021_06_30.getFeeds",
     lambda mp, now: {"feedTypes": ["JSON_LISTINGS_FEED"], "pageSize": 1}),
)

_REAUTHORIZE = (
    "Roles are fixed in a refresh token when it is issued: if the role was added to the app "
    "after this token was made, authorize the app again (private app: Solution Provider Portal "
    "-> Develop Apps -> Authorize app; public app: the seller re-authorizes) and use the new "
    "refresh token")


@dataclass
class Check:
    """One line of the checklist."""

    id: str
    status: str
    message: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES.get(self.id, self.id)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": self.status,
                "message": redact(self.message), "fix": redact(self.fix) if self.fix else None,
                "details": json.loads(redact(json.dumps(self.details, default=str)))}


@dataclass
class DoctorReport:
    """Every check, in order. ``ok`` is False when any check failed (exit code 1)."""

    profile: str | None
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    def counts(self) -> dict[str, int]:
        return {s: sum(c.status == s for c in self.checks) for s in (PASS, WARN, FAIL, SKIP)}

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "ok": self.ok, "exit_code": self.exit_code,
                "counts": self.counts(), "checks": [c.to_dict() for c in self.checks]}


# -- credential shapes ---------------------------------------------------------------------


def _shape(value: str) -> str:
    """A credential described without revealing it: its first characters up to the format
    prefix at most, and its length."""
    head = value[:5] if not value.startswith("amzn1.") else value[:value.find(".", 6) + 1]
    return f"{head!r}... ({len(value)} characters)"


def credential_problems(client_id: str | None, client_secret: Secret | None,
                        refresh_token: Secret | None) -> tuple[list[str], list[str]]:
    """(failures, warnings) about the form of the three LWA credentials."""
    fails: list[str] = []
    warns: list[str] = []
    if client_id:
        if client_id.startswith(APP_ID_PREFIXES):
            fails.append(
                f"client_id {client_id!r} is an application id (the app's identifier in the "
                "consent URL), not the LWA client id: copy the 'Client identifier' from "
                "Solution Provider Portal -> Develop Apps -> View (LWA credentials); it starts "
                f"with {CLIENT_ID_PREFIX}")
        elif not client_id.startswith(CLIENT_ID_PREFIX):
            warns.append(f"client_id {_shape(client_id)} does not start with "
                         f"{CLIENT_ID_PREFIX} as Amazon's LWA client ids do")
    for name, secret, prefix in (("client_secret", client_secret, CLIENT_SECRET_PREFIX),
                                 ("refresh_token", refresh_token, REFRESH_TOKEN_PREFIX)):
        if secret is None:
            continue
        value = secret.reveal()
        if any(ch.isspace() for ch in value) or value[:1] in "'\"" or value[-1:] in "'\"":
            fails.append(f"{name} holds spaces, line breaks or quotes (pasted with them?): "
                         "copy it again, as one line without quotes")
        elif name == "refresh_token" and value.startswith("Atza|"):
            fails.append("refresh_token starts with 'Atza|': that is an access token (it "
                         "lives one hour), not the refresh token ('Atzr|...') the "
                         "authorization gave")
        elif name == "client_secret" and value.startswith(APP_ID_PREFIXES + (CLIENT_ID_PREFIX,)):
            fails.append("client_secret holds an id (client or application id), not the "
                         "LWA client secret")
        elif not value.startswith(prefix):
            warns.append(f"{name} {_shape(value)} does not start with {prefix!r} as Amazon's "
                         "do (older client secrets were hex strings: fine if it works)")
    return fails, warns


# -- the run -------------------------------------------------------------------------------


class _RecordingWire:
    """Passes requests to the client's own wire and remembers the last response's headers
    (the Date header of LWA's answer, for the clock check)."""

    def __init__(self, wire: Any) -> None:
        self.wire = wire
        self.headers: Mapping[str, str] = {}

    def request(self, method: str, url: str, **kw: Any) -> Any:
        response = self.wire.request(method, url, **kw)
        self.headers = {k.lower(): v for k, v in dict(response.headers).items()}
        return response


@dataclass
class _Run:
    settings: Any
    profile_name: str
    sp: Any = None
    marketplaces: list[dict[str, Any]] = field(default_factory=list)
    server_date: datetime | None = None
    local_at_date: datetime | None = None


def run_doctor(*, profile: str | None = None, settings: Any = None,
               config_file: str | os.PathLike[str] | None = None,
               env: Mapping[str, str] | None = None, queues: tuple[str, ...] = (),
               rate_limiter: Any = None, transport: Any = None,
               now: Callable[[], datetime] | None = None, state_path: Path | None = None,
               max_skew: float = DEFAULT_MAX_SKEW, aws: Any = None) -> DoctorReport:
    """Run every check and return the report (never raises for what it diagnoses).

    ``settings`` skips loading (tests and callers that have them); otherwise they come from
    ``load_settings(profile=..., config_file=..., env=...)``. ``queues`` are SQS queue ARNs or
    URLs to check besides the destinations Amazon lists. ``aws`` is a boto3 ``Session`` for the
    queue policy check (default: boto3's default session when boto3 is installed)."""
    clock = now or (lambda: datetime.now(UTC))
    checks: list[Check] = []
    run = _profile(checks, profile, settings, config_file, env)
    if run is None:
        checks += [Check(i, SKIP, "skipped: the profile could not be loaded")
                   for i in CHECK_IDS[1:8]]
        checks.append(Check("sigv4", SKIP, "skipped: the profile could not be loaded"))
        checks.append(_secret_expiry(profile or "default", None, clock, state_path))
        return DoctorReport(profile, checks)
    profile_ok = checks[0].status != FAIL
    try:
        if profile_ok:
            _seller_checks(run, checks, clock, rate_limiter, transport, max_skew, queues, aws)
        else:
            checks += [Check(i, SKIP, "skipped: fix the profile first") for i in CHECK_IDS[1:8]]
        checks.append(_sigv4(run.settings))
        checks.append(_secret_expiry(run.profile_name, run.settings.client_id, clock,
                                     state_path, lwa=_find(checks, "lwa")))
    finally:
        if run.sp is not None:
            run.sp.close()
    return DoctorReport(run.profile_name, checks)


def _find(checks: list[Check], check_id: str) -> Check | None:
    return next((c for c in checks if c.id == check_id), None)


def _profile(checks: list[Check], profile: str | None, settings: Any,
             config_file: Any, env: Mapping[str, str] | None) -> _Run | None:
    from sellerkit.config import default_config_file, load_settings

    if settings is None:
        try:
            settings = load_settings(profile=profile, config_file=config_file, env=env)
        except ConfigurationError as exc:
            checks.append(Check("profile", FAIL, f"the settings could not be loaded: {exc}",
                                fix="correct the profile (sellerkit init writes one) or the "
                                    "SELLERKIT_* variables named above"))
            return None
    name = settings.profile or profile or "default"
    fails: list[str] = []
    warns: list[str] = []
    missing = [k for k in ("client_id", "client_secret", "refresh_token")
               if not getattr(settings, k)]
    if missing:
        fails.append("missing " + ", ".join(missing))
    f, w = credential_problems(settings.client_id, settings.client_secret,
                               settings.refresh_token)
    fails += f
    warns += w
    path = _config_path(settings, config_file, env, default_config_file)
    if path is not None:
        try:
            mode = path.stat().st_mode & 0o777
            path.read_bytes()
        except PermissionError:
            fails.append(f"the config file {path} is not readable by this user")
        except OSError:
            pass
        else:
            from_file = any(str(settings.sources.get(k, "")).startswith("profile")
                            for k in ("client_secret", "refresh_token"))
            if mode & 0o077 and from_file:
                warns.append(f"{path} holds secrets but other users may read it "
                             f"(mode {mode:03o}): chmod 600 {path}")
    details = {"profile": name, "sources": {k: v for k, v in settings.sources.items()
                                             if k in ("client_id", "client_secret",
                                                      "refresh_token", "endpoint", "region",
                                                      "marketplace", "lwa_endpoint")},
               "client_id": settings.client_id}
    if fails:
        fix = ("set the missing values (sellerkit init, a [profiles.NAME] table in "
               f"{path or 'the config file'}, or SELLERKIT_CLIENT_ID / SELLERKIT_CLIENT_SECRET / "
               "SELLERKIT_REFRESH_TOKEN); the LWA credentials are under Solution Provider "
               "Portal -> Develop Apps -> View, the refresh token comes from authorizing the app")
        checks.append(Check("profile", FAIL, "; ".join(fails + warns), fix=fix, details=details))
    elif warns:
        checks.append(Check("profile", WARN, "; ".join(warns),
                            fix="check the values named above", details=details))
    else:
        checks.append(Check("profile", PASS, f"profile {name!r}: client id "
                            f"{settings.client_id}, client secret and refresh token present "
                            "and well-formed", details=details))
    return _Run(settings, name)


def _config_path(settings: Any, config_file: Any, env: Mapping[str, str] | None,
                 default: Callable[..., Path]) -> Path | None:
    if config_file is not None:
        return Path(config_file).expanduser()
    if not any("profile" in str(v) for v in settings.sources.values()):
        return None
    try:
        return default(env)
    except Exception:  # noqa: BLE001 - only for a hint
        return None


def _seller_checks(run: _Run, checks: list[Check], clock: Callable[[], datetime],
                   rate_limiter: Any, transport: Any, max_skew: float,
                   queues: tuple[str, ...], aws: Any) -> None:
    from sellerkit import SellingPartner
    from sellerkit.auth.stores import MemoryTokenStore

    try:
        run.sp = SellingPartner(settings=run.settings, transport=transport,
                                token_store=MemoryTokenStore(),
                                rate_limiter=rate_limiter if rate_limiter is not None else True)
    except SellerkitError as exc:
        checks.append(Check("lwa", FAIL, f"the client could not be built: {exc}",
                            fix="correct the setting named above"))
        checks += [Check(i, SKIP, "skipped: no client") for i in CHECK_IDS[2:8]]
        return
    lwa = _lwa(run, clock)
    checks.append(lwa)
    checks.append(_network(run))
    network_ok = checks[-1].status != FAIL
    first = _first_call(run, clock) if lwa.status == PASS and network_ok else None
    checks.insert(2, _clock(run, max_skew))  # the clock reads the Date of LWA's or SP-API's answer
    if first is None:
        why = "the LWA exchange failed" if lwa.status != PASS else "the endpoint is unreachable"
        checks += [Check(i, SKIP, f"skipped: {why}") for i in CHECK_IDS[4:8]]
        return
    checks.append(first)
    if first.status == FAIL:
        checks += [Check(i, SKIP, "skipped: the first call failed") for i in CHECK_IDS[5:8]]
        return
    checks.append(_roles(run, clock))
    checks.append(_rdt(run))
    checks.append(_notifications(run, queues, aws))


# -- LWA -----------------------------------------------------------------------------------

_LWA_FIXES: dict[str, tuple[str, str]] = {
    "invalid_client": (
        "LWA does not accept the client id / client secret pair: the secret is wrong, was "
        "rotated (the old one stops working about 7 days after a rotation, and every 180 days "
        "at the latest), or belongs to another app",
        "copy the client id and the current client secret again from Solution Provider Portal "
        "-> Develop Apps -> View under LWA credentials (or take the new secret from the "
        "APPLICATION_OAUTH_CLIENT_NEW_SECRET notification), then sellerkit init / update the "
        "profile"),
    "invalid_grant": (
        "LWA refused the refresh token: it was revoked (the seller removed the authorization, "
        "or it is older than a re-authorization that replaced it), it was copied incompletely or "
        "mistyped, or it was issued to another app (a refresh token only works with the client "
        "id of the app that was authorized)",
        "authorize the app again (private app: Solution Provider Portal -> Develop Apps -> "
        "Authorize app; public app: the seller's consent flow) and store the new refresh token "
        "with the client id of that same app; retrying will not help"),
    "unauthorized_client": (
        "LWA says this app may not use this grant: the app has no SP-API access yet (developer "
        "profile or app not approved, app registered for another API such as Login with Amazon "
        "only), or the credentials are of a non-SP-API security profile",
        "check in Solution Provider Portal -> Develop Apps that the app is an SP-API app and "
        "that the developer profile is approved; then copy that app's LWA credentials"),
    "access_denied": (
        "LWA denied the request: the authorization was refused or withdrawn",
        "authorize the app again and use the new refresh token"),
    "invalid_scope": (
        "LWA refused a scope the app asked for",
        "this app may not request that grantless scope; check the app's roles"),
    "invalid_request": (
        "LWA found the token request malformed (a parameter missing or duplicated)",
        "check that client_id, client_secret and refresh_token are all set, one line each"),
}


def _lwa(run: _Run, clock: Callable[[], datetime]) -> Check:
    sp = run.sp
    recorder = _RecordingWire(sp._wire)  # noqa: SLF001 - the client's own wire, recorded
    try:
        sp.lwa.access_token(recorder, refresh_token=run.settings.refresh_token)
    except LwaError as exc:
        _remember_date(run, recorder.headers, clock)
        what, fix = _LWA_FIXES.get(exc.error, (
            f"LWA answered {exc.error!r}", "retry later; if it persists, check "
            "https://sellercentral.amazon.com/sp-api-status"))
        if exc.retryable:
            what, fix = (f"Login with Amazon is failing or throttling ({exc.error}, HTTP "
                         f"{exc.status})", "retry in a few minutes; reuse access tokens "
                         "instead of fetching one per call")
        return Check("lwa", FAIL, f"{what} (LWA error {exc.error!r}, HTTP {exc.status}"
                     + (f": {exc.description}" if exc.description else "") + ")", fix=fix,
                     details={"error": exc.error, "status": exc.status,
                              "endpoint": sp.lwa.endpoint})
    except TransportError as exc:
        return Check("lwa", FAIL, f"LWA at {sp.lwa.endpoint} could not be reached: {exc}",
                     fix="check the network path to the LWA host (DNS, firewall, proxy: set "
                         "proxy / ca_bundle in the profile)",
                     details={"endpoint": sp.lwa.endpoint})
    _remember_date(run, recorder.headers, clock)
    return Check("lwa", PASS, f"the refresh token was exchanged for an access token at "
                 f"{sp.lwa.endpoint}", details={"endpoint": sp.lwa.endpoint})


def _remember_date(run: _Run, headers: Mapping[str, Any], clock: Callable[[], datetime]
                   ) -> None:
    raw = headers.get("date") if headers else None
    if not raw or run.server_date is not None:
        return
    try:
        run.server_date = parsedate_to_datetime(str(raw)).astimezone(UTC)
    except (TypeError, ValueError):
        return
    run.local_at_date = clock()


def _clock(run: _Run, max_skew: float) -> Check:
    if run.server_date is None or run.local_at_date is None:
        return Check("clock", WARN, "could not check: no answer carried a Date header",
                     fix="make sure the machine's clock is synchronized (NTP: timedatectl "
                         "set-ntp true, or chrony)")
    skew = (run.local_at_date - run.server_date).total_seconds()
    details = {"skew_seconds": round(skew, 1), "server_date": run.server_date.isoformat(),
               "threshold_seconds": max_skew}
    # the Date header has a resolution of one second; allow for it and the round trip
    if abs(skew) > max_skew:
        side = "ahead of" if skew > 0 else "behind"
        return Check("clock", WARN, f"the local clock is {abs(skew):.0f} s {side} the server's "
                     "Date header: times computed from the local clock (CreatedAfter, report "
                     "date ranges) are off, TLS certificates can look invalid, and SigV4 "
                     "signatures (if still sent) are refused beyond 5 minutes",
                     fix="synchronize the clock (timedatectl set-ntp true, or chrony / ntpd)",
                     details=details)
    return Check("clock", PASS, f"the local clock is within {max_skew:.0f} s of the server's "
                 f"({skew:+.0f} s)", details=details)


# -- network -------------------------------------------------------------------------------

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _network(run: _Run) -> Check:
    import ssl

    url = run.sp.base_url
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    details = {"endpoint": url, "region": run.sp.region_name}
    if run.settings.proxy:
        return Check("network", PASS, f"{url} is reached through the configured proxy; the "
                     "first call tests the path", details=details)
    timeout = run.settings.connect_timeout
    started = time.perf_counter()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as exc:
        return Check("network", FAIL, f"{host} does not resolve ({exc.strerror or exc})",
                     fix="check DNS on this machine, or the endpoint / region in the profile",
                     details=details)
    except ConnectionRefusedError:
        loop = host in _LOOPBACK
        return Check("network", FAIL, f"nothing listens on {host}:{port}",
                     fix=("start the emulator (sellerkit emulator) or correct the endpoint"
                          if loop else "check the endpoint; a firewall may reject the port"),
                     details=details)
    except OSError as exc:
        return Check("network", FAIL, f"cannot connect to {host}:{port} within {timeout:g} s "
                     f"({type(exc).__name__})", fix="check the firewall / outbound HTTPS; "
                     "behind a corporate proxy set proxy in the profile", details=details)
    with sock:
        if parts.scheme == "https":
            ctx = ssl.create_default_context(cafile=run.settings.ca_bundle)
            try:
                with ctx.wrap_socket(sock, server_hostname=host) as tls:
                    details["tls"] = tls.version()
            except ssl.SSLCertVerificationError as exc:
                return Check("network", FAIL, f"TLS verification of {host} failed "
                             f"({exc.verify_message})",
                             fix="a TLS-inspecting proxy? set ca_bundle in the profile to its CA "
                                 "certificate; also check the clock", details=details)
            except (ssl.SSLError, OSError) as exc:
                return Check("network", FAIL, f"the TLS handshake with {host} failed "
                             f"({type(exc).__name__})", fix="check the proxy / firewall",
                             details=details)
    details["connect_ms"] = round((time.perf_counter() - started) * 1000, 1)
    how = "TCP + TLS" if parts.scheme == "https" else "TCP (loopback, plain HTTP)"
    return Check("network", PASS, f"{url} reachable ({how}, {details['connect_ms']} ms)",
                 details=details)


# -- SP-API calls --------------------------------------------------------------------------


def _forbidden_causes(run: _Run) -> str:
    return ("most often: the refresh token was issued for another region (the seller "
            f"authorized in another region than {run.sp.region_name}: use the endpoint of "
            "the region where they authorized, or authorize again there); the authorization "
            "was revoked; a grantless token used for a seller operation (grantless tokens "
            "only work for Notifications destinations and Application Management); an app id "
            "(amzn1.sp.solution...) used in place of the LWA client id (the profile check "
            "says so)")


def _first_call(run: _Run, clock: Callable[[], datetime]) -> Check:
    sp = run.sp
    try:
        r = sp.call("sellers_v1.getMarketplaceParticipations")
    except ApiError as exc:
        _remember_date(run, exc.headers, clock)
        fix = (_forbidden_causes(run) if isinstance(exc, ForbiddenError)
               else "see the error; quote the request id to Amazon support")
        return Check("first_call", FAIL, f"getMarketplaceParticipations failed: {exc}",
                     fix=fix, details={"status": exc.status, "code": exc.code,
                                       "request_id": exc.request_id})
    except SellerkitError as exc:
        return Check("first_call", FAIL, f"getMarketplaceParticipations failed: {exc}",
                     fix="see the error above")
    _remember_date(run, r.headers, clock)
    body = r.body if isinstance(r.body, dict) else {}
    items = body.get("payload") or []
    markets = []
    for item in items if isinstance(items, list) else []:
        mp = item.get("marketplace") or {} if isinstance(item, dict) else {}
        part = item.get("participation") or {} if isinstance(item, dict) else {}
        if mp.get("id"):
            markets.append({"id": mp.get("id"), "country": mp.get("countryCode"),
                            "name": mp.get("name"),
                            "participating": bool(part.get("isParticipating", True))})
    run.marketplaces = markets
    details = {"marketplaces": markets, "request_id": r.request_id}
    if not markets:
        return Check("first_call", FAIL, "getMarketplaceParticipations succeeded but lists no "
                     "marketplace", fix="the account sells in no marketplace of region "
                     f"{sp.region_name}: check the region, and that the authorizing account "
                     "is a seller account with an active marketplace", details=details)
    shown = ", ".join(f"{m['country']} ({m['id']})" for m in markets)
    wanted = run.settings.marketplace_id
    if wanted and wanted not in {m["id"] for m in markets}:
        return Check("first_call", WARN, f"the seller participates in {shown}, not in the "
                     f"profile's marketplace {run.settings.marketplace}",
                     fix="set marketplace in the profile to one of those", details=details)
    return Check("first_call", PASS, f"{len(markets)} marketplace(s): {shown}", details=details)


def _marketplace_id(run: _Run) -> str:
    if run.settings.marketplace_id:
        return str(run.settings.marketplace_id)
    active = [m for m in run.marketplaces if m["participating"]] or run.marketplaces
    return str(active[0]["id"])


def _roles(run: _Run, clock: Callable[[], datetime]) -> Check:
    from sellerkit.client.options import CallOptions

    mp = _marketplace_id(run)
    now = clock()
    results: list[dict[str, Any]] = []
    for role, key, params in ROLE_PROBES:
        entry: dict[str, Any] = {"role": role, "operation": key}
        try:
            run.sp.call(key, options=CallOptions(rdt=False, max_wait=60), **params(mp, now))
            entry["result"] = "granted"
        except ForbiddenError as exc:
            entry.update(result="refused", status=exc.status, code=exc.code,
                         request_id=exc.request_id)
        except ApiError as exc:
            # 400/404 come after authorization: the role is there, the probe's values were not
            # to Amazon's liking. 429/5xx say nothing about the role.
            entry.update(result="granted" if exc.status in (400, 404) else "unknown",
                         status=exc.status, code=exc.code)
        except SellerkitError as exc:
            entry.update(result="unknown", error=type(exc).__name__)
        results.append(entry)
    refused = [e for e in results if e["result"] == "refused"]
    unknown = [e for e in results if e["result"] == "unknown"]
    details = {"probes": results, "marketplace_id": mp}
    if refused and len(refused) == len(results):
        return Check("roles", FAIL, "every probe was refused with 403 Unauthorized although "
                     "the token works (getMarketplaceParticipations passed): the app has none of "
                     "these roles, or the token does not carry them",
                     fix=f"{_REAUTHORIZE}. Otherwise: {_forbidden_causes(run)}; or request the "
                         f"roles in the developer profile ({SPP_URL}), add them to the app, "
                         "and authorize again", details=details)
    if refused:
        names = "; ".join(f"{e['role']} ({e['operation']})" for e in refused)
        return Check("roles", WARN, f"403 Unauthorized, so the app (or this refresh token) "
                     f"lacks: {names}",
                     fix=f"only a problem if you need them. {_REAUTHORIZE}. If the app never "
                         f"had the role: request it in the developer profile ({SPP_URL} -> "
                         "developer profile -> Roles; Amazon reviews it), add it to the app, "
                         "then authorize again", details=details)
    if unknown:
        names = ", ".join(e["operation"] for e in unknown)
        return Check("roles", WARN, f"could not tell for {names} (throttled or server error)",
                     fix="run sellerkit doctor again in a minute", details=details)
    return Check("roles", PASS, f"all {len(results)} probes authorized ("
                 + ", ".join(e["role"] for e in results) + ")", details=details)


def _rdt(run: _Run) -> Check:
    op = run.sp.operation("tokens_2021_03_01.createRestrictedDataToken")
    name = op.body_param.name if op.body_param else "body"
    body = {"restrictedResources": [{"method": "GET", "path": RDT_PATH}]}
    details: dict[str, Any] = {"path": RDT_PATH}
    try:
        r = run.sp.call(op.key, **{name: body})
    except ForbiddenError as exc:
        details.update(status=exc.status, code=exc.code, request_id=exc.request_id)
        return Check("rdt", WARN, f"no Restricted Data Token for GET {RDT_PATH}: 403 "
                     f"{exc.code or 'Unauthorized'}; the app lacks a restricted role (buyer "
                     "names and addresses need Direct-to-Consumer Shipping), or the token "
                     "predates it",
                     fix="needed only for buyer PII. Request the restricted role in the "
                         f"developer profile ({SPP_URL}; a three-stage review: business "
                         "criteria, security answers, an architecture review), add it to the "
                         f"app, then authorize again. {_REAUTHORIZE}", details=details)
    except ApiError as exc:
        details.update(status=exc.status, code=exc.code, request_id=exc.request_id)
        return Check("rdt", FAIL, f"createRestrictedDataToken failed: {exc}",
                     fix="see the error; quote the request id to Amazon support",
                     details=details)
    except SellerkitError as exc:
        return Check("rdt", WARN, f"could not check: {exc}", fix="run doctor again",
                     details=details)
    got = isinstance(r.body, dict) and bool(r.body.get("restrictedDataToken"))
    if not got:
        return Check("rdt", FAIL, "createRestrictedDataToken answered without a token",
                     details=details)
    details["expires_in"] = r.body.get("expiresIn")
    return Check("rdt", PASS, f"a Restricted Data Token was issued for GET {RDT_PATH}",
                 details=details)


# -- notifications -------------------------------------------------------------------------


def queue_name_from(ref: str) -> tuple[str, str | None, str | None]:
    """(queue name, account id, region) from an SQS ARN or queue URL."""
    if ref.startswith("arn:"):
        parts = ref.split(":")
        if len(parts) >= 6:
            return parts[5], parts[4] or None, parts[3] or None
        return ref, None, None
    path = urlsplit(ref)
    segs = [s for s in path.path.split("/") if s]
    region = None
    host = path.hostname or ""
    if host.startswith("sqs.") and host.count(".") >= 3:
        region = host.split(".")[1]
    if len(segs) >= 2:
        return segs[-1], segs[-2], region
    return (segs[-1] if segs else ref), None, region


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any) -> tuple[bool, bool]:
    """(matches Amazon's principal, only through a wildcard)."""
    if principal == "*":
        return True, True
    if isinstance(principal, dict):
        values = [str(v) for v in _as_list(principal.get("AWS"))]
        if "*" in values:
            return True, True
        ok = any(v in (AMAZON_SQS_PRINCIPAL, _AMAZON_ACCOUNT) for v in values)
        return ok, False
    return False, False


def _action_covers(actions: list[Any], wanted: str) -> bool:
    low = wanted.lower()
    for a in actions:
        text = str(a).lower()
        if text in ("*", "sqs:*", low):
            return True
        if text.endswith("*") and low.startswith(text[:-1]):
            return True
    return False


def analyse_queue_policy(policy: str | Mapping[str, Any] | None, queue_arn: str
                         ) -> tuple[list[str], bool]:
    """The actions of ``SQS_ACTIONS`` Amazon's principal is *not* allowed on the queue, and
    whether what is allowed is allowed to everyone (``Principal: "*"``)."""
    if not policy:
        return list(SQS_ACTIONS), False
    try:
        doc = json.loads(policy) if isinstance(policy, str) else dict(policy)
    except ValueError:
        return list(SQS_ACTIONS), False
    allowed: set[str] = set()
    denied: set[str] = set()
    wildcard = False
    for st in _as_list(doc.get("Statement")):
        if not isinstance(st, dict):
            continue
        match, via_wildcard = _principal_matches(st.get("Principal"))
        if not match:
            continue
        resources = [str(r) for r in _as_list(st.get("Resource"))] or ["*"]
        if not any(r == "*" or r == queue_arn or (r.endswith("*") and
                                                  queue_arn.startswith(r[:-1]))
                   for r in resources):
            continue
        actions = _as_list(st.get("Action"))
        hit = {a for a in SQS_ACTIONS if _action_covers(actions, a)}
        if st.get("Effect") == "Allow":
            allowed |= hit
            wildcard = wildcard or (via_wildcard and bool(hit))
        elif st.get("Effect") == "Deny":
            denied |= hit
    missing = [a for a in SQS_ACTIONS if a not in allowed or a in denied]
    return missing, wildcard


def _policy_statement(queue_arn: str) -> str:
    return json.dumps({"Sid": "AllowSellingPartnerAPI", "Effect": "Allow",
                       "Principal": {"AWS": AMAZON_SQS_PRINCIPAL},
                       "Action": list(SQS_ACTIONS), "Resource": queue_arn})


def _aws_session(aws: Any) -> tuple[Any, str | None]:
    """(a boto3 session with credentials, or None and why not)."""
    if aws is not None:
        return aws, None
    import importlib.util

    if importlib.util.find_spec("boto3") is None:
        return None, "boto3 is not installed (pip install 'sellerkit[aws]')"
    import boto3

    session = boto3.Session()
    if session.get_credentials() is None:
        return None, "no AWS credentials are configured (AWS_PROFILE, AWS_ACCESS_KEY_ID...)"
    return session, None


def _check_queue(ref: str, arn: str | None, aws: Any, problems: list[str], warns: list[str],
                 info: list[dict[str, Any]]) -> None:
    name, account, region = queue_name_from(ref)
    entry: dict[str, Any] = {"queue": ref, "name": name}
    info.append(entry)
    if name.endswith(".fifo"):
        problems.append(f"queue {name} is a FIFO queue: Amazon delivers notifications only to "
                        "Standard queues (nothing arrives). Create a Standard queue (no .fifo "
                        "suffix) and point the destination at it")
        entry["fifo"] = True
        return
    session, why = _aws_session(aws)
    if session is None:
        warns.append(f"could not check the policy of queue {name}: {why}")
        entry["policy"] = "unchecked"
        return
    try:
        sqs = session.client("sqs", region_name=region or session.region_name or "us-east-1")
        kw = {"QueueName": name}
        if account:
            kw["QueueOwnerAWSAccountId"] = account
        url = ref if ref.startswith("http") else sqs.get_queue_url(**kw)["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get(
            "Attributes", {})
    except Exception as exc:  # noqa: BLE001 - botocore's errors; reported, never raised
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        if "NonExistent" in str(code):
            problems.append(f"queue {name} does not exist (in account {account}, region "
                            f"{region}): create it, or fix the destination")
        else:
            warns.append(f"could not read the attributes of queue {name} ({code})")
        entry["policy"] = "unreadable"
        return
    if attrs.get("FifoQueue") == "true":
        problems.append(f"queue {name} is a FIFO queue: use a Standard queue")
        return
    queue_arn = arn or attrs.get("QueueArn") or ref
    missing, wildcard = analyse_queue_policy(attrs.get("Policy"), queue_arn)
    entry["policy_missing"] = missing
    if missing:
        problems.append(f"the policy of queue {name} does not allow {AMAZON_SQS_PRINCIPAL} "
                        f"{' and '.join(missing)}: Amazon cannot deliver. Add the statement "
                        f"{_policy_statement(queue_arn)} to the queue's access policy "
                        "(sellerkit aws setup-notifications writes it)")
    elif wildcard:
        warns.append(f"the policy of queue {name} lets anyone (Principal \"*\") send: restrict "
                     f"it to {AMAZON_SQS_PRINCIPAL}")
    kms = attrs.get("KmsMasterKeyId")
    if kms and kms != "alias/aws/sqs":
        warns.append(f"queue {name} is encrypted with the KMS key {kms}: its key policy must "
                     f"let {AMAZON_SQS_PRINCIPAL} use it (UNCONFIRMED for SP-API; SSE-SQS "
                     "avoids the question)")


def _notifications(run: _Run, queues: tuple[str, ...], aws: Any) -> Check:
    from sellerkit.workflows.notification_types import notification_types

    sp = run.sp
    problems: list[str] = []
    warns: list[str] = []
    info: list[dict[str, Any]] = []
    destinations: list[dict[str, Any]] = []
    try:
        r = sp.call("notifications_v1.getDestinations")
        payload = r.body.get("payload") if isinstance(r.body, dict) else None
        destinations = [d for d in _as_list(payload) if isinstance(d, dict)]
    except (ApiError, LwaError) as exc:
        warns.append(f"could not list destinations (grantless getDestinations): {exc}")
    except SellerkitError as exc:
        warns.append(f"could not list destinations: {exc}")
    kinds: dict[str, str] = {}
    seen: set[str] = set()
    for d in destinations:
        res = d.get("resource") or {}
        if res.get("sqs"):
            kinds[str(d.get("destinationId"))] = "sqs"
            arn = str(res["sqs"].get("arn") or "")
            if arn and arn not in seen:
                seen.add(arn)
                _check_queue(arn, arn, aws, problems, warns, info)
        elif res.get("eventBridge"):
            kinds[str(d.get("destinationId"))] = "eventBridge"
            info.append({"eventBridge": res["eventBridge"].get("name")})
    for q in queues:
        if q not in seen:
            seen.add(q)
            _check_queue(q, q if q.startswith("arn:") else None, aws, problems, warns, info)
    subscriptions: list[dict[str, Any]] = []
    unknown_types: list[str] = []
    if destinations:
        for name, t in sorted(notification_types().items()):
            if not t.subscribable:
                continue
            try:
                r = sp.call("notifications_v1.getSubscription", notificationType=name)
            except ApiError as exc:
                if exc.status == 400:  # a type this endpoint does not know: none to check
                    unknown_types.append(name)
                elif exc.status != 404:
                    warns.append(f"could not read the subscription to {name} ({exc.status} "
                                 f"{exc.code})")
                continue
            except SellerkitError as exc:
                warns.append(f"could not read the subscription to {name}: {exc}")
                continue
            sub = r.body.get("payload") if isinstance(r.body, dict) else None
            if not isinstance(sub, dict):
                continue
            did = str(sub.get("destinationId"))
            kind = kinds.get(did)
            subscriptions.append({"type": name, "destination_id": did, "destination": kind})
            if kind is None:
                problems.append(f"the subscription to {name} points at destination {did}, which "
                                "getDestinations does not list: delete the subscription and "
                                "subscribe again to an existing destination")
            elif t.destination is not None and kind != t.destination:
                want = "an SQS queue" if t.destination == "sqs" else "EventBridge"
                problems.append(f"{name} is subscribed to a {kind} destination, but Amazon "
                                f"delivers it only to {want}: delete the subscription and "
                                f"subscribe it to {want} destination")
    details = {"destinations": len(destinations), "queues": info,
               "subscriptions": subscriptions, "types_not_known_there": unknown_types}
    if not destinations and not queues:
        return Check("notifications", SKIP, "no destination is registered and no queue was "
                     "named (--queue): nothing to check", details=details)
    if problems:
        return Check("notifications", FAIL, "; ".join(problems + warns),
                     fix="see each problem above (the statement to add is quoted)",
                     details=details)
    if warns:
        return Check("notifications", WARN, "; ".join(warns),
                     fix="install sellerkit[aws] and configure AWS credentials to check the "
                         "queue policy, or check it by hand: it must allow "
                         f"{AMAZON_SQS_PRINCIPAL} {' and '.join(SQS_ACTIONS)}",
                     details=details)
    return Check("notifications", PASS, f"{len(destinations)} destination(s), "
                 f"{len(subscriptions)} subscription(s): Standard queues, Amazon may send, "
                 "every type goes to the right kind of destination", details=details)


# -- settings that need no call ------------------------------------------------------------


def _sigv4(settings: Any) -> Check:
    found = [name for name in ("aws_access_key_id", "aws_secret_access_key", "role_arn")
             if getattr(settings, name, None)]
    if getattr(settings, "sigv4", False):
        found.append("sigv4 = true")
    if not found:
        return Check("sigv4", PASS, "no AWS IAM / SigV4 settings (none are needed since "
                     f"{SIGV4_OBSOLETE_SINCE})")
    return Check("sigv4", WARN, f"{', '.join(found)} set: SP-API has not needed IAM users, "
                 f"roles or SigV4 signatures since {SIGV4_OBSOLETE_SINCE} (a signature is "
                 "ignored). Not an error", fix="remove them from the profile / environment "
                 "(SP_API_ACCESS_KEY, SP_API_SECRET_KEY, SP_API_ROLE_ARN); the app form no "
                 "longer asks for an IAM ARN", details={"settings": found})


def _secret_expiry(profile: str, client_id: str | None, clock: Callable[[], datetime],
                   state_path: Path | None, lwa: Check | None = None) -> Check:
    from sellerkit.onboarding.state import read_secret_expiry

    entry = read_secret_expiry(profile, path=state_path)
    if entry is None:
        return Check("secret_expiry", WARN, "no expiry of the client secret is recorded "
                     "(secrets expire every 180 days; Amazon announces it with the "
                     "APPLICATION_OAUTH_CLIENT_SECRET_EXPIRY notification)",
                     fix="register a queue for 'Application Client Secret Expiry' and 'New "
                         "Secret' under Solution Provider Portal -> Develop Apps -> "
                         "Notification preferences, and record rotations with sellerkit "
                         "secrets rotate")
    now = clock()
    days = (entry.expires_at - now).total_seconds() / 86400
    details = {"expires_at": entry.expires_at.isoformat(), "days_left": round(days, 1),
               "source": entry.source, "recorded_at": entry.recorded_at.isoformat()}
    if client_id and entry.client_id != client_id:
        return Check("secret_expiry", WARN, f"the recorded expiry is for client id "
                     f"{entry.client_id}, not this profile's {client_id}",
                     fix="record the expiry of this app's secret (sellerkit secrets rotate)",
                     details=details)
    when = entry.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if days <= 0:
        also = (" — that explains LWA's invalid_client" if lwa is not None and
                lwa.details.get("error") == "invalid_client" else "")
        return Check("secret_expiry", FAIL, f"the client secret expired on {when}{also}",
                     fix="rotate it (sellerkit secrets rotate, or Solution Provider Portal -> "
                         "Develop Apps -> View -> LWA credentials) and store the new secret",
                     details=details)
    if days <= EXPIRY_WARN_DAYS:
        return Check("secret_expiry", WARN, f"the client secret expires on {when}, in "
                     f"{days:.0f} days", fix="rotate it before then (sellerkit secrets rotate)",
                     details=details)
    return Check("secret_expiry", PASS, f"the client secret expires on {when} ({days:.0f} "
                 "days)", details=details)


def iter_lines(report: DoctorReport) -> Iterator[tuple[str, str, str | None]]:
    """(status, title: message, fix) for each check, redacted, for text output."""
    for c in report.checks:
        yield c.status, redact(f"{c.title}: {c.message}"), redact(c.fix) if c.fix else None
