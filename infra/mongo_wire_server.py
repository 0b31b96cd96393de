"""A MongoDB wire-protocol server (mongoeco), for one machine and for tests.

Runs under its own Python 3.13 venv (`.venv-mongo`), so it imports nothing from
Sonrisa. With `--data FILE` it keeps its documents in that SQLite file, so a restart
resumes where it stopped; without, it keeps them in memory. Prints `listening <port>`
once it accepts connections.
"""

import argparse
import asyncio
import fcntl
import os
import signal
from pathlib import Path
from typing import Any

from mongoeco.compat import MONGODB_DIALECT_70
from mongoeco.core.identity import document_matches_root_id_lookup
from mongoeco.core.query_plan import EqualsCondition
from mongoeco.engines._sqlite_connection import sqlite_read_scope
from mongoeco.engines.memory import MemoryEngine
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer


async def orphaned(parent: int) -> None:
    """Returns once the process that started us is gone (it was killed, say): a server
    nobody supervises must not hold the port and the data file."""
    while os.getppid() == parent:  # noqa: ASYNC110 - no event tells us; we look now and then
        await asyncio.sleep(0.5)


async def own(data: Path, within: float = 30.0) -> int:
    """An exclusive lock on the data file's lock file, waiting for a server that is on its
    way out (an orphan notices its parent is gone within half a second): two servers must
    never write one SQLite file."""
    data.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(f"{data}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if loop.time() > deadline:
                raise SystemExit(f"another server keeps {data}; not starting") from None
            await asyncio.sleep(0.1)
        else:
            return handle


class SonrisaSQLiteEngine(SQLiteEngine):  # type: ignore[misc]  # mongoeco lives in .venv-mongo
    """mongoeco's SQLite engine, with two costs of every write by `_id` taken out. Each one
    read every document of the collection, so a read model of 2,000 documents took its
    upserts at ~60/s, and a rebuild under live writes never caught up:
    - a lookup by `_id` that finds nothing (the upsert of a new document) was run again as a
      general query, which scans the collection;
    - before that query, it asked whether any stored `_id` is an array or a tagged value
      (decimal, bytes...), and each write forgets the answer.
    Sonrisa's `_id`s are always strings: one lookup of the storage key answers."""

    def _select_first_document_for_plan(
        self,
        db_name: str,
        coll_name: str,
        plan: Any,
        *,
        hint: Any = None,
        context: Any = None,
    ) -> tuple[str, Any] | None:
        if not (
            isinstance(plan, EqualsCondition)
            and plan.field == "_id"
            and isinstance(plan.value, str)
            and hint is None
        ):
            found: tuple[str, Any] | None = super()._select_first_document_for_plan(
                db_name, coll_name, plan, hint=hint, context=context
            )
            return found
        conn = self._require_connection(context)
        with self._bind_connection(conn), sqlite_read_scope(conn):
            row = conn.execute(
                "SELECT storage_key, document FROM documents "
                "WHERE db_name = ? AND coll_name = ? AND storage_key = ?",
                (db_name, coll_name, self._storage_key(plan.value)),
            ).fetchone()
        if row is None:
            return None
        document = self._deserialize_document(row[1])
        if not document_matches_root_id_lookup(document, plan.value, dialect=MONGODB_DIALECT_70):
            return None
        return row[0], document

    def _field_contains_tagged_value_type_in_collection(
        self, db_name: str, coll_name: str, field: str, value_type: str
    ) -> bool:
        if field == "_id":
            return False
        return bool(
            super()._field_contains_tagged_value_type_in_collection(
                db_name, coll_name, field, value_type
            )
        )

    def _field_is_top_level_array_in_collection(
        self, db_name: str, coll_name: str, field: str
    ) -> bool:
        if field == "_id":  # an _id is never an array
            return False
        return bool(super()._field_is_top_level_array_in_collection(db_name, coll_name, field))


async def serve(host: str, port: int, data: Path | None) -> None:
    if data is not None:
        await own(data)
    engine = SonrisaSQLiteEngine(str(data)) if data is not None else MemoryEngine()
    server = AsyncMongoEcoProxyServer(engine=engine, host=host, port=port)
    address = await server.start()
    print(f"listening {address.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watch = asyncio.ensure_future(orphaned(os.getppid()))
    watch.add_done_callback(lambda _: stop.set())
    await stop.wait()
    watch.cancel()
    await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="SQLite file; memory if unset")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.data))
