"""What every command-side Application shares: persistence settings, transcodings, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding

from domain.shared import Meta

CLINIC_ZONE = ZoneInfo("Europe/Madrid")

A = TypeVar("A", bound=Aggregate)


class NotFound(LookupError):
    """The record asked for does not exist."""


class StaleVersion(RuntimeError):
    """The caller's copy is older than the stored one: it must reload and retry (412/409)."""

    def __init__(self, expected: int | None, actual: int | None) -> None:
        super().__init__(
            f"the record has changed since version {expected}; it is now at version {actual}"
            if actual is not None
            else "the record was changed by someone else at the same time"
        )
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class Written:
    """What a successful command tells its caller: which aggregate, at which version, and
    which patient's record it touched (for the access log) when that is not the aggregate."""

    id: UUID
    version: int
    patient_id: UUID | None = None


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta.from_dict(data)


def register_clinic_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    transcoder.register(MetaAsDict())


def clinic_today() -> date:
    return datetime.now(CLINIC_ZONE).date()


class ClinicApplication(Application[UUID]):
    """An eventsourcing Application whose events live in `<context>_events` in PostgreSQL."""

    def __init__(
        self, env: dict[str, str] | None = None, today: Callable[[], date] = clinic_today
    ) -> None:
        super().__init__(env)
        self.today = today

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_clinic_transcodings(transcoder)

    def load(self, aggregate_id: UUID, kind: type[A], expected_version: int | None = None) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"{kind.__name__.lower()} {aggregate_id} does not exist") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"{kind.__name__.lower()} {aggregate_id} does not exist")
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersion(expected_version, aggregate.version)
        return aggregate

    def change(
        self,
        aggregate_id: UUID,
        kind: type[A],
        decide: Callable[[A], object],
        expected_version: int | None = None,
    ) -> Written:
        """Load, let the aggregate decide, save: the shape of most commands."""
        aggregate = self.load(aggregate_id, kind, expected_version)
        decide(aggregate)
        self.commit(aggregate, expected_version=expected_version)
        return Written(aggregate.id, aggregate.version)

    def commit(self, *aggregates: Aggregate, expected_version: int | None = None) -> None:
        """Save as one transaction; a concurrent writer that got there first wins."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise StaleVersion(expected_version, None) from None
