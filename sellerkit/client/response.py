"""What a successful call returns.

``ApiResponse`` is lenient: the body is the JSON Amazon sent, kept as plain dicts and lists, so
an unknown field or a new enum value never raises. It pickles (plain attributes only), so it can
cross process boundaries (multiprocessing, Celery).

Names as python-amazon-sp-api users know them: ``payload`` is the result (``body["payload"]``
for the APIs that wrap it, such as Orders v0, the whole body otherwise), ``errors`` the body's
``errors`` list, and ``body`` the whole JSON document.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

B = TypeVar("B")
if TYPE_CHECKING:
    # PEP 696 default: ``ApiResponse[X]`` means a body and payload of the same type. Only type
    # checkers need typing_extensions; at run time a plain TypeVar does.
    from typing_extensions import TypeVar as _TypeVarWithDefault

    P = _TypeVarWithDefault("P", default=B)
else:
    P = TypeVar("P")

# The keys a wrapped body may have besides "payload" (Orders v0, FBA inventory v1, ...).
_WRAPPER_KEYS = frozenset({"payload", "errors", "pagination"})


class ApiResponse(Generic[B, P]):
    """A successful SP-API response.

    ``payload``: the result. For the APIs that wrap it (a body of ``{"payload": ..., "errors":
    ..., "pagination": ...}``, as in Orders v0) it is ``body["payload"]``; otherwise the whole
    body. Mapping-style access indexes it: ``r["Orders"]`` is ``r.payload["Orders"]``,
    ``r.get("NextToken")`` is ``r.payload.get("NextToken")``.
    ``body``: the decoded JSON document as sent (``None`` for an empty body).
    ``errors``: the body's ``errors`` list (warnings Amazon sends with a success), or ``[]``.

    Type checkers see ``body`` as the operation's response shape (a ``TypedDict`` generated from
    Amazon's model, all keys optional) and ``payload`` as the type of its ``payload`` property
    where the response wraps one (``ApiResponse[GetOrdersResponse, OrdersList]``), or as the
    body's type (``ApiResponse[X, X]``); at run time both are the plain dicts Amazon sent, so
    nothing is enforced.

    ``status``, ``headers`` (lower-case names), ``request_id`` (``x-amzn-RequestId``),
    ``rate_limit`` (``x-amzn-RateLimit-Limit`` as a float, when Amazon sent it),
    ``operation`` (the operation key), ``content`` (raw bytes of a non-JSON body).
    """

    __slots__ = ("status", "headers", "body", "content", "operation", "request_id",
                 "rate_limit")

    body: B

    def __init__(self, status: int, headers: Mapping[str, str], body: B,
                 content: bytes = b"", operation: str | None = None) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.content = content
        self.operation = operation
        self.request_id: str | None = self.headers.get("x-amzn-requestid")
        self.rate_limit: float | None = _float(self.headers.get("x-amzn-ratelimit-limit"))

    @property
    def payload(self) -> P:
        """The result: ``body["payload"]`` where the API wraps it, else the whole body."""
        b: Any = self.body
        if isinstance(b, dict) and "payload" in b and b.keys() <= _WRAPPER_KEYS:
            return cast("P", b["payload"])
        return cast("P", b)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The body's ``errors`` list (Amazon may send warnings with a success), or ``[]``."""
        b: Any = self.body
        errs = b.get("errors") if isinstance(b, dict) else None
        return list(errs) if isinstance(errs, list) else []

    @property
    def data(self) -> P:
        """Deprecated alias of :attr:`payload` (same value); removed in 1.0."""
        warnings.warn("ApiResponse.data is deprecated: use .payload (the same value) or .body "
                      "(the whole JSON document)", DeprecationWarning, stacklevel=2)
        return self.payload

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __repr__(self) -> str:
        rl = f", rate_limit={self.rate_limit}" if self.rate_limit is not None else ""
        return (f"<ApiResponse {self.operation or ''} status={self.status} "
                f"request_id={self.request_id}{rl}>")

    # Mapping-style conveniences over the payload ----------------------------------------
    def __getitem__(self, key: str) -> Any:
        p: Any = self.payload
        if not isinstance(p, dict):
            raise KeyError(key)
        return p[key]

    def get(self, key: str, default: Any = None) -> Any:
        p: Any = self.payload
        return p.get(key, default) if isinstance(p, dict) else default

    def __iter__(self) -> Iterator[str]:
        p: Any = self.payload
        return iter(p if isinstance(p, dict) else ())

    def __contains__(self, key: object) -> bool:
        p: Any = self.payload
        return isinstance(p, dict) and key in p

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiResponse):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]


def _float(v: str | None) -> float | None:
    if v is None:
        return None
    try:
        return float(v)
    except ValueError:
        return None
