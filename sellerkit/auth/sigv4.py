"""Optional AWS Signature Version 4 for SP-API requests (extra ``aws``).

Since 2023-10-02 SP-API no longer requires IAM credentials or SigV4: a signature, if present, is
ignored and the LWA token alone authorizes the call. Signing is kept for apps whose security
reviews still expect it and for hosts that proxy SP-API through API Gateway.

Two ways to get AWS credentials:

- ``StaticCredentials``: an IAM user's access key and secret key (what older guides and the seed
  configuration use);
- ``AssumeRoleCredentials``: Amazon's documented setup: the IAM user (or any AWS credentials)
  assumes the role registered with the app, via STS ``AssumeRole``; the temporary credentials are
  cached until 5 minutes before they expire and refreshed by one thread at a time.

``SigV4Signer.sign`` returns the headers to add (``Authorization``, ``X-Amz-Date``,
``X-Amz-Security-Token`` for temporary credentials). It signs with botocore's ``SigV4Auth``
(service ``execute-api``), with our clock and without botocore's DEBUG logging of the canonical
request, which would print the ``x-amz-access-token`` header. Sign last: after every header
(including ``x-amz-access-token``) is set, with the exact URL and body that will be sent.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sellerkit._secret import Secret
from sellerkit.errors import AuthError, ConfigurationError

__all__ = [
    "AssumeRoleCredentials",
    "AwsCredentials",
    "CredentialsProvider",
    "SigV4Signer",
    "StaticCredentials",
    "region_for_host",
]

SERVICE = "execute-api"
_INSTALL_HINT = "SigV4 signing needs botocore: pip install 'sellerkit[aws]'"
# Refresh temporary credentials this long before STS says they expire.
_ASSUME_ROLE_MARGIN = 300.0

_REGION_BY_HOST = {
    "sellingpartnerapi-na.amazon.com": "us-east-1",
    "sellingpartnerapi-eu.amazon.com": "eu-west-1",
    "sellingpartnerapi-fe.amazon.com": "us-west-2",
    "sandbox.sellingpartnerapi-na.amazon.com": "us-east-1",
    "sandbox.sellingpartnerapi-eu.amazon.com": "eu-west-1",
    "sandbox.sellingpartnerapi-fe.amazon.com": "us-west-2",
}


def region_for_host(host: str) -> str | None:
    """The AWS signing region of an SP-API host (NA us-east-1, EU eu-west-1, FE us-west-2)."""
    return _REGION_BY_HOST.get(host.lower().split(":", 1)[0])


def _botocore() -> Any:
    try:
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
    except ImportError as exc:
        raise ConfigurationError(_INSTALL_HINT) from exc
    return botocore


@dataclass(frozen=True)
class AwsCredentials:
    """One set of AWS credentials; ``expires_at`` (epoch seconds) is set for temporary ones."""

    access_key: str
    secret_key: Secret = field(repr=False)
    session_token: Secret | None = field(default=None, repr=False)
    expires_at: float | None = None

    def __repr__(self) -> str:
        token = ", session_token=Secret('**********')" if self.session_token else ""
        return (f"AwsCredentials(access_key={_mask_key(self.access_key)!r}, "
                f"secret_key=Secret('**********'){token}, expires_at={self.expires_at!r})")


@runtime_checkable
class CredentialsProvider(Protocol):
    def get_credentials(self) -> AwsCredentials: ...


class StaticCredentials:
    """Long-lived IAM user keys (``SP_API_ACCESS_KEY`` / ``SP_API_SECRET_KEY``)."""

    def __init__(self, access_key: str, secret_key: Secret | str,
                 session_token: Secret | str | None = None) -> None:
        if not access_key or not secret_key:
            raise ConfigurationError("AWS access key and secret key are both needed for SigV4")
        self._credentials = AwsCredentials(
            access_key, Secret(secret_key), Secret(session_token) if session_token else None)

    def get_credentials(self) -> AwsCredentials:
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentials(access_key={_mask_key(self._credentials.access_key)!r})"


class AssumeRoleCredentials:
    """Temporary credentials from STS ``AssumeRole`` on the role registered with the app.

    ``access_key`` / ``secret_key`` are the caller's (an IAM user allowed to assume the role); when
    left out, botocore's default chain is used (environment, profile, instance role...).
    ``sts_client_factory`` builds the STS client (tests, custom sessions); by default a botocore
    client for ``sts_region``. Credentials are cached until 5 minutes before expiry; one thread
    refreshes while the others wait.
    """

    def __init__(self, role_arn: str, access_key: str | None = None,
                 secret_key: Secret | str | None = None, session_name: str = "sellerkit",
                 sts_client_factory: Callable[[], Any] | None = None,
                 clock: Callable[[], float] = time.time, *, duration_seconds: int = 3600,
                 external_id: str | None = None, sts_region: str = "us-east-1") -> None:
        if not role_arn.startswith("arn:"):
            raise ConfigurationError(
                f"role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), "
                f"got {role_arn!r}")
        if (access_key is None) != (secret_key is None):
            raise ConfigurationError("pass both access_key and secret_key, or neither")
        self.role_arn = role_arn
        self.session_name = session_name
        self.duration_seconds = duration_seconds
        self.external_id = external_id
        self.sts_region = sts_region
        self._access_key = access_key
        self._secret_key = Secret(secret_key) if secret_key is not None else None
        self._factory = sts_client_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: AwsCredentials | None = None
        self._sts: Any = None
        self.sts_calls = 0

    def __repr__(self) -> str:
        key = f", access_key={_mask_key(self._access_key)!r}" if self._access_key else ""
        return f"AssumeRoleCredentials(role_arn={self.role_arn!r}{key})"

    def _valid(self, creds: AwsCredentials | None) -> bool:
        return (creds is not None and creds.expires_at is not None
                and self._clock() < creds.expires_at - _ASSUME_ROLE_MARGIN)

    def get_credentials(self) -> AwsCredentials:
        creds = self._cached
        if self._valid(creds):
            assert creds is not None
            return creds
        with self._lock:
            if self._valid(self._cached):
                assert self._cached is not None
                return self._cached
            self._cached = self._assume()
            return self._cached

    def _client(self) -> Any:
        if self._sts is None:
            if self._factory is not None:
                self._sts = self._factory()
            else:
                _botocore()
                import botocore.session

                kwargs: dict[str, Any] = {"region_name": self.sts_region}
                if self._access_key is not None and self._secret_key is not None:
                    kwargs["aws_access_key_id"] = self._access_key
                    kwargs["aws_secret_access_key"] = self._secret_key.reveal()
                self._sts = botocore.session.get_session().create_client("sts", **kwargs)
        return self._sts

    def _assume(self) -> AwsCredentials:
        params: dict[str, Any] = {"RoleArn": self.role_arn, "RoleSessionName": self.session_name,
                                  "DurationSeconds": self.duration_seconds}
        if self.external_id:
            params["ExternalId"] = self.external_id
        _botocore()
        from botocore.exceptions import BotoCoreError, ClientError

        self.sts_calls += 1
        try:
            response = self._client().assume_role(**params)
        except (BotoCoreError, ClientError) as exc:
            # botocore's messages name the role and the error code, never the keys.
            raise AuthError(f"STS AssumeRole on {self.role_arn} failed: "
                            f"{type(exc).__name__}: {exc}") from None
        raw = response["Credentials"]
        expiration = raw["Expiration"]
        if isinstance(expiration, datetime.datetime):
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=datetime.UTC)
            expires_at = expiration.timestamp()
        else:
            expires_at = float(expiration)
        return AwsCredentials(raw["AccessKeyId"], Secret(raw["SecretAccessKey"]),
                              Secret(raw["SessionToken"]), expires_at)


class SigV4Signer:
    """Signs SP-API requests with AWS SigV4 (service ``execute-api``) using botocore."""

    def __init__(self, aws_region: str, credentials_provider: CredentialsProvider, *,
                 service: str = SERVICE, clock: Callable[[], float] = time.time) -> None:
        if not aws_region:
            raise ConfigurationError("SigV4 needs the AWS region of the SP-API endpoint "
                                     "(NA us-east-1, EU eu-west-1, FE us-west-2)")
        self.aws_region = aws_region
        self.credentials_provider = credentials_provider
        self.service = service
        self._clock = clock
        self._auth_cls: Any = None

    def __repr__(self) -> str:
        return (f"SigV4Signer(aws_region={self.aws_region!r}, "
                f"credentials_provider={self.credentials_provider!r})")

    def _signer_class(self) -> Any:
        if self._auth_cls is None:
            botocore = _botocore()

            class _QuietSigV4Auth(botocore.auth.SigV4Auth):  # type: ignore[name-defined]
                """botocore's signer, with our timestamp and without its DEBUG dumps."""

                def sign_at(self, request: Any, timestamp: str) -> None:
                    request.context["timestamp"] = timestamp
                    self._modify_request_before_signing(request)
                    canonical = self.canonical_request(request)
                    string_to_sign = self.string_to_sign(request, canonical)
                    signature = self.signature(string_to_sign, request)
                    self._inject_signature_to_request(request, signature)

            self._auth_cls = _QuietSigV4Auth
        return self._auth_cls

    def sign(self, method: str, url: str, headers: Mapping[str, str], body: bytes
             ) -> dict[str, str]:
        """The headers to add to the request so it carries a valid SigV4 signature."""
        auth_cls = self._signer_class()
        import botocore.awsrequest
        import botocore.credentials

        creds = self.credentials_provider.get_credentials()
        boto_creds = botocore.credentials.Credentials(
            creds.access_key, creds.secret_key.reveal(),
            creds.session_token.reveal() if creds.session_token else None)
        request = botocore.awsrequest.AWSRequest(method=method.upper(), url=url,
                                                 headers=dict(headers), data=body or b"",
                                                 params=_query_pairs(url))
        timestamp = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)
        auth_cls(boto_creds, self.service, self.aws_region).sign_at(
            request, timestamp.strftime("%Y%m%dT%H%M%SZ"))
        before = {k.lower(): v for k, v in headers.items()}
        return {name: value for name, value in request.headers.items()
                if before.get(name.lower()) != value}


def _query_pairs(url: str) -> list[tuple[str, str]]:
    """The URL's query as decoded pairs, for botocore to encode the SigV4 way.

    botocore takes a query string from the URL as it is, which is right only when every
    character is already encoded exactly as SigV4 wants (``%3A`` for ``:``...). Handing it the
    decoded pairs makes it encode them itself (RFC 3986, unreserved characters kept), as it does
    for the requests it builds. A ``+`` stays a literal plus (``%2B``): encode spaces as ``%20``.
    """
    from urllib.parse import unquote, urlsplit

    query = urlsplit(url).query
    if not query:
        return []
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


def _mask_key(access_key: str | None) -> str:
    """Access key ids are not secret but identify an account: show the first 4 characters."""
    if not access_key:
        return ""
    return access_key[:4] + "*" * max(0, min(len(access_key) - 4, 12))
