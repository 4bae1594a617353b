"""Restricted Data Tokens (RDTs): the token restricted operations need instead of the LWA token.

Operations that return buyer PII (Orders v0 getOrders, getOrder, getOrderItems,
getOrderAddress, getOrderBuyerInfo, getOrderItemsBuyerInfo, getOrderRegulatedInfo; Merchant
Fulfillment shipments; Direct Fulfillment orders, labels, packing slips and invoices; Easy Ship
bulk packages; Shipment Invoicing; documents of restricted report types) give their restricted
data only to a call that carries an RDT. The caller first asks the Tokens API
(``POST /tokens/2021-03-01/restrictedDataToken``, itself called with the LWA token) for an RDT
naming the method and path of each restricted resource; then sends the restricted call with the
RDT in ``x-amz-access-token`` instead of the LWA token. An RDT lives one hour (``expiresIn``).

Amazon's rules (../shared/sp-api-facts.md section 7):

- ``dataElements`` (``buyerInfo``, ``shippingAddress``, ``buyerTaxInformation``) apply only to
  Orders v0 getOrders, getOrder and getOrderItems, where they select which PII comes back;
- for every other restricted operation the RDT for the path unlocks the data, whether the path
  is specific (``/orders/v0/orders/902-.../address``) or generic
  (``/orders/v0/orders/{orderId}/address``, one RDT for every order);
- getReportDocument needs the specific path (the document id);
- at most 50 resources per request.

This module is the pure part of that flow, used by the request pipeline:

- ``rdt_request_body`` builds the Tokens API body, ``parse_rdt_response`` reads the answer;
- ``restricted_path`` picks the path an RDT is asked for (the concrete path by default);
- ``RdtCache`` keeps RDTs per (method, path, data elements) until ``margin`` seconds before expiry.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sellerkit.errors import AuthError

__all__ = [
    "RDT_PATH",
    "RdtCache",
    "RdtResponseError",
    "parse_rdt_response",
    "rdt_request_body",
    "restricted_path",
]

RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
MAX_RESTRICTED_RESOURCES = 50
_METHODS = frozenset({"GET", "PUT", "POST", "DELETE"})  # the Tokens API model's enum

_CacheKey = tuple[str, str, frozenset[str]]


class RdtResponseError(AuthError):
    """The Tokens API answered 2xx but without a usable ``restrictedDataToken``."""


def _key(method: str, path: str, data_elements: Iterable[str] | None) -> _CacheKey:
    return method.upper(), _strip_query(path), frozenset(data_elements or ())


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]


class RdtCache:
    """RDTs by (METHOD, path, frozenset(data elements)); thread-safe; bounded.

    An entry expires ``margin`` seconds before Amazon's ``expiresIn`` says, so a token is never
    handed out just before it stops working. At most ``max_entries`` are kept (expired ones go
    first, then the least recently used): concrete paths name single orders, so the key space
    grows with the number of orders looked at.
    """

    def __init__(self, clock: Callable[[], float] = time.time, margin: float = 60.0, *,
                 max_entries: int = 10_000) -> None:
        self._clock = clock
        self.margin = float(margin)
        self.max_entries = max_entries
        self._entries: OrderedDict[_CacheKey, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RdtCache({len(self)} tokens, margin={self.margin})"

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, method: str, path: str, data_elements: Iterable[str] | None = None
            ) -> str | None:
        key = _key(method, path, data_elements)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            token, refresh_at = entry
            if self._clock() >= refresh_at:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return token

    def put(self, method: str, path: str, data_elements: Iterable[str] | None, token: str,
            expires_in: float) -> None:
        key = _key(method, path, data_elements)
        refresh_at = self._clock() + float(expires_in) - self.margin
        with self._lock:
            self._entries[key] = (token, refresh_at)
            self._entries.move_to_end(key)
            if len(self._entries) > self.max_entries:
                self._evict()

    def invalidate(self, method: str, path: str, data_elements: Iterable[str] | None = None
                   ) -> None:
        with self._lock:
            self._entries.pop(_key(method, path, data_elements), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _evict(self) -> None:
        now = self._clock()
        for key in [k for k, (_, at) in self._entries.items() if at <= now]:
            del self._entries[key]
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def rdt_request_body(method: str, path: str, data_elements: Iterable[str] | None = None,
                     target_application: str | None = None) -> dict[str, Any]:
    """The createRestrictedDataToken body for one restricted resource.

    ``dataElements`` is left out when empty: only Orders v0 getOrders, getOrder and
    getOrderItems use it; every other restricted operation's data is unlocked by the path alone.
    The elements are sorted and deduplicated so equal requests produce equal bodies.
    """
    verb = method.upper()
    if verb not in _METHODS:
        raise ValueError(f"an RDT is asked for an HTTP method (GET, PUT, POST, DELETE), "
                         f"not {method!r}")
    if not path.startswith("/"):
        raise ValueError(f"an RDT path starts with '/': {path!r}")
    resource: dict[str, Any] = {"method": verb, "path": _strip_query(path)}
    elements = sorted(set(data_elements or ()))
    if elements:
        resource["dataElements"] = elements
    body: dict[str, Any] = {"restrictedResources": [resource]}
    if target_application:
        body["targetApplication"] = target_application
    return body


def parse_rdt_response(payload: Any) -> tuple[str, int]:
    """``(restrictedDataToken, expiresIn)`` from the Tokens API response body (parsed JSON)."""
    if isinstance(payload, Mapping) and isinstance(payload.get("payload"), Mapping):
        payload = payload["payload"]  # tolerate a v0-style wrapper
    if not isinstance(payload, Mapping):
        raise RdtResponseError(
            f"the Tokens API response is not a JSON object (got {type(payload).__name__})")
    token = payload.get("restrictedDataToken")
    if not isinstance(token, str) or not token:
        raise RdtResponseError("the Tokens API response has no restrictedDataToken "
                               f"(fields: {sorted(str(k) for k in payload)})")
    expires = payload.get("expiresIn", 3600)
    if isinstance(expires, bool) or not isinstance(expires, int | float | str):
        raise RdtResponseError("the Tokens API response has a non-numeric expiresIn")
    try:
        expires_in = int(expires)
    except ValueError:
        raise RdtResponseError("the Tokens API response has a non-numeric expiresIn") from None
    return token, expires_in


_PLACEHOLDER = re.compile(r"\{[^/{}]+\}")
# Operation paths whose RDT must name a specific resource (getReportDocument).
_SPECIFIC_ONLY = frozenset({"/reports/2021-06-30/documents/{reportDocumentId}"})


def restricted_path(op_path_template: str, concrete_path: str, generic: bool = False) -> str:
    """The path to name in an RDT request.

    Amazon accepts the concrete path (``/orders/v0/orders/123-1234567-1234567/address``) for every
    restricted operation and the generic template (``/orders/v0/orders/{orderId}/address``,
    ``/mfn/v0/shipments/{shipmentId}``) for every one except getReportDocument, which requires
    the concrete path (asking for its template raises ``ValueError``). A generic RDT covers every
    resource of the operation for its hour. The concrete path must match the template; a query
    string is dropped.
    """
    if generic and op_path_template in _SPECIFIC_ONLY:
        raise ValueError(f"an RDT for {op_path_template!r} (getReportDocument) must name the "
                         "specific document path: pass generic=False")
    concrete = _strip_query(concrete_path)
    pattern = "^" + "/".join(
        _PLACEHOLDER.sub("[^/]+", re.escape(part).replace(r"\{", "{").replace(r"\}", "}"))
        for part in op_path_template.split("/")) + "$"
    if not re.match(pattern, concrete):
        raise ValueError(f"path {concrete!r} does not match the operation's path "
                         f"{op_path_template!r}")
    return op_path_template if generic else concrete
