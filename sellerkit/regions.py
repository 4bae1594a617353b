"""SP-API regions, marketplaces and the endpoint a client talks to.

Amazon serves SP-API from three regional hosts (NA, EU, FE), each with a sandbox twin; every
marketplace belongs to exactly one of them (India is served by EU, Brazil and Mexico by NA).
``resolve_endpoint`` turns what a user knows (a marketplace, a region, or an emulator URL) into
the base URL and the AWS region used for optional SigV4 signing.

    >>> resolve_endpoint(marketplace="UK").base_url
    'https://sellingpartnerapi-eu.amazon.com'

URLs given by users (``endpoint=``, ``lwa_endpoint=``) go through ``check_url``: HTTPS always,
plain HTTP only to a loopback address, because tokens and client secrets travel in those requests.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sellerkit.errors import ConfigurationError

__all__ = [
    "DEFAULT_LWA_ENDPOINT",
    "MARKETPLACES",
    "MARKETPLACE_ID_FIELDS",
    "REGIONS",
    "Endpoint",
    "Marketplace",
    "Region",
    "check_url",
    "get_marketplace",
    "get_region",
    "marketplace_codes",
    "marketplace_id",
    "resolve_endpoint",
    "resolve_lwa_endpoint",
]

DEFAULT_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"


@dataclass(frozen=True, slots=True)
class Region:
    """One SP-API region: its production and sandbox hosts and its AWS region (for SigV4)."""

    name: str
    host: str
    sandbox_host: str
    aws_region: str

    def base_url(self, sandbox: bool = False) -> str:
        return f"https://{self.sandbox_host if sandbox else self.host}"


@dataclass(frozen=True, slots=True)
class Marketplace:
    """One marketplace: its id (as SP-API parameters take it), country and region name."""

    id: str
    country_code: str
    country: str
    region: str

    @property
    def region_info(self) -> Region:
        return REGIONS[self.region]


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("NA", "sellingpartnerapi-na.amazon.com",
               "sandbox.sellingpartnerapi-na.amazon.com", "us-east-1"),
        Region("EU", "sellingpartnerapi-eu.amazon.com",
               "sandbox.sellingpartnerapi-eu.amazon.com", "eu-west-1"),
        Region("FE", "sellingpartnerapi-fe.amazon.com",
               "sandbox.sellingpartnerapi-fe.amazon.com", "us-west-2"),
    )
}

MARKETPLACES: dict[str, Marketplace] = {
    m.country_code: m
    for m in (
        Marketplace("A2EUQ1WTGCTBG2", "CA", "Canada", "NA"),
        Marketplace("ATVPDKIKX0DER", "US", "United States", "NA"),
        Marketplace("A1AM78C64UM0Y8", "MX", "Mexico", "NA"),
        Marketplace("A2Q3Y263D00KWC", "BR", "Brazil", "NA"),
        Marketplace("A28R8C7NBKEWEA", "IE", "Ireland", "EU"),
        Marketplace("A1RKKUPIHCS9HS", "ES", "Spain", "EU"),
        Marketplace("A1F83G8C2ARO7P", "UK", "United Kingdom", "EU"),
        Marketplace("A13V1IB3VIYZZH", "FR", "France", "EU"),
        Marketplace("AMEN7PMS3EDWL", "BE", "Belgium", "EU"),
        Marketplace("A1805IZSGTT6HS", "NL", "Netherlands", "EU"),
        Marketplace("A1PA6795UKMFR9", "DE", "Germany", "EU"),
        Marketplace("APJ6JRA9NG5V4", "IT", "Italy", "EU"),
        Marketplace("A2NODRKZP88ZB9", "SE", "Sweden", "EU"),
        Marketplace("AE08WJ6YKNBMC", "ZA", "South Africa", "EU"),
        Marketplace("A1C3SOZRARQ6R3", "PL", "Poland", "EU"),
        Marketplace("ARBP9OOSHTCHU", "EG", "Egypt", "EU"),
        Marketplace("A33AVAJ2PDY3EV", "TR", "Turkey", "EU"),
        Marketplace("A17E79C6D8DWNP", "SA", "Saudi Arabia", "EU"),
        Marketplace("A2VIGQ35RCS4UG", "AE", "United Arab Emirates", "EU"),
        Marketplace("A21TJRUUN4KGV", "IN", "India", "EU"),
        Marketplace("A19VAU5U5O7RUS", "SG", "Singapore", "FE"),
        Marketplace("A39IBJ37TRP1C6", "AU", "Australia", "FE"),
        Marketplace("A1VC38T7YXB528", "JP", "Japan", "FE"),
    )
}

# Amazon's current docs say UK; its 2021 guide and ISO 3166 say GB. Both mean the same marketplace.
_CODE_ALIASES = {"GB": "UK"}
_BY_ID = {m.id: m for m in MARKETPLACES.values()}
_BY_AWS_REGION = {r.aws_region: r for r in REGIONS.values()}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where SP-API calls go: ``base_url`` (no trailing slash), the AWS region for SigV4 and the
    SP-API region name (NA/EU/FE)."""

    base_url: str
    aws_region: str
    region_name: str


def get_marketplace(code_or_id: str | Marketplace) -> Marketplace:
    """A marketplace by country code (any case; UK and GB both work) or by marketplace id."""
    if isinstance(code_or_id, Marketplace):
        return code_or_id
    text = str(code_or_id).strip()
    by_id = _BY_ID.get(text)
    if by_id is not None:
        return by_id
    code = text.upper()
    code = _CODE_ALIASES.get(code, code)
    m = MARKETPLACES.get(code)
    if m is not None:
        return m
    # Marketplace ids are upper case; people paste them in lower case from URLs sometimes.
    m = _BY_ID.get(code)
    if m is not None:
        return m
    valid = ", ".join(sorted([*MARKETPLACES, *_CODE_ALIASES]))
    raise ConfigurationError(
        f"unknown marketplace {text!r}: give a country code ({valid}) or a marketplace id "
        "such as ATVPDKIKX0DER (see `sellerkit marketplaces`)")


