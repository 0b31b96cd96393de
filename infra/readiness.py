"""Which read models can answer now: a read model being rebuilt in the background answers
503 with Retry-After until it is whole, and `/readyz` names it meanwhile."""

from __future__ import annotations

import asyncio


class NotReady(RuntimeError):
    """The read model is being rebuilt from the event store; ask again shortly."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the {name} read model is being rebuilt from the event store")
        self.name = name


class ReadModelStates:
    def __init__(self) -> None:
        self._rebuilding: set[str] = set()
        self._whole: dict[str, asyncio.Event] = {}

    def _event(self, name: str) -> asyncio.Event:
        if name not in self._whole:
            self._whole[name] = asyncio.Event()
            self._whole[name].set()
        return self._whole[name]

    def rebuilding(self, name: str) -> None:
        self._rebuilding.add(name)
        self._event(name).clear()

    def ready(self, name: str) -> None:
        self._rebuilding.discard(name)
        self._event(name).set()

    async def wait_ready(self, name: str) -> None:
        """Returns once the read model is not being rebuilt."""
        await self._event(name).wait()

    def require(self, name: str) -> None:
        if name in self._rebuilding:
            raise NotReady(name)

    def not_ready(self) -> list[str]:
        return sorted(self._rebuilding)
