"""The `inventory` context, declared: items, suppliers, stock per lot and location, and each
treatment's consumption (PostgreSQL); the worker that deducts treatments' materials from
stock (ADR 28); its alerts counted in `/metrics`."""

from __future__ import annotations

from api import inventory as http
from bus.inventory import AlertCount, TreatmentReactions
from clinic.declaration import Context, Reaction, Worker
from clinic.demo import Phase
from clinic.demo.inventory import stock_room
from commands.inventory import Inventory
from projections.inventory import READ_MODELS, InventoryQueries

REACTIONS = Reaction(
    TreatmentReactions.name,
    TreatmentReactions.binding_keys,
    lambda p: TreatmentReactions(p.application(Inventory), p.reader),
)
WORKER = Worker(
    "inventory",
    "The inventory worker: deducts each recorded treatment's materials from stock, and "
    "corrects or returns them when the treatment is amended or voided.",
    reactions=(REACTIONS,),
    loops=lambda p: {
        "alerts": AlertCount(
            p.get(InventoryQueries).alerts,
            p.application(Inventory).today,
            p.settings.inventory_alerts_seconds,
        ).run
    },
)

CONTEXT = Context(
    name="inventory",
    application=Inventory,
    read_models=READ_MODELS,
    provides=(lambda p: InventoryQueries(p.pool, p.reader, p.settings.inventory_expiring_days),),
    routers=(http.router,),
    grants=http.GRANTS,
    workers=(WORKER,),
    demo=((Phase.CLINIC, stock_room),),
)
