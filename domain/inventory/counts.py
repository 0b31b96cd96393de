"""Stock-takes: the lots of one location are counted, the counts compared with the stock
(the variance report), and on completion each difference becomes a count correction of the
item's stock, saved with the stock-take in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.inventory.quantities import location_of, lot_of, quantity, text_of
from domain.shared import InvalidValue, Meta, TransitionRefused

MOST_COUNTS = 2000


def counted_amount(value: Decimal | str) -> Decimal:
    """What was found on the shelf: zero or more."""
    amount = Decimal(value)
    return Decimal(0) if amount == 0 else quantity(amount, "counted")


class StockTake(Aggregate):
    """One count of one location."""

    @classmethod
    def start(cls, *, location: str, meta: Meta) -> StockTake:
        return cls(location=location_of(location), meta=meta)

    @event("StockTakeStarted")
    def __init__(self, location: str, meta: Meta) -> None:
        self.location = location
        self.counts: dict[tuple[str, str], Decimal] = {}
        self.completed = False

    def count(self, *, item_id: UUID, lot: str, counted: Decimal | str, meta: Meta) -> None:
        """A lot counted (again: the last count is the one that stands)."""
        if self.completed:
            raise TransitionRefused("this stock-take is completed: start another")
        if len(self.counts) >= MOST_COUNTS and (str(item_id), lot) not in self.counts:
            raise InvalidValue(f"a stock-take counts at most {MOST_COUNTS} lots", field="lot")
        self._counted(
            item_id=item_id, lot=lot_of(lot), counted=text_of(counted_amount(counted)), meta=meta
        )

    @event("LotCounted")
    def _counted(self, item_id: UUID, lot: str, counted: str, meta: Meta) -> None:
        self.counts[(str(item_id), lot)] = Decimal(counted)

    def complete(self, *, variances: list[dict[str, Any]], meta: Meta) -> None:
        """Closes the count with its variances (expected, counted, change per lot)."""
        if self.completed:
            raise TransitionRefused("this stock-take is completed already")
        if not self.counts:
            raise TransitionRefused("nothing was counted: count at least one lot")
        self._completed(variances=variances, meta=meta)

    @event("StockTakeCompleted")
    def _completed(self, variances: list[dict[str, Any]], meta: Meta) -> None:
        self.completed = True


def variances(take: StockTake, expected: dict[tuple[str, str], Decimal]) -> list[dict[str, str]]:
    """Per counted lot: what the stock said, what was found, and the change to make."""
    return [
        {
            "item_id": item,
            "lot": lot,
            "expected": text_of(expected.get((item, lot), Decimal(0))),
            "counted": text_of(counted),
            "change": text_of(counted - expected.get((item, lot), Decimal(0))),
        }
        for (item, lot), counted in sorted(take.counts.items())
    ]
