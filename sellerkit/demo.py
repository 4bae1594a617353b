"""``sellerkit demo``: the whole client against the emulator, in a few seconds, with no account.

It starts the emulator on a free loopback port, connects with the emulator's demo credentials
through the real sellerkit client (LWA, rate limiter, RDT, pagination, all over HTTP), lists the
seller's marketplace participations, pulls every order of every marketplace page by page with a
Restricted Data Token for the buyer data, and summarizes what it saw. Buyer data in the order
lists is counted, not printed; one shipping address, fetched with ``getOrderAddress`` through
its own RDT, is shown to prove the restricted data arrives. Then the daily workflows: it
subscribes to REPORT_PROCESSING_FINISHED and FEED_PROCESSING_FINISHED (``ensure_destination`` /
``ensure_subscription``), fetches an orders report (``sp.reports.fetch``: rows and orders),
submits a JSON_LISTINGS_FEED of PATCH messages (``ListingsFeed`` and ``sp.feeds.submit``: two
for SKUs of the report, one for a SKU that does not exist, so accepted and applied differ) and
reads the notifications the report and the feed caused from the emulator's in-process queue
(parsed with ``parse_notification``). Last, the vault: ``sellerkit.sync.sync_orders`` pulls the
orders (Orders 2026-01-01, buyer and recipient blocks included) into a vault (a temporary SQLite
one unless ``vault_url`` names one), a fulfillment user reads one buyer's name through the vault
with a stated purpose (audited), and the demo scans the database's raw bytes to show the name is
not in them: the PII is stored encrypted. All of it is the emulator's synthetic data, and the
output says so.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "DemoSummary",
    "FeedSummary",
    "MarketplaceSummary",
    "NotificationsSummary",
    "ReportSummary",
    "ShippingSample",
    "VaultSummary",
    "render",
    "run_demo",
]

ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
DEMO_QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:sellerkit-demo"  # in-process only
NOTIFIED = ("REPORT_PROCESSING_FINISHED", "FEED_PROCESSING_FINISHED")


@dataclass
class MarketplaceSummary:
    marketplace_id: str
    name: str
    country: str
    orders: int = 0
    pages: int = 0
    with_buyer_info: int = 0
    with_address: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    totals: dict[str, str] = field(default_factory=dict)  # currency -> amount


@dataclass
class ShippingSample:
    """One order's shipping name and street, from ``getOrderAddress`` with an RDT (synthetic
    emulator data)."""

    order_id: str
    name: str
    street: str
    city: str
    country: str


@dataclass
class ReportSummary:
    """The orders report ``sp.reports.fetch`` created, waited for and downloaded."""

    report_id: str
    report_type: str
    marketplace_id: str
    status: str
    rows: int
    orders: int  # distinct amazon-order-id values


@dataclass
class FeedSummary:
    """The JSON_LISTINGS_FEED ``sp.feeds.submit`` uploaded and waited for."""

    feed_id: str
    status: str
    accepted: bool
    messages: int
    applied: int
    failed: int
    skus: list[str] = field(default_factory=list)


@dataclass
class NotificationsSummary:
    """The notifications the report and the feed caused, read from the emulator's
    in-process queue and parsed with ``parse_notification``."""

    count: int
    types: dict[str, int] = field(default_factory=dict)
    report_ids: list[str] = field(default_factory=list)
    feed_ids: list[str] = field(default_factory=list)


@dataclass
class VaultSummary:
    """The orders ``sync_orders`` stored in the vault, and the proof that their PII is
    encrypted: one buyer name read through the vault with a purpose, and not found in the
    database's raw bytes."""

    location: str  # "a temporary SQLite vault" or the URL given (password hidden)
    orders: int
    items: int
    buyers: int
    addresses: int
    pages: int
    seconds: float
    order_id: str | None = None
    buyer_name: str | None = None  # synthetic emulator data, read with the purpose below
    read_as: str = ""
    purpose: str = ""
    raw_bytes: int = 0  # how many bytes of the database were scanned
    name_in_raw_bytes: bool | None = None


