"""A reminder worker SIGKILLed in the middle of a batch, then restarted, loses no reminder and
sends twice at most the ones it had in flight (each with the same Message-ID)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from clinic.platform import Platform
from commands.reminders import Reminders, SendReminder
from infra.settings import Settings
from projections.reminders import ReminderQueries
from tests.conftest import eventually
from tests.integration.helpers import META
from tests.integration.reminder_helpers import SmtpServer, register_remindable
from tests.integration.test_relay_crash import CLINIC, clinic_env

COUNT = 200
IN_FLIGHT = 4


@pytest.fixture
def slow_smtp() -> Iterator[SmtpServer]:
    """A mail server that takes 20 ms a message, so a batch is still going when the kill comes."""
    server = SmtpServer(delay=0.02).start()
    yield server
    server.stop()


async def start_worker(settings: Settings, smtp: SmtpServer) -> asyncio.subprocess.Process:
    env = clinic_env(
        settings,
        CLINIC_SMTP_PORT=str(smtp.port),
        CLINIC_SMTP_TLS="none",
        CLINIC_REMINDERS_LEASE_SECONDS="3",
        CLINIC_REMINDERS_POLL_SECONDS="0.1",
        CLINIC_REMINDERS_BATCH_SIZE="50",
        CLINIC_REMINDERS_IN_FLIGHT=str(IN_FLIGHT),
    )
    return await asyncio.create_subprocess_exec(
        CLINIC,
        "reminders",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_at_most_its_sends_in_flight(
    platform: Platform, settings: Settings, pipeline: None, slow_smtp: SmtpServer
) -> None:
    patients = [await register_remindable(platform, 200 + n) for n in range(4)]

    async def contacts_known() -> bool:
        return all([await platform.get(ReminderQueries).contact(p) is not None for p in patients])

    await eventually(contacts_known, what="the patients' consents")

    def schedule() -> None:
        for n in range(COUNT):
            command = SendReminder(patient_id=patients[n % 4], text=f"Mensaje {n}")
            platform.application(Reminders).send_now(command, META)

    await asyncio.to_thread(schedule)

    async def all_due() -> bool:
        count, _ = await platform.get(ReminderQueries).backlog(datetime.now(UTC) + timedelta(1))
        return count == COUNT

    await eventually(all_due, within=60, what="every reminder in the due list")

    worker = await start_worker(settings, slow_smtp)
    try:
        await eventually(
            lambda: _at_least(slow_smtp, 40), within=60, what="the worker sending its batches"
        )
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
    at_kill = len(slow_smtp.mailbox.messages)
    assert at_kill < COUNT, "the kill came after everything was sent; the test proves nothing"

    restarted = await start_worker(settings, slow_smtp)
    try:

        async def everything_sent() -> bool:
            count, _ = await platform.get(ReminderQueries).backlog(datetime.now(UTC) + timedelta(1))
            return count == 0 and len(set(slow_smtp.mailbox.message_ids())) == COUNT

        await eventually(everything_sent, within=120, what="every reminder sent after restart")
    finally:
        restarted.send_signal(signal.SIGTERM)
        await asyncio.wait_for(restarted.wait(), timeout=30)
    copies = Counter(slow_smtp.mailbox.message_ids())
    assert len(copies) == COUNT, "a reminder was lost"
    repeated = sum(n - 1 for n in copies.values())
    assert repeated <= IN_FLIGHT, f"{repeated} reminders were sent twice"


async def _at_least(server: SmtpServer, n: int) -> bool:
    return len(server.mailbox.messages) >= n
