"""A TOTP code signs in once (OWASP ASVS 2.8.4): each account remembers the last time step it
signed in with, and a code of that step or an earlier one is refused.

One row per account, moved forward by one conditional upsert: two sign-ins racing with the
same code cannot both win, in one API process or several.
"""

from __future__ import annotations

from uuid import UUID

from infra.db import OwnTables


class TotpSteps(OwnTables):
    DDL = """
        CREATE TABLE IF NOT EXISTS totp_last_step (
            staff_id uuid PRIMARY KEY,
            step bigint NOT NULL,
            used_at timestamptz NOT NULL DEFAULT now()
        );
    """

    async def take(self, staff_id: UUID, step: int) -> bool:
        """True when `step` is later than any this account signed in with (it is now the
        last); False for a code already used, or one older than the last used."""
        taken = await self.pool.fetchval(
            "INSERT INTO totp_last_step (staff_id, step) VALUES ($1, $2) "
            "ON CONFLICT (staff_id) DO UPDATE SET step = EXCLUDED.step, used_at = now() "
            "WHERE totp_last_step.step < EXCLUDED.step RETURNING true",
            staff_id,
            step,
        )
        return bool(taken)