@dataclass
class DemoSummary:
    base_url: str
    seller_id: str
    marketplaces: list[MarketplaceSummary]
    requests: int
    throttled: int
    seconds: float
    rate_scale: float
    address: ShippingSample | None = None
    report: ReportSummary | None = None
    feed: FeedSummary | None = None
    notifications: NotificationsSummary | None = None
    workflow_seconds: float = 0.0  # the report, the feed and the notifications
    vault: VaultSummary | None = None

    @property
    def orders(self) -> int:
        return sum(m.orders for m in self.marketplaces)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["orders"] = self.orders
        out["requests_per_second"] = round(self.requests_per_second, 1)
        return out


def _counting_transport() -> Any:
    import httpx

    class CountingTransport(httpx.HTTPTransport):
        """Counts what actually went over the wire (token calls and retries included)."""

        requests = 0
        throttled = 0

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            type(self).requests += 1
            if response.status_code == 429:
                type(self).throttled += 1
            return response

    return CountingTransport()


def run_demo(*, orders: int = 300, seed: int = 0, rate_scale: float = 1000.0,
             page_size: int = 25, vault_url: str | None = None, vault_key: str | None = None,
             with_vault: bool = True) -> DemoSummary:
    """Run the demo end to end and return what it saw. ``vault_url`` (and ``vault_key``)
    name the vault the orders are synced into; by default a temporary one, deleted after."""
    from sellerkit import CallOptions, SellingPartner
    from sellerkit.emulator import EmulatorConfig, EmulatorServer

    # reports and feeds take a fraction of a second here (Amazon: minutes), so the demo waits
    # for both in about a second
    config = EmulatorConfig(seed=seed, orders=orders, rate_scale=rate_scale,
                            report_seconds=0.3, feed_seconds=0.3)
    with EmulatorServer(config) as server:
        transport = _counting_transport()
        start = time.perf_counter()
        cfg = server.emulator.config
        with SellingPartner(client_id=cfg.client_id, client_secret=cfg.client_secret,
                            refresh_token=cfg.refresh_token, endpoint=server.base_url,
                            lwa_endpoint=server.base_url + "/auth/o2/token", region="NA",
                            transport=transport) as sp:
            participations = sp.sellers_v1.get_marketplace_participations().payload or []
            summaries: list[MarketplaceSummary] = []
            rdt = CallOptions(rdt_data_elements=["buyerInfo", "shippingAddress"])
            shipped: str | None = None
            for entry in participations:
                market = entry.get("marketplace") or {}
                if not (entry.get("participation") or {}).get("isParticipating"):
                    continue
                summary = MarketplaceSummary(market.get("id", ""), market.get("name", ""),
                                             market.get("countryCode", ""))
                statuses: Counter[str] = Counter()
                totals: dict[str, Decimal] = {}
                for page in sp.paginate("orders_v0.getOrders", MarketplaceIds=[summary.marketplace_id],
                                        CreatedAfter="2000-01-01T00:00:00Z",
                                        MaxResultsPerPage=page_size, options=rdt):
                    summary.pages += 1
                    for order in (page.payload or {}).get("Orders") or []:
                        summary.orders += 1
                        statuses[str(order.get("OrderStatus"))] += 1
                        if shipped is None and order.get("OrderStatus") == "Shipped":
                            shipped = order.get("AmazonOrderId")
                        if (order.get("BuyerInfo") or {}).get("BuyerEmail"):
                            summary.with_buyer_info += 1
                        if (order.get("ShippingAddress") or {}).get("AddressLine1"):
                            summary.with_address += 1  # the full address: the RDT's doing
                        total = order.get("OrderTotal") or {}
                        if total.get("CurrencyCode") and total.get("Amount"):
                            cur = total["CurrencyCode"]
                            totals[cur] = totals.get(cur, Decimal(0)) + Decimal(total["Amount"])
                summary.statuses = dict(statuses.most_common())
                summary.totals = {c: f"{v:.2f}" for c, v in totals.items()}
                summaries.append(summary)
            address = _shipping_sample(sp, shipped) if shipped else None
            # the throughput line is about the orders pull; the workflows below mostly wait
            seconds = time.perf_counter() - start
            requests, throttled = type(transport).requests, type(transport).throttled
            seller_id = server.emulator.seller_ids[0]
            report = feed = notes = None
            workflows_start = time.perf_counter()
            if summaries:
                after = server.emulator.notifications.last_seq()
                _subscribe(sp)
                report, skus = _orders_report(sp, summaries[0].marketplace_id)
                feed = _listings_feed(sp, seller_id, summaries[0].marketplace_id, skus)
                notes = _notifications(server.emulator, after)
            workflow_seconds = time.perf_counter() - workflows_start
            vault = _vault_step(sp, seller_id, vault_url, vault_key) if with_vault else None
    return DemoSummary(base_url=server.base_url, seller_id=server.emulator.seller_ids[0],
                       marketplaces=summaries, requests=requests, throttled=throttled,
                       seconds=seconds, rate_scale=rate_scale, address=address, report=report,
                       feed=feed, notifications=notes, workflow_seconds=workflow_seconds,
                       vault=vault)


