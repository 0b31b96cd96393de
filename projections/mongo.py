"""Mongo document store for projections: one document per aggregate, its version inside it.

A write only lands if the stored version is lower than the new one, so a
redelivered or stale batch never moves a document backwards (invariant 2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar
from uuid import UUID

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from projections.base import Document, Projection, Versioned

DUPLICATE_KEY = 11000


class MongoProjection(Projection):
    collection: ClassVar[str]
    indexes: ClassVar[tuple[str, ...]] = ()


class MongoStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]], projection: MongoProjection):
        self.database = database
        self.projection = projection
        self.documents = database[projection.collection]
        self.statuses = database["projection_status"]

    async def migrate(self) -> None:
        for field in self.projection.indexes:
            await self.documents.create_index(field)

    async def _load(self, ids: Sequence[UUID]) -> dict[UUID, Versioned]:
        cursor = self.documents.find({"_id": {"$in": [str(i) for i in ids]}})
        return {UUID(d.pop("_id")): Versioned(d.pop("version"), d) async for d in cursor}

    async def _write(self, changed: dict[UUID, Versioned]) -> None:
        if not changed:
            return
        requests = [
            ReplaceOne(
                {"_id": str(k), "version": {"$lt": v.version}},
                {"version": v.version, **v.document},
                upsert=True,
            )
            for k, v in changed.items()
        ]
        try:
            await self.documents.bulk_write(requests, ordered=False)
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

    async def apply(
        self,
        decide: Callable[[dict[UUID, Versioned]], Awaitable[dict[UUID, Versioned]]],
        ids: Sequence[UUID],
        positions: dict[str, int],
    ) -> None:
        changed = await decide(await self._load(ids))
        await self._write(changed)
        await self._advance(positions)

    async def replace_all(
        self, documents: dict[UUID, Versioned], positions: dict[str, int]
    ) -> None:
        await self.documents.delete_many({})
        await self.statuses.delete_many({"projection": self.projection.name})
        items = list(documents.items())
        for start in range(0, len(items), 1000):
            await self._write(dict(items[start : start + 1000]))
        await self._advance(positions)

    async def status(self) -> dict[str, int]:
        cursor = self.statuses.find({"projection": self.projection.name})
        return {d["context"]: int(d["position"]) async for d in cursor}

    async def version_of(self, aggregate_id: UUID) -> int:
        found = await self.documents.find_one({"_id": str(aggregate_id)}, {"version": 1})
        return int(found["version"]) if found else 0

    async def dump(self) -> dict[UUID, Versioned]:
        return await self._load([UUID(d["_id"]) async for d in self.documents.find({}, {"_id": 1})])

    async def find(self, aggregate_id: UUID) -> Document | None:
        return await self.documents.find_one({"_id": str(aggregate_id)})
