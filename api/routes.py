"""One way to write a route.

A command route takes a `Write` (`WriteIfMatch` or `WriteMustMatch` when it checks If-Match:
412 when stale, 428 when required and missing) after its guard, and answers with
`answer(...)`: the id and version written, the ETag and consistency token, `Location` when it
created something, and the patient it touched named for the access log. A query route takes
a `Read`: it waits for the client's own writes, answers 404 as a problem, and sets the ETag
and the access log's subject from what it found. The idempotency key asks nothing of a
route: `api.idempotency` keeps the first answer and replays it around the route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Request, Response

from api.deps import OptionalVersion, RequiredVersion, read_your_writes, services_of, written
from api.problems import Problem
from api.services import Services
from commands.base import Written

T = TypeVar("T")


class Route:
    """What a route works with besides its own inputs: the services, the request and the
    response its answer goes out on."""

    def __init__(self, request: Request, response: Response) -> None:
        self.request = request
        self.response = response
        self.running: Services = services_of(request)

    def get(self, kind: type[T]) -> T:
        """A context's Application or query object, by its type."""
        return self.running.get(kind)

    def about(self, patient_id: UUID | str | None) -> None:
        """Names the patient this request touches in the access log."""
        if patient_id is not None:
            self.request.state.access.patient_id = UUID(str(patient_id))


class Command(Route):
    version: int | None  # from If-Match, with `WriteIfMatch`

    def __init__(self, request: Request, response: Response, version: int | None) -> None:
        super().__init__(request, response)
        self.version = version

    def wrote(self, result: Written, *, at: str | None = None) -> Written:
        """The headers of a write: its ETag and consistency token, `Location` (`at`/id) when
        it created something, and the patient it touched named for the access log."""
        if result.patient_id is not None and hasattr(self.request.state, "access"):
            self.about(result.patient_id)
        if at is not None:
            self.response.headers["Location"] = f"{at}/{result.id}"
        written(self.response, result)
        return result

    def answer(
        self, result: Written, *, at: str | None = None, created: str | None = None
    ) -> dict[str, object]:
        """The answer to a write: its id and version, and (`created`, the field's name) what
        it created inside the aggregate."""
        self.wrote(result, at=at)
        extra = {created: str(result.created)} if created else {}
        return {**written_out(result), **extra}


class Matched(Command):
    """A command whose If-Match is required (`WriteMustMatch`)."""

    version: int


def written_out(result: Written) -> dict[str, object]:
    """A write as `WrittenOut` shows it: its id and version."""
    return {"id": str(result.id), "version": result.version}


class Reading(Route):
    async def consistent(self, *read_models: Callable[[UUID], Awaitable[int]]) -> None:
        """Waits (bounded) for the write the client names, as `read_your_writes` does."""
        await read_your_writes(self.request, self.response, *read_models)

    def found(self, document: dict[str, Any] | None, what: str) -> dict[str, Any]:
        """The document, or 404 naming `what`; with its ETag, and the patient it is about
        named for the access log."""
        if document is None:
            raise Problem(404, "not-found", "Not found", f"{what} does not exist")
        if "patient_id" in document:
            self.about(document["patient_id"])
        self.response.headers["ETag"] = f'"{document["version"]}"'
        return document

    def shows(self, answer: object) -> None:
        """Names in the access log every patient the answer shows."""
        self.request.state.access.shows(answer)

    def note(self, key: str, value: object) -> None:
        """Adds to what the access log keeps of this read (the instant asked for, ...)."""
        self.request.state.access.details[key] = value


async def _write(request: Request, response: Response) -> Command:
    return Command(request, response, None)


async def _write_if_match(
    request: Request, response: Response, version: OptionalVersion
) -> Command:
    return Command(request, response, version)


async def _write_must_match(
    request: Request, response: Response, version: RequiredVersion
) -> Matched:
    return Matched(request, response, version)


async def _read(request: Request, response: Response) -> Reading:
    return Reading(request, response)


Write = Annotated[Command, Depends(_write)]
WriteIfMatch = Annotated[Command, Depends(_write_if_match)]
WriteMustMatch = Annotated[Matched, Depends(_write_must_match)]
Read = Annotated[Reading, Depends(_read)]
