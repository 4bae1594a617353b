"""``sync_orders``: an incremental, resumable pull of a seller's orders into the vault.

    from sellerkit.sync import sync_orders

    summary = sync_orders(vault, sp, actor=user, selling_partner_id="A1...", region="na")

Each run lists the orders updated in one window, ``[high_water - overlap, now - lag]``, page by
page, and stores every page (orders, items, buyer info, addresses: the PII encrypted by
``vault.orders.upsert_orders``) in ONE transaction with the checkpoint: the window, the page
token to ask for next and, after the last page, the new high water. A process killed at any
moment (``kill -9`` included) leaves the vault at a page boundary, and the next run carries on
from the stored page token: nothing is skipped and, the upserts being idempotent, nothing is
stored twice.

- Orders 2026-01-01 (the default): ``searchOrders`` by ``lastUpdatedAfter`` /
  ``lastUpdatedBefore`` with ``includedData`` BUYER, RECIPIENT, FULFILLMENT, PROCEEDS and
  PACKAGES; items come with each order. PII is gated by the app's roles, no RDT.
- Orders v0 (``api="v0"``): ``getOrders`` by ``LastUpdatedAfter`` / ``LastUpdatedBefore``, then
  per new or changed order ``getOrderItems``, ``getOrderBuyerInfo`` and ``getOrderAddress`` (the
  client gets their Restricted Data Tokens). An order the vault already holds with the same
  ``LastUpdateDate`` is counted unchanged without those three calls.

Windows. Amazon's order search is eventually consistent: an order updated at ``t`` may show up
in a search a while later. Each run therefore starts ``overlap`` (10 minutes by default) before
the previous high water; the re-read orders come back unchanged. The window ends ``lag`` before
now (2 minutes 30 seconds): Amazon refuses a ``LastUpdatedBefore`` less than two minutes in the
past, and the extra half minute absorbs clock skew. Rate limits are the client's business: every
call waits for its quota (``paginate`` waits as long as needed); nothing here sleeps.

After a run: one audit entry ``sync`` with the counts, a retention purge (``trigger="sync"``) and
the monitor's rules, when the vault has those parts. A run needs the ``write_data`` permission.

Sync only, no async twin: the vault is a synchronous SQLAlchemy engine, the pages of a window are
stored one after the other by design (the checkpoint is a position in one ordered listing), and
the throughput is set by Amazon's quotas (searchOrders: one call per 180 s after a burst of 20),
not by concurrency. An asyncio program runs it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sellerkit.errors import ApiError, ConfigurationError, SellerkitError
from sellerkit.sync import checkpoints
from sellerkit.sync.checkpoints import Checkpoint, SyncTakenOverError

if TYPE_CHECKING:
    from sellerkit.client import SellingPartner
    from sellerkit.vault import Principal, Vault

__all__ = [
    "API_2026",
    "API_V0",
    "DEFAULT_OVERLAP",
    "DEFAULT_SINCE",
    "LAG",
    "SyncProgress",
    "SyncSummary",
    "SyncTakenOverError",
    "sync_orders",
]

log = logging.getLogger("sellerkit.sync")

API_2026 = "2026-01-01"
API_V0 = "v0"
APIS = (API_2026, API_V0)
STREAM = "orders"
DEFAULT_OVERLAP = timedelta(minutes=10)
DEFAULT_SINCE = timedelta(days=30)
# Amazon: LastUpdatedBefore / lastUpdatedBefore at least two minutes before the request; the
# extra 30 s cover a client clock that runs ahead of Amazon's.
LAG = timedelta(minutes=2, seconds=30)
INCLUDED_2026 = ("BUYER", "RECIPIENT", "FULFILLMENT", "PROCEEDS", "PACKAGES")
# v0 statuses whose shipping address Amazon has (a pending order's is not released yet)
_ADDRESS_STATUSES = {"Unshipped", "PartiallyShipped", "Shipped", "InvoiceUnconfirmed"}
_COUNTS = ("orders_seen", "orders_new", "orders_updated", "orders_unchanged", "items", "buyers",
           "addresses", "pages", "requests")


@dataclass
class SyncProgress:
    """What a run has done so far, handed to the ``progress`` callback after each page."""

    window_start: datetime
    window_end: datetime
    covered_until: datetime  # the latest last-update time seen in the window so far
    pages: int
    orders: int
    resumed: bool

    @property
    def fraction(self) -> float:
        span = (self.window_end - self.window_start).total_seconds()
        if span <= 0:
            return 1.0
        done = (self.covered_until - self.window_start).total_seconds()
        return min(1.0, max(0.0, done / span))


@dataclass
class SyncSummary:
    """The counts of one run (``--json`` prints this)."""

    selling_partner_id: str
    region: str
    api: str
    window_start: str
    window_end: str
    high_water: str | None
    resumed: bool
    orders_seen: int = 0
    orders_new: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    items: int = 0
    buyers: int = 0
    addresses: int = 0
    pages: int = 0
    requests: int = 0
    throttled_waits: int = 0
    throttled_wait_seconds: float = 0.0
    throttled_responses: int = 0
    window_restarts: int = 0
    purged: dict[str, int] | None = None  # the retention purge's counts per kind
    alerts: int | None = None
    seconds: float = 0.0
    completed: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["throttled_wait_seconds"] = round(self.throttled_wait_seconds, 3)
        return out

    def counts(self) -> dict[str, int]:
        return {k: int(getattr(self, k)) for k in _COUNTS}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _floor(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(microsecond=0)


def stream_of(api: str) -> str:
    """The checkpoint stream of a run: ``orders:2026-01-01`` or ``orders:v0``."""
    return f"{STREAM}:{api}"


def scope_of(marketplace_ids: Sequence[str] | None) -> str:
    """The checkpoint scope of a run: the marketplaces it covers ("" for all of them)."""
    return ",".join(sorted(marketplace_ids or []))


def sync_orders(vault: Vault, sp: SellingPartner, *, actor: Principal,
                selling_partner_id: str | None = None, region: str | None = None,
                api: str = API_2026, since: datetime | timedelta | str | None = None,
                overlap: timedelta = DEFAULT_OVERLAP,
                marketplace_ids: Sequence[str] | None = None, page_size: int = 100,
                pii: bool = True, progress: Callable[[SyncProgress], None] | None = None,
                clock: Callable[[], datetime] | None = None) -> SyncSummary:
    """Pull the orders updated since the last run (or ``since``) into ``vault``; see the
    module docstring. ``sp`` is a client for the seller (``SellingPartner.for_seller`` sets
    ``selling_partner_id``; pass it for a self-authorized seller). ``since`` (a time, or a
    duration back from now; default 30 days) starts the first run; later runs start at their
    checkpoint and ignore it. ``clock`` defaults to the vault's."""
    run = _OrderSync(vault, sp, actor=actor, selling_partner_id=selling_partner_id,
                     region=region, api=api, since=since, overlap=overlap,
                     marketplace_ids=marketplace_ids, page_size=page_size, pii=pii,
                     progress=progress, clock=clock)
    return run.run()


