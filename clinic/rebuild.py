"""Rebuilding read models while the rest of the platform serves: which ones need it (a new or
lost document store, or a rebuild that did not finish), and a rebuild whose readers, in
every process, get 503 with Retry-After until it is whole."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from clinic.platform import Platform
from clinic.supervisor import Part
from infra.logs import get_logger

log = get_logger("clinic.rebuild")


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


async def needing_rebuild(platform: Platform, names: Sequence[str]) -> list[str]:
    """Of these read models, the ones empty or marked: a mark outlives a rebuild that died,
    so a half-made read model is made again, never served."""
    marked = await platform.marks.marked()
    empty = set(await empty_read_models(platform))
    return [name for name in names if name in marked or name in empty]


async def rebuild(platform: Platform, name: str) -> int:
    """Rebuild one read model while everything else serves; its readers get 503 with
    Retry-After until it is whole. Returns the number of events read."""
    platform.states.rebuilding(name)
    await platform.marks.mark([name])
    try:
        count = await platform.projectors[name].rebuild()
        await platform.marks.clear(name)
        return count
    finally:
        platform.states.ready(name)


def rebuild_part(platform: Platform, name: str) -> Part:
    """A background rebuild: runs once while the rest serves, then waits to be stopped."""

    async def rebuild_once(stop: asyncio.Event) -> None:
        count = await rebuild(platform, name)
        log.info("rebuilt read model", projection=name, events=count)
        await stop.wait()

    return rebuild_once
