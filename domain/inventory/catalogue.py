"""What the clinic stocks and who supplies it: items and suppliers.

An item may supply one of the treatments catalogue's materials (its bill of materials names
them: "anaesthetic cartridge"), and may be bound to one GTIN, so a scanned package knows its
item. Each binding is claimed once, by an aggregate saved with the item (as an email is by a
staff account).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.inventory.quantities import STORE_ROOM, Unit, location_of, quantity, text_of
from domain.shared import InvalidValue, Meta, email_address, optional_text, require_text


class Category(StrEnum):
    """Where an item sits in the catalogue and the stock list."""

    ANAESTHESIA = "anaesthesia"
    RESTORATIVE = "restorative"
    DISPOSABLES = "disposables"
    INSTRUMENTS = "instruments"
    IMPLANTS = "implants"
    SURGICAL = "surgical"
    HYGIENE = "hygiene"
    OTHER = "other"


CATEGORIES = tuple(c.value for c in Category)


def material_key(name: str) -> str:
    """A material as the bill of materials names it, compared without case or extra spaces."""
    return " ".join(name.split()).casefold()


def material_claim_id(name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:inventory:material:{material_key(name)}")


def gtin_claim_id(gtin: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:inventory:gtin:{gtin.zfill(14)}")


def _levels(reorder_point: Decimal | str, reorder_quantity: Decimal | str) -> tuple[str, str]:
    point = Decimal(reorder_point)
    if point < 0:
        raise InvalidValue("the reorder point must not be negative", field="reorder_point")
    point_text = "0" if point == 0 else text_of(quantity(point, "reorder_point"))
    return point_text, text_of(quantity(reorder_quantity, "reorder_quantity"))


class Item(Aggregate):
    """Something the clinic stocks, counted in its unit, reordered below its point."""

    @classmethod
    def define(
        cls,
        *,
        name: str,
        unit: Unit,
        category: str,
        location: str = STORE_ROOM,
        reorder_point: Decimal | str,
        reorder_quantity: Decimal | str,
        supplier_id: UUID | None,
        material: str | None,
        meta: Meta,
        pack: tuple[Unit, Decimal | str] | None = None,
    ) -> Item:
        point, amount = _levels(reorder_point, reorder_quantity)
        return cls(
            name=require_text(name, "name", max_length=120),
            unit=unit.value,
            category=_category(category),
            location=location_of(location),
            reorder_point=point,
            reorder_quantity=amount,
            supplier_id=supplier_id,
            material=optional_text(material, "material", max_length=120),
            meta=meta,
            pack=_pack(unit, pack),
        )

    @event("ItemDefined")
    def __init__(
        self,
        name: str,
        unit: str,
        category: str,
        location: str,
        reorder_point: str,
        reorder_quantity: str,
        supplier_id: UUID | None,
        material: str | None,
        meta: Meta,
        pack: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.unit = Unit(unit)
        self.material = material
        self.gtin: str | None = None
        self.pack = pack

    def in_units(self, packs: Decimal | str) -> Decimal:
        """How many of the item's units `packs` packs hold (boxes bought, units consumed)."""
        if self.pack is None:
            raise InvalidValue(
                f"{self.name} has no pack size: give the quantity in {self.unit.value}",
                field="packs",
            )
        return quantity(Decimal(packs) * Decimal(self.pack["size"]), "packs")

    def whole_packs(self, amount: Decimal) -> Decimal:
        """`amount` of units rounded up to whole packs, in units (what can be ordered)."""
        if self.pack is None:
            return amount
        size = Decimal(self.pack["size"])
        return (amount / size).to_integral_value(rounding=ROUND_CEILING) * size

    def revise(
        self,
        *,
        name: str,
        category: str,
        location: str,
        reorder_point: Decimal | str,
        reorder_quantity: Decimal | str,
        supplier_id: UUID | None,
        meta: Meta,
        pack: tuple[Unit, Decimal | str] | None = None,
    ) -> None:
        """Changes how the item is described, kept, bought and reordered (not its unit:
        stock is counted in it)."""
        point, amount = _levels(reorder_point, reorder_quantity)
        self._revised(
            name=require_text(name, "name", max_length=120),
            category=_category(category),
            location=location_of(location),
            reorder_point=point,
            reorder_quantity=amount,
            supplier_id=supplier_id,
            meta=meta,
            pack=_pack(self.unit, pack),
        )

    @event("ItemRevised")
    def _revised(
        self,
        name: str,
        category: str,
        location: str,
        reorder_point: str,
        reorder_quantity: str,
        supplier_id: UUID | None,
        meta: Meta,
        pack: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.pack = pack

    def bind_gtin(self, gtin: str, meta: Meta) -> None:
        if self.gtin is not None:
            raise InvalidValue(f"this item is bound to GTIN {self.gtin} already", field="gtin")
        self._gtin_bound(gtin=gtin, meta=meta)

    @event("GtinBound")
    def _gtin_bound(self, gtin: str, meta: Meta) -> None:
        self.gtin = gtin


class ItemClaim(Aggregate):
    """Reserves a material name or a GTIN for one item (saved with it, atomically)."""

    @staticmethod
    def create_id(key: UUID, **_: Any) -> UUID:
        return key

    @event("ItemClaimed")
    def __init__(self, key: UUID, what: str, item_id: UUID, meta: Meta) -> None:
        self.item_id = item_id


class Supplier(Aggregate):
    """Who the clinic orders from (a company: no patient data)."""

    @classmethod
    def add(
        cls, *, name: str, email: str | None, phone: str | None, lead_days: int, meta: Meta
    ) -> Supplier:
        if not 0 <= lead_days <= 365:
            raise InvalidValue("lead time is 0 to 365 days", field="lead_days")
        return cls(
            name=require_text(name, "name", max_length=120),
            email=email_address(email) if email and email.strip() else None,
            phone=optional_text(phone, "phone", max_length=40),
            lead_days=lead_days,
            meta=meta,
        )

    @event("SupplierAdded")
    def __init__(
        self, name: str, email: str | None, phone: str | None, lead_days: int, meta: Meta
    ) -> None:
        self.name = name


def _category(value: str) -> str:
    if value not in CATEGORIES:
        raise InvalidValue(f"category must be one of {', '.join(CATEGORIES)}", field="category")
    return Category(value).value


def _pack(unit: Unit, pack: tuple[Unit, Decimal | str] | None) -> dict[str, str] | None:
    """How the item is bought: a pack (a box) of `size` of its units."""
    if pack is None:
        return None
    pack_unit, size = pack
    if pack_unit == unit:
        raise InvalidValue("a pack is another unit than the item's (a box of 50)", field="pack")
    return {"unit": pack_unit.value, "size": text_of(quantity(size, "pack_size"))}
