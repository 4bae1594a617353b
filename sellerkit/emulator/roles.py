"""Which SP-API roles grant which APIs, for the emulator's ``missing_roles`` switch.

Amazon's rule (DOC ``role-mappings``): every operation lists the roles that may call it, and
*any one* of them grants access; an app without any of them gets 403 ``Unauthorized``
("Access to requested resource is denied."), the same answer as a revoked token, which is why
``sellerkit doctor`` has to infer the missing role from a probe call.

The table below is per API, not per operation, and covers the APIs ``doctor`` probes and their
neighbours. Where Amazon lists more roles for an API than written here the emulator refuses too
eagerly; that is UNCONFIRMED detail (the role-mappings page was read only in excerpts).
Reports and feeds depend on the report or feed type: their list operations are granted by any
general role. APIs not in the table (Sellers, Tokens, Notifications, Application Management...)
need no role in the emulator.
"""

from __future__ import annotations

__all__ = ["GENERAL_ROLES", "RESTRICTED_ROLES", "ROLE_GRANTS", "check_role_names",
           "roles_for_api"]

GENERAL_ROLES: tuple[str, ...] = (
    "Account Information Service Provider",
    "Amazon Fulfillment",
    "Amazon Warehousing and Distribution",
    "Brand Analytics",
    "Buyer Communication",
    "Finance and Accounting",
    "Inventory and Order Tracking",
    "Pricing",
    "Product Listing",
    "Selling Partner Insights",
)
RESTRICTED_ROLES: tuple[str, ...] = (
    "Direct-to-Consumer Shipping",
    "Tax Invoicing",
    "Tax Remittance",
    "Professional Services",
)

_ANY_GENERAL = frozenset(GENERAL_ROLES)

ROLE_GRANTS: dict[str, frozenset[str]] = {
    "orders_v0": frozenset({"Inventory and Order Tracking"}),
    "orders_2026_01_01": frozenset({"Inventory and Order Tracking"}),
    "fba_inventory_v1": frozenset({"Amazon Fulfillment"}),
    "fulfillment_outbound_2020_07_01": frozenset({"Amazon Fulfillment"}),
    "fulfillment_inbound_2024_03_20": frozenset({"Amazon Fulfillment"}),
    "finances_v0": frozenset({"Finance and Accounting"}),
    "finances_2024_06_19": frozenset({"Finance and Accounting"}),
    "catalog_items_v0": frozenset({"Product Listing"}),
    "catalog_items_2020_12_01": frozenset({"Product Listing"}),
    "catalog_items_2022_04_01": frozenset({"Product Listing"}),
    "listings_items_2020_09_01": frozenset({"Product Listing"}),
    "listings_items_2021_08_01": frozenset({"Product Listing"}),
    "product_pricing_v0": frozenset({"Pricing"}),
    "product_pricing_2022_05_01": frozenset({"Pricing"}),
    "sales_v1": frozenset({"Pricing"}),
    "messaging_v1": frozenset({"Buyer Communication"}),
    "reports_2021_06_30": _ANY_GENERAL,
    "feeds_2021_06_30": _ANY_GENERAL,
}

_ALIASES = {"direct-to-consumer delivery": "Direct-to-Consumer Shipping"}


def check_role_names(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The canonical names of ``names`` (case-insensitive); ValueError for an unknown one."""
    known = {r.lower(): r for r in (*GENERAL_ROLES, *RESTRICTED_ROLES)}
    out: list[str] = []
    for name in names:
        key = name.strip().lower().removesuffix(" (restricted)")
        role = known.get(key) or _ALIASES.get(key)
        if role is None:
            raise ValueError(f"unknown SP-API role {name!r}; roles: "
                             + ", ".join((*GENERAL_ROLES, *RESTRICTED_ROLES)))
        out.append(role)
    return tuple(out)


def roles_for_api(api_key: str) -> frozenset[str] | None:
    """The roles any one of which grants ``api_key``; None when the emulator checks none."""
    return ROLE_GRANTS.get(api_key)
