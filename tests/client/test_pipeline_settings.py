"""Network settings, logging and SigV4 as the pipeline applies them."""

from __future__ import annotations

import logging
import math

import httpx
import pytest

from sellerkit import CallOptions, SellingPartner
from sellerkit.errors import ConfigurationError

from .fake import BASE, LWA, FakeSPAPI, ok
from .test_client import CREDS


def timeouts_seen(fake: FakeSPAPI) -> list[dict[str, float]]:
    return [r.extensions["timeout"] for r in fake.requests]


def test_every_request_has_a_timeout_and_calls_can_lower_it() -> None:
    fake = FakeSPAPI()
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False, timeout=12.0)
    sp.sellers_v1.get_marketplace_participations()
    sp.sellers_v1.get_marketplace_participations(options=CallOptions(timeout=2.0))
    first, second = timeouts_seen(fake)
    assert 11.0 < first["read"] <= 12.0 and first["connect"] <= 10.0
    assert 1.0 < second["read"] <= 2.0 and second["connect"] <= 2.0


def test_document_download_uses_the_client_settings() -> None:
    import gzip

    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, content=gzip.compress(b"a\tb\n1\t2\n"))

    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA,
                        transport=httpx.MockTransport(handler), rate_limiter=False, timeout=7.0)
    data = sp.download("https://example-bucket.s3.amazonaws.com/doc?sig=1", compression="GZIP")
    assert data == b"a\tb\n1\t2\n"
    assert "x-amz-access-token" not in seen[0].headers  # no SP-API token to the document host
    assert seen[0].extensions["timeout"]["read"] == 7.0


def test_missing_ca_bundle_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="ca_bundle"):
        SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, rate_limiter=False,
                       ca_bundle=str(tmp_path / "missing.pem"))


def test_debug_log_has_call_facts_and_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeSPAPI()
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False)
    with caplog.at_level(logging.DEBUG, logger="sellerkit"):
        sp.sellers_v1.get_marketplace_participations()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /sellers/v1/marketplaceParticipations -> 200 request_id=req-1" in text
    for secret in ("topsecret", "refresh-secret", "Atza|"):
        assert secret not in text
    assert logging.getLogger().handlers == [] or all(
        not isinstance(h, logging.StreamHandler) or h.__class__.__module__.startswith("_pytest")
        for h in logging.getLogger().handlers)


def test_sigv4_signs_when_enabled() -> None:
    pytest.importorskip("botocore")
    fake = FakeSPAPI()
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False, sigv4=True, aws_access_key_id="AKIDEXAMPLE",
                        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    sp.sellers_v1.get_marketplace_participations()
    h = fake.requests[-1].headers
    assert h["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/execute-api/aws4_request" in h["authorization"]
    assert "x-amz-access-token" in h["authorization"]  # the LWA token header is signed too
    assert "x-amz-date" in h
    assert "EXAMPLEKEY" not in repr(sp.settings)


def test_sigv4_off_by_default() -> None:
    fake = FakeSPAPI()
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=False)
    sp.sellers_v1.get_marketplace_participations()
    assert "authorization" not in fake.requests[-1].headers


def test_user_agent_with_app_name() -> None:
    from sellerkit.client._base import user_agent

    ua = user_agent("My/Tool", "2.0")
    assert ua.startswith("sellerkit/") and ua.endswith(" My\\/Tool/2.0")
    assert len(user_agent("x" * 600)) == 500


def test_the_default_limiter_waits_instead_of_sending_into_a_429() -> None:
    from sellerkit.errors import RateLimitWaitError

    fake = FakeSPAPI()
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport())
    op = sp.catalog.operation("sellers_v1.getMarketplaceParticipations")
    assert op.rate_limit is not None
    burst = op.rate_limit[1]
    for _ in range(burst):
        sp.sellers_v1.get_marketplace_participations()
    # the bucket is empty; the next token is ~1/rate seconds away, beyond this call's max_wait
    with pytest.raises(RateLimitWaitError, match="sellers_v1.getMarketplaceParticipations"):
        sp.sellers_v1.get_marketplace_participations(options=CallOptions(max_wait=0.5))
    assert len(fake.requests) == burst
    states = [s for s in sp.limiter.snapshot() if s.operation == op.key]
    assert states and states[0].tokens < 1


def test_close_saves_the_limits_snapshot_of_its_own_limiter(tmp_path, monkeypatch) -> None:
    from sellerkit.ratelimit import RateLimiter, read_snapshot

    monkeypatch.setenv("SELLERKIT_STATE_DIR", str(tmp_path))
    fake = FakeSPAPI()
    fake.on("GET", "/sellers/v1/marketplaceParticipations", ok({"payload": []}))
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport()) as sp:
        sp.sellers_v1.get_marketplace_participations()
    snap = read_snapshot()
    assert "sellers_v1.getMarketplaceParticipations" in str(snap)
    (tmp_path / "limits.json").unlink()
    shared = RateLimiter()
    with SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=fake.transport(),
                        rate_limiter=shared) as sp:
        sp.sellers_v1.get_marketplace_participations()
    assert not (tmp_path / "limits.json").exists()  # a limiter passed in is its owner's to save


def test_the_wait_for_capacity_is_bounded_by_max_wait_not_timeout() -> None:
    from sellerkit.ratelimit import DEFAULT_MAX_WAIT, wait_as_needed

    sp = SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, transport=FakeSPAPI().transport(),
                        timeout=2)
    assert sp.wait_bound(CallOptions()) == DEFAULT_MAX_WAIT
    assert sp.wait_bound(CallOptions(timeout=1)) == DEFAULT_MAX_WAIT   # timeout plays no part
    assert sp.wait_bound(CallOptions(max_wait=0)) == 0
    assert sp.wait_bound(CallOptions(max_wait=math.inf)) is None        # as long as needed
    assert sp.wait_bound(CallOptions(max_wait=None)) == DEFAULT_MAX_WAIT  # None: unset
    with wait_as_needed():                                              # paginate, bulk
        assert sp.wait_bound(CallOptions()) is None
        assert sp.wait_bound(CallOptions(max_wait=5)) == 5              # the call still wins
    assert SellingPartner(**CREDS, endpoint=BASE, lwa_endpoint=LWA, max_wait=7,
                          transport=FakeSPAPI().transport()).wait_bound(CallOptions()) == 7


def test_proxy_carries_lwa_and_api_calls() -> None:
    """A loopback stand-in proxy sees the client's CONNECT and refuses it; nothing leaves."""
    import socket
    import threading

    from sellerkit.errors import SellerkitError

    lines: list[str] = []
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(5)

    def serve() -> None:
        for _ in range(8):
            try:
                conn, _addr = srv.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(65536)
                lines.append(data.split(b"\r\n", 1)[0].decode())
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = srv.getsockname()[1]
    sp = SellingPartner(**CREDS, region="NA", rate_limiter=False, proxy=f"http://127.0.0.1:{port}",
                        max_attempts=1)
    with pytest.raises(SellerkitError):
        sp.sellers_v1.get_marketplace_participations()  # needs an LWA token first
    with pytest.raises(SellerkitError):  # a token in hand: straight to the API host
        sp.sellers_v1.get_marketplace_participations(
            options=CallOptions(restricted_data_token="Atz.sprdt|given"))
    srv.close()
    assert lines[0].startswith("CONNECT api.amazon.com:443")  # LWA (tried 3 times)
    assert lines[-1].startswith("CONNECT sellingpartnerapi-na.amazon.com:443")
