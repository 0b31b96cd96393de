"""What the inventory needs to know of a treatment: its bill of materials, each with the lot
the clinician named or the device they scanned (an implant's UDI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from domain.gs1 import udi_in
from domain.inventory import (
    material_key,
)


@dataclass(frozen=True, slots=True)
class Use:
    """One material a treatment used: the catalogue's name, how many, and the lot the
    clinician named (or the device they scanned), if any."""

    material: str
    amount: Decimal
    lot: str | None = None


@dataclass(frozen=True, slots=True)
class TreatmentUse:
    """What the inventory needs to know of a recorded (or amended) treatment."""

    treatment_id: UUID
    treatment_version: int
    patient_id: UUID
    procedure: str
    performed_at: datetime
    tooth: int | None
    operatory: str | None
    uses: tuple[Use, ...]
    devices: tuple[dict[str, str | None], ...] = field(default=())


def uses_of(
    bill: Sequence[dict[str, Any]], named: Sequence[dict[str, Any]], on: date
) -> tuple[tuple[Use, ...], tuple[dict[str, str | None], ...]]:
    """A treatment's bill of materials, each with the lot the clinician named for it, and the
    devices whose UDI they scanned (an implant's GS1 string names its GTIN, lot and serial)."""
    lots: dict[str, str] = {}
    devices: list[dict[str, str | None]] = []
    for m in named:
        text = m.get("lot")
        if not text:
            continue
        device = udi_in(str(text), on)
        material = str(m.get("item") or "")
        if device is not None:
            devices.append(
                {
                    "material": material,
                    "udi": device.text,
                    "gtin": device.gtin,
                    "lot": device.lot,
                    "serial": device.serial,
                    "expiry": device.expiry.isoformat() if device.expiry else None,
                }
            )
        lot = device.lot if device is not None else str(text)
        if lot:
            lots[material_key(material)] = lot
    uses = tuple(
        Use(str(b["item"]), Decimal(str(b["quantity"])), lots.get(material_key(str(b["item"]))))
        for b in bill
    )
    return uses, tuple(devices)
