"""The `inventory` context's command side: requests (`requests`), what a treatment used
(`uses`) and the Application that handles both (`application`)."""

from commands.inventory.application import SAVE_ATTEMPTS, Inventory, Received
from commands.inventory.requests import (
    AddSupplier,
    AdjustStock,
    CancelOrder,
    CountLot,
    DefineItem,
    DraftOrder,
    OrderedLine,
    OrderLine,
    ReceiptLine,
    ReceiveOrder,
    ReceiveStock,
    ReviseItem,
    StartStockTake,
    TransferStock,
)
from commands.inventory.uses import TreatmentUse, Use, uses_of

__all__ = [
    "SAVE_ATTEMPTS",
    "AddSupplier",
    "AdjustStock",
    "CancelOrder",
    "CountLot",
    "DefineItem",
    "DraftOrder",
    "Inventory",
    "OrderLine",
    "OrderedLine",
    "ReceiptLine",
    "ReceiveOrder",
    "ReceiveStock",
    "Received",
    "ReviseItem",
    "StartStockTake",
    "TransferStock",
    "TreatmentUse",
    "Use",
    "uses_of",
]
