"""Facts the SP-API models do not hold, merged into the catalog by gen_catalog.py.

Sources are named in ../shared/sp-api-facts.md (sections 1, 7, 9 and 12). Keys are
``<api>_<version>.<operationId>`` as the generator names them; the generator fails when an entry
names an operation that is not in the models, so a model change cannot silently orphan one.
"""

from __future__ import annotations

# Model file stems whose derived API name reads badly.
API_NAME_OVERRIDES: dict[str, str] = {
    "InvoicesApiModel": "invoices",
    "definitionsProductTypes": "product_type_definitions",
    "application": "application_management",
}

NOTIFICATIONS = "sellingpartnerapi::notifications"
ROTATION = "sellingpartnerapi::client_credential:rotation"

# Grantless operations and the LWA scope of their client_credentials token.
GRANTLESS: dict[str, str] = {
    "notifications_v1.createDestination": NOTIFICATIONS,
    "notifications_v1.deleteDestination": NOTIFICATIONS,
    "notifications_v1.getDestination": NOTIFICATIONS,
    "notifications_v1.getDestinations": NOTIFICATIONS,
    "notifications_v1.getSubscriptionById": NOTIFICATIONS,
    "notifications_v1.deleteSubscriptionById": NOTIFICATIONS,
    "notifications_v1.sendTestNotification": NOTIFICATIONS,
    "application_management_2023_11_30.rotateApplicationClientSecret": ROTATION,
}

_ORDER_ELEMENTS = ("buyerInfo", "shippingAddress", "buyerTaxInformation")

# Operations that need a Restricted Data Token (facts section 7), with the data elements that
# select their PII. Amazon's rule: ``dataElements`` apply only to Orders v0 getOrders, getOrder
# and getOrderItems (at item level only ``buyerInfo`` means anything: gift wrap and customization).
# For every other restricted operation the tuple is empty: the RDT for the operation's path,
# specific or generic (``{orderId}``), unlocks its data, and no data elements are sent.
# The client asks for these elements by default; ``CallOptions(rdt_data_elements=...)`` narrows.
# The order-level elements come first and in the model's order.
RESTRICTED: dict[str, tuple[str, ...]] = {
    "orders_v0.getOrders": _ORDER_ELEMENTS,
    "orders_v0.getOrder": _ORDER_ELEMENTS,
    "orders_v0.getOrderItems": ("buyerInfo",),
    "orders_v0.getOrderAddress": (),
    "orders_v0.getOrderBuyerInfo": (),
    "orders_v0.getOrderItemsBuyerInfo": (),
    "orders_v0.getOrderRegulatedInfo": (),
    "merchant_fulfillment_v0.getShipment": (),
    "merchant_fulfillment_v0.cancelShipment": (),
    "merchant_fulfillment_v0.createShipment": (),
    "easy_ship_2022_03_23.createScheduledPackageBulk": (),
    "shipment_invoicing_v0.getShipmentDetails": (),
    "reports_2021_06_30.getReportDocument": (),
    "vendor_direct_fulfillment_orders_v1.getOrders": (),
    "vendor_direct_fulfillment_orders_v1.getOrder": (),
    "vendor_direct_fulfillment_orders_2021_12_28.getOrders": (),
    "vendor_direct_fulfillment_orders_2021_12_28.getOrder": (),
    "vendor_direct_fulfillment_shipping_v1.getShippingLabel": (),
    "vendor_direct_fulfillment_shipping_v1.getShippingLabels": (),
    "vendor_direct_fulfillment_shipping_v1.getPackingSlip": (),
    "vendor_direct_fulfillment_shipping_v1.getPackingSlips": (),
    "vendor_direct_fulfillment_shipping_v1.getCustomerInvoice": (),
    "vendor_direct_fulfillment_shipping_v1.getCustomerInvoices": (),
    "vendor_direct_fulfillment_shipping_2021_12_28.getShippingLabel": (),
    "vendor_direct_fulfillment_shipping_2021_12_28.getCustomerInvoices": (),
    "vendor_direct_fulfillment_shipping_2021_12_28.getCustomerInvoice": (),
    "vendor_direct_fulfillment_shipping_2021_12_28.getPackingSlips": (),
    "vendor_direct_fulfillment_shipping_2021_12_28.getPackingSlip": (),
}

# Report types whose documents need an RDT (getReportDocument is restricted only for these).
RESTRICTED_REPORT_TYPES: tuple[str, ...] = (
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING",
    "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING",
    "GET_ORDER_REPORT_DATA_INVOICING",
    "GET_ORDER_REPORT_DATA_TAX",
    "GET_ORDER_REPORT_DATA_SHIPPING",
    "GET_EASYSHIP_DOCUMENTS",
    "GET_GST_MTR_B2B_CUSTOM",
    "GET_VAT_TRANSACTION_DATA",
    "SC_VAT_TAX_REPORT",
)
