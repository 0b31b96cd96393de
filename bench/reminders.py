"""(j) the reminder worker's emails/s to a local SMTP server vs raw aiosmtplib sending the same
messages to the same server; (k) the delay from a reminder's due time to its send, p50/p99,
with thousands due within one minute; (l) `AppointmentBooked` events to reminders scheduled,
events/s, vs saving the same aggregates bare.

The SMTP server is aiosmtpd on a free local port, started here. The due list is filled by
rebuilding its read model (the relay is not part of what these measure).
"""

from __future__ import annotations

import asyncio
import email
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

import aiosmtplib
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.harness import QUICK, Harness, Sizes, free_port, run_alone
from bench.report import Row, ratio_at_least, value_at_most
from bench.workload import META, registration
from bus.reminders.choreography import AppointmentReactions
from bus.reminders.dispatcher import Dispatcher
from clinic.platform import Platform
from commands.patients import Patients
from commands.reminders import Reminders, SendReminder
from domain.reminders import Channel, Reminder
from infra.eventstore import Envelope as Event
from infra.eventstore import event_id_for
from infra.outbound import SmtpConfig, SmtpSender
from projections.reminders import ReminderQueries

PATIENTS = 20


class Inbox:
    """Counts what arrives, and when, by idempotency key."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        key = email.message_from_bytes(raw).get("X-Idempotency-Key")
        self.count += 1
        if key:
            self.arrived[str(key)] = time.time()
        return "250 OK"


async def _patients(platform: Platform) -> list[Any]:
    """Patients who consent to email, in the reminders' view of them."""
    ids = []
    for n in range(PATIENTS):
        command = registration(900_000 + n).model_copy(
            update={"consents": registration(0).consents.model_copy(update={"email": True})}
        )
        ids.append(
            (await asyncio.to_thread(platform.application(Patients).register, command, META)).id
        )
    await platform.projectors["reminder_contacts"].rebuild()
    return ids


async def _due_list(platform: Platform) -> None:
    await platform.projectors["reminders_due"].rebuild()


def _dispatcher(platform: Platform, port: int, worker: str, in_flight: int) -> Dispatcher:
    return Dispatcher(
        platform.application(Reminders),
        platform.get(ReminderQueries),
        {Channel.EMAIL: SmtpSender(SmtpConfig("127.0.0.1", port, "none"), in_flight)},
        None,
        batch_size=100,
        poll_seconds=0.05,
        in_flight=in_flight,
        worker=worker,
    )


async def _drain(worker: Dispatcher, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if not await worker.dispatch_once():
            await asyncio.sleep(0.02)


async def _emails_per_second(
    harness: Harness,
    patients: list[Any],
    count: int,
    port: int,
    inbox: Inbox,
    *,
    workers: int = 1,
    in_flight: int,
) -> tuple[float, float]:
    """The worker's rate (`workers` of them side by side, each with `in_flight` sends in the
    mail server's hands) and raw aiosmtplib's, the same messages one after another."""
    platform = harness.platform

    def schedule() -> None:
        for n in range(count):
            command = SendReminder(patient_id=patients[n % len(patients)], text=f"Mensaje {n}")
            platform.application(Reminders).send_now(command, META)

    await asyncio.to_thread(schedule)
    await _due_list(platform)
    lanes = [
        _dispatcher(platform, port, f"bench-{uuid4().hex[:6]}", in_flight) for _ in range(workers)
    ]
    before = inbox.count
    started = time.perf_counter()

    async def drain(worker: Dispatcher) -> None:
        while inbox.count - before < count:
            if not await worker.dispatch_once():
                await asyncio.sleep(0.01)

    await asyncio.gather(*(drain(w) for w in lanes))
    ours = count / (time.perf_counter() - started)

    raw = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await raw.connect()
    started = time.perf_counter()
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "Sonrisa <reminders@localhost>", f"p{n}@example.org"
        message["Subject"] = "Mensaje de Sonrisa"
        message.set_content(f"Sonrisa: Mensaje {n}")
        message.add_alternative(f"<p>Sonrisa: Mensaje {n}</p>", subtype="html")
        await raw.send_message(message)
    bare = count / (time.perf_counter() - started)
    await raw.quit()
    return ours, bare


async def _delays(
    harness: Harness, patients: list[Any], count: int, window: float, port: int, inbox: Inbox
) -> list[float]:
    """`count` reminders due evenly over `window` seconds, starting once all are listed."""
    platform = harness.platform
    lead = 5.0 + count / 400  # time to save them and fill the due list before the first is due
    start = datetime.now(UTC) + timedelta(seconds=lead)
    due: dict[str, datetime] = {}

    def schedule() -> None:
        batch: list[Reminder] = []
        for n in range(count):
            reminder = Reminder.message(
                uuid4(),
                patients[n % len(patients)],
                f"M {n}",
                start + timedelta(seconds=window * n / count),
                META,
            )
            due[reminder.idempotency_key] = reminder.due_at
            batch.append(reminder)
            if len(batch) == 100:
                platform.application(Reminders).save(*batch)
                batch = []
        if batch:
            platform.application(Reminders).save(*batch)

    await asyncio.to_thread(schedule)
    await _due_list(platform)
    if datetime.now(UTC) > start:
        print(f"(k) warning: scheduling took longer than the lead of {lead:.0f} s")
    stop = asyncio.Event()
    in_flight = platform.settings.reminders_in_flight
    workers = [_dispatcher(platform, port, f"bench-k{n}", in_flight) for n in range(2)]
    tasks = [asyncio.ensure_future(_drain(w, stop)) for w in workers]
    for _ in range(int((lead + window + 120) / 0.2)):
        if sum(1 for k in due if k in inbox.arrived) >= count:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*tasks)
    return sorted(inbox.arrived[k] - d.timestamp() for k, d in due.items() if k in inbox.arrived)