DEMO_ADMIN = "demo-admin"
DEMO_FULFILLMENT = "demo-fulfillment"
DEMO_PURPOSE = "sellerkit demo: show one buyer's name read through the vault"


def _vault_step(sp: Any, seller_id: str, vault_url: str | None, vault_key: str | None
                ) -> VaultSummary:
    """Sync the emulator's orders into a vault and show that their PII is encrypted."""
    import tempfile
    from datetime import UTC, datetime

    from sellerkit.sync import sync_orders
    from sellerkit.vault import Vault

    with tempfile.TemporaryDirectory(prefix="sellerkit-demo-") as tmp:
        url = vault_url or f"sqlite:///{tmp}/vault.sqlite3"
        with Vault.open(url, key=vault_key) as v:
            admin, fulfillment = _demo_users(v)
            s = sync_orders(v, sp, actor=admin, selling_partner_id=seller_id, region="na",
                            since=datetime(2000, 1, 1, tzinfo=UTC))
            location = ("a temporary SQLite vault" if vault_url is None
                        else v.engine.url.render_as_string(hide_password=True))
            out = VaultSummary(location=location, orders=s.orders_new + s.orders_updated +
                               s.orders_unchanged, items=s.items, buyers=s.buyers,
                               addresses=s.addresses, pages=s.pages, seconds=s.seconds,
                               read_as=f"{fulfillment.user_id} ({fulfillment.role.value})",
                               purpose=DEMO_PURPOSE)
            sample = _buyer_sample(v, fulfillment)
            if sample is not None:
                out.order_id, out.buyer_name = sample
                out.raw_bytes, out.name_in_raw_bytes = _scan_raw(v, sample[1])
    return out


def _demo_users(v: Any) -> tuple[Any, Any]:
    """An admin who syncs and a fulfillment user who reads PII. A new (temporary) vault gets
    ``demo-admin`` as its first admin; a vault given with ``--vault`` is used as the OS login
    name (a vault admin, as for every vault command), who adds ``demo-fulfillment`` if needed."""
    from sellerkit.errors import VaultError
    from sellerkit.vault import Role

    users = v.users
    admin = (users.bootstrap_admin(DEMO_ADMIN) if users.count() == 0
             else users.cli_principal(None))
    try:
        fulfillment = users.get(admin, DEMO_FULFILLMENT)
    except VaultError:
        fulfillment = users.add(admin, DEMO_FULFILLMENT, Role.FULFILLMENT)
    return admin, fulfillment.principal


def _buyer_sample(v: Any, reader: Any) -> tuple[str, str] | None:
    """One shipped order's buyer name, decrypted by the vault for ``reader`` with a purpose."""
    for row in v.orders.list(reader, limit=50):
        oid = str(row.get("amazon_order_id") or row.get("order_id") or "")
        if not oid:
            continue
        pii = v.orders.read_pii(reader, oid, purpose=DEMO_PURPOSE)
        buyer = pii.get("buyer") or {}
        name = buyer.get("name") or buyer.get("buyerName") or buyer.get("BuyerName")
        if name:
            return oid, str(name)
    return None


