"""SigV4 against vectors AWS published in its Signature Version 4 test suite.

Credentials, date, region and service are the suite's; the expected signatures are the suite's
published values for get-vanilla, get-vanilla-query-order-key-case and post-vanilla.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("botocore")

from sellerkit.auth.sigv4 import SigV4Signer, StaticCredentials  # noqa: E402

SUITE_TIME = datetime(2015, 8, 30, 12, 36, tzinfo=UTC).timestamp()
CREDS = StaticCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

VECTORS = [
    ("get-vanilla", "GET", "https://example.amazonaws.com/",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query-order-key-case", "GET",
     "https://example.amazonaws.com/?Param2=value2&Param1=value1",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("post-vanilla", "POST", "https://example.amazonaws.com/",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
]


@pytest.mark.parametrize("name,method,url,signature", VECTORS, ids=[v[0] for v in VECTORS])
def test_aws_sigv4_test_suite(name: str, method: str, url: str, signature: str) -> None:
    signer = SigV4Signer("us-east-1", CREDS, service="service", clock=lambda: SUITE_TIME)
    added = {k.lower(): v for k, v in signer.sign(method, url, {}, b"").items()}
    assert added["x-amz-date"] == "20150830T123600Z"
    assert added["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}")
