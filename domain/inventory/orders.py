"""Purchasing: an order goes from draft to sent, then partly received and received (or is
cancelled). A goods receipt may differ from the order: short, over, or a substitute item.
The stock the receipt brings in is the item's `Stock`, saved with the order in one
transaction; the order keeps what came, so its status follows from the receipts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.inventory.quantities import quantity, text_of
from domain.shared import InvalidValue, Meta, TransitionRefused, optional_text

MOST_LINES = 200


class OrderStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


def order_lines(lines: Sequence[tuple[UUID, Decimal | str]]) -> list[dict[str, str]]:
    """One line per item, each a positive amount."""
    if not lines:
        raise InvalidValue("an order has at least one line", field="lines")
    if len(lines) > MOST_LINES:
        raise InvalidValue(f"an order has at most {MOST_LINES} lines", field="lines")
    items = [item for item, _ in lines]
    if len(set(items)) != len(items):
        raise InvalidValue("each item is on one line of the order", field="lines")
    return [{"item_id": str(item), "quantity": text_of(quantity(amount))} for item, amount in lines]


class PurchaseOrder(Aggregate):
    """What the clinic asks one supplier for, and what of it has come."""

    @classmethod
    def draft(
        cls,
        *,
        supplier_id: UUID,
        lines: Sequence[tuple[UUID, Decimal | str]],
        note: str | None,
        suggested: bool,
        meta: Meta,
    ) -> PurchaseOrder:
        return cls(
            supplier_id=supplier_id,
            lines=order_lines(lines),
            note=optional_text(note, "note", max_length=500, multiline=True),
            suggested=suggested,
            meta=meta,
        )

    @event("OrderDrafted")
    def __init__(
        self,
        supplier_id: UUID,
        lines: list[dict[str, str]],
        note: str | None,
        suggested: bool,
        meta: Meta,
    ) -> None:
        self.supplier_id = supplier_id
        self.lines = lines
        self.status = OrderStatus.DRAFT
        self.received: dict[str, Decimal] = {}

    def ordered(self) -> dict[str, Decimal]:
        return {line["item_id"]: Decimal(line["quantity"]) for line in self.lines}

    def change_lines(self, lines: Sequence[tuple[UUID, Decimal | str]], meta: Meta) -> None:
        if self.status is not OrderStatus.DRAFT:
            raise TransitionRefused(f"this order is {self.status.value}: only a draft changes")
        self._lines_changed(lines=order_lines(lines), meta=meta)

    @event("OrderLinesChanged")
    def _lines_changed(self, lines: list[dict[str, str]], meta: Meta) -> None:
        self.lines = lines

    def send(self, meta: Meta) -> None:
        if self.status is not OrderStatus.DRAFT:
            raise TransitionRefused(f"this order is {self.status.value}: only a draft is sent")
        self._sent(meta=meta)

    @event("OrderSent")
    def _sent(self, meta: Meta) -> None:
        self.status = OrderStatus.SENT

    def receive(
        self, *, receipt_id: UUID, lines: list[dict[str, Any]], reference: str | None, meta: Meta
    ) -> None:
        """Goods in against this order. Each line names the item that came (a substitute is
        an item not on the order, received in place of `instead_of`), its lot and amount."""
        if self.status is OrderStatus.CANCELLED:
            raise TransitionRefused("this order was cancelled: receive the goods without it")
        if self.status is OrderStatus.DRAFT:
            raise TransitionRefused("this order was never sent: send it, or receive without it")
        if self.status is OrderStatus.RECEIVED:
            raise TransitionRefused("this order is received in full: receive without it")
        ordered = self.ordered()
        for line in lines:
            if line["item_id"] not in ordered and line.get("instead_of") not in ordered:
                raise InvalidValue(
                    "a line not on the order says which ordered item it replaces",
                    field="instead_of",
                )
        self._received(
            receipt_id=receipt_id,
            lines=lines,
            reference=optional_text(reference, "reference", max_length=120),
            meta=meta,
        )

    @event("GoodsReceived")
    def _received(
        self, receipt_id: UUID, lines: list[dict[str, Any]], reference: str | None, meta: Meta
    ) -> None:
        for line in lines:
            counted_for = (
                line["item_id"] if line["item_id"] in self.ordered() else line["instead_of"]
            )
            self.received[counted_for] = self.received.get(counted_for, Decimal(0)) + Decimal(
                line["quantity"]
            )
        complete = all(self.received.get(item, 0) >= n for item, n in self.ordered().items())
        self.status = OrderStatus.RECEIVED if complete else OrderStatus.PARTLY_RECEIVED

    def cancel(self, reason: str, meta: Meta) -> None:
        """Nothing more is expected from it; what came stays received."""
        if self.status in (OrderStatus.RECEIVED, OrderStatus.CANCELLED):
            raise TransitionRefused(f"this order is {self.status.value} already")
        text = optional_text(reason, "reason", max_length=500)
        if text is None:
            raise InvalidValue("say why the order is cancelled", field="reason")
        self._cancelled(reason=text, meta=meta)

    @event("OrderCancelled")
    def _cancelled(self, reason: str, meta: Meta) -> None:
        self.status = OrderStatus.CANCELLED