def _scan_raw(v: Any, needle: str) -> tuple[int, bool]:
    """Look for ``needle`` in the vault database's raw bytes: the SQLite file and its WAL, or
    on PostgreSQL every column of the order tables as the server returns them."""
    from pathlib import Path

    target = needle.encode("utf-8")
    url = v.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        total, found = 0, False
        for suffix in ("", "-wal"):
            path = Path(url.database + suffix)
            if path.exists():
                data = path.read_bytes()
                total += len(data)
                found = found or target in data
        return total, found
    from sqlalchemy import select

    from sellerkit.vault.schema import order_addresses, order_buyers, order_items, orders

    total, found = 0, False
    with v.read() as conn:
        for table in (orders, order_items, order_buyers, order_addresses):
            for row in conn.execute(select(table)):
                blob = repr(tuple(row)).encode("utf-8", "backslashreplace")
                total += len(blob)
                found = found or target in blob
    return total, found


def _subscribe(sp: Any) -> None:
    """A destination (an SQS ARN: this emulator keeps its notifications in-process) and the
    two subscriptions, idempotently."""
    dest = sp.notifications.ensure_destination("sellerkit-demo", sqs_arn=DEMO_QUEUE_ARN)
    for ntype in NOTIFIED:
        sp.notifications.ensure_subscription(ntype, dest)


def _orders_report(sp: Any, marketplace_id: str) -> tuple[ReportSummary, list[str]]:
    report = sp.reports.fetch(ORDERS_REPORT, [marketplace_id], start="2000-01-01T00:00:00Z",
                              reuse_within=None, poll_interval=0.1, max_poll_interval=0.5)
    rows = 0
    orders: set[str] = set()
    skus: list[str] = []
    for row in report.rows():
        rows += 1
        orders.add(row.get("amazon-order-id") or "")
        sku = row.get("sku")
        if sku and sku not in skus and len(skus) < 2:
            skus.append(sku)
    return ReportSummary(report_id=str(report.report_id), report_type=ORDERS_REPORT,
                         marketplace_id=marketplace_id, status=str(report.status), rows=rows,
                         orders=len(orders - {""})), skus


def _listings_feed(sp: Any, seller_id: str, marketplace_id: str, skus: list[str]
                   ) -> FeedSummary:
    """PATCH the item name of two SKUs the report named, and of one that does not exist: the
    feed is accepted (DONE), two messages are applied, one fails."""
    from sellerkit.workflows.feeds import ListingsFeed

    feed = ListingsFeed(seller_id=seller_id)
    for sku in [*skus, "SELLERKIT-DEMO-NO-SUCH-SKU"]:
        feed.patch(sku, "PRODUCT", [{
            "op": "replace", "path": "/attributes/item_name",
            "value": [{"value": f"{sku} (renamed by sellerkit demo)",
                       "marketplace_id": marketplace_id}]}])
    result = sp.feeds.submit("JSON_LISTINGS_FEED", feed, [marketplace_id], poll_interval=0.1,
                             max_interval=0.5)
    return FeedSummary(feed_id=result.feed_id, status=result.status, accepted=result.accepted,
                       messages=len(feed), applied=len(result.applied),
                       failed=len(result.failed), skus=list(skus))


def _notifications(emulator: Any, after: int) -> NotificationsSummary:
    from sellerkit.workflows.notification_types import parse_notification

    got = emulator.notifications.wait(len(NOTIFIED), after=after, notification_types=NOTIFIED,
                                      timeout=10.0)
    parsed = [parse_notification(r["message"]) for r in got]
    types: Counter[str] = Counter(n.type for n in parsed)
    return NotificationsSummary(
        count=len(parsed), types=dict(sorted(types.items())),
        report_ids=[str(n.body["reportId"]) for n in parsed
                    if n.type == "REPORT_PROCESSING_FINISHED"],
        feed_ids=[str(n.body["feedId"]) for n in parsed if n.type == "FEED_PROCESSING_FINISHED"])


