"""A reminder worker keeps several sends in the mail server's hands at once (one SMTP
connection each), and still sends and records each reminder exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import Message
from uuid import UUID

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from clinic.platform import Platform
from commands.reminders import Reminders, SendReminder
from domain.reminders import Reminder
from projections.reminders import ReminderQueries
from tests.conftest import eventually
from tests.e2e.test_appointment_book import MADRID
from tests.integration.helpers import META
from tests.integration.reminder_helpers import (
    Mailbox,
    SmtpServer,
    dispatcher,
    register_remindable,
)
from tests.integration.test_reminder_worker import Clock, consents_known

IN_FLIGHT = 4


class GatedMailbox(Mailbox):
    """Holds each message until a second one is being delivered beside it (or 10 s pass):
    a worker that sends one at a time waits out the gate every time, and is seen to."""

    def __init__(self) -> None:
        super().__init__()
        self.delivering = 0
        self.most_at_once = 0
        self.company = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.delivering += 1
        self.most_at_once = max(self.most_at_once, self.delivering)
        if self.delivering >= 2:
            self.company.set()
        try:
            await asyncio.wait_for(self.company.wait(), timeout=10)
        except TimeoutError:
            pass
        finally:
            self.delivering -= 1
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def gated() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.mailbox = GatedMailbox()
    server.start()
    yield server
    server.stop()


async def test_a_worker_has_several_reminders_in_the_mail_servers_hands_at_once(
    platform: Platform, pipeline: None, gated: SmtpServer
) -> None:
    patient = await register_remindable(platform, 700)
    await consents_known(platform, patient, True)

    def schedule() -> list[UUID]:
        return [
            platform.application(Reminders)
            .send_now(SendReminder(patient_id=patient, text=f"Aviso {n}"), META)
            .id
            for n in range(8)
        ]

    ids = await asyncio.to_thread(schedule)

    async def listed() -> bool:
        count, _ = await platform.get(ReminderQueries).backlog(datetime.now(MADRID) + timedelta(1))
        return count >= 8

    await eventually(listed, within=30, what="the reminders in the due list")
    worker = dispatcher(
        platform, gated, Clock(datetime.now(MADRID) + timedelta(seconds=5)), in_flight=IN_FLIGHT
    )
    handled = 0
    while handled < 8:
        handled += await worker.dispatch_once()
    mailbox = gated.mailbox
    assert isinstance(mailbox, GatedMailbox)
    assert mailbox.most_at_once >= 2, "the worker sent one at a time"
    assert mailbox.most_at_once <= IN_FLIGHT
    sent: list[Message] = mailbox.messages
    assert len(sent) == 8
    assert len(set(mailbox.message_ids())) == 8

    def statuses() -> set[str]:
        found = [platform.application(Reminders).load(i, Reminder) for i in ids]
        return {r.status.value for r in found}

    assert await asyncio.to_thread(statuses) == {"sent"}
