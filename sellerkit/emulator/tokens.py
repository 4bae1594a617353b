"""The emulator's Login with Amazon: refresh tokens, access tokens, authorization codes and
Restricted Data Tokens, all in memory.

:class:`TokenStore` answers ``POST /auth/o2/token`` (refresh_token, client_credentials and
authorization_code grants, Amazon's ``{"error", "error_description"}`` bodies) and looks up
the token of every SP-API call. It is pure bookkeeping: the HTTP layer lives in ``app.py``.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sellerkit.emulator.config import EmulatorConfig

__all__ = ["GRANTLESS_SCOPES", "AccessToken", "RdtResource", "TokenStore"]

GRANTLESS_SCOPES = frozenset({
    "sellingpartnerapi::notifications",
    "sellingpartnerapi::migration",
    "sellingpartnerapi::client_credential:rotation",
})


@dataclass(frozen=True)
class RdtResource:
    """One restricted resource an RDT covers: a method and a specific or ``{template}`` path."""

    method: str
    path: str
    data_elements: frozenset[str]
    regex: re.Pattern[str] = field(compare=False)

    @classmethod
    def build(cls, method: str, path: str, elements: frozenset[str]) -> RdtResource:
        out = "^"
        for literal, name in re.findall(r"([^{]*)(?:\{([^}]*)\})?", path):
            out += re.escape(literal)
            if name:
                out += "[^/]+"
        return cls(method.upper(), path, elements, re.compile(out + "$"))

    def covers(self, method: str, path: str) -> bool:
        return method == self.method and (path == self.path or bool(self.regex.match(path)))


@dataclass(frozen=True)
class AccessToken:
    """What a token in ``x-amz-access-token`` stands for."""

    kind: str  # "seller" | "grantless" | "rdt"
    application_id: str
    seller_id: str
    expires_at: float
    scope: str = ""
    resources: tuple[RdtResource, ...] = ()


@dataclass(frozen=True)
class _Code:
    seller_id: str
    redirect_uri: str
    expires_at: float


class LwaFailure(Exception):
    """An LWA error answer: HTTP status and Amazon's error code."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class TokenStore:
    """Every credential the emulator has issued or was configured with."""

    def __init__(self, config: EmulatorConfig, seller_ids: list[str],
                 clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> seller id
        for i, seller in enumerate(seller_ids):
            token = config.refresh_token if i == 0 else f"{config.refresh_token}-{i}"
            self.refresh_tokens[token] = seller
        self._access: dict[str, AccessToken] = {}
        self._purge_at = 50_000
        self._codes: dict[str, _Code] = {}
        from sellerkit.emulator.credentials import SECRET_LIFETIME, ClientSecrets

        expires = config.client_secret_expires_at
        self.client_secrets = ClientSecrets(
            config.client_secret, clock=clock,
            expires_at=clock() + SECRET_LIFETIME if expires is None else float(expires))

    # ------------------------------------------------------------------ issuing

    def _mint(self, prefix: str) -> str:
        return prefix + secrets.token_urlsafe(32)

    def _issue(self, record: AccessToken, prefix: str = "Atza|") -> str:
        token = self._mint(prefix)
        with self._lock:
            self._purge()
            self._access[token] = record
        return token

    def _purge(self) -> None:
        # keep the store from growing without bound in long runs; called under the lock, and
        # only every 10,000 tokens past the threshold so issuing stays O(1) on average
        if len(self._access) > self._purge_at:
            now = self._clock()
            self._access = {k: v for k, v in self._access.items() if v.expires_at > now}
            self._purge_at = max(50_000, len(self._access) + 10_000)

    def issue_code(self, seller_id: str, redirect_uri: str) -> str:
        """A single-use authorization code (``spapi_oauth_code``), valid for five minutes."""
        code = "ANemulator" + secrets.token_urlsafe(18)
        with self._lock:
            self._codes[code] = _Code(seller_id, redirect_uri,
                                      self._clock() + self.config.code_lifetime)
        return code

    def issue_rdt(self, application_id: str, seller_id: str,
                  resources: tuple[RdtResource, ...]) -> str:
        return self._issue(AccessToken("rdt", application_id, seller_id,
                                       self._clock() + self.config.rdt_lifetime,
                                       resources=resources), prefix="Atz.sprdt|")

    # ------------------------------------------------------------------ LWA endpoint

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answer a token request; raises :class:`LwaFailure` with Amazon's error code."""
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise LwaFailure(400, "invalid_request", "The request is missing grant_type.")
        if grant_type not in ("refresh_token", "client_credentials", "authorization_code"):
            raise LwaFailure(400, "unsupported_grant_type",
                             f"The grant type {grant_type[:60]!r} is not supported.")
        client_id = form.get("client_id", "")
        client_secret = form.get("client_secret", "")
        if not client_id or not client_secret:
            raise LwaFailure(400, "invalid_request",
                             "The request is missing client_id or client_secret.")
        fault = self.config.lwa_fault
        if fault is not None:  # EmulatorConfig.lwa_fault: rehearse an LWA refusal
            from sellerkit.emulator.config import LWA_FAULTS

            status, description = LWA_FAULTS[fault]
            raise LwaFailure(status, fault, description)
        # compare bytes: compare_digest raises TypeError for a str that is not ASCII
        # (the secret: any the app has that has not expired, see emulator.credentials)
        if not (secrets.compare_digest(client_id.encode(), self.config.client_id.encode())
                & self.client_secrets.accepts(client_secret)):
            raise LwaFailure(401, "invalid_client",
                             "Client authentication failed: unknown client or wrong secret.")
        app = self.config.application_id
        life = self.config.token_lifetime
        now = self._clock()
        if grant_type == "refresh_token":
            refresh = form.get("refresh_token", "")
            if not refresh:
                raise LwaFailure(400, "invalid_request", "The request is missing refresh_token.")
            seller = self.refresh_tokens.get(refresh)
            if seller is None:
                raise LwaFailure(400, "invalid_grant",
                                 "The refresh token is invalid, revoked, or for another client.")
            token = self._issue(AccessToken("seller", app, seller, now + life))
            return {"access_token": token, "refresh_token": refresh, "token_type": "bearer",
                    "expires_in": life}
        if grant_type == "client_credentials":
            scope = form.get("scope", "")
            if not scope:
                raise LwaFailure(400, "invalid_request", "The request is missing scope.")
            scopes = scope.split()
            unknown = [s for s in scopes if s not in GRANTLESS_SCOPES]
            if unknown:
                raise LwaFailure(400, "invalid_scope",
                                 f"Unknown scope {unknown[0][:80]!r}; grantless scopes are: "
                                 + ", ".join(sorted(GRANTLESS_SCOPES)))
            token = self._issue(AccessToken("grantless", app, "", now + life, scope=scope))
            return {"access_token": token, "scope": scope, "token_type": "bearer",
                    "expires_in": life}
        code = form.get("code", "")
        if not code:
            raise LwaFailure(400, "invalid_request", "The request is missing code.")
        with self._lock:
            entry = self._codes.pop(code, None)  # single use, even when the exchange fails
        if entry is None or entry.expires_at <= now:
            raise LwaFailure(400, "invalid_grant",
                             "The authorization code is invalid, expired or already used.")
        redirect = form.get("redirect_uri", "")
        if redirect and redirect != entry.redirect_uri:
            raise LwaFailure(400, "invalid_grant",
                             "redirect_uri does not match the one used to obtain the code.")
        refresh = self._mint("Atzr|")
        with self._lock:
            self.refresh_tokens[refresh] = entry.seller_id
        token = self._issue(AccessToken("seller", app, entry.seller_id, now + life))
        return {"access_token": token, "refresh_token": refresh, "token_type": "bearer",
                "expires_in": life}

    # ------------------------------------------------------------------ lookups

    def lookup(self, token: str) -> AccessToken | None:
        return self._access.get(token)

    def now(self) -> float:
        return self._clock()

    def dump(self) -> dict[str, Any]:
        """The refresh tokens minted by consent and the client secrets, for ``--state``."""
        with self._lock:
            return {"refresh_tokens": dict(self.refresh_tokens),
                    "client_secrets": self.client_secrets.dump()}

    def load(self, data: Mapping[str, Any]) -> None:
        self.client_secrets.load(data.get("client_secrets"))
        tokens = data.get("refresh_tokens") or {}
        with self._lock:
            for token, seller in tokens.items():
                if isinstance(token, str) and isinstance(seller, str):
                    self.refresh_tokens.setdefault(token, seller)
