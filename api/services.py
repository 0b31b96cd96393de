"""What the HTTP layer is given to work with: the command side, named queries and sign-in.

Routers never see a pool or a client: they send commands to Applications and ask query
objects for read models, each found by its type (`services.get(Treatments)`). The entry
layer builds one `Services` from the registry, so nothing here names a context.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from infra.settings import Settings
from security.access_log import AccessLog
from security.idempotency import IdempotencyKeys
from security.sessions import Tokens
from security.throttle import LoginThrottle

if TYPE_CHECKING:  # the permissions module asks for the services at request time
    from api.permissions import PermissionTable

Readiness = Callable[[], Awaitable[dict[str, str]]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    tokens: Tokens
    throttle: LoginThrottle
    access_log: AccessLog
    idempotency: IdempotencyKeys
    readiness: Readiness
    permissions: PermissionTable
    provided: tuple[object, ...] = ()  # each context's Application and query objects
    _by_type: dict[type, object] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        for part in self.provided:
            if type(part) in self._by_type:
                raise ValueError(f"two services of type {type(part).__name__}")
            self._by_type[type(part)] = part

    def get(self, kind: type[T]) -> T:
        """The one service of this type; a `LookupError` names the ones there are."""
        found = self._by_type.get(kind)
        if not isinstance(found, kind):
            known = ", ".join(sorted(t.__name__ for t in self._by_type))
            raise LookupError(f"no {kind.__name__} among the services ({known})")
        return found

    def all_of(self, kind: type[T]) -> Iterable[T]:
        """Every service that is a `kind` (a protocol several contexts implement)."""
        return [part for part in self.provided if isinstance(part, kind)]
