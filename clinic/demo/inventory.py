"""The demo clinic's store room: two suppliers, the materials its treatments use (anaesthetic
cartridges, composite, gloves, sutures, implants) and burs, with lots received and some stock
moved to the chairs. Composite is below its reorder point and one lot of cartridges expires
within the alert's window, so the alerts show something."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from clinic.demo import DemoClinic
from clinic.platform import Platform
from commands.inventory import (
    AddSupplier,
    DefineItem,
    Inventory,
    ReceiveStock,
    TransferStock,
)
from domain.inventory import Unit

SUPPLIERS = (
    ("Suministros Dentales del Norte S.L.", "pedidos@sdnorte.example", "+34 944 000 111", 2),
    ("Implantes Ibéricos S.A.", "clinicas@implantes-ibericos.example", "+34 913 000 222", 5),
)
# name, unit, category, reorder point, reorder quantity, material, GTIN body, supplier,
# lots: (lot, days to expiry, quantity)
ITEMS = (
    ("Articaína 4% 1:100.000, cartucho", Unit.CARTRIDGE, "anaesthesia", 50, 200,
     "anaesthetic cartridge", "841234500001", 0, (("ART-2501", 40, 30), ("ART-2507", 400, 150))),
    ("Composite nanohíbrido A2, cápsula", Unit.CAPSULE, "restorative", 40, 100,
     "composite capsule", "841234500002", 0, (("CMP-A2-118", 300, 25),)),
    ("Guantes de nitrilo talla M, par", Unit.PAIR, "disposables", 100, 500,
     "gloves (pair)", "841234500003", 0, (("GLV-M-77", 700, 400),)),
    ("Sutura reabsorbible 4/0", Unit.UNIT, "surgical", 10, 36, "suture", "841234500004", 0,
     (("SUT-4-0-311", 500, 24),)),
    ("Fresa de diamante redonda", Unit.UNIT, "instruments", 20, 50, None, "841234500005", 0,
     (("FRS-0904", 900, 60),)),
    ("Implante cónico 4,1 x 10 mm", Unit.UNIT, "implants", 3, 10, "implant fixture",
     "841234500006", 1, (("IMP-41-10-A", 1000, 6),)),
)  # fmt: skip


# Bought in boxes, used one by one (the catalogue's material: the box).
PACKS = {
    "anaesthetic cartridge": (Unit.BOX, 50),
    "gloves (pair)": (Unit.BOX, 50),
    "composite capsule": (Unit.BOX, 20),
}


def check_digit(body: str) -> str:
    """The GS1 check digit of a GTIN's body (weights 3 and 1 from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def stock_room(platform: Platform, clinic: DemoClinic) -> None:
    inventory = platform.application(Inventory)
    suppliers = [
        inventory.add_supplier(
            AddSupplier(name=name, email=email, phone=phone, lead_days=lead), clinic.meta()
        ).id
        for name, email, phone, lead in SUPPLIERS
    ]
    for name, unit, category, point, amount, material, gtin, supplier, lots in ITEMS:
        item = inventory.define_item(
            DefineItem(
                name=name,
                unit=unit,
                category=category,
                reorder_point=Decimal(point),
                reorder_quantity=Decimal(amount),
                supplier_id=suppliers[supplier],
                material=material,
                gtin=gtin + check_digit(gtin),
                pack_unit=PACKS[material][0] if material in PACKS else None,
                pack_size=Decimal(PACKS[material][1]) if material in PACKS else None,
            ),
            clinic.meta(),
        ).id
        clinic.summary.items += 1
        for lot, days, count in lots:
            inventory.receive(
                ReceiveStock(
                    item_id=item,
                    lot=lot,
                    expiry=clinic.today + timedelta(days=days),
                    quantity=Decimal(count),
                    reference=f"ALB-{clinic.rng.randint(10000, 99999)}",
                ),
                clinic.meta(),
            )
            clinic.summary.lots += 1
            if clinic.chairs and material in ("gloves (pair)", "anaesthetic cartridge"):
                inventory.transfer(
                    item,
                    TransferStock(lot=lot, destination=str(clinic.chairs[0]), quantity=5),
                    clinic.meta(),
                )
