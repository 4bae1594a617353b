"""``SellingPartner.for_seller``: a client's keyword arguments from a connection in the vault.

The seller's refresh token comes from the vault, decrypted (``vault.connections.refresh_token``
with the purpose "api calls": audited ``connection.token_read``); the app's LWA client id and
secret come from the profile, the environment or the keyword arguments, as for any client. The
connection must be the authorization of *that* app: a refresh token works only with the client
id it was issued to, so a mismatch is refused here, with both ids named, instead of failing later
at LWA with ``invalid_grant``. Pure preparation: the sync and async classmethods share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sellerkit.errors import AccessDeniedError, ConfigurationError, VaultError

if TYPE_CHECKING:
    from sellerkit.vault import Principal, Vault

__all__ = ["SellerConnection", "TOKEN_PURPOSE", "connection_kwargs"]

TOKEN_PURPOSE = "api calls"  # noqa: S105 - an audit purpose, not a secret
_REGIONS = {"na": "NA", "eu": "EU", "fe": "FE"}


@dataclass
class SellerConnection:
    """What ``for_seller`` found: the client's keyword arguments and the connection record."""

    kwargs: dict[str, Any]
    selling_partner_id: str
    region: str  # na | eu | fe, as the vault keys sellers
    info: Any  # sellerkit.vault.connections.ConnectionInfo (never holds the token)


def _region(region: str) -> str:
    key = str(region or "").strip().lower()
    if key not in _REGIONS:
        raise ConfigurationError(f"region {region!r} is not one of NA, EU, FE")
    return key


def connection_kwargs(selling_partner_id: str, region: str, *, vault: Vault | str | None,
                      profile: str | None, actor: Principal | None,
                      kwargs: dict[str, Any]) -> SellerConnection:
    """Look the seller's connection up and return the client's keyword arguments."""
    from sellerkit.config import _SETTABLE, load_settings

    spid = str(selling_partner_id or "").strip()
    if not spid:
        raise ConfigurationError("for_seller needs the seller's selling partner id")
    reg = _region(region)
    if kwargs.get("refresh_token") is not None:
        raise ConfigurationError(
            "for_seller takes the refresh token from the vault: leave refresh_token= out "
            "(SellingPartner(refresh_token=...) is the way to pass one yourself)")
    if kwargs.get("marketplace") is not None or kwargs.get("settings") is not None:
        raise ConfigurationError("for_seller takes the region, not marketplace= or settings=")
    settable = {k: v for k, v in kwargs.items() if k in _SETTABLE and v is not None}
    settings = load_settings(profile=profile, **{**settable, "region": _REGIONS[reg],
                                                 "refresh_token": None})
    if not settings.client_id or not settings.client_secret:
        raise ConfigurationError(
            "for_seller needs the app's LWA credentials: pass client_id= and client_secret= "
            "(or set SELLERKIT_CLIENT_ID / SELLERKIT_CLIENT_SECRET, or a profile)",
            problem="no LWA credentials", missing=("client_id", "client_secret"))
    client_id = settings.client_id

    from sellerkit.vault import Vault as _Vault
    from sellerkit.vault.roles import SYSTEM

    who = actor if actor is not None else SYSTEM
    owned = not isinstance(vault, _Vault)
    v = _Vault.open(vault) if owned else vault  # type: ignore[arg-type]
    assert isinstance(v, _Vault)
    try:
        info = _find(v, who, spid, reg, client_id)
        token = v.connections.refresh_token(who, spid, reg, client_id, purpose=TOKEN_PURPOSE)
    finally:
        if owned:
            v.close()
    out = dict(kwargs)
    out.update(client_id=client_id, client_secret=settings.client_secret, refresh_token=token,
               region=_REGIONS[reg], profile=profile)
    return SellerConnection(out, spid, reg, info)


def _find(v: Vault, actor: Principal, spid: str, region: str, client_id: str) -> Any:
    """The connection of (seller, region, app); a clear error when it is missing or is the
    authorization of another app."""
    store = v.connections
    try:
        return store.get(actor, spid, region, client_id=client_id)
    except AccessDeniedError:
        raise
    except VaultError:
        pass
    others = [c for c in store.list(actor)
              if c.selling_partner_id == spid and c.region == region]
    if others:
        ids = ", ".join(sorted({str(c.client_id) for c in others}))
        raise ConfigurationError(
            f"seller {spid} ({region.upper()}) authorized the app with client id {ids}, "
            f"not {client_id}: a refresh token works only with the app it was issued to; use "
            f"that app's client id and secret (--profile, or SELLERKIT_CLIENT_ID / "
            f"SELLERKIT_CLIENT_SECRET), or have the seller authorize this app")
    raise ConfigurationError(
        f"the vault has no connection for seller {spid} in region {region.upper()}: connect "
        f"the seller first (the 'Connect your Amazon account' page of sellerkit serve stores "
        f"it), or check the selling partner id and the region")
