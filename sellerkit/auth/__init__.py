"""Authentication for SP-API calls: LWA access tokens, token stores, RDTs and optional SigV4.

- ``LwaClient`` (``lwa.py``): Login with Amazon grants, cached and single-flight.
- ``TokenStore`` and its ``MemoryTokenStore`` / ``FileTokenStore`` / ``RedisTokenStore``
  (``stores.py``): where access tokens are shared between threads, processes and machines.
- ``RdtCache``, ``rdt_request_body``, ``parse_rdt_response``, ``restricted_path`` (``rdt.py``):
  Restricted Data Tokens for operations that return buyer PII.
- ``SigV4Signer`` with ``StaticCredentials`` or ``AssumeRoleCredentials`` (``sigv4.py``): AWS
  Signature V4, optional since 2023-10-02 (botocore is imported only when signing).

The request pipeline in ``sellerkit.client`` wires these together; see docs/auth.md.
"""

from __future__ import annotations

from sellerkit.auth.lwa import DEFAULT_LWA_ENDPOINT, LwaClient, TokenGrant
from sellerkit.auth.rdt import (
    RDT_PATH,
    RdtCache,
    RdtResponseError,
    parse_rdt_response,
    rdt_request_body,
    restricted_path,
)
from sellerkit.auth.sigv4 import (
    AssumeRoleCredentials,
    AwsCredentials,
    CredentialsProvider,
    SigV4Signer,
    StaticCredentials,
    region_for_host,
)
from sellerkit.auth.stores import (
    CachedToken,
    FileTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    TokenStore,
)

__all__ = [
    "DEFAULT_LWA_ENDPOINT",
    "RDT_PATH",
    "AssumeRoleCredentials",
    "AwsCredentials",
    "CachedToken",
    "CredentialsProvider",
    "FileTokenStore",
    "LwaClient",
    "MemoryTokenStore",
    "RdtCache",
    "RdtResponseError",
    "RedisTokenStore",
    "SigV4Signer",
    "StaticCredentials",
    "TokenGrant",
    "TokenStore",
    "parse_rdt_response",
    "rdt_request_body",
    "region_for_host",
    "restricted_path",
]
