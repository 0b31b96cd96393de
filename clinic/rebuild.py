"""Rebuilding read models while the rest of the platform serves: which ones need it (a new or
lost document store), and a rebuild whose readers get 503 with Retry-After until it is whole."""

from __future__ import annotations

from clinic.platform import Platform


async def empty_read_models(platform: Platform) -> list[str]:
    """Read models that hold nothing although the event store has events for them: a new
    or lost document store. They need a rebuild before they can answer."""
    heads = await platform.reader.heads()
    return [
        name
        for name, projector in platform.projectors.items()
        if any(heads[c] for c in projector.projection.contexts)
        and not await projector.store.status()
    ]


async def rebuild(platform: Platform, name: str) -> int:
    """Rebuild one read model while everything else serves; its readers get 503 with
    Retry-After until it is whole. Returns the number of events read."""
    platform.states.rebuilding(name)
    try:
        return await platform.projectors[name].rebuild()
    finally:
        platform.states.ready(name)
