"""Regions, marketplaces and endpoint resolution."""

from __future__ import annotations

import pytest

from sellerkit.errors import ConfigurationError
from sellerkit.regions import (
    MARKETPLACES,
    REGIONS,
    check_url,
    get_marketplace,
    get_region,
    resolve_endpoint,
    resolve_lwa_endpoint,
)


def test_all_marketplaces_and_regions() -> None:
    assert len(MARKETPLACES) == 23
    assert {m.region for m in MARKETPLACES.values()} == {"NA", "EU", "FE"}
    assert len({m.id for m in MARKETPLACES.values()}) == 23
    assert REGIONS["FE"].aws_region == "us-west-2"
    assert REGIONS["EU"].sandbox_host == "sandbox.sellingpartnerapi-eu.amazon.com"


@pytest.mark.parametrize("given", ["UK", "uk", "GB", "gb", " A1F83G8C2ARO7P ", "a1f83g8c2aro7p"])
def test_uk_and_gb_and_ids(given: str) -> None:
    m = get_marketplace(given)
    assert (m.id, m.country_code, m.region) == ("A1F83G8C2ARO7P", "UK", "EU")


def test_india_is_served_by_eu_and_brazil_by_na() -> None:
    assert get_marketplace("IN").region == "EU"
    assert get_marketplace("br").region == "NA"


def test_unknown_marketplace_lists_valid_codes() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown marketplace 'XX'.*GB.*US"):
        get_marketplace("XX")


def test_region_by_name_or_aws_region() -> None:
    assert get_region("eu").name == "EU"
    assert get_region("us-west-2").name == "FE"
    with pytest.raises(ConfigurationError, match="did you mean EU"):
        get_region("EUR")


def test_marketplace_implies_region() -> None:
    ep = resolve_endpoint(marketplace="JP")
    assert ep.base_url == "https://sellingpartnerapi-fe.amazon.com"
    assert (ep.aws_region, ep.region_name) == ("us-west-2", "FE")


def test_sandbox_host() -> None:
    ep = resolve_endpoint(region="NA", sandbox=True)
    assert ep.base_url == "https://sandbox.sellingpartnerapi-na.amazon.com"


def test_conflicting_region_and_marketplace() -> None:
    with pytest.raises(ConfigurationError, match="served by region EU, not NA"):
        resolve_endpoint(region="NA", marketplace="DE")
    assert resolve_endpoint(region="EU", marketplace="DE").region_name == "EU"


def test_endpoint_override_keeps_region() -> None:
    ep = resolve_endpoint(marketplace="DE", endpoint="http://127.0.0.1:8787/")
    assert ep.base_url == "http://127.0.0.1:8787"
    assert ep.aws_region == "eu-west-1"
    assert resolve_endpoint(endpoint="http://localhost:9").region_name == "NA"


def test_nothing_given_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="no SP-API region"):
        resolve_endpoint()


@pytest.mark.parametrize("url", [
    "https://sellingpartnerapi-na.amazon.com",
    "https://example.com:8443/prefix",
    "http://127.0.0.1:8787",
    "http://127.5.6.7",
    "http://[::1]:8787",
    "http://localhost:8787",
    "http://LOCALHOST",
])
def test_check_url_accepts(url: str) -> None:
    assert check_url(url, "endpoint") == url.rstrip("/")


@pytest.mark.parametrize(("url", "why"), [
    ("http://192.168.1.10:8787", "unencrypted"),
    ("http://example.com", "non-loopback"),
    ("http://localhost.example.com", "non-loopback"),
    ("http://128.0.0.1", "non-loopback"),
    ("ftp://127.0.0.1", "not an http"),
    ("127.0.0.1:8787", "not an http"),
    ("https://user:pw@example.com", "user name or password"),
    ("https://example.com?x=1", "query string"),
    ("http://127.0.0.1:99999", "not a valid URL"),
])
def test_check_url_rejects(url: str, why: str) -> None:
    with pytest.raises(ConfigurationError, match=why) as info:
        check_url(url, "endpoint")
    assert "pw" not in str(info.value)


def test_lwa_endpoint() -> None:
    assert resolve_lwa_endpoint() == "https://api.amazon.com/auth/o2/token"
    assert resolve_lwa_endpoint("http://127.0.0.1:8787/auth/o2/token").endswith("/o2/token")
    with pytest.raises(ConfigurationError, match="lwa_endpoint"):
        resolve_lwa_endpoint("http://10.0.0.1/auth/o2/token")
