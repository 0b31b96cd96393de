"""A fault of the store is told apart from a fault of the message: the first is waited out,
only the second may go to the dead-letter queue."""

from __future__ import annotations

import asyncpg
import pymongo.errors
import pytest
from pydantic import BaseModel, ValidationError

from infra.faults import describe, is_store_fault


class _Shape(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _Shape.model_validate({"n": "not a number"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("refused"),
        TimeoutError(),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
        asyncpg.exceptions.PostgresIOError("could not read block 7"),
        asyncpg.exceptions.DataCorruptedError("invalid page in block 7"),
        asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction"),
        pymongo.errors.AutoReconnect("connection closed"),
        pymongo.errors.ServerSelectionTimeoutError("no server"),
        # The embedded server's SQLite file, truncated under it:
        pymongo.errors.OperationFailure(
            "database disk image is malformed",
            details={"ok": 0.0, "errmsg": "database disk image is malformed"},
        ),
        pymongo.errors.OperationFailure("Out of disk space", code=14031),
        pymongo.errors.BulkWriteError(
            {"writeErrors": [{"index": 0, "code": 8, "errmsg": "disk I/O error"}]}
        ),
    ],
    ids=type,
)
def test_a_fault_of_the_store_is_waited_out(error: BaseException) -> None:
    assert is_store_fault(error)


@pytest.mark.parametrize(
    "error",
    [
        _validation_error(),
        ValueError("not an envelope"),
        KeyError("a projection's bug: no such tooth"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        pymongo.errors.DuplicateKeyError("E11000 duplicate key", code=11000),
        pymongo.errors.OperationFailure("unknown operator: $foo", code=2),
    ],
    ids=type,
)
def test_a_fault_of_the_message_is_not(error: BaseException) -> None:
    assert not is_store_fault(error)


def test_a_fault_is_named_by_the_stores_own_words() -> None:
    error = pymongo.errors.OperationFailure(
        "x", details={"errmsg": "database disk image is malformed"}
    )
    assert describe(error) == "OperationFailure: database disk image is malformed"
    assert describe(asyncpg.exceptions.DiskFullError("no space")) == "DiskFullError"
