"""SigV4: our signer equals botocore's own on fixed inputs; AssumeRole against moto's STS."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from typing import Any
from unittest import mock

import pytest

from sellerkit.auth import (
    AssumeRoleCredentials,
    AwsCredentials,
    SigV4Signer,
    StaticCredentials,
    region_for_host,
)
from sellerkit.errors import AuthError, ConfigurationError

botocore_auth = pytest.importorskip("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ACCESS = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
FIXED = datetime.datetime(2026, 1, 2, 3, 4, 5)
FIXED_TS = FIXED.replace(tzinfo=datetime.UTC).timestamp()
URL = ("https://sellingpartnerapi-na.amazon.com/orders/v0/orders"
       "?MarketplaceIds=ATVPDKIKX0DER&CreatedAfter=2026-01-01T00%3A00%3A00Z")
HEADERS = {"host": "sellingpartnerapi-na.amazon.com",
           "user-agent": "sellerkit/0.1.0 (Language=Python/3.11)",
           "x-amz-access-token": "Atza|IwEBIaccess", "accept": "application/json"}


def botocore_reference(method: str, url: str, headers: dict[str, str], body: bytes,
                       token: str | None = None, region: str = "us-east-1",
                       service: str = "execute-api") -> dict[str, str]:
    """What botocore's stock SigV4Auth.add_auth produces at FIXED."""
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=FIXED):
        botocore_auth.SigV4Auth(Credentials(ACCESS, SECRET, token), service,
                                region).add_auth(request)
    return dict(request.headers.items())


def signer(token: str | None = None, **kw: Any) -> SigV4Signer:
    return SigV4Signer("us-east-1", StaticCredentials(ACCESS, SECRET, token),
                       clock=lambda: FIXED_TS, **kw)


@pytest.mark.parametrize(("method", "url", "body"), [
    ("GET", URL, b""),
    ("POST", "https://sellingpartnerapi-na.amazon.com/reports/2021-06-30/reports",
     b'{"reportType":"GET_MERCHANT_LISTINGS_ALL_DATA","marketplaceIds":["ATVPDKIKX0DER"]}'),
    ("PUT", "https://sellingpartnerapi-eu.amazon.com/listings/2021-08-01/items/A1/SKU%201"
     "?marketplaceIds=A1PA6795UKMFR9", b'{"productType":"SHIRT"}'),
    ("DELETE", "https://sellingpartnerapi-fe.amazon.com/notifications/v1/subscriptions/X/1", b""),
])
def test_signature_equals_botocore(method: str, url: str, body: bytes) -> None:
    added = signer().sign(method, url, HEADERS, body)
    reference = botocore_reference(method, url, HEADERS, body)
    assert set(added) == {"Authorization", "X-Amz-Date"}
    assert added["X-Amz-Date"] == "20260102T030405Z"
    assert added["Authorization"] == reference["Authorization"]
    assert added["Authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={ACCESS}/20260102/us-east-1/execute-api/aws4_request, "
        "SignedHeaders=accept;host;x-amz-access-token;x-amz-date, Signature=")


def test_temporary_credentials_add_and_sign_the_security_token() -> None:
    added = signer(SESSION).sign("GET", URL, HEADERS, b"")
    reference = botocore_reference("GET", URL, HEADERS, b"", token=SESSION)
    assert added["X-Amz-Security-Token"] == SESSION
    assert added["Authorization"] == reference["Authorization"]
    assert "x-amz-security-token" in added["Authorization"]
    assert "x-amz-content-sha256" not in {k.lower() for k in added}


def test_signature_covers_body_path_query_and_token() -> None:
    s = signer()
    base = s.sign("POST", URL, HEADERS, b"{}")["Authorization"]
    assert s.sign("POST", URL, HEADERS, b"{ }")["Authorization"] != base
    assert s.sign("POST", URL.replace("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"), HEADERS,
                  b"{}")["Authorization"] != base
    other = {**HEADERS, "x-amz-access-token": "Atza|other"}
    assert s.sign("POST", URL, other, b"{}")["Authorization"] != base
    # The date moves the signature too.
    later = SigV4Signer("us-east-1", StaticCredentials(ACCESS, SECRET), clock=lambda: FIXED_TS + 1)
    assert later.sign("POST", URL, HEADERS, b"{}")["Authorization"] != base


def test_region_is_part_of_the_scope() -> None:
    eu = SigV4Signer("eu-west-1", StaticCredentials(ACCESS, SECRET), clock=lambda: FIXED_TS)
    added = eu.sign("GET", URL, HEADERS, b"")
    assert "/20260102/eu-west-1/execute-api/aws4_request" in added["Authorization"]
    assert added["Authorization"] == botocore_reference("GET", URL, HEADERS, b"",
                                                        region="eu-west-1")["Authorization"]


