"""What ``sellerkit serve`` needs to know about the app it authorizes sellers for.

:class:`WebSettings` holds the app's facts as registered with Amazon (its ``application_id``,
whether it is a draft or published, the OAuth redirect URI) and the server's own knobs (how long
a ``state`` lives, session timeouts, the IP allowlist). :func:`load_web_settings` fills it from
explicit values (the command line), then ``SELLERKIT_*`` variables, then the sellerkit profile
(the LWA client id and secret), and checks every value where it enters, so a mistake that Amazon
would answer with MD1000 or MD5101 is reported before a seller ever sees it.

``version=beta`` is added to consent URIs only when ``app_status`` is ``draft``: the status is
configuration, never hard-coded, because a published app sent with ``version=beta`` fails too.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sellerkit._secret import Secret
from sellerkit.errors import ConfigurationError
from sellerkit.regions import DEFAULT_LWA_ENDPOINT, check_url

__all__ = ["APP_STATUSES", "LOOPBACK", "WebSettings", "load_web_settings", "parse_networks"]

APP_STATUSES = ("draft", "published")
LOOPBACK = ("127.0.0.0/8", "::1/128")
STATE_TTL_RANGE = (300, 900)

# Variables read by load_web_settings (the command line wins over them).
ENV = {
    "application_id": "SELLERKIT_APPLICATION_ID",
    "app_status": "SELLERKIT_APP_STATUS",
    "redirect_uri": "SELLERKIT_REDIRECT_URI",
    "consent_base_url": "SELLERKIT_CONSENT_URL",
    "state_ttl": "SELLERKIT_STATE_TTL",
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: tuple[str, ...] | list[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses) as networks; a clear error names the bad one."""
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"--allow-ip {value!r} is not an IP address or CIDR: give e.g. 203.0.113.0/24, "
                "10.0.0.5 or ::1/128") from None
    return tuple(out)


@dataclass(frozen=True)
class WebSettings:
    """The app and server settings of ``sellerkit serve`` (see the module docstring).

    ``consent_base_url`` replaces every Seller Central / Vendor Central host (tests point it at
    the emulator, ``http://127.0.0.1:8787``). ``allow_ips`` limits who reaches the admin pages
    (``allow_scope="admin"``, the default) or every page (``"all"``); by default only loopback
    reaches the admin pages. ``tls`` marks cookies Secure and sends HSTS.
    """

    application_id: str
    client_id: str
    client_secret: Secret = field(repr=False)
    redirect_uri: str
    app_status: str
    lwa_endpoint: str = DEFAULT_LWA_ENDPOINT
    consent_base_url: str | None = None
    state_ttl: int = 600
    session_idle: int = 1800
    session_lifetime: int = 12 * 3600
    allow_ips: tuple[str, ...] = LOOPBACK
    allow_scope: str = "admin"
    tls: bool = False
    app_name: str = "sellerkit"

    def __post_init__(self) -> None:
        app_id = (self.application_id or "").strip()
        if not app_id:
            raise ConfigurationError(
                "the app's application_id is not set: give --application-id (or "
                "SELLERKIT_APPLICATION_ID), the amzn1.sp.solution.... id Solution Provider Portal "
                "shows for the app")
        if app_id.startswith("amzn1.application-oa2-client."):
            raise ConfigurationError(
                "the application_id is the LWA client id (amzn1.application-oa2-client....): "
                "Amazon answers it with MD1000; use the app id amzn1.sp.solution.... instead")
        if not app_id.startswith("amzn1.sp.solution."):
            raise ConfigurationError(
                f"the application_id {app_id!r} does not look like an SP-API app id: it starts "
                "with amzn1.sp.solution.")
        object.__setattr__(self, "application_id", app_id)
        status = (self.app_status or "").strip().lower()
        if status not in APP_STATUSES:
            raise ConfigurationError(
                f"the app status {self.app_status!r} is not draft or published: give "
                "--app-status draft while the app is a draft (Amazon then needs version=beta), "
                "published once it is listed")
        object.__setattr__(self, "app_status", status)
        if not self.client_id:
            raise ConfigurationError(
                "the LWA client id is not set: set client_id in the profile, "
                "SELLERKIT_CLIENT_ID or LWA_APP_ID")
        secret = Secret(self.client_secret)
        if not secret.reveal():
            raise ConfigurationError(
                "the LWA client secret is not set: set client_secret in the profile, "
                "SELLERKIT_CLIENT_SECRET or LWA_CLIENT_SECRET")
        object.__setattr__(self, "client_secret", secret)
        _check_redirect_uri(self.redirect_uri)
        object.__setattr__(self, "lwa_endpoint", check_url(self.lwa_endpoint, "lwa_endpoint"))
        if self.consent_base_url:
            base = check_url(self.consent_base_url, "consent URL").rstrip("/")
            parts = urlsplit(base)
            if parts.path or parts.query:
                raise ConfigurationError(
                    f"the consent URL {self.consent_base_url!r} must be a scheme and host only "
                    "(e.g. http://127.0.0.1:8787): /apps/authorize/consent is added")
            object.__setattr__(self, "consent_base_url", base)
        lo, hi = STATE_TTL_RANGE
        if not lo <= int(self.state_ttl) <= hi:
            raise ConfigurationError(
                f"the state lifetime must be {lo}-{hi} seconds (5 to 15 minutes), got "
                f"{self.state_ttl}")
        object.__setattr__(self, "state_ttl", int(self.state_ttl))
        if self.session_idle <= 0 or self.session_lifetime < self.session_idle:
            raise ConfigurationError(
                "session_idle must be positive and session_lifetime at least session_idle")
        if self.allow_scope not in ("admin", "all"):
            raise ConfigurationError(
                f"--allow-ip-scope {self.allow_scope!r} must be admin or all")
        object.__setattr__(self, "allow_ips", tuple(self.allow_ips))
        parse_networks(self.allow_ips)

    @property
    def draft(self) -> bool:
        return self.app_status == "draft"

    @property
    def networks(self) -> tuple[Network, ...]:
        return parse_networks(self.allow_ips)

    @property
    def redirect_path(self) -> str:
        """The path of the redirect URI: the route the callback is served on."""
        return urlsplit(self.redirect_uri).path or "/"


