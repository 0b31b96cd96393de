"""The one registry of what Sonrisa is made of: each bounded context's declaration, once.

The wiring (`clinic.platform`), the app's routes and permissions, `clinic migrate`,
`clinic projections`, the relay's queues, `clinic up`'s processes and `clinic demo-data`
are all derived from this tuple. A new context is its own modules and one line here; a new
read model is one entry in its context's declaration (ADR 13).
"""

from __future__ import annotations

from collections.abc import Sequence

from clinic.contexts import (
    identity,
    inventory,
    patients,
    reminders,
    scheduling,
    treatments,
    visits,
)
from clinic.declaration import Context
from infra.eventstore import contexts_of

CONTEXTS: tuple[Context, ...] = (
    patients.CONTEXT,
    identity.CONTEXT,
    scheduling.CONTEXT,
    treatments.CONTEXT,
    reminders.CONTEXT,
    inventory.CONTEXT,
    visits.CONTEXT,
)
READ_MODELS = tuple(p for c in CONTEXTS for p in c.read_models)


def check(contexts: Sequence[Context]) -> None:
    """Names are unique, and every read model reads contexts that exist."""
    names = [c.name for c in contexts]
    read_models = [p.name for c in contexts for p in c.read_models]
    workers = [w.name for c in contexts for w in c.workers]
    for what, found in (("contexts", names), ("read models", read_models), ("workers", workers)):
        if len(set(found)) != len(found):
            raise ValueError(f"two {what} share a name: {sorted(found)}")
    known = set(contexts_of(tuple(c.application for c in contexts if c.application)))
    for context in contexts:
        for projection in context.read_models:
            unknown = set(projection.contexts) - known
            if unknown:
                raise ValueError(f"{projection.name} reads unknown contexts {sorted(unknown)}")


check(CONTEXTS)
