"""Where a seller gives consent: Seller Central or Vendor Central, per marketplace.

Amazon's website authorization workflow sends the seller to
``{Seller Central or Vendor Central}/apps/authorize/consent``. The host depends on the
marketplace and on whether the partner is a seller or a vendor (facts: Amazon's 2021 developer
guide). One consent covers every marketplace of the region, so where a marketplace's own host is
not confirmed (marked below) the region's main host is used, which authorizes the same accounts.

:func:`consent_url` builds the URI; ``version=beta`` is added only for a draft app.
:func:`is_amazon_host` tells whether an ``amazon_callback_uri`` of the Appstore workflow points at
one of these hosts (the app redirects browsers there, so anything else would be an open redirect).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from sellerkit.errors import ConfigurationError
from sellerkit.regions import MARKETPLACES, get_marketplace

__all__ = ["KINDS", "SELLER_CENTRAL", "VENDOR_CENTRAL", "all_hosts", "append_query",
           "consent_base", "consent_url", "is_amazon_host"]

KINDS = ("seller", "vendor")
CONSENT_PATH = "/apps/authorize/consent"

SELLER_CENTRAL: dict[str, str] = {
    "CA": "sellercentral.amazon.ca",
    "US": "sellercentral.amazon.com",
    "MX": "sellercentral.amazon.com.mx",
    "BR": "sellercentral.amazon.com.br",
    "ES": "sellercentral-europe.amazon.com",
    "UK": "sellercentral-europe.amazon.com",
    "FR": "sellercentral-europe.amazon.com",
    "DE": "sellercentral-europe.amazon.com",
    "IT": "sellercentral-europe.amazon.com",
    "NL": "sellercentral.amazon.nl",
    "SE": "sellercentral.amazon.se",
    "PL": "sellercentral.amazon.pl",
    "TR": "sellercentral.amazon.com.tr",
    "AE": "sellercentral.amazon.ae",
    "IN": "sellercentral.amazon.in",
    "SG": "sellercentral.amazon.sg",
    "AU": "sellercentral.amazon.com.au",
    "JP": "sellercentral.amazon.co.jp",
    # UNCONFIRMED own hosts (BE, IE, ZA, SA, EG): the EU region's main host authorizes them.
    "BE": "sellercentral-europe.amazon.com",
    "IE": "sellercentral-europe.amazon.com",
    "ZA": "sellercentral-europe.amazon.com",
    "SA": "sellercentral-europe.amazon.com",
    "EG": "sellercentral-europe.amazon.com",
}

VENDOR_CENTRAL: dict[str, str] = {
    "CA": "vendorcentral.amazon.ca",
    "US": "vendorcentral.amazon.com",
    "MX": "vendorcentral.amazon.com.mx",
    "BR": "vendorcentral.amazon.com.br",
    "ES": "vendorcentral.amazon.es",
    "UK": "vendorcentral.amazon.co.uk",
    "FR": "vendorcentral.amazon.fr",
    "NL": "vendorcentral.amazon.nl",
    "DE": "vendorcentral.amazon.de",
    "IT": "vendorcentral.amazon.it",
    "SE": "vendorcentral.amazon.se",
    "PL": "vendorcentral.amazon.pl",
    "EG": "vendorcentral.amazon.me",
    "AE": "vendorcentral.amazon.me",
    "TR": "vendorcentral.amazon.com.tr",
    "IN": "vendorcentral.amazon.in",
    "SG": "vendorcentral.amazon.com.sg",
    "AU": "vendorcentral.amazon.com.au",
    "JP": "vendorcentral.amazon.co.jp",
    # UNCONFIRMED own hosts (BE, IE, ZA, SA): the UK host, in the same (EU) region.
    "BE": "vendorcentral.amazon.co.uk",
    "IE": "vendorcentral.amazon.co.uk",
    "ZA": "vendorcentral.amazon.co.uk",
    "SA": "vendorcentral.amazon.co.uk",
}

assert set(SELLER_CENTRAL) == set(MARKETPLACES) == set(VENDOR_CENTRAL)


def all_hosts() -> frozenset[str]:
    return frozenset(SELLER_CENTRAL.values()) | frozenset(VENDOR_CENTRAL.values())


def consent_base(marketplace: str, kind: str, override: str | None = None) -> str:
    """``https://<host>`` for the marketplace and kind (``override`` replaces it, for tests)."""
    if kind not in KINDS:
        raise ConfigurationError(f"unknown account kind {kind!r}: use seller or vendor")
    code = get_marketplace(marketplace).country_code
    if override:
        return override.rstrip("/")
    table = SELLER_CENTRAL if kind == "seller" else VENDOR_CENTRAL
    return f"https://{table[code]}"


def append_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query string (keeping what it has)."""
    extra = urlencode(params)
    if not extra:
        return url
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}{extra}"


def consent_url(*, marketplace: str, kind: str, application_id: str, state: str,
                redirect_uri: str, draft: bool, override: str | None = None) -> str:
    """The consent URI of the website workflow (``version=beta`` only for a ``draft`` app)."""
    params = {"application_id": application_id, "state": state, "redirect_uri": redirect_uri}
    if draft:
        params["version"] = "beta"
    return append_query(consent_base(marketplace, kind, override) + CONSENT_PATH, params)


def is_amazon_host(url: str, override: str | None = None) -> bool:
    """True when ``url`` is an https URL on a Seller/Vendor Central host (or on the origin of
    ``override``, the configured stand-in such as the emulator)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.username or parts.password or not parts.hostname:
        return False
    if override:
        o = urlsplit(override)
        if (parts.scheme, parts.hostname, port) == (o.scheme, o.hostname, o.port):
            return True
    return parts.scheme == "https" and port in (None, 443) and parts.hostname in all_hosts()
