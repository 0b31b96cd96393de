"""Read model of the `identity` context: the staff directory admins manage accounts from."""

from __future__ import annotations

from typing import Any

import asyncpg

from infra.eventstore import Envelope
from projections.base import Document
from projections.postgres import PostgresProjection


class StaffDirectory(PostgresProjection):
    """Who has an account, with which roles, and whether it is active."""

    name = "staff_directory"
    contexts = ("identity",)
    aggregate_types = frozenset({"StaffMember"})
    table = "staff_directory"
    columns_ddl = "email text NOT NULL, active boolean NOT NULL, sort_key text NOT NULL"
    indexes_ddl = ("CREATE INDEX IF NOT EXISTS staff_directory_sort ON staff_directory (sort_key)",)
    column_names = ("email", "active", "sort_key")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload = envelope.payload
        match envelope.event_type:
            case "StaffRegistered":
                doc = {
                    "staff_id": str(envelope.aggregate_id),
                    "name": payload["name"],
                    "email": payload["email"],
                    "roles": sorted(payload["roles"]),
                    "active": True,
                    "two_factor": False,
                    "registered_at": envelope.timestamp.isoformat(),
                }
            case "RoleGranted":
                doc["roles"] = sorted({*doc.get("roles", []), payload["role"]})
            case "RoleRevoked":
                doc["roles"] = sorted(set(doc.get("roles", [])) - {payload["role"]})
            case "TotpEnabled":
                doc["two_factor"] = True
            case "StaffDeactivated":
                doc["active"] = False
        doc["updated_at"] = envelope.timestamp.isoformat()
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document["email"], document["active"], document["name"].casefold())


class StaffQueries:
    """Reads of the staff directory."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def staff_list(self) -> list[Document]:
        """Every account, by name."""
        rows = await self.pool.fetch(
            "SELECT document FROM staff_directory ORDER BY sort_key, aggregate_id"
        )
        return [r["document"] for r in rows]
