"""PostgreSQL document store for projections: one row per aggregate, version in the same row."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from infra.db import storable
from projections.base import Decide, Document, Projection, Rebuilt, Stuck, Versioned

STATUS_DDL = """
CREATE TABLE IF NOT EXISTS projection_status (
    projection text NOT NULL,
    context text NOT NULL,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, context)
);
CREATE TABLE IF NOT EXISTS projection_stuck (
    projection text NOT NULL,
    aggregate_id uuid NOT NULL,
    context text NOT NULL,
    version bigint NOT NULL,
    event_type text NOT NULL,
    error text NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, aggregate_id)
);
"""


class PostgresProjection(Projection):
    """A projection kept in a PostgreSQL table with typed columns for querying."""

    table: ClassVar[str]
    columns_ddl: ClassVar[str]
    indexes_ddl: ClassVar[tuple[str, ...]] = ()
    column_names: ClassVar[tuple[str, ...]]

    @abstractmethod
    def columns(self, document: Document) -> tuple[Any, ...]:
        """Values of `column_names`, derived from the document."""

    def check(self, document: Document) -> None:
        self.columns(document)

    def ddl(self) -> list[str]:
        return [
            STATUS_DDL,
            f"CREATE TABLE IF NOT EXISTS {self.table} (aggregate_id uuid PRIMARY KEY, "
            f"version bigint NOT NULL, document jsonb NOT NULL, {self.columns_ddl})",
            *self.indexes_ddl,
        ]


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool, projection: PostgresProjection) -> None:
        self.pool = pool
        self.projection = projection
        names = ("aggregate_id", "version", "document", *projection.column_names)
        placeholders = ", ".join(f"${i}" for i in range(1, len(names) + 1))
        updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names[1:])
        self._names = names
        # Table and column names come from code, never from input.
        self._upsert = (
            f"INSERT INTO {projection.table} ({', '.join(names)}) VALUES ({placeholders}) "  # noqa: S608
            f"ON CONFLICT (aggregate_id) DO UPDATE SET {updates} "
            f"WHERE {projection.table}.version < EXCLUDED.version"
        )

    async def migrate(self) -> None:
        async with self.pool.acquire() as conn:
            for statement in self.projection.ddl():
                await conn.execute(statement)

    def _record(self, aggregate_id: UUID, item: Versioned) -> tuple[Any, ...]:
        # Text columns cannot hold what old events may: NUL becomes U+FFFD (jsonb likewise).
        columns = storable(self.projection.columns(item.document))
        return (aggregate_id, item.version, item.document, *columns)

    async def apply(self, decide: Decide, ids: Sequence[UUID], positions: dict[str, int]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT aggregate_id, version, document FROM {self.projection.table} "  # noqa: S608
                "WHERE aggregate_id = ANY($1::uuid[]) ORDER BY aggregate_id FOR UPDATE",
                list(ids),
            )
            current = {r["aggregate_id"]: Versioned(r["version"], r["document"]) for r in rows}
            stuck = await self._stuck(conn, ids)
            outcome = await decide(current, stuck)
            if outcome.changed:
                await conn.executemany(
                    self._upsert, [self._record(k, v) for k, v in outcome.changed.items()]
                )
            await self._mark(conn, outcome.stuck, outcome.freed)
            await self._advance(conn, positions)

    async def _stuck(
        self, conn: PoolConnectionProxy[asyncpg.Record], ids: Sequence[UUID] | None
    ) -> dict[UUID, Stuck]:
        rows = await conn.fetch(
            "SELECT aggregate_id, context, version, event_type, error FROM projection_stuck "
            "WHERE projection = $1 AND ($2::uuid[] IS NULL OR aggregate_id = ANY($2::uuid[]))",
            self.projection.name,
            None if ids is None else list(ids),
        )
        return {
            r["aggregate_id"]: Stuck(r["context"], r["version"], r["event_type"], r["error"])
            for r in rows
        }

    async def _mark(
        self,
        conn: PoolConnectionProxy[asyncpg.Record],
        stuck: dict[UUID, Stuck],
        freed: set[UUID],
    ) -> None:
        if freed:
            await conn.execute(
                "DELETE FROM projection_stuck WHERE projection = $1 AND aggregate_id = ANY($2)",
                self.projection.name,
                list(freed),
            )
        if stuck:
            await conn.executemany(
                "INSERT INTO projection_stuck "
                "(projection, aggregate_id, context, version, event_type, error) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (projection, aggregate_id) DO UPDATE "
                "SET version = EXCLUDED.version, event_type = EXCLUDED.event_type, "
                "error = EXCLUDED.error",
                [
                    (
                        self.projection.name,
                        k,
                        *storable((v.context, v.version, v.event_type, v.error)),
                    )
                    for k, v in stuck.items()
                ],
            )

    async def _advance(
        self, conn: PoolConnectionProxy[asyncpg.Record], positions: dict[str, int]
    ) -> None:
        if positions:
            await conn.executemany(
                "INSERT INTO projection_status (projection, context, position) "
                "VALUES ($1, $2, $3) ON CONFLICT (projection, context) DO UPDATE SET "
                "position = greatest(projection_status.position, EXCLUDED.position), "
                "updated_at = now()",
                [(self.projection.name, c, p) for c, p in positions.items()],
            )

    async def replace_all(self, rebuilt: Rebuilt) -> None:
        documents, positions, stuck = rebuilt.documents, rebuilt.positions, rebuilt.stuck
        table = self.projection.table
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            await conn.execute(f"TRUNCATE {table}")
            for bookkeeping in ("projection_status", "projection_stuck"):
                await conn.execute(
                    f"DELETE FROM {bookkeeping} WHERE projection = $1",  # noqa: S608
                    self.projection.name,
                )
            await self._mark(conn, stuck, set())
            await conn.copy_records_to_table(
                table,
                records=[self._record(k, v) for k, v in documents.items()],
                columns=list(self._names),
            )
            await self._advance(conn, positions)

    async def status(self) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT context, position FROM projection_status WHERE projection = $1",
            self.projection.name,
        )
        return {r["context"]: r["position"] for r in rows}

    async def stuck(self) -> dict[UUID, Stuck]:
        async with self.pool.acquire() as conn:
            return await self._stuck(conn, None)

    async def get(self, aggregate_id: UUID) -> Versioned | None:
        row = await self.pool.fetchrow(
            f"SELECT version, document FROM {self.projection.table} "  # noqa: S608
            "WHERE aggregate_id = $1",
            aggregate_id,
        )
        return Versioned(row["version"], row["document"]) if row else None

    async def version_of(self, aggregate_id: UUID) -> int:
        value = await self.pool.fetchval(
            f"SELECT version FROM {self.projection.table} WHERE aggregate_id = $1",  # noqa: S608
            aggregate_id,
        )
        return int(value or 0)

    async def dump(self) -> dict[UUID, Versioned]:
        rows = await self.pool.fetch(
            f"SELECT aggregate_id, version, document FROM {self.projection.table}"  # noqa: S608
        )
        return {r["aggregate_id"]: Versioned(r["version"], r["document"]) for r in rows}
