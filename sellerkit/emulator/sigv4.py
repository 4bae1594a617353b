"""AWS Signature Version 4 checks for ``sellerkit emulator --require-sigv4``.

Amazon stopped requiring SigV4 on 2023-10-02; the emulator can still insist on it so code that
signs (older apps, ``SP_API_ACCESS_KEY`` setups) can be tested. The signature is recomputed with
botocore over exactly the headers the client lists in ``SignedHeaders``, for service
``execute-api`` and the region of the host (``us-east-1`` unless the host names the EU or FE
endpoint). botocore is imported on first use.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["region_for_host", "require_botocore", "verify_sigv4"]

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]+)\s*$")
MAX_SKEW_SECONDS = 15 * 60


def require_botocore() -> None:
    """Fail at start-up, with the install hint, when the SigV4 check cannot run."""
    try:
        import botocore.auth  # noqa: F401
    except ImportError:
        from sellerkit.errors import ConfigurationError

        raise ConfigurationError("the emulator's SigV4 check (--require-sigv4) needs botocore: "
                                 "pip install 'sellerkit[aws]'") from None


def region_for_host(host: str) -> str:
    host = host.lower()
    if "sellingpartnerapi-eu" in host:
        return "eu-west-1"
    if "sellingpartnerapi-fe" in host:
        return "us-west-2"
    return "us-east-1"


def verify_sigv4(method: str, url: str, headers: Mapping[str, str], body: bytes, *,
                 access_key: str, secret_key: str, now: float) -> str | None:
    """None when the request is correctly signed, else why not (safe to show: no secrets)."""
    auth = headers.get("authorization")
    if not auth:
        return "The request is not signed: the Authorization header is missing."
    m = _AUTH.match(auth)
    if not m:
        return "The Authorization header is not an AWS4-HMAC-SHA256 signature."
    parts = m.group("cred").split("/")
    if len(parts) != 5 or parts[3] != "execute-api" or parts[4] != "aws4_request":
        return "The credential scope must be <key>/<date>/<region>/execute-api/aws4_request."
    key_id, day, region = parts[0], parts[1], parts[2]
    if not hmac.compare_digest(key_id, access_key):
        return "The AWS access key id is not recognized."
    host = headers.get("host", "")
    expected_region = region_for_host(host)
    if region != expected_region:
        return f"The credential scope names region {region!r}; this host expects " \
               f"{expected_region!r}."
    amz_date = headers.get("x-amz-date", "")
    try:
        stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "The x-amz-date header is missing or not in YYYYMMDDTHHMMSSZ form."
    if not amz_date.startswith(day):
        return "The date of the credential scope does not match x-amz-date."
    if abs(stamp.timestamp() - now) > MAX_SKEW_SECONDS:
        return "Signature expired: x-amz-date is more than 15 minutes away from the server time."
    signed = m.group("signed").split(";")
    if "host" not in signed:
        return "The host header must be signed."
    missing = [h for h in signed if h not in headers]
    if missing:
        return f"Signed header(s) missing from the request: {', '.join(missing)}."
    expected = _signature(method, url, {h: headers[h] for h in signed}, body, signed,
                          access_key=access_key, secret_key=secret_key,
                          region=region, amz_date=amz_date,
                          token=headers.get("x-amz-security-token"))
    if not hmac.compare_digest(expected, m.group("sig")):
        return ("The request signature we calculated does not match the signature you "
                "provided. Check your AWS secret access key and signing method.")
    return None


def _signature(method: str, url: str, headers: dict[str, str], body: bytes,
               signed: list[str], *, access_key: str, secret_key: str, region: str,
               amz_date: str, token: str | None) -> str:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest, HTTPHeaders
    from botocore.credentials import Credentials

    class _Verifier(SigV4Auth):
        # sign exactly what the client listed (botocore alone would skip user-agent)
        def headers_to_sign(self, request: Any) -> Any:
            out = HTTPHeaders()
            for name in signed:
                out[name] = request.headers[name]
            return out

    creds = Credentials(access_key, secret_key, token)
    verifier = _Verifier(creds, "execute-api", region)
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    request.context["timestamp"] = amz_date
    canonical = verifier.canonical_request(request)
    string_to_sign = verifier.string_to_sign(request, canonical)
    return str(verifier.signature(string_to_sign, request))