def _booked(n: int, patient: Any, start: datetime) -> Event:
    appointment = uuid5(NAMESPACE_URL, f"bench-appointment-{n}-{start.timestamp()}")
    return Event(
        event_id=event_id_for(appointment, 1),
        context="scheduling",
        event_type="AppointmentBooked",
        aggregate_type="Appointment",
        aggregate_id=appointment,
        version=1,
        notification_id=n + 1,
        timestamp=datetime.now(UTC),
        meta=META.as_dict(),
        payload={
            "patient_id": str(patient),
            "start": (start + timedelta(minutes=30 * n)).isoformat(),
            "appointment_type": "check-up",
        },
    )


async def _bookings_per_second(harness: Harness, patients: list[Any], count: int) -> float:
    platform = harness.platform
    reactions = AppointmentReactions(platform.application(Reminders), platform.reader)
    start = datetime.now(UTC) + timedelta(days=30)
    events = [_booked(n, patients[n % len(patients)], start) for n in range(count)]
    started = time.perf_counter()
    for first in range(0, count, 200):
        await reactions.handle_batch(events[first : first + 200])
    return count / (time.perf_counter() - started)


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(share * len(values)))]


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    quick = sizes is QUICK
    emails, due, window, bookings = (200, 500, 10.0, 1000) if quick else (1000, 5000, 60.0, 10_000)
    inbox = Inbox()
    port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        patients = await _patients(harness.platform)
        in_flight = harness.platform.settings.reminders_in_flight
        ours, bare = await _emails_per_second(
            harness, patients, emails, port, inbox, in_flight=in_flight
        )
        alone, bare_alone = await _emails_per_second(
            harness, patients, emails, port, inbox, in_flight=1
        )
        four, bare_again = await _emails_per_second(
            harness, patients, emails, port, inbox, workers=4, in_flight=1
        )
        delays = await _delays(harness, patients, due, window, port, inbox)
        booked = await _bookings_per_second(harness, patients, bookings)
    finally:
        server.stop()
    p50, p99 = _percentile(delays, 0.5), _percentile(delays, 0.99)
    return [
        Row(
            "(j) reminder emails, emails/s",
            ours,
            bare,
            target="ratio ≥ 0.7",
            met=ratio_at_least(0.7),
            detail=f"{emails} due reminders claimed, consent checked, rendered, sent and "
            f"recorded by one worker as configured ({in_flight} in flight, one kept-open SMTP "
            "connection each) vs raw aiosmtplib send_message on one connection",
        ),
        Row(
            "(j) reminder emails, one at a time, emails/s",
            alone,
            bare_alone,
            detail="the same worker with one send in flight (the figure before sends overlapped)",
        ),
        Row(
            "(j) reminder emails, 4 workers, emails/s",
            four,
            bare_again,
            detail="the same, four dispatchers side by side (each one send at a time)",
        ),
        Row(
            f"(k) due → sent, p50 ({len(delays)}/{due} sent)",
            p50 * 1000,
            unit="ms",
            detail=f"{due} reminders due evenly within {window:.0f} s, two workers",
        ),
        Row(
            "(k) due → sent, p99",
            p99 * 1000,
            unit="ms",
            target="≤ 2 s",
            met=value_at_most(2000),
            detail="time the SMTP server received each, minus its due time",
        ),
        Row(
            "(l) AppointmentBooked → reminders scheduled, events/s",
            booked,
            detail=f"{bookings} events in batches of 200 through the worker's handler "
            "(plan + 2 reminders saved per event)",
        ),
    ]


if __name__ == "__main__":
    run_alone(run, "Sonrisa reminder benchmarks")
