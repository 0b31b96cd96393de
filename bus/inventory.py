"""The inventory worker's ear on the bus: treatments' recorded, amended and voided treatments
become the inventory's consumptions (choreography; ADR 28).

A treatment is read from its events' payloads by their field names only
(domain/treatments/records.py), and the chair it was done in from its appointment's events
(scheduling's `operatory_id`). An amendment is read with the treatment's earlier events from
the event store, since it carries only what changed. Each reaction is idempotent by the
treatment's version, so a redelivered batch changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg

from commands.base import clinic_day
from commands.inventory import Inventory, TreatmentUse, uses_of
from domain.shared import Meta
from infra.eventstore import Envelope, EventStoreReader
from infra.logs import get_logger
from infra.metrics import INVENTORY_ALERTS

TREATMENTS = "treatments"
SCHEDULING = "scheduling"
RECORDED, AMENDED, VOIDED = "TreatmentRecorded", "TreatmentAmended", "TreatmentVoided"
WORKER = "inventory"
log = get_logger("bus.inventory")


def meta_of(envelope: Envelope) -> Meta:
    """The worker acts on its own account, caused by the event it reacts to."""
    return Meta("inventory-worker", "system", envelope.correlation_id, str(envelope.event_id))


class TreatmentReactions:
    """A `BatchHandler` for the consumer runner."""

    name = WORKER
    binding_keys = tuple(f"{TREATMENTS}.{e}" for e in (RECORDED, AMENDED, VOIDED))

    def __init__(self, inventory: Inventory, reader: EventStoreReader) -> None:
        self.inventory = inventory
        self.reader = reader

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in sorted(envelopes, key=lambda e: e.notification_id):
            if envelope.aggregate_type != "Treatment":
                continue
            meta = meta_of(envelope)
            if envelope.event_type == VOIDED:
                await asyncio.to_thread(
                    self.inventory.give_back, envelope.aggregate_id, envelope.version, meta
                )
                continue
            use = await self.use_of(envelope)
            react = (
                self.inventory.consume
                if envelope.event_type == RECORDED
                else self.inventory.correct
            )
            await asyncio.to_thread(react, use, meta)

    async def use_of(self, envelope: Envelope) -> TreatmentUse:
        """The treatment as of this event: its bill of materials from when it was recorded,
        the lots (or devices) named as of this version, the tooth, and the chair."""
        history = (
            [envelope]
            if envelope.event_type == RECORDED
            else await self.reader.aggregate_events(
                TREATMENTS, envelope.aggregate_id, 0, envelope.version
            )
        )
        recorded = history[0].payload
        latest = history[-1].payload
        performed_at = datetime.fromisoformat(recorded["performed_at"])
        uses, devices = uses_of(
            recorded.get("bill_of_materials") or [],
            latest.get("materials") or [],
            clinic_day(performed_at),
        )
        appointment = recorded.get("appointment_id")
        return TreatmentUse(
            treatment_id=envelope.aggregate_id,
            treatment_version=envelope.version,
            patient_id=UUID(recorded["patient_id"]),
            procedure=str(recorded["code"]),
            performed_at=performed_at,
            tooth=latest.get("tooth"),
            operatory=await self.operatory_of(UUID(appointment)) if appointment else None,
            uses=uses,
            devices=devices,
        )

    async def operatory_of(self, appointment: UUID) -> str | None:
        """The chair the appointment was last booked into, as the appointment book said."""
        chair = None
        for event in await self.reader.aggregate_events(SCHEDULING, appointment):
            chair = event.payload.get("operatory_id") or chair
        return str(chair) if chair else None


Alerts = Callable[[date], Awaitable[Mapping[str, Sequence[object]]]]


class AlertCount:
    """Counts the inventory's alerts for /metrics, every `seconds`, in the worker's process:
    `alerts` is the read side's query (projections/inventory.py), as of a day."""

    def __init__(self, alerts: Alerts, today: Callable[[], date], seconds: float) -> None:
        self.alerts = alerts
        self.today = today
        self.seconds = seconds

    async def count_once(self) -> dict[str, int]:
        found = await self.alerts(self.today())
        counted = {kind: len(rows) for kind, rows in found.items()}
        for kind, n in counted.items():
            INVENTORY_ALERTS.labels(kind).set(n)
        return counted

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.count_once()
            except (OSError, asyncpg.PostgresError) as error:  # counted again next time
                log.warning("inventory alerts not counted", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.seconds)
