"""Orders in the vault: Amazon's responses stored with their PII encrypted, the rest queryable.

:meth:`OrderStore.upsert_orders` takes orders exactly as Amazon returns them (v0 ``Order``
objects, or 2026-01-01 orders with their included blocks), with, for v0, the items
(getOrderItems), buyer info (getOrderBuyerInfo) and addresses (getOrderAddress) keyed by order
id. :mod:`sellerkit.vault.pii` separates each object into clear fields (typed columns: order id,
dates, status, totals, marketplace; the rest in ``public``) and PII, which is encrypted under
the order's own data key (one per order, covering its items, buyer and addresses) with each
ciphertext bound to its table, column and row. The buyer's e-mail also gets a keyed blind index
for exact-match lookup.

Ingest is bulk: one statement per table per batch (``executemany``). Orders already stored
are upserted (``ON CONFLICT DO UPDATE``, SQLite and PostgreSQL alike); on SQLite new orders and
their data keys get explicit ids (the write lock is held) and go in with plain INSERTs, with no
ids read back; existing data keys are unwrapped in a few queries and cached. Each order's
fields are sealed in one :meth:`~sellerkit.vault.crypto.FieldCipher.encrypt_many` call (still
a ciphertext, nonce and AAD per column). Re-storing an unchanged order is recognised by a MAC
under its data key (``content_mac``) and writes nothing. Fields a call does not bring (an order
fetched without a Restricted Data Token has no buyer name) leave what the vault holds alone.

Reads check the role in the API: :meth:`OrderStore.get` and :meth:`OrderStore.list` (READ_DATA)
never return PII; :meth:`OrderStore.read_pii` (READ_PII and a stated purpose) decrypts, and every
PII read, allowed or denied, is an audit entry (``pii.read``) with the order id and purpose.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, select

from sellerkit.errors import AccessDeniedError, VaultError
from sellerkit.vault import schema
from sellerkit.vault.pii import JSON_COLUMNS, Split, classification
from sellerkit.vault.roles import Permission, Principal, require

if TYPE_CHECKING:
    from sellerkit.vault.core import Vault

__all__ = ["API_VERSIONS", "OrderStore", "UpsertStats"]

API_VERSIONS = ("v0", "2026-01-01")
_SHAPE = {"v0": "v0.order", "2026-01-01": "2026-01-01.order"}
_CHUNK = 1000  # orders per statement group (a sync's batch)
_ORDERS, _ITEMS, _BUYERS, _ADDRESSES = "orders", "order_items", "order_buyers", "order_addresses"
_ORDER_FIELDS = ("marketplace_id", "status", "fulfillment_channel", "purchase_date",
                 "last_update_date", "latest_ship_date", "latest_delivery_date", "delivered_at",
                 "total_amount", "total_currency", "items_count")
_ITEM_FIELDS = ("asin", "seller_sku", "title", "quantity_ordered", "quantity_shipped",
                "price_amount", "price_currency")
_CHANNEL_2026 = {"AMAZON": "AFN", "MERCHANT": "MFN"}


@dataclass(frozen=True)
class UpsertStats:
    """What :meth:`OrderStore.upsert_orders` did, in orders."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertStats) -> UpsertStats:
        return UpsertStats(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged)

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


