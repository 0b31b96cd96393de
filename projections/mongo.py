"""Mongo document store for projections: one document per aggregate, its version inside it.

Each batch loads its documents, folds only versions above the stored ones, and replaces
them by `_id`: one consumer per read model (single active consumer, held while a rebuild
swaps) makes that the only writer, so a redelivered batch is a no-op (invariant 2). (A
filter on the version too would guard a second writer, but makes the embedded server's
SQLite engine scan the collection on every write.) A rebuild fills a shadow collection
and renames it over the live one, so readers never see an empty or half-built read model.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class MongoProjection(Projection):
    collection: ClassVar[str]
    indexes: ClassVar[tuple[str, ...]] = ()

    async def derive(
        self, database: AsyncDatabase[dict[str, Any]], ids: Sequence[UUID] | None
    ) -> None:
        """Bring what is composed from several documents (a patient's chart, ADR 11) in step
        with the documents of `ids` (every id a batch named, applied or not, so a batch
        redelivered after a crash repairs it), or with all of them after a rebuild."""


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
        cursor = self.documents.find({"_id": {"$in": [str(i) for i in ids]}})
        return {UUID(d.pop("_id")): Versioned(d.pop("version"), d) async for d in cursor}

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
        query: dict[str, Any] = {"projection": self.projection.name}
        if ids is not None:
            query["_id"] = {"$in": [self._key(i) for i in ids]}
        return {
            UUID(d["aggregate_id"]): Stuck(d["context"], d["version"], d["event_type"], d["error"])
            async for d in self.parked.find(query)
        }

    async def _mark(self, stuck: dict[UUID, Stuck], freed: set[UUID]) -> None:
        if freed:
            await self.parked.delete_many({"_id": {"$in": [self._key(i) for i in freed]}})
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
        documents, positions, stuck = rebuilt.documents, rebuilt.positions, rebuilt.stuck
        """Fill a shadow collection, then rename it over the live one in one step."""
        shadow = self.database[f"{self.projection.collection}__rebuilding"]
        await shadow.drop()
        await self._write(documents, into=shadow)
        if documents:
            await self._rename(shadow.name, self.projection.collection)
        else:
            await self.documents.delete_many({})
        # Indexed after the swap: the embedded server's SQLite engine carries a shadow's
        # indexes into a rename badly, and a live collection's indexes stay valid anyway.
        await self._index(self.documents)
        await self.projection.derive(self.database, None)
        await self.statuses.delete_many({"projection": self.projection.name})
        await self.parked.delete_many({"projection": self.projection.name})
        await self._mark(stuck, set())
        await self._advance(positions)

    async def _rename(self, source: str, target: str) -> None:
        """MongoDB renames through the admin database; the embedded wire server (mongoeco)
        only through the database itself. Either way the target is replaced in one step."""
        try:
            await self.database[source].rename(target, dropTarget=True)
        except OperationFailure:
            name = self.database.name
            await self.database.command(
                {
                    "renameCollection": f"{name}.{source}",
                    "to": f"{name}.{target}",
                    "dropTarget": True,
                }
            )

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
