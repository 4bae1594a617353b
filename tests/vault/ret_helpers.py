"""Shared set-up of the retention, inventory, incident and evidence tests: a vault with an
injectable clock, and orders with known PII inserted straight into the tables (the columns are
the contract), encrypted with the vault's own field cipher."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from sellerkit.vault import Vault
from sellerkit.vault import schema as s

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# Plaintexts that must never be found anywhere once erased (nor in any report, pack or draft).
BUYER_NAME = "Quentin Zebulon-Marsh"
BUYER_EMAIL = "qzm.buyer7731@marketplace.amazon.example"
BUYER_PHONE = "+1 206-555-0147"
ADDRESS_LINE = "4417 Larkspur Hollow Road"
CITY = "Wenatchee Flats"
POSTAL = "98801-4417"
GIFT = "Happy birthday Quentin from Aunt Philippa"
PII_VALUES = (BUYER_NAME, BUYER_EMAIL, BUYER_PHONE, ADDRESS_LINE, CITY, POSTAL, GIFT)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def open_vault(url: str, tmp_path: Path, clock: Clock) -> Vault:
    return Vault.open(url, key=f"file:{tmp_path / 'vault.key'}", clock=clock)


@dataclass
class SeededOrder:
    row_id: int
    amazon_order_id: str
    key_id: int | None
    ciphertexts: list[bytes] = field(default_factory=list)


def ensure_seller(v: Vault, conn: Any, partner: str = "A1SELLERTEST") -> int:
    sid = conn.execute(select(s.sellers.c.id).where(
        s.sellers.c.selling_partner_id == partner)).scalar()
    if sid is None:
        sid = conn.execute(insert(s.sellers).values(
            selling_partner_id=partner, region="na", kind="seller",
            created_at=v.now()).returning(s.sellers.c.id)).scalar_one()
    return int(sid)


def seed_order(v: Vault, amazon_order_id: str, *, purchase: datetime | None = None,
               ship: datetime | None = None, delivery: datetime | None = None,
               delivered: datetime | None = None, last_update: datetime | None = None,
               pii: bool = True, partner: str = "A1SELLERTEST") -> SeededOrder:
    """An order with one item, a buyer and a shipping address, PII encrypted under its own
    data key, as the order store keeps them."""
    c = v.cipher
    with v.write() as conn:
        seller_id = ensure_seller(v, conn, partner)
        key_id = c.new_data_key(conn, "order") if pii else None
        now = v.now()
        oid = conn.execute(insert(s.orders).values(
            seller_id=seller_id, amazon_order_id=amazon_order_id, api_version="v0",
            marketplace_id="ATVPDKIKX0DER", status="Shipped", purchase_date=purchase,
            last_update_date=last_update or purchase, latest_ship_date=ship,
            latest_delivery_date=delivery, delivered_at=delivered, total_amount="19.99",
            total_currency="USD", items_count=1, public={"SalesChannel": "Amazon.com"},
            key_id=key_id, first_seen_at=now, updated_at=now).returning(s.orders.c.id)).scalar_one()
        seeded = SeededOrder(int(oid), amazon_order_id, key_id)

        def enc(table: str, column: str, value: str) -> bytes | None:
            if key_id is None:
                return None
            blob = c.encrypt(key_id, table, column, f"{table}:{oid}", value, conn=conn)
            assert blob is not None
            seeded.ciphertexts.append(blob)
            return blob

        conn.execute(insert(s.order_items).values(
            order_id=oid, order_item_id=f"{amazon_order_id}-1", asin="B000TEST01",
            seller_sku="SKU-1", title="Blue mug", quantity_ordered=1, quantity_shipped=1,
            price_amount="19.99", price_currency="USD",
            gift_message_ct=enc("order_items", "gift_message_ct", GIFT), updated_at=now))
        if pii:
            conn.execute(insert(s.order_buyers).values(
                order_id=oid, name_ct=enc("order_buyers", "name_ct", BUYER_NAME),
                email_ct=enc("order_buyers", "email_ct", BUYER_EMAIL),
                phone_ct=enc("order_buyers", "phone_ct", BUYER_PHONE),
                email_bidx=c.blind_index("email", BUYER_EMAIL), updated_at=now))
            conn.execute(insert(s.order_addresses).values(
                order_id=oid, kind="shipping", country_code="US", address_type="Residential",
                name_ct=enc("order_addresses", "name_ct", BUYER_NAME),
                lines_ct=enc("order_addresses", "lines_ct", ADDRESS_LINE),
                city_ct=enc("order_addresses", "city_ct", CITY),
                postal_code_ct=enc("order_addresses", "postal_code_ct", POSTAL),
                phone_ct=enc("order_addresses", "phone_ct", BUYER_PHONE), updated_at=now))
    return seeded


def order_row(v: Vault, row_id: int) -> Any:
    with v.read() as conn:
        return conn.execute(select(s.orders).where(s.orders.c.id == row_id)).first()


def ciphertexts_left(v: Vault, row_id: int) -> int:
    """How many ciphertext values of the order are still stored."""
    n = 0
    with v.read() as conn:
        for table, col in ((s.orders, s.orders.c.id), (s.order_items, s.order_items.c.order_id),
                           (s.order_buyers, s.order_buyers.c.order_id),
                           (s.order_addresses, s.order_addresses.c.order_id)):
            cts = [c for c in table.columns if c.name.endswith("_ct") or c.name == "email_bidx"]
            for row in conn.execute(select(*cts).where(col == row_id)):
                n += sum(1 for x in row if x is not None)
    return n


def store_orders(v: Vault, amazon_order_ids: list[str], *, purchase: datetime | None = None,
                 delivery: datetime | None = None, partner: str = "A1SELLERTEST") -> None:
    """v0 orders with buyer info, a shipping address and a gift message, stored through the
    order store exactly as a sync stores them."""
    purchase = purchase or v.now() - timedelta(days=5)

    def iso(d: datetime) -> str:
        return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    orders, items, buyers, addresses = [], {}, {}, {}
    for oid in amazon_order_ids:
        order: dict[str, Any] = {
            "AmazonOrderId": oid, "PurchaseDate": iso(purchase), "LastUpdateDate": iso(purchase),
            "OrderStatus": "Shipped", "FulfillmentChannel": "MFN", "MarketplaceId": "ATVPDKIKX0DER",
            "OrderTotal": {"CurrencyCode": "USD", "Amount": "19.99"},
            "LatestShipDate": iso(purchase + timedelta(days=1)),
            "NumberOfItemsShipped": 1, "NumberOfItemsUnshipped": 0}
        if delivery is not None:
            order["LatestDeliveryDate"] = iso(delivery)
        orders.append(order)
        items[oid] = [{"ASIN": "B000TEST01", "OrderItemId": f"{oid[-5:]}1", "SellerSKU": "SKU-1",
                       "Title": "Blue mug", "QuantityOrdered": 1, "QuantityShipped": 1,
                       "ItemPrice": {"CurrencyCode": "USD", "Amount": "19.99"},
                       "BuyerInfo": {"GiftMessageText": GIFT}}]
        buyers[oid] = {"AmazonOrderId": oid, "BuyerEmail": BUYER_EMAIL, "BuyerName": BUYER_NAME}
        addresses[oid] = {"AmazonOrderId": oid, "ShippingAddress": {
            "Name": BUYER_NAME, "AddressLine1": ADDRESS_LINE, "City": CITY,
            "StateOrRegion": "WA", "PostalCode": POSTAL, "CountryCode": "US",
            "Phone": BUYER_PHONE}}
    with v.write() as conn:
        seller_id = ensure_seller(v, conn, partner)
        v.orders.upsert_orders(conn, seller_id, "v0", orders, items=items, buyers=buyers,
                               addresses=addresses)