class _OrderSync:
    def __init__(self, vault: Vault, sp: Any, *, actor: Principal,
                 selling_partner_id: str | None, region: str | None, api: str,
                 since: datetime | timedelta | str | None, overlap: timedelta,
                 marketplace_ids: Sequence[str] | None, page_size: int, pii: bool,
                 progress: Callable[[SyncProgress], None] | None,
                 clock: Callable[[], datetime] | None) -> None:
        from sellerkit.vault.roles import Permission, require

        require(actor, Permission.WRITE_DATA, what="sync orders into the vault")
        if api not in APIS:
            raise ConfigurationError(f"api {api!r} is not one of {', '.join(APIS)}")
        if not 1 <= int(page_size) <= 100:
            raise ConfigurationError(f"page_size must be between 1 and 100, not {page_size}")
        if overlap < timedelta(0):
            raise ConfigurationError("overlap must not be negative")
        spid = selling_partner_id or getattr(sp, "selling_partner_id", None)
        if not spid:
            raise ConfigurationError(
                "sync_orders needs the seller's selling_partner_id= (a client from "
                "SellingPartner.for_seller carries it)")
        self.vault = vault
        self.sp = sp
        self.actor = actor
        self.spid = str(spid)
        self.region = (region or getattr(sp, "region_name", "") or "").lower()
        if self.region not in ("na", "eu", "fe"):
            raise ConfigurationError(f"region {region!r} is not one of na, eu, fe")
        self.api = api
        self.clock = clock or vault.now
        self.since = since
        self.overlap = overlap
        self.marketplace_ids = list(marketplace_ids or [])
        self.page_size = int(page_size)
        self.pii = pii
        self.progress = progress
        self.run_id = secrets.token_hex(8)
        self.stream = stream_of(api)
        self.scope = scope_of(self.marketplace_ids)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> SyncSummary:
        started = time.perf_counter()
        limits_before = _limiter_counts(self.sp)
        cp, resumed = self._claim()
        cursor = cp.cursor or {}
        summary = SyncSummary(self.spid, self.region, self.api, cursor.get("after", ""),
                              cursor.get("before", ""), None, resumed)
        error: BaseException | None = None
        try:
            self._window(cp, summary)
            summary.completed = True
        except BaseException as exc:
            error = exc
            raise
        finally:
            summary.seconds = time.perf_counter() - started
            after = _limiter_counts(self.sp)
            summary.throttled_waits = after[0] - limits_before[0]
            summary.throttled_wait_seconds = max(0.0, after[1] - limits_before[1])
            summary.throttled_responses = after[2] - limits_before[2]
            if error is None:
                self._after_run(summary, None)
            elif not isinstance(error, (KeyboardInterrupt, SyncTakenOverError)):
                try:  # record the failed run; never hide the error that ended it
                    self._after_run(summary, error)
                except Exception as exc:  # noqa: BLE001 - the run's own error is re-raised
                    log.warning("could not record the failed sync run: %s", exc)
        return summary

    def _claim(self) -> tuple[Checkpoint, bool]:
        """Take the checkpoint: carry on with the window in flight, or open the next one."""
        now = self.clock()
        with self.vault.write() as conn:
            self.seller_pk = self.vault.connections.ensure_seller(conn, self.spid, self.region)
            cp = checkpoints.load(conn, self.seller_pk, self.stream, self.scope, for_update=True)
            resumed = cp.cursor is not None
            if resumed:
                assert cp.cursor is not None
                cp.cursor["run"] = self.run_id
            else:
                cp.cursor = {"run": self.run_id, **self._next_window(cp, now), "token": None,
                             "pages": 0}
            checkpoints.save(conn, cp, now)
        return cp, resumed

    def _since(self, now: datetime) -> datetime | None:
        if self.since is None:
            return None
        if isinstance(self.since, timedelta):
            return _floor(now - self.since)
        if isinstance(self.since, str):
            parsed = _parse(self.since)
            if parsed is None:
                raise ConfigurationError(f"since {self.since!r} is not an ISO 8601 date-time")
            return _floor(parsed)
        if self.since.tzinfo is None:
            raise ConfigurationError("since must be an aware datetime (UTC)")
        return _floor(self.since)

    def _next_window(self, cp: Checkpoint, now: datetime) -> dict[str, str]:
        end = _floor(now - LAG)
        wanted = self._since(now)
        if cp.high_water is not None:
            start = cp.high_water - self.overlap
        else:
            start = wanted if wanted is not None else _floor(now - DEFAULT_SINCE)
        if start > end:
            raise ConfigurationError(
                f"since {_iso(start)} is later than the newest time Amazon lists "
                f"({_iso(end)}: two minutes before now)")
        return {"after": _iso(start), "before": _iso(end)}

    def _window(self, cp: Checkpoint, summary: SyncSummary) -> None:
        assert cp.cursor is not None
        after, before = cp.cursor["after"], cp.cursor["before"]
        start, end = _parse(after), _parse(before)
        assert start is not None and end is not None
        summary.window_start, summary.window_end = after, before
        covered = start
        pages = int(cp.cursor.get("pages") or 0)
        token = cp.cursor.get("token")
        restarted = False
        while True:
            try:
                for body, next_token in self._pages(after, before, token):
                    orders, extra = self._fetch_details(body)
                    for o in orders:
                        lu = _parse(o.get("lastUpdatedTime") or o.get("LastUpdateDate"))
                        if lu is not None and lu > covered:
                            covered = min(lu, end)
                    pages += 1
                    done = next_token is None
                    self._commit(cp, orders, extra, summary, pages=pages,
                                 token=next_token, done=done)
                    token = next_token
                    if self.progress is not None:
                        self.progress(SyncProgress(start, end, end if done else covered,
                                                   summary.pages, summary.orders_seen,
                                                   summary.resumed))
                break
            except ApiError as exc:
                # A stored page token Amazon no longer takes (they expire after a day): read
                # the window again from its first page; the pages stored already come back
                # unchanged.
                if token is None or restarted or exc.status != 400:
                    raise
                log.warning("the stored page token was refused (%s); reading the window "
                            "%s..%s again from its first page", exc.code, after, before)
                restarted = True
                summary.window_restarts += 1
                token = None
        summary.high_water = before

    def _pages(self, after: str, before: str, token: str | None
               ) -> Iterable[tuple[dict[str, Any], str | None]]:
        sp = self.sp
        if self.api == API_2026:
            op = sp.operation("orders_2026_01_01.searchOrders")
            params: dict[str, Any] = {"lastUpdatedAfter": after, "lastUpdatedBefore": before,
                                      "maxResultsPerPage": self.page_size,
                                      "includedData": list(INCLUDED_2026)}
            if self.marketplace_ids:
                params["marketplaceIds"] = self.marketplace_ids
            if token:
                params["paginationToken"] = token
            target = "orders_2026_01_01.searchOrders"
        else:
            op = sp.operation("orders_v0.getOrders")
            params = {"LastUpdatedAfter": after, "LastUpdatedBefore": before,
                      "MarketplaceIds": self._v0_marketplaces(),
                      "MaxResultsPerPage": self.page_size}
            if token:
                params["NextToken"] = token
            target = "orders_v0.getOrders"
        assert op.pagination is not None
        for page in sp.paginate(target, **params):
            self._requests += 1
            body = page.body if isinstance(page.body, dict) else {}
            yield body, op.pagination.token_from(page.body)

    _requests = 0
    _v0_mps: list[str] | None = None

    def _v0_marketplaces(self) -> list[str]:
        """getOrders needs marketplace ids: the ones asked for, else every marketplace the
        seller participates in (one getMarketplaceParticipations call per run)."""
        if self.marketplace_ids:
            return self.marketplace_ids
        if self._v0_mps is None:
            r = self.sp.sellers_v1.get_marketplace_participations()
            self._requests += 1
            ids = []
            for entry in r.payload or []:
                market = entry.get("marketplace") or {}
                if (entry.get("participation") or {}).get("isParticipating") and market.get("id"):
                    ids.append(str(market["id"]))
            if not ids:
                raise ConfigurationError("the seller participates in no marketplace; pass "
                                         "marketplace ids to sync")
            self._v0_mps = sorted(ids)[:50]  # getOrders takes at most 50
        return self._v0_mps

    # -- one page ------------------------------------------------------------------------------

    def _fetch_details(self, body: Mapping[str, Any]
                       ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The page's orders and, for v0, the items, buyers and addresses of those that are
        new or changed (the API calls happen here, before the page's transaction opens)."""
        if self.api == API_2026:
            return [dict(o) for o in body.get("orders") or []], {}
        payload = body.get("payload") or {}
        orders = [dict(o) for o in payload.get("Orders") or []]
        stored = self._stored_updates([str(o.get("AmazonOrderId")) for o in orders])
        changed = []
        for o in orders:
            oid = str(o.get("AmazonOrderId"))
            lu = _parse(o.get("LastUpdateDate"))
            if oid in stored and lu is not None and stored[oid] == lu:
                continue
            changed.append(o)
        items: dict[str, list[dict[str, Any]]] = {}
        buyers: dict[str, dict[str, Any]] = {}
        addresses: dict[str, dict[str, Any]] = {}
        from sellerkit.client.options import CallOptions

        item_options = CallOptions(rdt_data_elements=["buyerInfo"]) if self.pii else None
        for o in changed:
            oid = str(o["AmazonOrderId"])
            rows: list[dict[str, Any]] = []
            for page in self.sp.paginate("orders_v0.getOrderItems", orderId=oid,
                                         options=item_options):
                self._requests += 1
                rows.extend((page.payload or {}).get("OrderItems") or [])
            items[oid] = rows
            if not self.pii:
                continue
            r = self.sp.orders_v0.get_order_buyer_info(order_id=oid)
            self._requests += 1
            buyers[oid] = dict(r.payload or {})
            if o.get("OrderStatus") in _ADDRESS_STATUSES:
                r = self.sp.orders_v0.get_order_address(order_id=oid)
                self._requests += 1
                addresses[oid] = dict(r.payload or {})
        return changed, {"items": items, "buyers": buyers, "addresses": addresses,
                         "skipped": len(orders) - len(changed)}

    def _stored_updates(self, order_ids: Sequence[str]) -> dict[str, datetime]:
        """LastUpdateDate of the page's orders the vault holds already (v0 skips those)."""
        if not order_ids:
            return {}
        from sqlalchemy import select

        from sellerkit.vault.schema import orders

        with self.vault.read() as conn:
            rows = conn.execute(select(orders.c.amazon_order_id, orders.c.last_update_date).where(
                orders.c.seller_id == self.seller_pk,
                orders.c.amazon_order_id.in_(list(order_ids)))).all()
        return {str(r[0]): r[1] for r in rows if r[1] is not None}

    def _commit(self, cp: Checkpoint, orders: list[dict[str, Any]], extra: Mapping[str, Any],
                summary: SyncSummary, *, pages: int,
                token: str | None, done: bool) -> None:
        """Store the page and move the checkpoint, in one transaction."""
        now = self.clock()
        skipped = int(extra.get("skipped", 0))
        with self.vault.write() as conn:
            current = checkpoints.load(conn, self.seller_pk, self.stream, self.scope, for_update=True)
            if not checkpoints.owned_by(current, self.run_id):
                raise SyncTakenOverError(
                    f"another sync of seller {self.spid} ({self.api}) took over this one's "
                    f"checkpoint; this run stopped without storing its page")
            inserted = updated = unchanged = 0
            if orders:
                stats = self.vault.orders.upsert_orders(
                    conn, self.seller_pk, self.api, orders,
                    items=extra.get("items") or None, buyers=extra.get("buyers") or None,
                    addresses=extra.get("addresses") or None)
                inserted, updated, unchanged = stats.inserted, stats.updated, stats.unchanged
            page_counts = {
                "orders_seen": len(orders) + skipped, "orders_new": inserted,
                "orders_updated": updated, "orders_unchanged": unchanged + skipped,
                "items": _count_items(self.api, orders, extra),
                "buyers": _count_buyers(self.api, orders, extra),
                "addresses": _count_addresses(self.api, orders, extra),
                "pages": 1,
            }
            assert cp.cursor is not None
            if done:
                cp.high_water = _parse(cp.cursor["before"])
                cp.cursor = None
            else:
                cp.cursor = {**cp.cursor, "token": token, "pages": pages, "run": self.run_id}
            cp.exists = current.exists
            cp.stats = checkpoints.merge_stats(current.stats, page_counts)
            checkpoints.save(conn, cp, now)
        for k, v in page_counts.items():
            setattr(summary, k, getattr(summary, k) + v)
        summary.requests = self._requests

    # -- after the run -------------------------------------------------------------------------

    def _after_run(self, summary: SyncSummary, error: BaseException | None) -> None:
        summary.requests = self._requests
        details: dict[str, Any] = {"api": self.api, "window": [summary.window_start,
                                                               summary.window_end],
                                   "completed": summary.completed, "resumed": summary.resumed,
                                   **summary.counts()}
        outcome = "ok"
        if error is not None:
            outcome = "failed"
            details["error"] = type(error).__name__
        vault = self.vault
        _optional(lambda: vault.audit.record(
            "sync", actor=self.actor.user_id, target=f"seller:{self.spid}:{self.region}",
            outcome=outcome, details=details))
        client_id = getattr(getattr(self.sp, "settings", None), "client_id", None)
        if getattr(self.sp, "connection", None) is not None and client_id:
            message = None
            if isinstance(error, SellerkitError):
                message = f"{type(error).__name__}: {error}"[:500]
            _optional(lambda: vault.connections.record_call(
                self.spid, self.region, client_id, ok=error is None, error=message))
        if error is not None:
            return
        from sellerkit.vault.roles import SYSTEM

        report = _optional(lambda: vault.retention.purge(SYSTEM, trigger="sync"))
        if report is not None:
            summary.purged = _report_dict(report)
        alerts = _optional(lambda: vault.monitor.check())
        if alerts is not None:
            summary.alerts = len(alerts)


def _optional(call: Callable[[], Any]) -> Any:
    """Run a vault part's step; None when this vault build lacks the part (its module)."""
    try:
        return call()
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("sellerkit.vault."):
            raise
        log.debug("the vault has no %s; step skipped", exc.name)
        return None


def _report_dict(report: Any) -> dict[str, int]:
    """A purge report's counts per kind (no ids, no PII)."""
    return {str(k): int(v) for k, v in dict(getattr(report, "counts", {}) or {}).items()}


def _count_items(api: str, orders: Sequence[Mapping[str, Any]], extra: Mapping[str, Any]) -> int:
    if api == API_2026:
        return sum(len(o.get("orderItems") or []) for o in orders)
    return sum(len(v) for v in (extra.get("items") or {}).values())


def _count_buyers(api: str, orders: Sequence[Mapping[str, Any]], extra: Mapping[str, Any]) -> int:
    if api == API_2026:
        return sum(1 for o in orders if o.get("buyer"))
    return sum(1 for v in (extra.get("buyers") or {}).values()
               if v.get("BuyerEmail") or v.get("BuyerName"))


def _count_addresses(api: str, orders: Sequence[Mapping[str, Any]], extra: Mapping[str, Any]
                     ) -> int:
    if api == API_2026:
        return sum(1 for o in orders if (o.get("recipient") or {}).get("deliveryAddress"))
    return sum(1 for v in (extra.get("addresses") or {}).values() if v.get("ShippingAddress"))


def _limiter_counts(sp: Any) -> tuple[int, float, int]:
    """(waits, seconds waited, 429s) the client's rate limiter has counted so far."""
    limiter = getattr(sp, "limiter", None)
    if limiter is None:
        return 0, 0.0, 0
    try:
        buckets = limiter.snapshot()
    except Exception:  # noqa: BLE001 - counts are informational; a backend hiccup is no failure
        return 0, 0.0, 0
    return (sum(b.waits for b in buckets), sum(b.wait_time for b in buckets),
            sum(b.throttles for b in buckets))