def _chunks(seq: Sequence[Any], n: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed


def _get(obj: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _money(m: Any, amount: str = "Amount", currency: str = "CurrencyCode"
           ) -> tuple[str | None, str | None]:
    if not isinstance(m, dict):
        return None, None
    a = m.get(amount)
    c = m.get(currency)
    return (None if a is None else str(a)[:40]), (c[:3] if isinstance(c, str) else None)


# Built once: json.dumps with options makes a new encoder on every call.
_jtext = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_jpublic = json.JSONEncoder(separators=(",", ":")).encode


def _order_fields_v0(o: Mapping[str, Any]) -> dict[str, Any]:
    amount, currency = _money(o.get("OrderTotal"))
    shipped, unshipped = _int(o.get("NumberOfItemsShipped")), _int(o.get("NumberOfItemsUnshipped"))
    count = None if shipped is None and unshipped is None else (shipped or 0) + (unshipped or 0)
    return {"marketplace_id": o.get("MarketplaceId"), "status": o.get("OrderStatus"),
            "fulfillment_channel": o.get("FulfillmentChannel"),
            "purchase_date": _dt(o.get("PurchaseDate")),
            "last_update_date": _dt(o.get("LastUpdateDate")),
            "latest_ship_date": _dt(o.get("LatestShipDate")),
            "latest_delivery_date": _dt(o.get("LatestDeliveryDate")), "delivered_at": None,
            "total_amount": amount, "total_currency": currency, "items_count": count}


def _order_fields_2026(o: Mapping[str, Any], items: Sequence[Split]) -> dict[str, Any]:
    amount, currency = _money(_get(o, "proceeds", "grandTotal"), "amount", "currencyCode")
    qty = [_int(i.public.get("quantityOrdered")) for i in items]
    channel = _get(o, "fulfillment", "fulfilledBy")
    return {"marketplace_id": _get(o, "salesChannel", "marketplaceId"),
            "status": _get(o, "fulfillment", "fulfillmentStatus"),
            "fulfillment_channel": _CHANNEL_2026.get(channel, channel),
            "purchase_date": _dt(o.get("createdTime")),
            "last_update_date": _dt(o.get("lastUpdatedTime")),
            "latest_ship_date": _dt(_get(o, "fulfillment", "shipByWindow", "latestDateTime")),
            "latest_delivery_date": _dt(_get(o, "fulfillment", "deliverByWindow",
                                             "latestDateTime")),
            "delivered_at": None, "total_amount": amount, "total_currency": currency,
            "items_count": sum(q for q in qty if q is not None) if items else None}


def _item_fields_v0(i: Mapping[str, Any]) -> dict[str, Any]:
    amount, currency = _money(i.get("ItemPrice"))
    return {"asin": i.get("ASIN"), "seller_sku": i.get("SellerSKU"), "title": i.get("Title"),
            "quantity_ordered": _int(i.get("QuantityOrdered")),
            "quantity_shipped": _int(i.get("QuantityShipped")),
            "price_amount": amount, "price_currency": currency}


def _item_fields_2026(i: Mapping[str, Any]) -> dict[str, Any]:
    qty = _int(i.get("quantityOrdered"))
    amount, currency = None, None
    for b in _get(i, "proceeds", "breakdowns") or []:
        if isinstance(b, dict) and b.get("type") == "ITEM":
            amount, currency = _money(b.get("subtotal"), "amount", "currencyCode")
    if amount is None:
        unit, currency = _money(_get(i, "product", "price", "unitPrice"), "amount",
                                "currencyCode")
        if unit is not None and qty is not None:
            try:
                amount = str(Decimal(unit) * qty)
            except InvalidOperation:
                amount = None
    return {"asin": _get(i, "product", "asin"), "seller_sku": _get(i, "product", "sellerSku"),
            "title": _get(i, "product", "title"), "quantity_ordered": qty,
            "quantity_shipped": _int(_get(i, "fulfillment", "quantityFulfilled")),
            "price_amount": amount, "price_currency": currency}


class _Json:
    """A JSON value and its text, serialized once: the text feeds the content MAC and the
    SQLite fast path; the PostgreSQL path binds the value."""

    __slots__ = ("obj", "text")

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.text = _jpublic(obj)


@dataclass
class _Parsed:
    amazon_order_id: str
    fields: dict[str, Any]
    public: _Json
    plain: dict[str, dict[str, str]]   # record -> column -> plaintext to encrypt
    clear: dict[str, dict[str, Any]]
    items: list[tuple[str, dict[str, Any], _Json, dict[str, str]]]  # id, fields, public, plain

    def digest_input(self, api_version: str) -> bytes:
        """Everything stored for the order, as one string (the content MAC's input)."""
        parts = [api_version, self.public.text]
        for rec, cols in self.plain.items():
            parts.append(rec)
            for col, text in cols.items():
                parts += (col, text)
        parts.append(repr(self.clear))
        for iid, _fields, pub, plain in self.items:
            parts += (iid, pub.text)
            for col, text in plain.items():
                parts += (col, text)
        return "\x1f".join(parts).encode("utf-8")


def _plain(cols: Mapping[str, Any]) -> dict[str, str]:
    return {c: _jtext(v) if c in JSON_COLUMNS else v for c, v in cols.items()}


def _merge(into: Split, other: Split) -> None:
    for rec, cols in other.pii.items():
        mine = into.pii.setdefault(rec, {})
        for col, val in cols.items():
            if col in JSON_COLUMNS and isinstance(mine.get(col), dict):
                mine[col] = {**mine[col], **val}
            else:
                mine[col] = val
    for rec, cols in other.clear.items():
        into.clear.setdefault(rec, {}).update(cols)


class OrderStore:
    """``vault.orders``: see the module docstring."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    # -- ingest ------------------------------------------------------------------------------------

    def _parse(self, api_version: str, o: Mapping[str, Any],
               items: Sequence[Mapping[str, Any]] | None, buyer: Mapping[str, Any] | None,
               address: Mapping[str, Any] | None) -> _Parsed:
        cls = classification()
        if not isinstance(o, Mapping):
            raise VaultError(f"an order must be a JSON object, not {type(o).__name__}")
        key = "AmazonOrderId" if api_version == "v0" else "orderId"
        oid = o.get(key)
        if not isinstance(oid, str) or not oid.strip() or len(oid) > 40:
            raise VaultError(f"an order without a valid {key}: every {api_version} order "
                             f"object has one (got {oid!r:.60})")
        sp = cls.split(_SHAPE[api_version], o)
        item_rows: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = []  # noqa: E501
        if api_version == "v0":
            fields = _order_fields_v0(o)
            for it in items or ():
                isp = cls.split("v0.order_item", it)
                iid = it.get("OrderItemId")
                if not isinstance(iid, str) or not iid:
                    raise VaultError(f"an item of order {oid} has no OrderItemId")
                item_rows.append((iid, _item_fields_v0(it), isp.public, isp.pii.get("item", {})))
        else:
            fields = _order_fields_2026(o, sp.items)
            for isp in sp.items:
                iid = isp.public.get("orderItemId")
                if not isinstance(iid, str) or not iid:
                    raise VaultError(f"an item of order {oid} has no orderItemId")
                item_rows.append((iid, _item_fields_2026(isp.public), isp.public,
                                  isp.pii.get("item", {})))
        public = sp.public
        if buyer:
            bsp = cls.split("v0.buyer_info", buyer)
            _merge(sp, bsp)
            rest = {k: v for k, v in bsp.public.items() if k != "AmazonOrderId"}
            if rest:
                public["getOrderBuyerInfo"] = rest
        if address:
            asp = cls.split("v0.order_address", address)
            _merge(sp, asp)
            rest = {k: v for k, v in asp.public.items() if k != "AmazonOrderId"
                    and not (k == "ShippingAddress" and v == public.get(k))}
            if rest:  # what getOrderAddress had beyond the order's own (clear) fields
                public["getOrderAddress"] = rest
        if len({row[0] for row in item_rows}) < len(item_rows):
            # an item listed twice (pages fetched twice): the last one wins, in the first's
            # place, as an upsert of each in turn would leave it
            last = {row[0]: row for row in item_rows}
            item_rows = list(last.values())
        return _Parsed(oid, fields, _Json(public), {r: _plain(c) for r, c in sp.pii.items()},
                       sp.clear, [(iid, f, _Json(pub), _plain(ip))
                                  for iid, f, pub, ip in item_rows])

    def upsert_orders(self, conn: Connection, seller_id: int, api_version: str,
                      orders: Sequence[Mapping[str, Any]], *,
                      items: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                      buyers: Mapping[str, Mapping[str, Any]] | None = None,
                      addresses: Mapping[str, Mapping[str, Any]] | None = None) -> UpsertStats:
        """Store ``orders`` (as Amazon returns them) in the caller's transaction; see the module
        docstring. Idempotent: the same input twice leaves the same rows."""
        if api_version not in API_VERSIONS:
            raise VaultError(f"api_version {api_version!r}: use v0 or 2026-01-01")
        if conn.execute(select(schema.sellers.c.id).where(
                schema.sellers.c.id == seller_id)).first() is None:
            raise VaultError(f"no seller {seller_id!r} in the vault: get the id from "
                             f"vault.connections.ensure_seller(conn, selling_partner_id, region)")
        items, buyers, addresses = items or {}, buyers or {}, addresses or {}
        stats = UpsertStats()
        for part in _chunks(list(orders)):
            parsed: dict[str, _Parsed] = {}
            for o in part:
                oid = o.get("AmazonOrderId" if api_version == "v0" else "orderId") \
                    if isinstance(o, Mapping) else None
                p = self._parse(api_version, o, items.get(oid) if isinstance(oid, str) else None,
                                buyers.get(oid) if isinstance(oid, str) else None,
                                addresses.get(oid) if isinstance(oid, str) else None)
                parsed[p.amazon_order_id] = p  # a repeated order: the last one wins
            stats = stats + self._upsert_batch(conn, seller_id, api_version, list(parsed.values()))
        return stats

    def _upsert_batch(self, conn: Connection, seller_id: int, api_version: str,
                      batch: list[_Parsed]) -> UpsertStats:
        cipher = self.vault.cipher
        o, dk = schema.orders.c, schema.data_keys.c
        now = self.vault.now()
        ids = [p.amazon_order_id for p in batch]
        existing = {r.amazon_order_id: r for r in conn.execute(
            select(o.id, o.amazon_order_id, o.key_id, o.content_mac, o.pii_erased_at,
                   o.first_seen_at, dk.wrapped.is_not(None).label("live"))
            .outerjoin(schema.data_keys, dk.id == o.key_id)
            .where(o.seller_id == seller_id, o.amazon_order_id.in_(ids)))}
        cipher.preload(conn, [r.key_id for r in existing.values() if r.live])
        fresh = [p for p in batch if p.amazon_order_id not in existing]
        new_keys = iter(cipher.new_data_keys(conn, "order", len(fresh)))
        key_of: dict[str, int | None] = {}
        erased: set[str] = set()
        changed: list[_Parsed] = []
        macs: dict[str, str | None] = {}
        unchanged = 0
        for p in batch:
            ex = existing.get(p.amazon_order_id)
            if ex is None:
                kid: int | None = next(new_keys)
            elif ex.pii_erased_at is not None or not ex.live:
                kid = ex.key_id
                erased.add(p.amazon_order_id)
            else:
                kid = int(ex.key_id)
            mac = cipher.record_mac(kid, p.digest_input(api_version), conn=conn) \
                if kid is not None and p.amazon_order_id not in erased else None
            if ex is not None and mac is not None and ex.content_mac == mac:
                unchanged += 1
                continue
            key_of[p.amazon_order_id] = kid
            macs[p.amazon_order_id] = mac
            changed.append(p)
        if not changed:
            return UpsertStats(0, 0, unchanged)

        sqlite = conn.dialect.name == "sqlite"
        new_ids: dict[str, int] = {}
        if sqlite:
            # New orders get the ids after the largest, given explicitly (the write lock is
            # held: BEGIN IMMEDIATE), and go in with plain INSERTs; no read-back of the ids.
            top = int(conn.execute(select(func.coalesce(func.max(o.id), 0))).scalar_one())
            for p in changed:
                if p.amazon_order_id not in existing:
                    top += 1
                    new_ids[p.amazon_order_id] = top

        # Every ciphertext of an order in one call: its own nonce and AAD each (table, column,
        # row, key), under the order's data key.
        sealed: dict[str, Iterator[bytes | None]] = {}
        for p in changed:
            oid = p.amazon_order_id
            kid = key_of[oid]
            if kid is None or oid in erased:
                continue
            base = f"{seller_id}:{oid}"
            fields: builtins.list[tuple[str, str, str, str | None]] = []
            extra = p.plain.get("order", {}).get("extra_pii_ct")
            if extra:
                fields.append((_ORDERS, "extra_pii_ct", base, extra))
            for iid, _f, _pub, iplain in p.items:
                ref = f"{base}:{iid}"
                fields.extend((_ITEMS, col, ref, text) for col, text in iplain.items())
            buyer = p.plain.get("buyer")
            if buyer:
                ref = f"{base}:buyer"
                fields.extend((_BUYERS, col, ref, text) for col, text in buyer.items())
            addr = p.plain.get("address:shipping")
            if addr:
                ref = f"{base}:address:shipping"
                fields.extend((_ADDRESSES, col, ref, text) for col, text in addr.items())
            if fields:
                sealed[oid] = iter(cipher.encrypt_many(kid, fields, conn=conn))

        order_new, order_old = [], []
        for p in changed:
            oid = p.amazon_order_id
            kid = key_of[oid]
            extra = p.plain.get("order", {}).get("extra_pii_ct")
            row = {"seller_id": seller_id, "amazon_order_id": oid, "api_version": api_version,
                   **p.fields, "public": p.public, "key_id": kid,
                   "extra_pii_ct": next(sealed[oid]) if (extra and oid in sealed) else None,
                   "content_mac": macs[oid], "first_seen_at": now, "updated_at": now}
            if oid in new_ids:
                row["id"] = new_ids[oid]
                order_new.append(row)
            else:
                order_old.append(row)
        _insert(conn, schema.orders, order_new)
        _upsert(conn, schema.orders, ["seller_id", "amazon_order_id"], order_old,
                keep=("first_seen_at",))
        row_id = {oid: int(ex.id) for oid, ex in existing.items()}
        row_id.update(new_ids)
        missing = [p.amazon_order_id for p in changed if p.amazon_order_id not in row_id]
        if missing:  # PostgreSQL: the ids of the orders just inserted
            row_id.update({r.amazon_order_id: int(r.id) for r in conn.execute(
                select(o.id, o.amazon_order_id).where(o.seller_id == seller_id,
                                                      o.amazon_order_id.in_(missing)))})

        # rows of new orders go in with plain INSERTs (on SQLite), the others are upserted
        items_new: builtins.list[dict[str, Any]] = []
        items_old: builtins.list[dict[str, Any]] = []
        buyers_new: builtins.list[dict[str, Any]] = []
        buyers_old: builtins.list[dict[str, Any]] = []
        addrs_new: builtins.list[dict[str, Any]] = []
        addrs_old: builtins.list[dict[str, Any]] = []
        for p in changed:
            oid = p.amazon_order_id
            order_pk = row_id[oid]
            fresh_order = oid in new_ids
            seal = sealed.get(oid)
            item_rows = items_new if fresh_order else items_old
            for iid, fields_, public, iplain in p.items:
                row = {"order_id": order_pk, "order_item_id": iid, **fields_,
                       "public": public, "updated_at": now}
                if seal is not None:
                    for col in iplain:
                        row[col] = next(seal)
                item_rows.append(row)
            if seal is None:
                continue
            buyer = p.plain.get("buyer")
            if buyer:
                brow: dict[str, Any] = {"order_id": order_pk, "updated_at": now}
                for col in buyer:
                    brow[col] = next(seal)
                if "email_ct" in buyer:
                    brow["email_bidx"] = cipher.blind_index("email", buyer["email_ct"])
                (buyers_new if fresh_order else buyers_old).append(brow)
            addr = p.plain.get("address:shipping")
            clear = p.clear.get("address:shipping", {})
            if addr or clear:
                arow: dict[str, Any] = {"order_id": order_pk, "kind": "shipping",
                                        "updated_at": now}
                cc = clear.get("country_code")
                if cc is not None:
                    arow["country_code"] = str(cc)[:2]
                at = clear.get("address_type")
                if at is not None:
                    arow["address_type"] = str(at)[:20]
                for col in addr or ():
                    arow[col] = next(seal)
                (addrs_new if fresh_order else addrs_old).append(arow)
        _insert(conn, schema.order_items, items_new)
        _insert(conn, schema.order_buyers, buyers_new)
        _insert(conn, schema.order_addresses, addrs_new)
        _upsert(conn, schema.order_items, ["order_id", "order_item_id"], items_old)
        _upsert(conn, schema.order_buyers, ["order_id"], buyers_old)
        _upsert(conn, schema.order_addresses, ["order_id", "kind"], addrs_old)
        inserted = sum(1 for p in changed if p.amazon_order_id not in existing)
        return UpsertStats(inserted, len(changed) - inserted, unchanged)

    # -- reads without PII ------------------------------------------------------------------------

    def _find(self, conn: Connection, amazon_order_id: str, seller_id: int | None) -> Any:
        o = schema.orders.c
        q = select(schema.orders).where(o.amazon_order_id == amazon_order_id)
        if seller_id is not None:
            q = q.where(o.seller_id == seller_id)
        rows = conn.execute(q.limit(2)).all()
        if not rows:
            raise VaultError(f"order {amazon_order_id} is not in the vault (sync it first: "
                             f"sellerkit sync orders)")
        if len(rows) > 1:
            raise VaultError(f"order {amazon_order_id} is stored for several sellers: pass "
                             f"seller_id")
        return rows[0]

    @staticmethod
    def _order_dict(r: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"amazon_order_id": r.amazon_order_id, "seller_id": r.seller_id,
                               "api_version": r.api_version}
        for f in _ORDER_FIELDS:
            out[f] = getattr(r, f)
        out.update(public=r.public, has_pii=r.key_id is not None and r.pii_erased_at is None,
                   pii_erased_at=r.pii_erased_at, legal_hold_id=r.legal_hold_id,
                   first_seen_at=r.first_seen_at, updated_at=r.updated_at)
        return out

    def get(self, actor: Principal, amazon_order_id: str, *,
            seller_id: int | None = None) -> dict[str, Any]:
        """An order with its items: the clear fields only, never PII (READ_DATA)."""
        require(actor, Permission.READ_DATA, what="read orders")
        i = schema.order_items.c
        with self.vault.read() as conn:
            r = self._find(conn, amazon_order_id, seller_id)
            items = conn.execute(select(i.order_item_id, i.asin, i.seller_sku, i.title,
                                        i.quantity_ordered, i.quantity_shipped, i.price_amount,
                                        i.price_currency, i.public, i.updated_at)
                                 .where(i.order_id == r.id).order_by(i.id)).all()
        out = self._order_dict(r)
        out["items"] = [dict(row._mapping) for row in items]
        return out

    def list(self, actor: Principal, *, seller_id: int | None = None,
             since: datetime | None = None, status: str | None = None,
             limit: int | None = 100) -> builtins.list[dict[str, Any]]:
        """Orders, newest purchase first; ``since`` bounds the last update (READ_DATA)."""
        require(actor, Permission.READ_DATA, what="read orders")
        o = schema.orders.c
        q = select(schema.orders)
        if seller_id is not None:
            q = q.where(o.seller_id == seller_id)
        if since is not None:
            q = q.where(o.last_update_date >= since)
        if status is not None:
            q = q.where(o.status == status)
        q = q.order_by(o.purchase_date.desc(), o.id.desc())
        if limit is not None:
            q = q.limit(max(0, int(limit)))
        with self.vault.read() as conn:
            return [self._order_dict(r) for r in conn.execute(q)]

    def count(self, actor: Principal, *, seller_id: int | None = None) -> int:
        require(actor, Permission.READ_DATA, what="count orders")
        q = select(func.count()).select_from(schema.orders)
        if seller_id is not None:
            q = q.where(schema.orders.c.seller_id == seller_id)
        with self.vault.read() as conn:
            return int(conn.execute(q).scalar_one())

    # -- PII ---------------------------------------------------------------------------------------

    def _require_pii(self, actor: Principal, purpose: str | None, target: str,
                     what: str) -> str:
        try:
            require(actor, Permission.READ_PII, purpose=purpose, what=what)
        except AccessDeniedError:
            self.vault.audit.record("pii.read", actor=actor.user_id, target=target,
                                    purpose=(purpose or "").strip()[:200] or None,
                                    outcome="denied")
            raise
        return (purpose or "").strip()[:200]

    def read_pii(self, actor: Principal, amazon_order_id: str, *, purpose: str,
                 seller_id: int | None = None) -> dict[str, Any]:
        """The order's buyer, addresses and gift messages, decrypted (READ_PII and a purpose;
        audited ``pii.read``, a denied read too)."""
        why = self._require_pii(actor, purpose, f"order:{amazon_order_id}",
                                "read buyers' personal data")
        with self.vault.write() as conn:
            r = self._find(conn, amazon_order_id, seller_id)
            out = self._decrypt_many(conn, [r])[r.id]
            self.vault.audit.record("pii.read", actor=actor.user_id, conn=conn,
                                    target=f"order:{amazon_order_id}", purpose=why,
                                    details={"orders": 1})
        return out

    def read_pii_many(self, actor: Principal, amazon_order_ids: Iterable[str], *, purpose: str,
                      seller_id: int | None = None) -> dict[str, dict[str, Any]]:
        """:meth:`read_pii` for many orders at once (one audit entry naming the count and the
        first ids); orders not in the vault are left out."""
        ids = sorted(set(amazon_order_ids))
        why = self._require_pii(actor, purpose, f"orders:{len(ids)}",
                                "read buyers' personal data")
        o = schema.orders.c
        out: dict[str, dict[str, Any]] = {}
        with self.vault.write() as conn:
            for part in _chunks(ids):
                q = select(o.id, o.seller_id, o.amazon_order_id, o.key_id, o.pii_erased_at,
                           o.extra_pii_ct).where(o.amazon_order_id.in_(part))
                if seller_id is not None:
                    q = q.where(o.seller_id == seller_id)
                rows = conn.execute(q).all()
                dec = self._decrypt_many(conn, rows)
                out.update({r.amazon_order_id: dec[r.id] for r in rows})
            self.vault.audit.record("pii.read", actor=actor.user_id, conn=conn,
                                    target=f"orders:{len(out)}", purpose=why,
                                    details={"orders": len(out), "first": sorted(out)[:5]})
        return out

    def _decrypt_many(self, conn: Connection, rows: Sequence[Any]) -> dict[int, dict[str, Any]]:
        cipher = self.vault.cipher
        cipher.preload(conn, [r.key_id for r in rows if r.pii_erased_at is None])
        by_id = {r.id: r for r in rows}
        b, a, i = schema.order_buyers.c, schema.order_addresses.c, schema.order_items.c
        out: dict[int, dict[str, Any]] = {}
        for r in rows:
            out[r.id] = {"amazon_order_id": r.amazon_order_id, "buyer": None, "addresses": {},
                         "items": {}, "extra": None, "erased": r.pii_erased_at is not None}

        def dec(r: Any, table: str, column: str, ref: str, blob: Any) -> Any:
            if blob is None or r.pii_erased_at is not None or r.key_id is None:
                return None
            text = cipher.decrypt(int(r.key_id), table, column, ref, blob, conn=conn)
            return json.loads(text) if column in JSON_COLUMNS and text is not None else text

        keys = list(by_id)
        for part in _chunks(keys):
            for br in conn.execute(select(schema.order_buyers).where(b.order_id.in_(part))):
                r = by_id[br.order_id]
                ref = f"{r.seller_id}:{r.amazon_order_id}:buyer"
                out[r.id]["buyer"] = {
                    "name": dec(r, _BUYERS, "name_ct", ref, br.name_ct),
                    "email": dec(r, _BUYERS, "email_ct", ref, br.email_ct),
                    "phone": dec(r, _BUYERS, "phone_ct", ref, br.phone_ct),
                    "company": dec(r, _BUYERS, "company_ct", ref, br.company_ct),
                    "tax_info": dec(r, _BUYERS, "tax_info_ct", ref, br.tax_info_ct),
                    "extra": dec(r, _BUYERS, "extra_pii_ct", ref, br.extra_pii_ct)}
            for ar in conn.execute(select(schema.order_addresses).where(a.order_id.in_(part))):
                r = by_id[ar.order_id]
                ref = f"{r.seller_id}:{r.amazon_order_id}:address:{ar.kind}"
                lines = dec(r, _ADDRESSES, "lines_ct", ref, ar.lines_ct) or {}
                out[r.id]["addresses"][ar.kind] = {
                    "name": dec(r, _ADDRESSES, "name_ct", ref, ar.name_ct),
                    "lines": [lines[k] for k in sorted(lines) if lines[k]],
                    "city": dec(r, _ADDRESSES, "city_ct", ref, ar.city_ct),
                    "region": dec(r, _ADDRESSES, "region_ct", ref, ar.region_ct),
                    "postal_code": dec(r, _ADDRESSES, "postal_code_ct", ref, ar.postal_code_ct),
                    "phone": dec(r, _ADDRESSES, "phone_ct", ref, ar.phone_ct),
                    "country_code": ar.country_code, "address_type": ar.address_type,
                    "extra": dec(r, _ADDRESSES, "extra_pii_ct", ref, ar.extra_pii_ct)}
            for ir in conn.execute(select(i.order_id, i.order_item_id, i.gift_message_ct,
                                          i.extra_pii_ct).where(
                    i.order_id.in_(part),
                    (i.gift_message_ct.is_not(None)) | (i.extra_pii_ct.is_not(None)))):
                r = by_id[ir.order_id]
                ref = f"{r.seller_id}:{r.amazon_order_id}:{ir.order_item_id}"
                out[r.id]["items"][ir.order_item_id] = {
                    "gift_message": dec(r, _ITEMS, "gift_message_ct", ref, ir.gift_message_ct),
                    "extra": dec(r, _ITEMS, "extra_pii_ct", ref, ir.extra_pii_ct)}
        for r in rows:
            out[r.id]["extra"] = dec(r, _ORDERS, "extra_pii_ct",
                                     f"{r.seller_id}:{r.amazon_order_id}", r.extra_pii_ct)
        return out

    def find_by_buyer_email(self, actor: Principal, email: str, *,
                            purpose: str) -> builtins.list[str]:
        """The ids of the orders whose buyer has this e-mail address (exact match, through the
        keyed blind index; READ_PII and a purpose; audited)."""
        why = self._require_pii(actor, purpose, "orders:by-email",
                                "look orders up by a buyer's e-mail")
        idx = self.vault.cipher.blind_index("email", email)
        o, b = schema.orders.c, schema.order_buyers.c
        with self.vault.write() as conn:
            found = [str(x) for x in conn.execute(
                select(o.amazon_order_id).join_from(schema.orders, schema.order_buyers,
                                                    b.order_id == o.id)
                .where(b.email_bidx == idx).order_by(o.purchase_date, o.id)).scalars()]
            self.vault.audit.record("pii.read", actor=actor.user_id, conn=conn,
                                    target="orders:by-email", purpose=why,
                                    details={"lookup": "email", "matches": len(found)})
        return found


def _upsert(conn: Connection, table: Any, conflict: builtins.list[str],
            rows: Sequence[dict[str, Any]], *, keep: tuple[str, ...] = ()) -> None:
    """INSERT ... ON CONFLICT DO UPDATE of ``rows`` (grouped by their columns, one executemany
    per group); columns a row does not carry are left as they are in the database.

    On SQLite the statement is compiled by SQLAlchemy and its parameters converted with the
    columns' own bind processors, then run with the driver's ``executemany`` on the
    transaction's connection: the same SQL, without SQLAlchemy's per-row bookkeeping."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for cols, group in groups.items():
        stmt = dialect_insert(table)
        update = {c: stmt.excluded[c] for c in cols if c not in conflict and c not in keep}
        if sqlite:
            stmt = stmt.values({c: bindparam(c, type_=table.c[c].type) for c in cols})
        stmt = stmt.on_conflict_do_update(index_elements=conflict, set_=update)
        if not sqlite:
            conn.execute(stmt, [{k: (v.obj if isinstance(v, _Json) else v) for k, v in r.items()}
                                for r in group])
            continue
        compiled = stmt.compile(dialect=conn.dialect)
        names: builtins.list[str] = list(compiled.positiontup or ())
        procs = [(i, p) for i, n in enumerate(names)
                 if (p := _sqlite_processor(table.c[n].type, conn.dialect)) is not None]
        params = []
        for r in group:
            values = [r[n] for n in names]
            for i, proc in procs:
                v = values[i]
                if v is not None:
                    values[i] = proc(v)
            params.append(values)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(compiled.string, params)
        finally:
            cursor.close()


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """A plain INSERT of ``rows`` of new orders (SQLite only: one ``executemany`` on the driver,
    every column the rows carry, NULL where a row has none, which is what an INSERT leaves)."""
    if not rows:
        return
    from sqlalchemy import insert

    present = set().union(*rows)
    compiled = insert(table).compile(dialect=conn.dialect,
                                     column_keys=[c.name for c in table.columns
                                                  if c.name in present])
    names: builtins.list[str] = list(compiled.positiontup or ())
    procs = [(i, p) for i, n in enumerate(names)
             if (p := _sqlite_processor(table.c[n].type, conn.dialect)) is not None]
    params = []
    for r in rows:
        values = list(map(r.get, names))
        for i, proc in procs:
            v = values[i]
            if v is not None:
                values[i] = proc(v)
        params.append(values)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(compiled.string, params)
    finally:
        cursor.close()


def _sqlite_processor(type_: Any, dialect: Any) -> Any:
    from sqlalchemy import JSON, LargeBinary

    if isinstance(type_, LargeBinary):
        return None  # sqlite3 takes bytes as they are

    if isinstance(type_, schema.UTCDateTime):
        # what UTCDateTime + SQLite's DATETIME make of an aware time, memoised (a batch
        # repeats the same few times: now, shared dates)
        memo: dict[datetime, str] = {}
        full = type_._cached_bind_processor(dialect)
        assert full is not None

        def to_text(v: Any) -> Any:
            got = memo.get(v)
            if got is None:
                if v.tzinfo is UTC:  # the common case, formatted in C: the text full(v) makes
                    got = v.isoformat(" ", "microseconds")[:-6]  # without "+00:00"
                else:
                    got = full(v)
                memo[v] = got
            return got
        return to_text
    if isinstance(type_, JSON):
        serialize = type_._cached_bind_processor(dialect)

        def to_json(v: Any) -> Any:
            return v.text if isinstance(v, _Json) else serialize(v) if serialize else v
        return to_json
    return type_._cached_bind_processor(dialect)
