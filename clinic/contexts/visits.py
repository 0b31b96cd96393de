"""Completing a visit, declared: a process across scheduling and treatments, with a route of
its own and no state of its own (its record lives in the treatments context)."""

from __future__ import annotations

from api import visits as http
from clinic.declaration import Context

CONTEXT = Context(name="visits", routers=(http.router,))