def test_aws_published_example_get_vanilla() -> None:
    """AWS's SigV4 test suite case ``get-vanilla`` (the suite files are not installed anywhere
    here; this one case's inputs and expected signature are the ones AWS publishes)."""
    s = SigV4Signer("us-east-1", StaticCredentials(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), service="service",
        clock=lambda: datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.UTC).timestamp())
    added = s.sign("GET", "https://example.amazonaws.com/", {"Host": "example.amazonaws.com"}, b"")
    assert added["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")


def test_signing_does_not_log_the_canonical_request(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        signer().sign("GET", URL, HEADERS, b"")
    assert "Atza|IwEBIaccess" not in caplog.text
    assert SECRET not in caplog.text


def test_region_for_host() -> None:
    assert region_for_host("sellingpartnerapi-na.amazon.com") == "us-east-1"
    assert region_for_host("sellingpartnerapi-eu.amazon.com:443") == "eu-west-1"
    assert region_for_host("sandbox.sellingpartnerapi-fe.amazon.com") == "us-west-2"
    assert region_for_host("127.0.0.1") is None


def test_reprs_hide_aws_secrets() -> None:
    static = StaticCredentials(ACCESS, SECRET, SESSION)
    creds = static.get_credentials()
    role = AssumeRoleCredentials("arn:aws:iam::123456789012:role/SellerkitRole",
                                 access_key=ACCESS, secret_key=SECRET)
    texts = [repr(static), repr(creds), str(creds), repr(role), repr(signer(SESSION))]
    for text in texts:
        assert SECRET not in text and SESSION not in text and ACCESS not in text
    assert "AKIA" in repr(static)  # enough to tell keys apart


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        StaticCredentials("", SECRET)
    with pytest.raises(ConfigurationError):
        SigV4Signer("", StaticCredentials(ACCESS, SECRET))
    with pytest.raises(ConfigurationError, match="role ARN"):
        AssumeRoleCredentials("SellerkitRole")
    with pytest.raises(ConfigurationError, match="both"):
        AssumeRoleCredentials("arn:aws:iam::1:role/R", access_key=ACCESS)


# -- AssumeRole against moto ----------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto import mock_aws

    # Never read the developer's own AWS config or reach the network.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


ROLE = "arn:aws:iam::123456789012:role/SellerkitRole"


class CountingSts:
    """Wraps a real (moto-backed) STS client; counts and optionally slows AssumeRole."""

    def __init__(self, delay: float = 0.0) -> None:
        import boto3

        self._client = boto3.client("sts", region_name="us-east-1", aws_access_key_id=ACCESS,
                                    aws_secret_access_key=SECRET)
        self.calls: list[dict[str, Any]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def assume_role(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls.append(kwargs)
        time.sleep(self.delay)
        return self._client.assume_role(**kwargs)


def test_assume_role_with_the_default_botocore_client(aws: Any) -> None:
    provider = AssumeRoleCredentials(ROLE, access_key=ACCESS, secret_key=SECRET)
    creds = provider.get_credentials()
    assert creds.access_key.startswith("ASIA") and creds.session_token is not None
    assert creds.expires_at is not None and creds.expires_at > time.time() + 3000
    assert provider.get_credentials() is creds
    assert provider.sts_calls == 1


def test_assume_role_is_cached_for_many_signs(aws: Any) -> None:
    sts = CountingSts()
    provider = AssumeRoleCredentials(ROLE, session_name="sk-test", sts_client_factory=lambda: sts,
                                     external_id="ext-1")
    s = SigV4Signer("us-east-1", provider)
    for i in range(25):
        added = s.sign("GET", f"{URL}&n={i}", HEADERS, b"")
        assert "X-Amz-Security-Token" in added
    assert len(sts.calls) == 1
    assert sts.calls[0] == {"RoleArn": ROLE, "RoleSessionName": "sk-test",
                            "DurationSeconds": 3600, "ExternalId": "ext-1"}


def test_assumed_credentials_sign_like_botocore(aws: Any) -> None:
    provider = AssumeRoleCredentials(ROLE, sts_client_factory=CountingSts,
                                     clock=lambda: FIXED_TS)
    creds = provider.get_credentials()
    assert creds.session_token is not None
    added = SigV4Signer("us-east-1", provider, clock=lambda: FIXED_TS).sign("GET", URL,
                                                                            HEADERS, b"")
    request = AWSRequest(method="GET", url=URL, headers=dict(HEADERS), data=b"")
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=FIXED):
        botocore_auth.SigV4Auth(Credentials(creds.access_key, creds.secret_key.reveal(),
                                            creds.session_token.reveal()),
                                "execute-api", "us-east-1").add_auth(request)
    assert added["Authorization"] == request.headers["Authorization"]
    assert added["X-Amz-Security-Token"] == creds.session_token.reveal()


def test_assumed_credentials_refresh_five_minutes_before_expiry(aws: Any) -> None:
    sts = CountingSts()
    now = [time.time()]
    provider = AssumeRoleCredentials(ROLE, sts_client_factory=lambda: sts,
                                     clock=lambda: now[0])
    first = provider.get_credentials()
    assert first.expires_at is not None
    now[0] = first.expires_at - 301
    assert provider.get_credentials() is first
    now[0] = first.expires_at - 299
    provider.get_credentials()
    assert len(sts.calls) == 2


def test_assume_role_refresh_is_single_flight_across_threads(aws: Any) -> None:
    sts = CountingSts(delay=0.05)
    provider = AssumeRoleCredentials(ROLE, sts_client_factory=lambda: sts)
    barrier = threading.Barrier(20)
    got: list[AwsCredentials] = []

    def worker() -> None:
        barrier.wait()
        got.append(provider.get_credentials())

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sts.calls) == 1
    assert len({id(c) for c in got}) == 1


def test_assume_role_failure_is_an_auth_error_without_secrets() -> None:
    from botocore.exceptions import ClientError

    class Denied:
        def assume_role(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied",
                                         "Message": "User is not authorized to perform "
                                                    "sts:AssumeRole"}}, "AssumeRole")

    provider = AssumeRoleCredentials(ROLE, access_key=ACCESS, secret_key=SECRET,
                                     sts_client_factory=Denied)
    with pytest.raises(AuthError, match="AccessDenied") as info:
        provider.get_credentials()
    assert ROLE in str(info.value) and SECRET not in str(info.value)


