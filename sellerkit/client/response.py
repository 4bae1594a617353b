"""What a successful call returns.

``ApiResponse`` is lenient: the payload is the JSON Amazon sent, kept as plain dicts and lists, so
an unknown field or a new enum value never raises. It pickles (plain attributes only), so it can
cross process boundaries (multiprocessing, Celery).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class ApiResponse(Generic[T]):
    """A successful SP-API response.

    ``payload``: the decoded JSON body (``None`` for an empty body). Type checkers see it as the
    operation's response shape (a ``TypedDict`` generated from Amazon's model, all keys
    optional); at run time it is the plain dict Amazon sent, so nothing is enforced.
    ``status``, ``headers`` (lower-case names), ``request_id`` (``x-amzn-RequestId``),
    ``rate_limit`` (``x-amzn-RateLimit-Limit`` as a float, when Amazon sent it),
    ``operation`` (the operation key), ``content`` (raw bytes of a non-JSON body).
    """

    __slots__ = ("status", "headers", "payload", "content", "operation", "request_id",
                 "rate_limit")

    payload: T

    def __init__(self, status: int, headers: Mapping[str, str], payload: T,
                 content: bytes = b"", operation: str | None = None) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.payload = payload
        self.content = content
        self.operation = operation
        self.request_id: str | None = self.headers.get("x-amzn-requestid")
        self.rate_limit: float | None = _float(self.headers.get("x-amzn-ratelimit-limit"))

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
        if not isinstance(self.payload, dict):
            raise KeyError(key)
        return self.payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default) if isinstance(self.payload, dict) else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.payload if isinstance(self.payload, dict) else ())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiResponse):
            return NotImplemented
        return self.__getstate__() == other.__getstate__()

    __hash__ = None  # type: ignore[assignment]

    @property
    def data(self) -> Any:
        """The inner result: ``payload["payload"]`` for the v0 APIs that wrap it, else the
        payload itself."""
        p = self.payload
        if isinstance(p, dict) and "payload" in p and set(p) <= {"payload", "errors"}:
            return p["payload"]
        return p


def _float(v: str | None) -> float | None:
    if v is None:
        return None
    try:
        return float(v)
    except ValueError:
        return None
