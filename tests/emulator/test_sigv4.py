"""``--require-sigv4``: requests signed with botocore pass; anything else is a 403."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sellerkit.emulator import Emulator, EmulatorConfig
from sellerkit.emulator.config import DEFAULT_AWS_ACCESS_KEY, DEFAULT_AWS_SECRET_KEY
from sellerkit.emulator.sigv4 import region_for_host

from .conftest import FakeClock

pytest.importorskip("botocore")


def _signed(method: str, url: str, headers: dict[str, str], body: bytes, *, when: datetime,
            access: str = DEFAULT_AWS_ACCESS_KEY, secret: str = DEFAULT_AWS_SECRET_KEY,
            region: str = "us-east-1") -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class FixedTime(SigV4Auth):
        def add_auth(self, request):  # type: ignore[no-untyped-def]
            request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
            request.headers["X-Amz-Date"] = request.context["timestamp"]
            self._modify_request_before_signing(request)
            canonical = self.canonical_request(request)
            sts = self.string_to_sign(request, canonical)
            self._inject_signature_to_request(request, self.signature(sts, request))

    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    FixedTime(Credentials(access, secret), "execute-api", region).add_auth(req)
    return dict(req.headers.items())


@pytest.fixture
def signing() -> tuple[Emulator, httpx.Client, FakeClock]:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp())
    emu = Emulator(EmulatorConfig(require_sigv4=True, rate_limits=False, clock=clock, orders=1))
    return emu, httpx.Client(transport=emu.sync_transport(), base_url="http://127.0.0.1:8787"), \
        clock


def _get(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.get("/sellers/v1/marketplaceParticipations?b=2&a=1", headers=headers)


def test_signed_request_passes(signing: tuple[Emulator, httpx.Client, FakeClock]) -> None:
    emu, client, clock = signing
    url = "http://127.0.0.1:8787/sellers/v1/marketplaceParticipations?b=2&a=1"
    headers = _signed("GET", url, {"host": "127.0.0.1:8787", "user-agent": "test/1.0",
                                   "x-amz-access-token": emu.access_token()}, b"",
                      when=datetime.fromtimestamp(clock(), UTC))
    r = _get(client, headers)
    # the signature (over a query of undeclared parameters, which are then ignored) is fine
    assert r.status_code == 200, r.text


def test_signed_post_with_body(signing: tuple[Emulator, httpx.Client, FakeClock]) -> None:
    emu, client, clock = signing
    body = b'{"restrictedResources":[{"method":"GET","path":"/orders/v0/orders/{orderId}"}]}'
    url = "http://127.0.0.1:8787/tokens/2021-03-01/restrictedDataToken"
    headers = _signed("POST", url, {"host": "127.0.0.1:8787", "content-type": "application/json",
                                    "x-amz-access-token": emu.access_token()}, body,
                      when=datetime.fromtimestamp(clock(), UTC))
    r = client.post("/tokens/2021-03-01/restrictedDataToken", content=body, headers=headers)
    assert r.status_code == 200, r.text
    tampered = client.post("/tokens/2021-03-01/restrictedDataToken", content=body + b" ",
                           headers=headers)
    assert tampered.status_code == 403
    assert tampered.json()["errors"][0]["code"] == "InvalidSignature"


@pytest.mark.parametrize(("case", "fragment"), [
    ("unsigned", "not signed"),
    ("wrong secret", "does not match"),
    ("wrong key", "access key"),
    ("wrong region", "region"),
    ("old", "expired"),
])
def test_bad_signatures_are_403(signing: tuple[Emulator, httpx.Client, FakeClock], case: str,
                                fragment: str) -> None:
    emu, client, clock = signing
    base = {"host": "127.0.0.1:8787", "x-amz-access-token": emu.access_token()}
    url = "http://127.0.0.1:8787/sellers/v1/marketplaceParticipations?b=2&a=1"
    now = datetime.fromtimestamp(clock(), UTC)
    if case == "unsigned":
        headers = base
    elif case == "wrong secret":
        headers = _signed("GET", url, base, b"", when=now, secret="nope")
    elif case == "wrong key":
        headers = _signed("GET", url, base, b"", when=now, access="AKIAOTHER")
    elif case == "wrong region":
        headers = _signed("GET", url, base, b"", when=now, region="eu-west-1")
    else:
        headers = _signed("GET", url, base, b"",
                          when=datetime.fromtimestamp(clock() - 3600, UTC))
    r = _get(client, headers)
    assert r.status_code == 403
    assert fragment in r.json()["errors"][0]["details"]
    assert DEFAULT_AWS_SECRET_KEY not in r.text


def test_region_for_host() -> None:
    assert region_for_host("sellingpartnerapi-na.amazon.com") == "us-east-1"
    assert region_for_host("sandbox.sellingpartnerapi-eu.amazon.com") == "eu-west-1"
    assert region_for_host("sellingpartnerapi-fe.amazon.com") == "us-west-2"
    assert region_for_host("127.0.0.1:8787") == "us-east-1"