def _check_redirect_uri(uri: str) -> None:
    if not uri:
        raise ConfigurationError(
            "the OAuth redirect URI is not set: give --redirect-uri (or SELLERKIT_REDIRECT_URI), "
            "exactly as registered for the app in Solution Provider Portal, e.g. "
            "https://app.example.com/callback")
    if "#" in uri:
        raise ConfigurationError(
            f"the redirect URI {uri!r} contains '#': Amazon refuses it (MD5110)")
    check_url(uri, "redirect URI")
    if urlsplit(uri).query:
        raise ConfigurationError(
            f"the redirect URI {uri!r} has a query string: register and give it without one")


def load_web_settings(explicit: Mapping[str, Any] | None = None, *,
                      environ: Mapping[str, str] | None = None,
                      profile: str | None = None) -> WebSettings:
    """Settings from ``explicit`` values (None = not given), then ``SELLERKIT_*`` variables;
    the LWA client id and secret from explicit values, else the sellerkit profile/environment
    (:func:`sellerkit.config.load_settings`)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {k: v for k, v in (explicit or {}).items() if v is not None}
    for name, var in ENV.items():
        if name not in values and env.get(var, "").strip():
            values[name] = env[var].strip()
    if "state_ttl" in values:
        try:
            values["state_ttl"] = int(values["state_ttl"])
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"the state lifetime {values['state_ttl']!r} is not a number of seconds") from None
    if "client_id" not in values or "client_secret" not in values:
        from sellerkit.config import load_settings

        s = load_settings(profile=profile)
        if "client_id" not in values and s.client_id:
            values["client_id"] = s.client_id
        if "client_secret" not in values and s.client_secret is not None:
            values["client_secret"] = s.client_secret
        if "lwa_endpoint" not in values and getattr(s, "lwa_endpoint", None):
            values["lwa_endpoint"] = s.lwa_endpoint
    values.setdefault("application_id", "")
    values.setdefault("client_id", "")
    values.setdefault("client_secret", "")
    values.setdefault("redirect_uri", "")
    values.setdefault("app_status", "")
    return WebSettings(**values)
