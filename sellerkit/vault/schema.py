"""The vault's tables, as SQLAlchemy Core metadata: the one place the database layout is written.

Alembic migrations (``sellerkit/vault/migrations``) are generated from this metadata
(``python3 tools/gen_vault_migration.py``) and run on every open; no code creates tables directly.

Conventions:

* Amazon's non-PII facts are clear, typed columns so they stay queryable (order id, dates, status,
  totals, marketplace). What a response held beyond them, minus PII, is kept in a ``public`` JSON
  column so nothing is lost.
* Every PII value is a ``*_ct`` column: AES-256-GCM ciphertext under the data key of its record
  (``key_id`` -> ``data_keys``), with the table, column and row bound in as associated data. PII
  the columns do not name goes, encrypted, into ``extra_pii_ct``. Erasing a record's PII destroys
  its data key and clears its ciphertexts (``pii_erased_at`` says when).
* Times are timezone-aware UTC (:class:`UTCDateTime`), stored naive-UTC so SQLite and PostgreSQL
  compare them the same way.
* No PII in the audit, alert, purge, incident or inventory tables: ids, counts, kinds only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "metadata"]

# Names for constraints, so migrations on SQLite (batch mode) and PostgreSQL agree.
metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in Python; naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the vault stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _ts(name: str, *, nullable: bool = True, index: bool = False) -> Column[Any]:
    return Column(name, UTCDateTime(), nullable=nullable, index=index)


def _ct(name: str) -> Column[Any]:
    return Column(name, LargeBinary, nullable=True)


# -- vault-wide --------------------------------------------------------------------------------

# Settings and facts of this vault: its id, the blind-index key (wrapped), the retention policy
# in force, the audit retention, the incident contact. Values are JSON.
vault_meta = Table(
    "vault_meta", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
    _ts("updated_at", nullable=False),
)

# Key-encryption keys: one row per KEK this vault has used. ``provider`` is file | env | kms;
# ``ref`` says where the key is (a path, a variable name, a KMS key id: never key material);
# ``wrapped`` holds KEK material wrapped by the provider where the provider keeps the root
# (KMS), else NULL. ``fingerprint`` identifies the key without revealing it.
keks = Table(
    "keks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(20), nullable=False),
    Column("ref", String(500), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("wrapped", LargeBinary, nullable=True),
    Column("algorithm", String(40), nullable=False),
    _ts("created_at", nullable=False),
    _ts("retired_at"),
)

# Data keys: one per record (an order with its items, buyer and addresses; a connection; an
# export). ``wrapped`` is the data key under KEK ``kek_id``; destroying a record's PII sets
# ``wrapped`` to NULL and ``destroyed_at``.
data_keys = Table(
    "data_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kek_id", Integer, ForeignKey("keks.id"), nullable=False, index=True),
    Column("wrapped", LargeBinary, nullable=True),
    Column("purpose", String(30), nullable=False),  # order | connection | export | user
    _ts("created_at", nullable=False),
    _ts("destroyed_at"),
)

# -- sellers and their connections ---------------------------------------------------------------

sellers = Table(
    "sellers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("selling_partner_id", String(64), nullable=False),
    Column("region", String(8), nullable=False),  # na | eu | fe
    Column("kind", String(10), nullable=False, default="seller"),  # seller | vendor
    Column("label", String(200), nullable=True),  # the operator's name for it, not Amazon PII
    _ts("created_at", nullable=False),
    UniqueConstraint("selling_partner_id", "region", name="uq_sellers_partner_region"),
)

# An app's authorization by a seller: the refresh token (encrypted), when it was granted and
# when it is due for renewal (Amazon's authorizations last a year), and its health.
connections = Table(
    "connections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", Integer, ForeignKey("sellers.id"), nullable=False, index=True),
    Column("client_id", String(200), nullable=False),  # the app's LWA client id
    Column("key_id", Integer, ForeignKey("data_keys.id"), nullable=True),
    _ct("refresh_token_ct"),
    Column("marketplace_ids", JSON, nullable=True),
    Column("status", String(20), nullable=False, default="active"),  # active | revoked | error
    _ts("authorized_at", nullable=False),
    _ts("renewal_due_at"),
    _ts("last_success_at"),
    _ts("last_error_at"),
    Column("last_error", String(500), nullable=True),  # an error code and message, no PII
    Column("source", String(30), nullable=True),  # oauth | appstore | self-authorization | import
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("seller_id", "client_id", name="uq_connections_seller_client"),
)

# -- orders ------------------------------------------------------------------------------------

orders = Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", Integer, ForeignKey("sellers.id"), nullable=False),
    Column("amazon_order_id", String(40), nullable=False),
    Column("api_version", String(12), nullable=False),  # v0 | 2026-01-01
    Column("marketplace_id", String(20), nullable=True, index=True),
    Column("status", String(40), nullable=True, index=True),
    Column("fulfillment_channel", String(20), nullable=True),
    _ts("purchase_date", index=True),
    _ts("last_update_date", index=True),
    _ts("latest_ship_date"),
    _ts("latest_delivery_date"),
    _ts("delivered_at"),  # the actual delivery, when Amazon reports it
    Column("total_amount", String(40), nullable=True),  # decimal text, as Amazon sends it
    Column("total_currency", String(3), nullable=True),
    Column("items_count", Integer, nullable=True),
    Column("public", JSON, nullable=True),  # the rest of the response, PII removed
    Column("key_id", Integer, ForeignKey("data_keys.id"), nullable=True),
    _ct("extra_pii_ct"),
    _ts("pii_erased_at"),
    Column("legal_hold_id", Integer, ForeignKey("legal_holds.id"), nullable=True),
    # HMAC of everything last stored for the order under its own data key: an unchanged
    # re-sync is recognised without decrypting (and the MAC dies with the key on erasure).
    Column("content_mac", String(64), nullable=True),
    _ts("first_seen_at", nullable=False),
    _ts("updated_at", nullable=False),
    UniqueConstraint("seller_id", "amazon_order_id", name="uq_orders_seller_order"),
    # lookups by order id alone (vault show, read_pii): Amazon order ids are unique
    Index("ix_orders_amazon_order_id", "amazon_order_id"),
)

order_items = Table(
    "order_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("order_item_id", String(40), nullable=False),
    Column("asin", String(20), nullable=True),
    Column("seller_sku", String(200), nullable=True),
    Column("title", Text, nullable=True),
    Column("quantity_ordered", Integer, nullable=True),
    Column("quantity_shipped", Integer, nullable=True),
    Column("price_amount", String(40), nullable=True),
    Column("price_currency", String(3), nullable=True),
    Column("public", JSON, nullable=True),
    _ct("gift_message_ct"),
    _ct("extra_pii_ct"),
    _ts("updated_at", nullable=False),
    UniqueConstraint("order_id", "order_item_id", name="uq_order_items_order_item"),
)

# The buyer of an order (v0 getOrderBuyerInfo / BuyerInfo, 2026-01-01 ``buyer``), all encrypted.
# ``email_bidx`` is a keyed blind index (HMAC) of the normalised e-mail for exact-match lookup.
order_buyers = Table(
    "order_buyers", metadata,
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    _ct("name_ct"),
    _ct("email_ct"),
    _ct("phone_ct"),
    _ct("company_ct"),
    _ct("tax_info_ct"),
    _ct("extra_pii_ct"),
    Column("email_bidx", String(64), nullable=True, index=True),
    _ts("updated_at", nullable=False),
)

# Addresses of an order: shipping (v0 getOrderAddress, 2026-01-01 ``recipient``) and others.
# Country code and address type stay clear (not identifying; used for tax and routing).
order_addresses = Table(
    "order_addresses", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # shipping | billing | pickup
    Column("country_code", String(2), nullable=True),
    Column("address_type", String(20), nullable=True),  # Residential | Commercial
    _ct("name_ct"),
    _ct("lines_ct"),
    _ct("city_ct"),
    _ct("region_ct"),  # state or region, county, district, municipality
    _ct("postal_code_ct"),
    _ct("phone_ct"),
    _ct("extra_pii_ct"),
    _ts("updated_at", nullable=False),
    UniqueConstraint("order_id", "kind", name="uq_order_addresses_order_kind"),
)

# -- reports and feeds -------------------------------------------------------------------------

report_records = Table(
    "report_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", Integer, ForeignKey("sellers.id"), nullable=True),
    Column("report_id", String(40), nullable=False),
    Column("report_type", String(120), nullable=False),
    Column("marketplace_ids", JSON, nullable=True),
    Column("processing_status", String(20), nullable=True),
    Column("document_id", String(200), nullable=True),
    Column("contains_pii", Boolean, nullable=False, default=False),
    Column("local_path", String(1000), nullable=True),  # a file sellerkit wrote, see inventory
    _ts("data_start_time"),
    _ts("data_end_time"),
    _ts("created_at", nullable=False),
    UniqueConstraint("seller_id", "report_id", name="uq_report_records_seller_report"),
)

feed_records = Table(
    "feed_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", Integer, ForeignKey("sellers.id"), nullable=True),
    Column("feed_id", String(40), nullable=False),
    Column("feed_type", String(120), nullable=False),
    Column("marketplace_ids", JSON, nullable=True),
    Column("processing_status", String(20), nullable=True),
    Column("result_summary", JSON, nullable=True),
    _ts("created_at", nullable=False),
    UniqueConstraint("seller_id", "feed_id", name="uq_feed_records_seller_feed"),
)

# -- sync ----------------------------------------------------------------------------------------

# Where an incremental pull stands: ``stream`` is e.g. orders:2026-01-01, ``scope`` the
# marketplaces it covers. Committed in the same transaction as each page it describes.
sync_checkpoints = Table(
    "sync_checkpoints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("seller_id", Integer, ForeignKey("sellers.id"), nullable=False),
    Column("stream", String(60), nullable=False),
    Column("scope", String(200), nullable=False, default=""),
    _ts("high_water", nullable=True),  # the last-updated time everything before is stored
    Column("cursor", JSON, nullable=True),  # an in-flight window and page token, or NULL
    Column("stats", JSON, nullable=True),
    _ts("updated_at", nullable=False),
    UniqueConstraint("seller_id", "stream", "scope", name="uq_sync_checkpoints_stream"),
)

# -- users, audit, monitoring ---------------------------------------------------------------------

users = Table(
    "users", metadata,
    Column("id", String(64), primary_key=True),  # the unique user id, e.g. "alice"
    Column("role", String(20), nullable=False),  # admin | analyst | fulfillment | auditor
    Column("kind", String(20), nullable=False, default="person"),  # person | service
    Column("password_hash", String(200), nullable=True),
    Column("totp_secret_ct", LargeBinary, nullable=True),
    Column("key_id", Integer, ForeignKey("data_keys.id"), nullable=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    _ts("locked_at"),
    _ts("disabled_at"),
    _ts("password_changed_at"),
    _ts("last_login_at"),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
)

password_history = Table(
    "password_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False, index=True),
    Column("password_hash", String(200), nullable=False),
    _ts("created_at", nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(40), primary_key=True),  # the public key id (prefix of the key)
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False, index=True),
    Column("secret_hash", String(200), nullable=False),
    _ts("created_at", nullable=False),
    _ts("expires_at", nullable=False),
    _ts("revoked_at"),
    _ts("last_used_at"),
)

# Append-only and hash-chained: ``mac`` = HMAC(audit key, prev mac || canonical entry), with the
# audit key derived from the KEK, so a writer of the database alone cannot rebuild the chain.
audit_events = Table(
    "audit_events", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    _ts("at", nullable=False, index=True),
    Column("actor", String(64), nullable=True),  # a user id, or "system"
    Column("action", String(40), nullable=False, index=True),
    Column("target", String(200), nullable=True),  # a record reference, never PII
    Column("purpose", String(200), nullable=True),
    Column("outcome", String(20), nullable=False, default="ok"),  # ok | denied | failed
    Column("details", JSON, nullable=True),
    Column("prev_mac", String(64), nullable=False),
    Column("mac", String(64), nullable=False),
)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _ts("at", nullable=False, index=True),
    Column("rule", String(40), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("subject", String(200), nullable=True),
    Column("details", JSON, nullable=True),
    _ts("delivered_at"),
    Column("delivery_error", String(500), nullable=True),
)

# -- retention, incidents, inventory ----------------------------------------------------------------

legal_holds = Table(
    "legal_holds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(20), nullable=False),  # order | seller | all
    Column("target", String(200), nullable=True),
    Column("reason", Text, nullable=False),
    Column("retain_days", Integer, nullable=True),
    Column("created_by", String(64), nullable=False),
    _ts("created_at", nullable=False),
    _ts("released_at"),
)

purge_runs = Table(
    "purge_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    Column("policy_version", String(40), nullable=False),
    Column("trigger", String(20), nullable=False),  # cli | sync | schedule
    Column("actor", String(64), nullable=True),
    Column("counts", JSON, nullable=True),  # erased / deleted per kind, no PII
    Column("error", String(500), nullable=True),
)

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("severity", String(10), nullable=False),
    Column("status", String(20), nullable=False),  # open | notified | closed
    _ts("detected_at", nullable=False),
    _ts("opened_at", nullable=False),
    _ts("deadline_at", nullable=False),
    _ts("notified_at"),
    _ts("closed_at"),
    Column("opened_by", String(64), nullable=False),
    Column("closed_by", String(64), nullable=True),
    Column("resolution", Text, nullable=True),
)

inventory_items = Table(
    "inventory_items", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # database | key_file | export | report_file
    Column("location", String(1000), nullable=False),
    Column("encrypted", Boolean, nullable=False),
    Column("encryption", String(60), nullable=True),  # e.g. AES-256-GCM
    Column("contains_pii", Boolean, nullable=False, default=False),
    Column("description", String(500), nullable=True),
    Column("created_by", String(64), nullable=True),
    _ts("created_at", nullable=False),
    _ts("removed_at"),
    # the data key an export is encrypted under: destroying it shreds every copy of the file
    Column("key_id", Integer, ForeignKey("data_keys.id"), nullable=True),
    Index("ix_inventory_items_location", "location"),
)

# -- the web app (sellerkit serve) ------------------------------------------------------------------

# OAuth ``state`` values the callback has accepted, so a state works once even across processes.
# ``nonce`` is the state's random part (not a secret once used); rows are deleted after expiry.
web_states = Table(
    "web_states", metadata,
    Column("nonce", String(64), primary_key=True),
    _ts("used_at", nullable=False),
    _ts("expires_at", nullable=False, index=True),
)

# Admin log-in sessions: the cookie holds a random id, the table its SHA-256 (a database reader
# cannot take over a session). Idle and absolute expiry are checked on every request.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    _ts("created_at", nullable=False),
    _ts("last_seen_at", nullable=False),
    _ts("expires_at", nullable=False, index=True),
)