def test_missing_botocore_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    for name in ("botocore", "botocore.auth", "botocore.awsrequest", "botocore.credentials"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ConfigurationError, match=r"pip install 'sellerkit\[aws\]'"):
        SigV4Signer("us-east-1", StaticCredentials(ACCESS, SECRET)).sign("GET", URL, {}, b"")


# -- an independent check: the request httpx actually sends verifies under the SigV4 spec ---------

def _spec_verify(request: Any, secret: str, region: str) -> bool:
    """SigV4 recomputed from the wire request with hashlib/hmac only (no botocore)."""
    import hashlib
    import hmac
    import re
    from urllib.parse import quote, unquote

    auth = request.headers["authorization"]
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", auth)
    assert m, auth
    _key, day, scope_region, service, signed, signature = m.groups()
    assert scope_region == region and service == "execute-api"
    amz_date = request.headers["x-amz-date"]
    assert amz_date.startswith(day)
    raw_path, _, raw_query = request.url.raw_path.decode().partition("?")
    canonical_uri = quote(raw_path, safe="/~")  # the wire path, encoded once more (non-S3 rule)
    pairs = []
    for part in filter(None, raw_query.split("&")):
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    names = signed.split(";")
    canonical_headers = "".join(
        f"{n}:{' '.join(request.headers[n].split())}\n" for n in names)
    canonical = "\n".join([request.method, canonical_uri, canonical_query, canonical_headers,
                           signed, hashlib.sha256(request.content).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{day}/{region}/execute-api/aws4_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, "execute-api", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@pytest.mark.parametrize(("method", "url", "params", "body"), [
    ("GET", "https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
     {"MarketplaceIds": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2", "CreatedAfter": "2026-01-01T00:00:00Z"},
     b""),
    # a raw ':' the caller did not encode: signed as %3A, the way AWS canonicalizes it
    ("GET", "https://sellingpartnerapi-na.amazon.com/orders/v0/orders"
     "?CreatedAfter=2026-01-01T00:00:00Z&MarketplaceIds=ATVPDKIKX0DER", None, b""),
    ("PUT", "https://sellingpartnerapi-eu.amazon.com/listings/2021-08-01/items/A1/SKU%20caf%C3%A9",
     {"marketplaceIds": "A1PA6795UKMFR9"}, b'{"productType":"SHIRT","patches":[]}'),
    ("POST", "http://127.0.0.1:8787/reports/2021-06-30/reports", None, b'{"reportType":"X"}'),
])
def test_the_request_httpx_sends_verifies_against_the_spec(
        method: str, url: str, params: dict[str, str] | None, body: bytes) -> None:
    import httpx

    region = "eu-west-1" if "-eu." in url else "us-east-1"
    s = SigV4Signer(region, StaticCredentials(ACCESS, SECRET, SESSION))
    seen: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(_spec_verify(request, SECRET, region))
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        base = {"user-agent": "sellerkit/0.1.0", "x-amz-access-token": "Atza|t",
                "content-type": "application/json"}
        request = http.build_request(method, url, params=params, headers=base, content=body)
        base.update(s.sign(method, str(request.url), base, body))
        http.request(method, request.url, headers=base, content=body)
    assert seen == [True]
