"""The `inventory` context's domain: units and exact quantities (`quantities`), items and
suppliers (`catalogue`), stock per lot and location and what each treatment consumed
(`stock`), purchase orders (`orders`) and stock-takes (`counts`). Scanned GS1 barcodes are
read by the shared `domain.gs1`, which the treatments context reads implants' UDIs with too."""

from domain.gs1 import GROUP_SEPARATOR, Scan, read_scan, valid_gtin
from domain.inventory.catalogue import (
    CATEGORIES,
    Category,
    Item,
    ItemClaim,
    Supplier,
    gtin_claim_id,
    material_claim_id,
    material_key,
)
from domain.inventory.counts import StockTake, variances
from domain.inventory.orders import OrderStatus, PurchaseOrder
from domain.inventory.quantities import (
    STORE_ROOM,
    Reason,
    Unit,
    expired,
    quantity,
    text_of,
    unit_of,
)
from domain.inventory.stock import Consumption, Line, Stock, consumption_id, stock_id

__all__ = [
    "CATEGORIES",
    "GROUP_SEPARATOR",
    "STORE_ROOM",
    "Category",
    "Consumption",
    "Item",
    "ItemClaim",
    "Line",
    "OrderStatus",
    "PurchaseOrder",
    "Reason",
    "Scan",
    "Stock",
    "StockTake",
    "Supplier",
    "Unit",
    "consumption_id",
    "expired",
    "gtin_claim_id",
    "material_claim_id",
    "material_key",
    "quantity",
    "read_scan",
    "stock_id",
    "text_of",
    "unit_of",
    "valid_gtin",
    "variances",
]
