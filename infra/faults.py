"""Faults of a store, told apart from faults of a message.

A store that is away, full, read-only or corrupt fails every message alike: the consumer
must stop and wait it out, never dead-letter what it was given (the messages are fine, and
would all be lost to the dead-letter queue in seconds). Only what is wrong with the message
itself (it does not parse, its event cannot be applied) is the message's fault.
"""

from __future__ import annotations

import re

import asyncpg
import pymongo.errors

from infra.db import UNAVAILABLE

# PostgreSQL: out of reach (UNAVAILABLE), out of resources (class 53: disk full, out of
# memory), an I/O error of the server's own (class 58), data or index corruption (class XX),
# a lock or serialisation conflict that a retry resolves.
_POSTGRES: tuple[type[BaseException], ...] = (
    *UNAVAILABLE,
    TimeoutError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.PostgresSystemError,
    asyncpg.exceptions.InternalServerError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
# MongoDB: the server's codes for a store, not a request, in trouble (shutting down,
# unreachable, out of disk), and the words a storage engine uses for its own failures
# (the embedded server's SQLite says "database disk image is malformed").
_MONGO_CODES = frozenset({6, 7, 89, 91, 9001, 11600, 11602, 14031})
_STORAGE_WORDS = re.compile(
    r"malformed|corrupt|disk|i/o error|no space|read-?only|database is locked|storage engine"
    r"|out of memory|not a database",
    re.IGNORECASE,
)


def is_store_fault(error: BaseException) -> bool:
    """Whether `error` is the store's fault (wait, retry, never dead-letter)."""
    if isinstance(error, (*_POSTGRES, pymongo.errors.ConnectionFailure)):
        return True
    if isinstance(error, pymongo.errors.OperationFailure):
        messages = [str((error.details or {}).get("errmsg", error))]
        details = error.details or {}
        for write_error in details.get("writeErrors", []) or []:
            messages.append(str(write_error.get("errmsg", "")))
        codes = {error.code, *(w.get("code") for w in details.get("writeErrors", []) or [])}
        return bool(codes & _MONGO_CODES) or any(_STORAGE_WORDS.search(m) for m in messages)
    return False


def describe(error: BaseException) -> str:
    """A short, data-free name for a store fault, for /readyz and the logs: the error's type
    and the store's own words (never a document, never a query's values)."""
    if isinstance(error, pymongo.errors.OperationFailure):
        words = str((error.details or {}).get("errmsg", "")) or type(error).__name__
        return f"{type(error).__name__}: {words[:200]}"
    return type(error).__name__
