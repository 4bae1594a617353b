"""The web app's settings, consent hosts and the OAuth state, without a server."""

from __future__ import annotations

import base64
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from sellerkit.errors import ConfigurationError
from sellerkit.web.config import WebSettings, load_web_settings
from sellerkit.web.connect import MemoryStateStore, StateCodec, StateError
from sellerkit.web.hosts import consent_url, is_amazon_host
from sellerkit.web.security import Keys

APP = "amzn1.sp.solution.0123-4567"
BASE = {"application_id": APP, "client_id": "amzn1.application-oa2-client.abc",
        "client_secret": "amzn1.oa2-cs.v1.secret", "redirect_uri": "https://app.example.com/cb",
        "app_status": "draft"}


def settings(**kw: object) -> WebSettings:
    return WebSettings(**{**BASE, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "needle"), [
    ({"application_id": "amzn1.application-oa2-client.abc"}, "MD1000"),
    ({"application_id": ""}, "--application-id"),
    ({"application_id": "my-app"}, "amzn1.sp.solution."),
    ({"app_status": "beta"}, "draft or published"),
    ({"app_status": ""}, "--app-status draft"),
    ({"redirect_uri": "https://app.example.com/cb#x"}, "MD5110"),
    ({"redirect_uri": "http://app.example.com/cb"}, "plain http"),
    ({"redirect_uri": ""}, "--redirect-uri"),
    ({"state_ttl": 120}, "5 to 15 minutes"),
    ({"state_ttl": 1200}, "5 to 15 minutes"),
    ({"allow_ips": ("10.0.0.0/33",)}, "--allow-ip"),
    ({"consent_base_url": "http://127.0.0.1:8787/apps"}, "scheme and host only"),
    ({"client_secret": ""}, "client secret"),
])
def test_bad_settings_say_what_to_fix(change: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        settings(**change)
    assert needle in str(err.value)


def test_settings_hide_the_secret_and_normalise() -> None:
    s = settings(app_status=" Published ")
    assert s.app_status == "published" and not s.draft
    assert "secret" not in repr(s)
    assert s.redirect_path == "/cb"


def test_load_web_settings_reads_the_environment_below_explicit_values() -> None:
    env = {"SELLERKIT_APPLICATION_ID": APP, "SELLERKIT_APP_STATUS": "published",
           "SELLERKIT_REDIRECT_URI": "https://app.example.com/cb", "SELLERKIT_STATE_TTL": "300"}
    s = load_web_settings({"app_status": "draft", "client_id": "amzn1.application-oa2-client.x",
                           "client_secret": "amzn1.oa2-cs.v1.y"}, environ=env)
    assert (s.application_id, s.app_status, s.state_ttl) == (APP, "draft", 300)
    with pytest.raises(ConfigurationError, match="not a number"):
        load_web_settings({**BASE, "state_ttl": "ten"}, environ={})


@pytest.mark.parametrize(("marketplace", "kind", "host"), [
    ("US", "seller", "sellercentral.amazon.com"),
    ("DE", "seller", "sellercentral-europe.amazon.com"),
    ("JP", "seller", "sellercentral.amazon.co.jp"),
    ("IN", "seller", "sellercentral.amazon.in"),
    ("UK", "vendor", "vendorcentral.amazon.co.uk"),
    ("AE", "vendor", "vendorcentral.amazon.me"),
    ("AU", "vendor", "vendorcentral.amazon.com.au"),
    ("MX", "vendor", "vendorcentral.amazon.com.mx"),
])
def test_consent_host_follows_marketplace_and_kind(marketplace: str, kind: str,
                                                   host: str) -> None:
    url = consent_url(marketplace=marketplace, kind=kind, application_id=APP, state="s",
                      redirect_uri="https://app.example.com/cb", draft=False)
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.path) == ("https", host,
                                                          "/apps/authorize/consent")
    q = parse_qs(parts.query)
    assert q["application_id"] == [APP] and q["redirect_uri"] == ["https://app.example.com/cb"]
    assert "version" not in q  # published: never version=beta


def test_version_beta_only_for_a_draft_app() -> None:
    url = consent_url(marketplace="US", kind="seller", application_id=APP, state="s",
                      redirect_uri="https://app.example.com/cb", draft=True)
    assert parse_qs(urlsplit(url).query)["version"] == ["beta"]


@pytest.mark.parametrize(("url", "ok"), [
    ("https://sellercentral.amazon.com/apps/authorize/confirm/amzn1.sp.solution.x", True),
    ("https://vendorcentral.amazon.de/apps/authorize/confirm/x", True),
    ("http://sellercentral.amazon.com/apps/authorize/confirm/x", False),
    ("https://sellercentral.amazon.com.evil.example/x", False),
    ("https://evil.example/?sellercentral.amazon.com", False),
    ("https://user@sellercentral.amazon.com/x", False),
    ("https://sellercentral.amazon.com:8443/x", False),
    ("javascript:alert(1)", False),
])
def test_only_amazon_hosts_are_appstore_callbacks(url: str, ok: bool) -> None:
    assert is_amazon_host(url) is ok


class _Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def _codec(clock: _Clock, ttl: int = 600) -> StateCodec:
    return StateCodec(Keys(secrets.token_bytes(32)), MemoryStateStore(clock), ttl=ttl,
                      clock=clock)


def test_state_is_single_use_bound_and_expiring() -> None:
    clock = _Clock()
    codec = _codec(clock)
    a, b = codec.issue("visitor-1", marketplace="DE", kind="seller"), \
        codec.issue("visitor-1", marketplace="DE", kind="seller")
    assert a != b  # random
    payload = codec.consume(a, "visitor-1")
    assert (payload.marketplace, payload.kind, payload.flow) == ("DE", "seller", "website")
    with pytest.raises(StateError) as err:
        codec.consume(a, "visitor-1")
    assert err.value.kind == "replayed"
    with pytest.raises(StateError) as err:
        codec.consume(b, "visitor-2")
    assert err.value.kind == "session"
    clock.t += 601
    with pytest.raises(StateError) as err:
        codec.consume(b, "visitor-1")
    assert err.value.kind == "expired"


@pytest.mark.parametrize("mutation", ["flip-sig", "edit-payload", "other-key", "garbage", ""])
def test_tampered_state_is_refused(mutation: str) -> None:
    clock = _Clock()
    codec = _codec(clock)
    state = codec.issue("v", marketplace="US", kind="seller")
    raw, _, sig = state.partition(".")
    if mutation == "flip-sig":
        state = f"{raw}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    elif mutation == "edit-payload":
        body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        body["x"] += 10_000  # try to extend the expiry
        raw2 = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
        state = f"{raw2}.{sig}"
    elif mutation == "other-key":
        state = _codec(clock).issue("v", marketplace="US", kind="seller")
    elif mutation == "garbage":
        state = "not-a-state"
    else:
        state = ""
    with pytest.raises(StateError) as err:
        codec.consume(state, "v")
    assert err.value.kind == ("missing" if mutation == "" else "tampered")