#: Request fields that carry marketplace ids, in the parameters of Amazon's models and at the
#: top level of request bodies (createReport, createFeed, ...). The client maps marketplace
#: codes given there (``"US"``) to ids (``"ATVPDKIKX0DER"``) before sending.
MARKETPLACE_ID_FIELDS = frozenset({"MarketplaceId", "MarketplaceIds", "marketplaceId",
                                   "marketplaceIds"})

_CODE_SHAPE = re.compile(r"[A-Za-z]{2}")


def marketplace_codes() -> list[str]:
    """Every code ``marketplace_id`` accepts (upper case; GB is an alias of UK)."""
    return sorted([*MARKETPLACES, *_CODE_ALIASES])


def marketplace_id(value: str) -> str:
    """The marketplace id for a two-letter marketplace code (any case); anything else (an id,
    known or not) is returned unchanged, since Amazon adds marketplaces before we do.

    A two-letter value that is no code raises ``ValueError`` listing the valid codes: no
    marketplace id has two characters, so it can only be a mistyped code."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not _CODE_SHAPE.fullmatch(text):
        return value
    code = _CODE_ALIASES.get(text.upper(), text.upper())
    m = MARKETPLACES.get(code)
    if m is None:
        raise ValueError(f"{value!r} is not a marketplace code; valid codes: "
                         f"{', '.join(marketplace_codes())} (or pass a marketplace id)")
    return m.id


def get_region(name: str | Region) -> Region:
    """A region by name (NA, EU, FE; any case) or by its AWS region (us-east-1, ...)."""
    if isinstance(name, Region):
        return name
    text = str(name).strip()
    region = REGIONS.get(text.upper()) or _BY_AWS_REGION.get(text.lower())
    if region is None:
        close = difflib.get_close_matches(text.upper(), list(REGIONS), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigurationError(
            f"unknown region {text!r}: use NA, EU or FE (or their AWS regions us-east-1, "
            f"eu-west-1, us-west-2){hint}")
    return region


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _without_password(url: str) -> str:
    # Error messages quote the URL; a password in it must not travel along.
    return re.sub(r"(?<=://)([^/@:]*):[^/@]*@", r"\1:***@", url)


def check_url(url: str, what: str) -> str:
    """Return ``url`` without a trailing slash if it is safe to send credentials to.

    HTTPS is always accepted; plain HTTP only for loopback hosts (127.0.0.0/8, ::1, localhost),
    which is where the emulator listens. Anything else raises ConfigurationError naming ``what``.
    """
    text = str(url).strip()
    shown = _without_password(text)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise ConfigurationError(f"{what} {shown!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"{what} {shown!r} is not an http(s) URL; expected something like "
            "https://sellingpartnerapi-na.amazon.com or http://127.0.0.1:8787")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"{what} {shown!r} must not have a query string or fragment")
    if parts.username or parts.password:
        raise ConfigurationError(
            f"{what} must not carry a user name or password in the URL; "
            "credentials are configured separately")
    if scheme == "http" and not _is_loopback(host):
        raise ConfigurationError(
            f"{what} {shown!r} uses plain http to a non-loopback host ({host}); access tokens and "
            "client secrets would cross the network unencrypted. Use https, or http only to "
            "127.0.0.1/::1/localhost (e.g. the local emulator)")
    return text.rstrip("/")


def resolve_endpoint(*, region: str | Region | None = None,
                     marketplace: str | Marketplace | None = None,
                     sandbox: bool = False, endpoint: str | None = None) -> Endpoint:
    """Work out where SP-API calls go.

    ``marketplace`` implies its region; giving both a region and a marketplace of another region is
    an error. ``endpoint`` (e.g. the emulator's URL) replaces the host but keeps the region's AWS
    region; with ``endpoint`` and no region, NA is assumed. Without any of the three there is no
    sensible default (a wrong region fails later with confusing 403s), so it is an error.
    """
    reg = get_region(region) if region is not None and region != "" else None
    if marketplace is not None and marketplace != "":
        mp = get_marketplace(marketplace)
        if reg is not None and reg.name != mp.region:
            raise ConfigurationError(
                f"marketplace {mp.country_code} ({mp.id}) is served by region {mp.region}, "
                f"not {reg.name}; drop region= or pick a marketplace of {reg.name}")
        reg = REGIONS[mp.region]
    if endpoint is not None and endpoint != "":
        base = check_url(endpoint, "endpoint")
        reg = reg or REGIONS["NA"]
        return Endpoint(base, reg.aws_region, reg.name)
    if reg is None:
        raise ConfigurationError(
            "no SP-API region: set marketplace (e.g. 'US', 'DE', 'JP') or region ('NA', 'EU', "
            "'FE'), by argument, SELLERKIT_MARKETPLACE / SELLERKIT_REGION, or in a profile",
            problem="no SP-API region", missing=("marketplace",))
    return Endpoint(reg.base_url(sandbox), reg.aws_region, reg.name)


def resolve_lwa_endpoint(lwa_endpoint: str | None = None) -> str:
    """The LWA token URL: Amazon's unless overridden (checked like ``endpoint``)."""
    if lwa_endpoint is None or lwa_endpoint == "":
        return DEFAULT_LWA_ENDPOINT
    return check_url(lwa_endpoint, "lwa_endpoint")
