"""The reminder worker's hands: it claims due reminders, checks consent as it stands now,
sends, and records what happened.

Up to `in_flight` reminders at a time per worker (each a different reminder, as fast as the
mail server and the SMS provider answer), so a worker killed mid-batch leaves at most that
many sent but unrecorded; its lease on the rest expires and another worker (or itself,
restarted) takes them. A reminder is sent only if the event store still says it is due, and
every attempt at it carries the same idempotency key and Message-ID, so a receiver can drop
the repeat (ADR 12).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from bus.reminders.messages import render
from commands.reminders import Outcome, Reminders
from domain.reminders import (
    Channel,
    Contact,
    Kind,
    Policy,
    Reminder,
    Skip,
    choose_channel,
    sms_segments,
)
from domain.reminders.policy import address_of
from domain.shared import Meta
from infra.links import LinkAction, LinkSigner
from infra.logs import get_logger
from infra.metrics import (
    REMINDERS_DUE,
    REMINDERS_FAILED,
    REMINDERS_OLDEST_DUE,
    REMINDERS_SENT,
    REMINDERS_SKIPPED,
)
from infra.outbound import Outgoing, Sender, SendFailed

log = get_logger("bus.reminders")
LINK_PATH = "/api/reminder-links"  # where the API answers them


class DueReminders(Protocol):
    """The due list and the consents, as the worker needs them (the projections layer
    provides them; the wiring hands them in)."""

    async def claim(
        self, worker: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[UUID]: ...

    async def settle(self, reminder: UUID, version: int) -> None: ...

    async def settle_all(self, settled: dict[UUID, int]) -> None: ...

    async def release(self, worker: str) -> None: ...

    async def contact(self, patient: UUID) -> Contact | None: ...

    async def backlog(self, now: datetime) -> tuple[int, float]: ...


@dataclass(frozen=True, slots=True)
class Links:
    signer: LinkSigner
    public_url: str
    valid_for: timedelta

    def of(self, reminder: Reminder, now: datetime) -> tuple[str, str] | None:
        if reminder.appointment_id is None or reminder.kind is not Kind.APPOINTMENT:
            return None
        base = self.public_url.rstrip("/")
        made = [
            self.signer.make(
                reminder.appointment_id,
                reminder.id,
                action,
                now,
                self.valid_for,
                reminder.appointment_start,
            )
            for action in (LinkAction.CONFIRM, LinkAction.CANCEL)
        ]
        return f"{base}{LINK_PATH}/{made[0]}", f"{base}{LINK_PATH}/{made[1]}"


class GroupCommit:
    """The outcomes that come in while a save is under way are saved together in the next
    one: one commit for a group of sends, however many the mail server answers at once (a
    commit per send held a worker to the store's commit rate, not the mail server's)."""

    def __init__(self, save: Callable[[list[tuple[Reminder, Outcome]]], list[int]]) -> None:
        self._save = save
        self._waiting: list[tuple[Reminder, Outcome, asyncio.Future[int]]] = []
        self._saving = asyncio.Lock()

    async def record(self, reminder: Reminder, outcome: Outcome) -> int:
        """Apply `outcome` to the reminder as loaded and save it, with whatever else waits;
        the version it is at after (the store's own, when it changed meanwhile)."""
        mine: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((reminder, outcome, mine))
        async with self._saving:
            if not mine.done():
                group, self._waiting = self._waiting, []
                try:
                    versions = await asyncio.to_thread(self._save, [(r, o) for r, o, _ in group])
                except Exception as error:  # the store out of reach: every waiter learns it
                    for *_, waiter in group:
                        if not waiter.done():  # not cancelled with its task
                            waiter.set_exception(error)
                except BaseException:  # the worker stopping
                    for *_, waiter in group:
                        waiter.cancel()
                    raise
                else:
                    for (*_, waiter), version in zip(group, versions, strict=True):
                        if not waiter.done():
                            waiter.set_result(version)
        return await mine


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(
        self,
        reminders: Reminders,
        due: DueReminders,
        senders: Mapping[Channel, Sender],
        links: Links | None,
        *,
        batch_size: int = 50,
        lease_seconds: float = 120.0,
        poll_seconds: float = 1.0,
        in_flight: int = 1,
        worker: str | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.reminders = reminders
        self.due = due
        self.senders = dict(senders)
        self.links = links
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.in_flight = max(1, in_flight)
        self.worker = worker or f"reminders-{uuid4().hex[:12]}"
        self.now = now
        self.meta = Meta(self.worker, "system", self.worker, self.worker)
        # A place among `in_flight` is held until its outcome is recorded: at most that many
        # reminders are ever sent but not yet recorded, however the saves are grouped.
        self.recorded = GroupCommit(reminders.record_together)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("reminder dispatcher started", worker=self.worker)
        try:
            while not stop.is_set():
                handled = await self.dispatch_once(stop)
                if not handled:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await self.due.release(self.worker)
            for sender in self.senders.values():
                with contextlib.suppress(Exception):
                    await sender.close()

    async def dispatch_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and work through it; how many reminders it held."""
        now = self.now()
        count, oldest = await self.due.backlog(now)
        REMINDERS_DUE.set(count)
        REMINDERS_OLDEST_DUE.set(oldest)
        claimed = await self.due.claim(self.worker, self.batch_size, self.lease_seconds, now)
        if not claimed:
            return 0
        policy = await asyncio.to_thread(self.reminders.policy)
        zone = await asyncio.to_thread(self.reminders.zone)
        # Settled together at the end: a worker that dies first leaves them leased, and the
        # next one finds in the event store that they are done.
        settled: dict[UUID, int] = {}
        places = asyncio.Semaphore(self.in_flight)

        async def one(reminder_id: UUID) -> None:
            async with places:
                if stop is not None and stop.is_set():
                    return  # what is left is released on the way out
                settled[reminder_id] = await self._send(reminder_id, policy, zone, self.now())

        sending = [asyncio.create_task(one(reminder_id)) for reminder_id in claimed]
        try:
            await asyncio.gather(*sending)
        finally:
            # One failed (the store out of reach): the others stop where they are, and what
            # was recorded is settled; the rest stays leased until another worker takes it.
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            await self.due.settle_all(settled)
        return len(claimed)

    async def _send(self, reminder_id: UUID, policy: Policy, zone: ZoneInfo, now: datetime) -> int:
        """Sends the reminder if it is still due; the version the event store has it at (a
        reminder changed meanwhile keeps what the store says: `record_together`)."""
        reminder = await asyncio.to_thread(self.reminders.due, reminder_id, now)
        if reminder is None:
            return await asyncio.to_thread(self._version, reminder_id)
        contact = await self.due.contact(reminder.patient_id)
        consent = dict(contact.consents) if contact else {}
        usable = tuple(c for c in policy.channels if c in self.senders)
        choice = choose_channel(usable, contact)
        if isinstance(choice, Skip):
            version = await self.recorded.record(
                reminder, lambda r: r.skip(choice, consent, self.meta)
            )
            REMINDERS_SKIPPED.labels(choice.value).inc()
            return version
        assert contact is not None
        outgoing = self._message(reminder, policy, zone, contact, choice)
        try:
            provider_id = await self.senders[choice].send(outgoing)
        except SendFailed as error:
            attempt = reminder.attempts + 1
            reason, backoff = str(error), self.reminders.backoff
            version = await self.recorded.record(
                reminder,
                lambda r: r.record_failure(choice.value, reason, now, backoff, self.meta),
            )
            final = attempt >= backoff.attempts
            REMINDERS_FAILED.labels(choice.value, str(final).lower()).inc()
            log.warning(
                "reminder send failed",
                reminder_id=str(reminder_id),
                channel=choice.value,
                attempt=attempt,
                final=final,
                error=type(error.__cause__ or error).__name__,
            )
            return version
        sent_at = self.now()
        segments = None if choice is Channel.EMAIL else sms_segments(outgoing.text)
        version = await self.recorded.record(
            reminder,
            lambda r: r.record_sent(
                choice.value, provider_id, sent_at, consent, self.meta, segments
            ),
        )
        REMINDERS_SENT.labels(choice.value).inc()
        return version

    def _version(self, reminder_id: UUID) -> int:
        try:
            return self.reminders.load(reminder_id, Reminder).version
        except LookupError:
            return 0

    def _message(
        self, reminder: Reminder, policy: Policy, zone: ZoneInfo, contact: Contact, channel: Channel
    ) -> Outgoing:
        links = self.links.of(reminder, self.now()) if self.links else None
        rendered = render(
            reminder.kind,
            contact.language,
            clinic=policy.clinic_name,
            address=policy.clinic_address,
            zone=zone,
            start=reminder.appointment_start,
            text=reminder.text,
            confirm=links[0] if links else None,
            cancel=links[1] if links else None,
        )
        address = address_of(contact, channel)
        assert address is not None
        return Outgoing(
            to=address,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html if channel is Channel.EMAIL else None,
            idempotency_key=reminder.idempotency_key,
            language=rendered.language,
        )
