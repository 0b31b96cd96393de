"""PostgreSQL connections: create the database when missing, and asyncpg pools."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from projections.postgres import init_connection


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


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=init_connection)
    assert pool is not None
    return pool
