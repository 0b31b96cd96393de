"""Which read models can answer now: a read model being rebuilt in the background answers
503 with Retry-After until it is whole, and `/readyz` names it meanwhile.

Within one process `ReadModelStates` says so; across processes (`clinic up` runs the API
and the projectors apart) `RebuildMarks` does, as rows in PostgreSQL: the process that
rebuilds marks the read model before it starts and clears the mark once it is whole, and
the API follows the marks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from infra.db import OwnTables


class NotReady(RuntimeError):
    """The read model is being rebuilt from the event store; ask again shortly."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the {name} read model is being rebuilt from the event store")
        self.name = name


class ReadModelStates:
    """Read models this process rebuilds, and those it follows from `RebuildMarks` (another
    process rebuilds them); either kind answers 503 until whole."""

    def __init__(self) -> None:
        self._rebuilding: set[str] = set()
        self._followed: frozenset[str] = frozenset()
        self._whole: dict[str, asyncio.Event] = {}

    def _event(self, name: str) -> asyncio.Event:
        if name not in self._whole:
            self._whole[name] = asyncio.Event()
            self._whole[name].set()
        return self._whole[name]

    def rebuilding(self, name: str) -> None:
        self._rebuilding.add(name)
        self._event(name).clear()

    def ready(self, name: str) -> None:
        self._rebuilding.discard(name)
        self._event(name).set()

    async def wait_ready(self, name: str) -> None:
        """Returns once this process is not rebuilding the read model."""
        await self._event(name).wait()

    def require(self, name: str) -> None:
        if name in self._rebuilding or name in self._followed:
            raise NotReady(name)

    def not_ready(self) -> list[str]:
        return sorted(self._rebuilding | self._followed)

    def follow(self, marked: Iterable[str]) -> None:
        """Take the marks the processes keep in PostgreSQL: exactly these are rebuilding
        elsewhere (this process's own rebuilds stand whatever the marks say)."""
        self._followed = frozenset(marked)


class RebuildMarks(OwnTables):
    """Read models marked as rebuilding, shared by every process through PostgreSQL. A mark
    outlives a crash, so a read model whose rebuild died is rebuilt again, never served
    half-made."""

    DDL = (
        "CREATE TABLE IF NOT EXISTS read_model_rebuilds ("
        " name text PRIMARY KEY, marked_at timestamptz NOT NULL DEFAULT now())"
    )

    async def mark(self, names: Iterable[str]) -> None:
        await self.pool.executemany(
            "INSERT INTO read_model_rebuilds (name) VALUES ($1) ON CONFLICT DO NOTHING",
            [(name,) for name in names],
        )

    async def clear(self, name: str) -> None:
        await self.pool.execute("DELETE FROM read_model_rebuilds WHERE name = $1", name)

    async def marked(self) -> set[str]:
        rows = await self.pool.fetch("SELECT name FROM read_model_rebuilds")
        return {row["name"] for row in rows}
