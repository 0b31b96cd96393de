"""A query parameter the route does not take is refused, not silently dropped.

A misspelled filter that is ignored widens the answer: `GET /api/reminders?appointment=<id>`
(the name is `appointment_id`) would list every patient's reminders. So each route of the
API answers 400 `unknown-parameter`, naming what it does take, when the address carries a
name it does not know.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.problems import Problem

# Kept on the route itself: a cache keyed by id(route) could hand a new app's route the
# names of a collected one that had the same id.
_KNOWN = "sonrisa_known_parameters"


def known_names(route: APIRoute) -> frozenset[str]:
    """The query parameter names `route` takes, as the client spells them (aliases)."""
    return frozenset(_names(route.dependant))


def _names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for field in dependant.query_params:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query model
            names |= {f.alias or name for name, f in model.model_fields.items()}
        else:
            names.add(field.alias)
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


async def known_parameters_only(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known: frozenset[str] | None = getattr(route, _KNOWN, None)
    if known is None:
        known = known_names(route)
        setattr(route, _KNOWN, known)
    unknown = sorted(set(request.query_params.keys()) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise Problem(
            400,
            "unknown-parameter",
            "Unknown query parameter",
            f"this address does not take {', '.join(unknown)[:200]}; it takes: {takes}",
            parameters=unknown[:20],
        )