def _shipping_sample(sp: Any, order_id: str) -> ShippingSample | None:
    """getOrderAddress for one order: the client fetches an RDT for the operation's path (no
    data elements: Amazon unlocks this operation by path) and the full address comes back."""
    addr = (sp.orders_v0.get_order_address(order_id=order_id).payload or {}).get(
        "ShippingAddress") or {}
    if not addr.get("Name"):
        return None
    return ShippingSample(order_id=order_id, name=addr["Name"],
                          street=addr.get("AddressLine1", ""), city=addr.get("City", ""),
                          country=addr.get("CountryCode", ""))


def render(summary: DemoSummary) -> Any:
    """A rich renderable of the summary (a table and a throughput line)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Orders of emulated seller {summary.seller_id}")
    for col, justify in (("marketplace", "left"), ("orders", "right"), ("pages", "right"),
                         ("buyer info", "right"), ("address", "right"), ("statuses", "left"),
                         ("total", "right")):
        table.add_column(col, justify=justify,  # type: ignore[arg-type]
                         no_wrap=col in ("marketplace", "statuses", "total"))
    for m in summary.marketplaces:
        table.add_row(f"{m.country} {m.name}".strip(), str(m.orders), str(m.pages),
                      f"{m.with_buyer_info}/{m.orders}", f"{m.with_address}/{m.orders}",
                      "\n".join(f"{v} {k}" for k, v in m.statuses.items()),
                      "\n".join(f"{v} {k}" for k, v in m.totals.items()))
    table.caption = ("buyer info and full address came through a Restricted Data Token "
                     "(counted, not shown)")
    line = Text(
        f"{summary.orders} orders in {len(summary.marketplaces)} marketplaces: "
        f"{summary.requests} HTTP requests in {summary.seconds:.2f}s "
        f"({summary.requests_per_second:.0f} requests/s, {summary.throttled} throttled) "
        f"against {summary.base_url}, rate limits x{summary.rate_scale:g}.")
    parts: list[Any] = [table, line]
    a = summary.address
    if a is not None:
        parts.append(Text(
            f"getOrderAddress {a.order_id} through an RDT: ship to {a.name}, {a.street}, "
            f"{a.city} {a.country} (synthetic emulator data, not a real buyer)."))
    r = summary.report
    if r is not None:
        parts.append(Text(
            f"sp.reports.fetch {r.report_type} ({r.marketplace_id}): report {r.report_id} "
            f"{r.status}, {r.rows} rows for {r.orders} orders."))
    f = summary.feed
    if f is not None:
        parts.append(Text(
            f"sp.feeds.submit JSON_LISTINGS_FEED of {f.messages} PATCH messages: feed "
            f"{f.feed_id} {f.status}, {'accepted' if f.accepted else 'not accepted'}, "
            f"{f.applied} applied, {f.failed} failed (a SKU that does not exist)."))
    n = summary.notifications
    if n is not None:
        kinds = ", ".join(f"{v} {k}" for k, v in n.types.items()) or "none"
        parts.append(Text(f"notifications received from the emulator's queue: {n.count} "
                          f"({kinds}); report, feed and notifications took "
                          f"{summary.workflow_seconds:.2f}s."))
    vs = summary.vault
    if vs is not None:
        parts.append(Text(
            f"vault: sellerkit.sync stored {vs.orders} orders ({vs.items} items, {vs.buyers} "
            f"buyers, {vs.addresses} addresses, {vs.pages} pages) in {vs.location} in "
            f"{vs.seconds:.2f}s, buyer and address fields encrypted (AES-256-GCM)."))
        if vs.buyer_name:
            where = ("the database file's" if vs.location.startswith("a temporary")
                     or vs.location.startswith("sqlite") else "the stored rows'")
            verdict = ("do not contain it: the PII is encrypted at rest"
                       if vs.name_in_raw_bytes is False else "CONTAIN IT")
            parts.append(Text(
                f"vault.orders.read_pii {vs.order_id} as {vs.read_as}, purpose stated and "
                f"audited: buyer {vs.buyer_name} (synthetic); {where} {vs.raw_bytes} raw bytes "
                f"{verdict}."))
    return Group(*parts)
