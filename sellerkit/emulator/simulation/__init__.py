"""A stateful, seeded simulation of one or more seller accounts, behind the emulator.

The emulator core (routing, LWA, auth, RDT issuance, validation, rate limits) decides *whether* a
call may proceed; this package decides *what the answer is* for the operations it handles: orders
(v0 and 2026-01-01), reports, feeds, listings items, catalog items, FBA inventory, sellers and
notifications. The core builds a :class:`SimRequest` (parameters already validated against the
model) and turns the returned :class:`SimResponse` into an HTTP response.

Everything is in memory behind one lock, driven by an injectable ``clock`` and a seeded
``random.Random``, so the same seed always gives the same sellers, orders and listings. ``dump()``
and ``load()`` round-trip the state through JSON-able dicts.

What is simulated (details in each module's docstring):

* sellers ``A2SIMSELLER0001``, ``A2SIMSELLER0002``, ...; the first sells in US, CA and MX, the
  others in seeded marketplaces of one region. A token of a seller the simulation lacks gets 403.
* a shared catalog; per seller about 18-30 listings (roughly 40% FBA, with seeded inventory);
* ``orders`` orders per seller over the 30 days before the simulation was created (the data is
  anchored to the clock at creation), then about ``orders``/30 new ones a day; statuses move
  Pending -> Unshipped -> Shipped as the clock passes (:mod:`.orders`);
* reports and feeds that finish after ``report_seconds`` / ``feed_seconds`` (:mod:`.reports`,
  :mod:`.feeds`), listings changes that show up in every API and report (:mod:`.listings`),
  notification destinations and subscriptions (:mod:`.notifications`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sellerkit.catalog import Operation
    from sellerkit.emulator.simulation.state import State

__all__ = ["RdtGrant", "SimRequest", "SimResponse", "Simulation"]


@dataclass
class RdtGrant:
    """What a Restricted Data Token allows: the data elements it was issued for
    (``buyerInfo``, ``shippingAddress``, ``buyerTaxInformation``)."""

    data_elements: frozenset[str]


@dataclass
class SimRequest:
    """One validated call, as the emulator core hands it to the simulation."""

    operation: Operation
    params: dict[str, Any]  # typed values by wire name (query, path, header); already validated
    body: Any = field(repr=False)  # parsed JSON body, or None
    raw_body: bytes = field(repr=False)
    content_type: str | None
    seller_id: str  # selling partner of the token ("" for grantless)
    application_id: str
    rdt: RdtGrant | None  # None: a plain access token -> no PII
    base_url: str  # e.g. "http://127.0.0.1:8787"


@dataclass
class SimResponse:
    """What the simulation answers; ``body`` is a JSON-able object, or bytes."""

    status: int
    # Bodies can carry (simulated) buyer PII, so a logged response shows only its status.
    body: Any = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[["State", SimRequest], SimResponse]


def _handlers() -> dict[str, Handler]:
    # Imported on first use: the domain modules are only needed once a simulation runs.
    global _HANDLERS
    if _HANDLERS is None:
        from sellerkit.emulator.simulation import (
            catalog_items,
            datakiosk,
            feeds,
            inventory,
            listings,
            notifications,
            orders,
            reports,
            sellers,
        )

        table: dict[str, Handler] = {}
        for mod in (sellers, orders, reports, feeds, listings, catalog_items, inventory,
                    notifications, datakiosk):
            table.update(mod.HANDLERS)
        _HANDLERS = table
    return _HANDLERS


_HANDLERS: dict[str, Handler] | None = None


class Simulation:
    """Seeded seller accounts and the operations that act on them.

    >>> sim = Simulation(seed=0, orders=10)
    >>> sim.seller_ids[0]
    'A2SIMSELLER0001'
    """

    seller_ids: list[str]

    def __init__(self, *, seed: int = 0, orders: int = 100, sellers: int = 1,
                 clock: Callable[[], float] = time.time, report_seconds: float = 3.0,
                 feed_seconds: float = 3.0) -> None:
        from sellerkit.emulator.simulation.state import State

        self._state = State(seed=seed, orders=orders, sellers=sellers, clock=clock,
                            report_seconds=report_seconds, feed_seconds=feed_seconds)
        self.seller_ids = self._state.seller_ids

    def handles(self, operation_key: str) -> bool:
        """True when ``handle`` answers this operation (the core falls back otherwise)."""
        return operation_key in _handlers()

    def handle(self, req: SimRequest) -> SimResponse:
        handler = _handlers().get(req.operation.key)
        if handler is None:
            return error(501, "NotImplemented",
                         f"The simulation does not handle {req.operation.key}.")
        from sellerkit.emulator.simulation.state import Reject

        with self._state.lock:
            self._state.advance()
            try:
                return handler(self._state, req)
            except Reject as exc:
                return exc.response

    def document(self, document_id: str) -> SimResponse:
        """``GET /_emulator/documents/{document_id}``: a report or feed-result document."""
        with self._state.lock:
            self._state.advance()
            return self._state.document(document_id)

    def upload(self, document_id: str, content_type: str | None, data: bytes) -> SimResponse:
        """``PUT /_emulator/uploads/{document_id}``: the upload of a feed document."""
        with self._state.lock:
            return self._state.upload(document_id, content_type, data)

    def notifications(self, destination_id: str | None = None, *, after: int = 0
                      ) -> list[dict[str, Any]]:
        """Notifications delivered so far (oldest first), for one destination or all:
        ``{"seq", "destinationId", "resource", "subscriptionId", "notificationType",
        "eventTime", "message"}`` where ``message`` is the envelope Amazon would send and
        ``resource`` the destination's (``{"sqs": {"arn"}}`` or ``{"eventBridge": ...}``).
        ``after`` is the last ``seq`` already seen, for polling."""
        from sellerkit.emulator.simulation import notifications

        with self._state.lock:
            self._state.advance()
            return copy.deepcopy(notifications.outbox(self._state, destination_id, after))

    def last_notification_seq(self) -> int:
        """The ``seq`` of the newest notification (0 when there is none)."""
        with self._state.lock:
            return int(self._state.d["counters"].get("outbox", 0))

    def notify(self, seller_id: str, notification_type: str, payload: dict[str, Any]) -> int:
        """Post one notification of ``notification_type`` now to the seller's subscriptions
        (see ``simulation.notifications.notify``); returns how many were posted."""
        from sellerkit.emulator.simulation import notifications

        with self._state.lock:
            self._state.advance()
            return notifications.notify(self._state, seller_id, notification_type, payload)

    def notify_application(self, application_id: str, arn: str | None, notification_type: str,
                           payload: dict[str, Any]) -> int:
        """Post an application-level notification (APPLICATION_OAUTH_CLIENT_*: registered in
        the developer console, not subscribed to) for the SQS queue ``arn``; returns its seq."""
        from sellerkit.emulator.simulation import notifications

        with self._state.lock:
            return notifications.notify_application(self._state, application_id, arn,
                                                    notification_type, payload)

    def catalog_asins(self) -> list[str]:
        """The ASINs in the simulated catalog, sorted (for tests and demos that need a real
        one: ``getCatalogItem`` answers 404 for any other)."""
        with self._state.lock:
            return sorted(self._state.d["catalog"])

    def dump(self) -> dict[str, Any]:
        with self._state.lock:
            return self._state.dump()

    @classmethod
    def load(cls, data: dict[str, Any], **kw: Any) -> Simulation:
        """Rebuild a simulation from ``dump()``; ``kw`` may override ``clock``,
        ``report_seconds`` and ``feed_seconds`` (the seed and sizes come from the dump)."""
        from sellerkit.emulator.simulation.state import State

        sim = cls.__new__(cls)
        sim._state = State.from_dump(data, **kw)
        sim.seller_ids = sim._state.seller_ids
        return sim


def error(status: int, code: str, message: str, details: str | None = None) -> SimResponse:
    """An SP-API error body: ``{"errors": [{"code", "message", "details"?}]}``."""
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return SimResponse(status, {"errors": [err]})
