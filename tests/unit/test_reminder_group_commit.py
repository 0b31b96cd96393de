"""Sends that finish while the worker is saving are recorded together in its next save: one
commit for a group of sends, each waiter told its own version, and every waiter told when
the save fails."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from bus.reminders.dispatcher import GroupCommit
from commands.reminders import Outcome
from domain.reminders import Reminder
from domain.shared import Meta

META = Meta("reminders-worker", "system", "corr", "event")
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def reminder(n: int) -> Reminder:
    return Reminder.message(uuid4(), uuid4(), f"Aviso {n}", NOW, META)


def sent(r: Reminder) -> None:
    r.record_sent("email", "<m@x>", NOW, {"email": True}, META)


class Store:
    """Saves what it is handed (as the event store would) and remembers each group; the
    first save waits until the test lets it go."""

    def __init__(self) -> None:
        self.groups: list[list[Reminder]] = []
        self.first_started = threading.Event()
        self.let_go = threading.Event()
        self.fail = False

    def save(self, decisions: list[tuple[Reminder, Outcome]]) -> list[int]:
        if not self.groups:
            self.first_started.set()
            self.let_go.wait(timeout=10)
        self.groups.append([r for r, _ in decisions])
        if self.fail:
            raise ConnectionError("the event store is out of reach")
        for r, outcome in decisions:
            outcome(r)
        return [r.version for r, _ in decisions]


async def test_sends_that_finish_during_a_save_are_recorded_together_in_the_next() -> None:
    store = Store()
    recorded = GroupCommit(store.save)
    first = asyncio.create_task(recorded.record(reminder(0), sent))
    await asyncio.to_thread(store.first_started.wait, 10)
    later = [reminder(n) for n in range(1, 4)]
    waiting = [asyncio.create_task(recorded.record(r, sent)) for r in later]
    await asyncio.sleep(0.05)  # all three are waiting behind the first save
    store.let_go.set()

    versions = await asyncio.gather(first, *waiting)

    assert [len(g) for g in store.groups] == [1, 3]
    assert store.groups[1] == later
    assert versions == [2, 2, 2, 2]


async def test_a_failed_save_is_told_to_every_send_in_its_group() -> None:
    store = Store()
    store.let_go.set()
    store.fail = True
    recorded = GroupCommit(store.save)

    outcomes = await asyncio.gather(
        *(recorded.record(reminder(n), sent) for n in range(3)), return_exceptions=True
    )

    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert sum(len(g) for g in store.groups) == 3
    with pytest.raises(ConnectionError):
        await recorded.record(reminder(9), sent)
