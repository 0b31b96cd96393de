"""Stock of one item, per lot and location, and the materials one treatment consumed.

An item's stock is one aggregate (ADR 28): choosing a lot first-expiry-first-out and telling
a shortfall from a normal consumption are decisions on the current balances, so the balances
and the decision share a consistency boundary, as a diary does for bookings (ADR 6). A
treatment's consumption is an aggregate of its own, saved with the stocks it took from in
one transaction: redelivery of the treatment's event finds it done, and a void gives back
exactly what it took.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.inventory.quantities import (
    STORE_ROOM,
    Reason,
    expired,
    location_of,
    lot_of,
    quantity,
    text_of,
)
from domain.shared import InvalidValue, Meta, TransitionRefused, optional_text

ZERO = Decimal(0)
Line = dict[str, Any]  # {"item_id", "lot", "quantity"}, as events carry it; lot None: short


def stock_id(item_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:inventory:stock:{item_id}")


def consumption_id(treatment_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:inventory:consumption:{treatment_id}")


class Stock(Aggregate):
    """How much of one item is where, lot by lot; and the shortfalls nobody has counted yet."""

    @staticmethod
    def create_id(item_id: UUID, **_: Any) -> UUID:
        return stock_id(item_id)

    @event("StockOpened")
    def __init__(self, item_id: UUID, meta: Meta) -> None:
        self.item_id = item_id
        self.expiries: dict[str, date | None] = {}
        self.on_hand: dict[tuple[str, str], Decimal] = {}

    def available(self, lot: str, location: str) -> Decimal:
        return self.on_hand.get((lot, location), ZERO)

    # Receiving --------------------------------------------------------------------------

    def receive(
        self,
        *,
        lot: str,
        expiry: date | None,
        location: str = STORE_ROOM,
        amount: Decimal | str,
        received_on: date,
        reference: str | None,
        meta: Meta,
    ) -> None:
        """Goods in: a lot with its expiry, counted into a location."""
        lot, location = lot_of(lot), location_of(location)
        counted = quantity(amount)
        if expiry is None:  # more of a lot already here: its expiry is known
            expiry = self.expiries.get(lot)
        if expiry is not None and expiry < received_on:
            raise InvalidValue(
                f"the expiry date {expiry} is before the day it is received ({received_on}): "
                "an expired delivery goes back to the supplier",
                field="expiry",
            )
        if lot in self.expiries and self.expiries[lot] != expiry:
            raise InvalidValue(
                f"lot {lot} was received before with expiry {self.expiries[lot]}: "
                "check the package",
                field="expiry",
            )
        self._received(
            lot=lot,
            expiry=expiry,
            location=location,
            quantity=text_of(counted),
            reference=optional_text(reference, "reference", max_length=120),
            meta=meta,
        )

    @event("StockReceived")
    def _received(
        self,
        lot: str,
        expiry: date | None,
        location: str,
        quantity: str,
        reference: str | None,
        meta: Meta,
    ) -> None:
        self.expiries[lot] = expiry
        self._add(lot, location, Decimal(quantity))

    # Consuming -------------------------------------------------------------------------

    def choose(
        self, location: str, amount: Decimal, today: date, named_lot: str | None = None
    ) -> tuple[list[Line], Decimal]:
        """Which lots `amount` comes from, and how much of it the count cannot account for.

        A lot the clinician named is taken from; otherwise lots go first-expiry-first-out
        (a lot without an expiry last), and an expired lot is never chosen."""
        if named_lot is not None and named_lot in self.expiries:
            order = [named_lot]
        else:
            usable = [
                (self.expiries[lot] or date.max, lot)
                for (lot, where), left in self.on_hand.items()
                if where == location and left > 0 and not expired(self.expiries[lot], today)
            ]
            order = [lot for _, lot in sorted(usable)]
        lines: list[Line] = []
        wanted = amount
        for lot in order:
            took = min(wanted, self.available(lot, location))
            if took > 0:
                lines.append({"item_id": str(self.item_id), "lot": lot, "quantity": text_of(took)})
                wanted -= took
            if wanted == 0:
                break
        return lines, wanted

    def take(
        self,
        *,
        consumption: UUID,
        location: str,
        amount: Decimal,
        today: date,
        named_lot: str | None,
        meta: Meta,
    ) -> list[Line]:
        """Deducts a treatment's use. A clinical fact is never refused for a count: what the
        stock cannot account for is recorded as short (a discrepancy to count again)."""
        lines, short = self.choose(location, amount, today, named_lot)
        self._taken(
            consumption_id=consumption,
            location=location,
            lines=lines,
            short=text_of(short),
            meta=meta,
        )
        shortfall = [{"item_id": str(self.item_id), "lot": None, "quantity": text_of(short)}]
        return [*lines, *(shortfall if short > 0 else [])]

    @event("StockTaken")
    def _taken(
        self, consumption_id: UUID, location: str, lines: list[Line], short: str, meta: Meta
    ) -> None:
        for line in lines:
            self._add(line["lot"], location, -Decimal(line["quantity"]))

    def give_back(self, *, consumption: UUID, location: str, lines: list[Line], meta: Meta) -> None:
        """Returns what a consumption took, to the very lots it came from (a void, or the
        first half of an amendment). A shortfall was never taken, so it is not returned."""
        taken = [
            {"item_id": str(self.item_id), "lot": line["lot"], "quantity": line["quantity"]}
            for line in lines
            if line["lot"] is not None and line["item_id"] == str(self.item_id)
        ]
        short = sum(
            (
                Decimal(line["quantity"])
                for line in lines
                if line["lot"] is None and line["item_id"] == str(self.item_id)
            ),
            ZERO,
        )
        self._returned(
            consumption_id=consumption,
            location=location,
            lines=taken,
            short=text_of(short),
            meta=meta,
        )

    @event("StockReturned")
    def _returned(
        self, consumption_id: UUID, location: str, lines: list[Line], short: str, meta: Meta
    ) -> None:
        for line in lines:
            self._add(line["lot"], location, Decimal(line["quantity"]))

    # Moving and correcting -------------------------------------------------------------

    def transfer(
        self, *, lot: str, source: str, destination: str, amount: Decimal | str, meta: Meta
    ) -> None:
        """Moves part of a lot from one location to another (the store room to a chair)."""
        lot, source, destination = lot_of(lot), location_of(source), location_of(destination)
        moved = quantity(amount)
        if source == destination:
            raise InvalidValue("a transfer goes to another location", field="destination")
        left = self.available(lot, source)
        if moved > left:
            raise TransitionRefused(
                f"only {text_of(left)} of lot {lot} is in {source}: count it, or move less"
            )
        self._transferred(
            lot=lot, source=source, destination=destination, quantity=text_of(moved), meta=meta
        )

    @event("StockTransferred")
    def _transferred(
        self, lot: str, source: str, destination: str, quantity: str, meta: Meta
    ) -> None:
        self._add(lot, source, -Decimal(quantity))
        self._add(lot, destination, Decimal(quantity))

    def adjust(
        self,
        *,
        lot: str,
        location: str,
        change: Decimal | str,
        reason: Reason,
        note: str | None,
        meta: Meta,
    ) -> None:
        """A correction by hand with its reason: breakage, loss, a count, expired disposal."""
        lot, location = lot_of(lot), location_of(location)
        delta = quantity(change, "change", signed=True)
        if lot not in self.expiries:
            raise InvalidValue(f"lot {lot} was never received for this item", field="lot")
        if self.available(lot, location) + delta < 0:
            raise TransitionRefused(
                f"only {text_of(self.available(lot, location))} of lot {lot} is in {location}"
            )
        if delta > 0 and reason is not Reason.COUNT_CORRECTION:
            raise InvalidValue("only a count adds stock; a delivery is a receipt", field="reason")
        self._adjusted(
            lot=lot,
            location=location,
            change=text_of(delta),
            reason=reason.value,
            note=optional_text(note, "note", max_length=500, multiline=True),
            meta=meta,
        )

    @event("StockAdjusted")
    def _adjusted(
        self, lot: str, location: str, change: str, reason: str, note: str | None, meta: Meta
    ) -> None:
        self._add(lot, location, Decimal(change))

    def _add(self, lot: str, location: str, change: Decimal) -> None:
        left = self.on_hand.get((lot, location), ZERO) + change
        if left:
            self.on_hand[(lot, location)] = left
        else:
            self.on_hand.pop((lot, location), None)


class Consumption(Aggregate):
    """The materials one treatment used: what was taken from which lot, for which patient,
    tooth and moment (the lot trace), and up to which version of the treatment."""

    @staticmethod
    def create_id(treatment_id: UUID, **_: Any) -> UUID:
        return consumption_id(treatment_id)

    @event("MaterialsConsumed")
    def __init__(
        self,
        treatment_id: UUID,
        patient_id: UUID,
        procedure: str,
        performed_at: datetime,
        tooth: int | None,
        location: str,
        lines: list[Line],
        devices: list[dict[str, str | None]],
        treatment_version: int,
        meta: Meta,
    ) -> None:
        self.treatment_id = treatment_id
        self.location = location
        self.lines = lines
        self.treatment_version = treatment_version
        self.reversed = False

    def done_up_to(self, treatment_version: int) -> bool:
        """Whether the treatment's event at this version was already applied (redelivery)."""
        return treatment_version <= self.treatment_version

    def correct(
        self,
        *,
        tooth: int | None,
        lines: list[Line],
        devices: list[dict[str, str | None]],
        treatment_version: int,
        meta: Meta,
    ) -> None:
        if self.reversed:
            raise TransitionRefused("the treatment was voided; its materials were returned")
        self._corrected(
            tooth=tooth,
            lines=lines,
            devices=devices,
            treatment_version=treatment_version,
            meta=meta,
        )

    @event("ConsumptionCorrected")
    def _corrected(
        self,
        tooth: int | None,
        lines: list[Line],
        devices: list[dict[str, str | None]],
        treatment_version: int,
        meta: Meta,
    ) -> None:
        self.lines = lines
        self.treatment_version = treatment_version

    def reverse(self, *, treatment_version: int, meta: Meta) -> None:
        self._reversed(treatment_version=treatment_version, meta=meta)

    @event("ConsumptionReversed")
    def _reversed(self, treatment_version: int, meta: Meta) -> None:
        self.lines = []
        self.reversed = True
        self.treatment_version = treatment_version
