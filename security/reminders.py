"""Single use of patients' confirm and cancel links: each use is recorded once, first wins."""

from __future__ import annotations

from infra.db import OwnTables


class LinkUses(OwnTables):
    DDL = """
        CREATE TABLE IF NOT EXISTS reminder_links_used (
            use_id text PRIMARY KEY,
            used_at timestamptz NOT NULL DEFAULT now()
        );
    """

    async def take(self, use_id: str) -> bool:
        """True for the first use of this link; False when it was used before."""
        taken = await self.pool.fetchval(
            "INSERT INTO reminder_links_used (use_id) VALUES ($1) "
            "ON CONFLICT (use_id) DO NOTHING RETURNING true",
            use_id,
        )
        return bool(taken)

    async def give_back(self, use_id: str) -> None:
        """The use did not happen (the store was down): the link may be used again."""
        await self.pool.execute("DELETE FROM reminder_links_used WHERE use_id = $1", use_id)
