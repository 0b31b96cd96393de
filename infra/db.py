"""PostgreSQL connections: create the database when missing, and asyncpg pools."""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

import asyncpg

# PostgreSQL is out of reach, or dropped us mid-conversation: a restart, a failover, an
# administrator terminating backends (AdminShutdown is an "operator intervention", not a
# connection error), or a connection left half-way through a message. Whatever was asked
# may or may not have happened; the caller answers "try again", never "something broke".
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


async def ensure_database(dsn: str) -> bool:
    """Create the database named in `dsn` if it does not exist; True when created."""
    url = urlsplit(dsn)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    """Drop the database named in `dsn`, closing its other connections (test sessions)."""
    url = urlsplit(dsn)
    name = url.path.lstrip("/")
    conn = await asyncpg.connect(url._replace(path="/postgres").geturl())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """The value with what PostgreSQL text cannot hold (NUL, lone surrogates) replaced by
    U+FFFD. New input never holds them (the API and the domain refuse them); events stored
    before that rule still project and rebuild instead of freezing a read model."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value


def _jsonb_encode(value: Any) -> bytes:
    text = json.dumps(value)
    if "\\u0000" in text or "\\ud" in text:  # rare: then clean the value itself
        text = json.dumps(storable(value))
    return b"\x01" + text.encode()


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """jsonb as Python values, in the binary format so COPY works too."""
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=init_connection)
    assert pool is not None
    return pool


class OwnTables:
    """State kept in PostgreSQL tables of the keeper's own: `DDL` says what they are, and
    `migrate` creates them when missing (`clinic migrate`, and every process at start)."""

    DDL: ClassVar[str]

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def migrate(self) -> None:
        await self.pool.execute(self.DDL)
