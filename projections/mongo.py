"""Mongo document store for projections: one document per aggregate, its version inside it.

Each batch loads its documents, folds only versions above the stored ones, and replaces
them by `_id`: one consumer per read model (single active consumer, held while a rebuild
swaps) makes that the only writer, so a redelivered batch is a no-op (invariant 2). (A
filter on the version too would guard a second writer, but makes the embedded server's
SQLite engine scan the collection on every write.) A rebuild fills a shadow collection
and renames it over the live one, so readers never see an empty or half-built read model;
it writes the shadow chunk by chunk and keeps its progress in `projection_rebuilds`, so a
restart resumes it. No query grows with the read model: a list of ids is sent in slices of
IN_SLICE (the embedded server turns `$in` into a nested expression SQLite refuses past
about 500 ids), and nothing is deleted by "every id but these".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from infra.db import storable
from projections.base import Decide, Document, Projection, Rebuilt, Stuck, Versioned

DUPLICATE_KEY = 11000
WRITE_SLICE = 100
IN_SLICE = 200  # ids per `$in`
REBUILDS = "projection_rebuilds"  # one document per unfinished rebuild: how far it got
SHADOW = "{}__rebuilding"


def _stuck_of(saved: dict[str, Any]) -> dict[UUID, Stuck]:
    return {UUID(k): Stuck(**v) for k, v in saved["stuck"].items()}


def in_slices(values: Sequence[str]) -> Iterator[list[str]]:
    """`values` in slices small enough for one `$in` each."""
    for start in range(0, len(values), IN_SLICE):
        yield list(values[start : start + IN_SLICE])


async def rename_over(database: AsyncDatabase[dict[str, Any]], source: str, target: str) -> None:
    """Rename `source` to `target`, replacing it in one step. MongoDB renames through the
    admin database; the embedded wire server (mongoeco) only through the database itself."""
    try:
        await database[source].rename(target, dropTarget=True)
    except OperationFailure:
        name = database.name
        await database.command(
            {"renameCollection": f"{name}.{source}", "to": f"{name}.{target}", "dropTarget": True}
        )


async def swap_in(database: AsyncDatabase[dict[str, Any]], shadow: str, live: str) -> None:
    """The shadow becomes the live collection; no shadow (nothing was written) empties it."""
    if shadow in await database.list_collection_names():
        await rename_over(database, shadow, live)
    else:
        await database[live].delete_many({})


class MongoProjection(Projection):
    collection: ClassVar[str]
    indexes: ClassVar[tuple[str, ...]] = ()

    async def derive(self, database: AsyncDatabase[dict[str, Any]], ids: Sequence[UUID]) -> None:
        """Bring what is composed from several documents (a patient's chart, ADR 11) in step
        with the documents of `ids` (every id a batch named, applied or not, so a batch
        redelivered after a crash repairs it)."""

    async def derive_all(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        """Compose afresh, after a rebuild, everything `derive` keeps: into shadows swapped
        in at the end, never by deleting "every id but these"."""


class MongoStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], projection: MongoProjection):
        self.database = database
        self.projection = projection
        self.documents = database[projection.collection]
        self.statuses = database["projection_status"]
        self.parked = database["projection_stuck"]

    async def migrate(self) -> None:
        await self._index(self.documents)
        await self.parked.create_index("projection")

    async def _index(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        for field in self.projection.indexes:
            await collection.create_index(field)

    async def _load(self, ids: Sequence[UUID]) -> dict[UUID, Versioned]:
        loaded: dict[UUID, Versioned] = {}
        for part in in_slices([str(i) for i in ids]):
            async for d in self.documents.find({"_id": {"$in": part}}):
                loaded[UUID(d.pop("_id"))] = Versioned(d.pop("version"), d)
        return loaded

    async def _write(
        self,
        changed: dict[UUID, Versioned],
        into: AsyncCollection[dict[str, Any]] | None = None,
    ) -> None:
        if not changed:
            return
        # Upserts by _id even into an empty shadow: the embedded server checks a plain
        # insert's _id against every stored document, an upsert's through its index.
        requests = [
            ReplaceOne({"_id": str(k)}, {"version": v.version, **storable(v.document)}, upsert=True)
            for k, v in changed.items()
        ]
        target = into if into is not None else self.documents
        try:
            # In slices: the embedded server's writes grow faster than linearly with a batch.
            for start in range(0, len(requests), WRITE_SLICE):
                await target.bulk_write(requests[start : start + WRITE_SLICE], ordered=False)
        except BulkWriteError as error:
            # A duplicate key means the stored document is already at this version or later.
            others = [e for e in error.details.get("writeErrors", []) if e["code"] != DUPLICATE_KEY]
            if others:
                raise

    async def _advance(self, positions: dict[str, int]) -> None:
        if positions:
            await self.statuses.bulk_write(
                [
                    UpdateOne(
                        {"_id": f"{self.projection.name}:{c}"},
                        {
                            "$max": {"position": p},
                            "$set": {"projection": self.projection.name, "context": c},
                        },
                        upsert=True,
                    )
                    for c, p in positions.items()
                ]
            )

    async def apply(self, decide: Decide, ids: Sequence[UUID], positions: dict[str, int]) -> None:
        outcome = await decide(await self._load(ids), await self._stuck(ids))
        await self._write(outcome.changed)
        await self._mark(outcome.stuck, outcome.freed)
        await self.projection.derive(self.database, ids)
        await self._advance(positions)

    def _key(self, aggregate_id: UUID) -> str:
        return f"{self.projection.name}:{aggregate_id}"

    async def _stuck(self, ids: Sequence[UUID] | None) -> dict[UUID, Stuck]:
        queries: list[dict[str, Any]] = [{"projection": self.projection.name}]
        if ids is not None:
            queries = [
                {"projection": self.projection.name, "_id": {"$in": part}}
                for part in in_slices([self._key(i) for i in ids])
            ]
        found: dict[UUID, Stuck] = {}
        for query in queries:
            async for d in self.parked.find(query):
                found[UUID(d["aggregate_id"])] = Stuck(
                    d["context"], d["version"], d["event_type"], d["error"]
                )
        return found

    async def _mark(self, stuck: dict[UUID, Stuck], freed: set[UUID]) -> None:
        for part in in_slices([self._key(i) for i in freed]):
            await self.parked.delete_many({"_id": {"$in": part}})
        for aggregate_id, mark in stuck.items():
            await self.parked.replace_one(
                {"_id": self._key(aggregate_id)},
                {
                    "projection": self.projection.name,
                    "aggregate_id": str(aggregate_id),
                    "context": mark.context,
                    "version": mark.version,
                    "event_type": mark.event_type,
                    "error": storable(mark.error),
                },
                upsert=True,
            )

    async def stuck(self) -> dict[UUID, Stuck]:
        return await self._stuck(None)

    async def replace_all(self, rebuilt: Rebuilt) -> None:
        """Fill a shadow collection, then rename it over the live one in one step."""
        await self._fresh_shadow("")
        await self.rebuild_piece(rebuilt.documents, rebuilt.positions, rebuilt.stuck)
        await self.rebuild_finished(rebuilt)

    @property
    def _shadow(self) -> AsyncCollection[dict[str, Any]]:
        return self.database[SHADOW.format(self.projection.collection)]

    async def _fresh_shadow(self, fingerprint: str) -> None:
        await self._shadow.drop()
        await self.database[REBUILDS].replace_one(
            {"_id": self.projection.name},
            {
                "fingerprint": fingerprint,
                "started_at": datetime.now(UTC),
                "positions": {},
                "stuck": {},
                "swapped": False,
            },
            upsert=True,
        )

    async def rebuild_resumed(self, fingerprint: str) -> Rebuilt | None:
        saved = await self.database[REBUILDS].find_one({"_id": self.projection.name})
        if saved is None or saved.get("fingerprint") != fingerprint:
            await self._fresh_shadow(fingerprint)
            return None
        if saved.get("swapped"):  # stopped after the swap: only the last steps are left
            rebuilt = Rebuilt(positions=dict(saved["positions"]), stuck=_stuck_of(saved))
            await self.rebuild_finished(rebuilt)
            rebuilt.finished = True
            return rebuilt
        documents = {
            UUID(d.pop("_id")): Versioned(d.pop("version"), d) async for d in self._shadow.find({})
        }
        return Rebuilt(documents, dict(saved["positions"]), _stuck_of(saved))

    async def rebuild_piece(
        self, changed: dict[UUID, Versioned], positions: dict[str, int], stuck: dict[UUID, Stuck]
    ) -> None:
        await self._write(changed, into=self._shadow)
        await self.database[REBUILDS].update_one(
            {"_id": self.projection.name},
            {
                "$set": {
                    "positions": positions,
                    "stuck": {str(k): storable(asdict(v)) for k, v in stuck.items()},
                }
            },
        )

    async def rebuild_finished(self, rebuilt: Rebuilt) -> None:
        progress = self.database[REBUILDS]
        saved = await progress.find_one({"_id": self.projection.name}) or {}
        if not saved.get("swapped"):
            await swap_in(self.database, self._shadow.name, self.projection.collection)
            await progress.update_one({"_id": self.projection.name}, {"$set": {"swapped": True}})
        # Indexed after the swap: the embedded server's SQLite engine carries a shadow's
        # indexes into a rename badly, and a live collection's indexes stay valid anyway.
        await self._index(self.documents)
        await self.projection.derive_all(self.database)
        await self.statuses.delete_many({"projection": self.projection.name})
        await self.parked.delete_many({"projection": self.projection.name})
        await self._mark(rebuilt.stuck, set())
        await self._advance(rebuilt.positions)
        await progress.delete_one({"_id": self.projection.name})

    async def status(self) -> dict[str, int]:
        cursor = self.statuses.find({"projection": self.projection.name})
        return {d["context"]: int(d["position"]) async for d in cursor}

    async def version_of(self, aggregate_id: UUID) -> int:
        found = await self.documents.find_one({"_id": str(aggregate_id)}, {"version": 1})
        return int(found["version"]) if found else 0

    async def dump(self) -> dict[UUID, Versioned]:
        return {
            UUID(d.pop("_id")): Versioned(d.pop("version"), d)
            async for d in self.documents.find({})
        }

    async def find(self, aggregate_id: UUID) -> Document | None:
        return await self.documents.find_one({"_id": str(aggregate_id)})
