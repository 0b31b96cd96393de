"""Which read models can answer now: a read model being rebuilt in the background answers
503 with Retry-After until it is whole, and `/readyz` names it meanwhile."""

from __future__ import annotations


class NotReady(RuntimeError):
    """The read model is being rebuilt from the event store; ask again shortly."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the {name} read model is being rebuilt from the event store")
        self.name = name


class ReadModelStates:
    def __init__(self) -> None:
        self._rebuilding: set[str] = set()

    def rebuilding(self, name: str) -> None:
        self._rebuilding.add(name)

    def ready(self, name: str) -> None:
        self._rebuilding.discard(name)

    def require(self, name: str) -> None:
        if name in self._rebuilding:
            raise NotReady(name)

    def not_ready(self) -> list[str]:
        return sorted(self._rebuilding)
