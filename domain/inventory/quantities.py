"""Units and exact quantities: stock is counted in the item's unit, in decimals (2.5 ml,
0.5 of a syringe), never in floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.shared import InvalidValue, require_text

PLACES = 3  # a thousandth of the unit: a tenth of a millilitre of a 0.1 ml dose is 0.100
MOST = Decimal(10**9)  # no clinic keeps a thousand million of anything
STORE_ROOM = "store-room"  # where deliveries arrive; each operatory is a location too


class Unit(StrEnum):
    """What an item is counted in."""

    UNIT = "unit"
    PAIR = "pair"
    BOX = "box"
    CARTRIDGE = "cartridge"
    CAPSULE = "capsule"
    SYRINGE = "syringe"
    ML = "ml"
    G = "g"


class Reason(StrEnum):
    """Why stock was adjusted by hand."""

    BREAKAGE = "breakage"
    LOSS = "loss"
    COUNT_CORRECTION = "count_correction"
    EXPIRED_DISPOSAL = "expired_disposal"


def unit_of(value: str) -> Unit:
    try:
        return Unit(value)
    except ValueError:
        known = ", ".join(u.value for u in Unit)
        raise InvalidValue(f"unit must be one of {known}", field="unit") from None


def quantity(
    value: Decimal | int | str, field: str = "quantity", *, signed: bool = False
) -> Decimal:
    """An exact amount: at most three decimal places, below a thousand million, positive
    (or any sign but zero, for a correction)."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidValue(f"{field} must be a number like 2 or 2.5", field=field) from None
    if not amount.is_finite():
        raise InvalidValue(f"{field} must be a number like 2 or 2.5", field=field)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > PLACES:
        raise InvalidValue(f"{field} has at most {PLACES} decimal places", field=field)
    if abs(amount) >= MOST:
        raise InvalidValue(f"{field} must be below {MOST}", field=field)
    if signed:
        if amount == 0:
            raise InvalidValue(f"{field} must not be zero", field=field)
    elif amount <= 0:
        raise InvalidValue(f"{field} must be more than zero", field=field)
    return amount


def text_of(amount: Decimal) -> str:
    """As events and read models keep it: plain notation, no exponent (3, 2.5, 0.125)."""
    return f"{amount.normalize():f}"


def location_of(value: str) -> str:
    """The store room, or an operatory by its id (the appointment book's chair)."""
    return require_text(value, "location", max_length=64)


def lot_of(value: str) -> str:
    """A lot (batch) number as printed on the package: GS1 allows up to 20 characters; a
    serial-numbered device's lot may be longer in other schemes, so 40 are kept."""
    return require_text(value, "lot", max_length=40)


def expired(expiry: date | None, today: date) -> bool:
    """A lot may be used up to and including its expiry day."""
    return expiry is not None and expiry < today
