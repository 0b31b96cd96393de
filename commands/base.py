"""What every command side shares: the `Command` base, errors, and the one way to save
(`ClinicApplication.unit_of_work`: decide, save, settle; decide again after a lost race), with
`change` and `create` on it for one aggregate."""

from __future__ import annotations

import random
import re
import time as clock
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
)
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from domain.shared import DEFAULT_ZONE, storable_text_pattern, unsafe_character
from infra.eventstore import register_clinic_transcodings

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

# The calendar a clinic works in: wide enough for any birth date, booking or audit window,
# narrow enough that converting between zones can never overflow.
EARLIEST_DAY, LATEST_DAY = date(1800, 1, 1), date(2199, 12, 31)
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text: `-124` or `1700000000` is not a day or an instant here."""
    if isinstance(value, date):  # already one, from Python rather than from a request
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("write it in ISO 8601, like 2030-03-04 or 2030-03-04T10:00:00+01:00")
    return value


def _clinic_day(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
    return value


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a time of day on the clinic's clock, without a zone, like 08:30")
    return value


# The calendar's bounds as the API's document states them: a year from 1800 to 2199.
IN_CALENDAR = r"^(1[89]|2[01])\d\d-"
# A time of day on the wall clock, without a zone: 08:30, 08:30:15 or 08:30:15.5.
WALL_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$"
HOUR = r"^([01]\d|2[0-3]):[0-5]\d$"  # 08:30, in opening hours


def _whole(value: Any) -> Any:
    """A JSON number without a fraction is a whole number (5.0 is 5), as JSON Schema's
    `integer` says; text and booleans are still not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Strictly a whole number (not "5", not true), after any bounds: Annotated[StrictInt,
# Field(ge=..), WHOLE], so the bounds are still the schema's minimum and maximum.
WHOLE = BeforeValidator(_whole)

# An instant with its zone; a day; a time of day on the clinic's wall clock.
Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    AfterValidator(_clinic_day),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": IN_CALENDAR}),
]
Day = Annotated[
    date,
    BeforeValidator(_iso_text),
    AfterValidator(_clinic_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": IN_CALENDAR}),
]
WallClock = Annotated[
    time,
    AfterValidator(_wall_clock),
    WithJsonSchema({"type": "string", "pattern": WALL_CLOCK}),
]


class DecimalForm:
    """How an exact decimal is written in a request: below 10**digits either way, as a JSON
    number or as text in plain decimal notation (2.5), as the OpenAPI document states it;
    `example` ends the message ("a fee in euros like 45.50"). Its finer rules (whole cents,
    places) are the domain's. A field's type is
    `Annotated[Decimal, form.before, form.bounds, form.schema]`."""

    def __init__(self, digits: int, example: str) -> None:
        pattern = rf"^[+-]?([0-9]{{1,{digits}}}(\.[0-9]*)?|\.[0-9]+)$"
        bound = Decimal(10**digits)  # exclusive, both ways: text cannot reach it either

        def plain(value: Any) -> Any:
            if isinstance(value, bool) or (
                isinstance(value, str) and (len(value) > 32 or not re.match(pattern, value))
            ):
                raise ValueError(f"write {example}")
            return value

        number = {"type": "number", "exclusiveMinimum": -float(bound),
                  "exclusiveMaximum": float(bound)}  # fmt: skip
        text = {"type": "string", "pattern": pattern, "maxLength": 32}
        self.before = BeforeValidator(plain)
        self.bounds = Field(allow_inf_nan=False, gt=-bound, lt=bound)
        self.schema = WithJsonSchema({"anyOf": [number, text]})


# A scanner types a GS1 barcode's group separator (FNC1) as the control character GS; it is
# kept as "|", as the barcode's printed text shows it, since no control character is stored.
Scanned = Annotated[
    str,
    BeforeValidator(lambda v: v.replace("\x1d", "|") if isinstance(v, str) else v),
    StringConstraints(max_length=200),
]


def _state_storable_text(schema: dict[str, Any], model: type[Any]) -> None:
    """Say in the JSON Schema what `_storable_text` refuses: each free-text field (a string
    without a format, pattern or choices of its own, at any depth) gets the pattern."""
    multiline: frozenset[str] = getattr(model, "multiline", frozenset())
    for name, field in schema.get("properties", {}).items():
        _pattern_free_text(field, storable_text_pattern(multiline=name in multiline))


def _pattern_free_text(schema: Any, pattern: str) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"format", "pattern", "enum", "const"} & set(schema):
        schema["pattern"] = pattern
    for key in ("items", "additionalProperties"):
        _pattern_free_text(schema.get(key), pattern)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for branch in schema.get(key, ()):
            _pattern_free_text(branch, pattern)
    if schema.get("type") == "object" and "additionalProperties" in schema:
        keys = schema.setdefault("propertyNames", {"type": "string"})
        _pattern_free_text(keys, storable_text_pattern())


class Command(BaseModel):
    """A request to change something, as a person typed it: validated before any decision.

    No text anywhere in it may hold a control character (NUL among them) or a bidirectional
    override; line breaks and tabs only in the fields named in `multiline` (notes)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        json_schema_extra=_state_storable_text,
    )
    multiline: ClassVar[frozenset[str]] = frozenset({"notes", "note", "clinical_notes"})

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any, info: ValidationInfo) -> Any:
        field = info.field_name or ""
        _check_texts(value, field, multiline=field in cls.multiline)
        return value


def _check_texts(value: Any, field: str, *, multiline: bool) -> None:
    if isinstance(value, str):
        found = unsafe_character(value, multiline=multiline)
        if found is not None:
            raise ValueError(
                f"contains a character that is not allowed ({found}): control characters "
                "and bidirectional overrides cannot be stored"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_texts(key, field, multiline=False)
            _check_texts(item, field, multiline=multiline)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_texts(item, field, multiline=multiline)


class NotFound(LookupError):
    """The record asked for does not exist."""


class AlreadyExists(RuntimeError):
    """Something that must be unique is taken (a staff account's email address)."""


class StoreUnavailable(RuntimeError):
    """The event store could not be reached, and nothing was saved: try again shortly."""


class CommitUnknown(StoreUnavailable):
    """The store went away between our commit and its answer, and could not be asked
    afterwards: the change may or may not be saved. A retry with the same Idempotency-Key
    settles it (the command finds its own request claim if the first try committed)."""


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


@runtime_checkable
class OfPatient(Protocol):
    """An aggregate that belongs to one patient's record (an appointment, a waitlist entry)."""

    patient_id: UUID


@dataclass(frozen=True, slots=True)
class Written:
    """What a successful command tells its caller: which aggregate, at which version, what it
    created inside it (an alert, a closure), and which patient's record it touched when that
    is not the aggregate itself (for the access log)."""

    id: UUID
    version: int
    patient_id: UUID | None = None
    created: UUID | None = None

    @classmethod
    def of(cls, aggregate: Aggregate, created: UUID | None = None) -> Written:
        patient = aggregate.patient_id if isinstance(aggregate, OfPatient) else None
        return cls(aggregate.id, aggregate.version, patient, created)


# The idempotency key of the request being handled (who sent it, and the key), set by the
# HTTP layer; a command saves a `RequestClaim` with its events when there is one.
REQUEST_KEY: ContextVar[tuple[str, str] | None] = ContextVar("request_key", default=None)


class RequestClaim(Aggregate):
    """That a request with an idempotency key was carried out, and what it wrote. Saved in
    the same transaction as the request's own events, so a retry after a crash finds it
    and answers as the first did, instead of writing again."""

    @staticmethod
    def create_id(scope: str, key: str) -> UUID:
        return request_claim_id(scope, key)

    @classmethod
    def of(cls, scope: str, key: str, written: Written) -> RequestClaim:
        return cls(scope, key, written.id, written.version, written.patient_id, written.created)

    @event("RequestCarriedOut")
    def __init__(
        self,
        scope: str,
        key: str,
        aggregate_id: UUID,
        version: int,
        patient_id: UUID | None,
        created: UUID | None,
    ) -> None:
        self.written = Written(aggregate_id, version, patient_id, created)


def request_claim_id(scope: str, key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:request:{len(scope)}:{scope}:{key}")


@dataclass(frozen=True, slots=True)
class Decided:
    """What a decision did beyond changing its aggregate: the id of something it created,
    and other aggregates to save with it in the same transaction."""

    created: UUID | None = None
    also: tuple[Aggregate, ...] = ()


Decision = Decided | UUID | None


@dataclass(frozen=True, slots=True)
class Unit(Generic[T]):
    """One decision, saved in one transaction: what it answers, the aggregates it changed or
    made (none: there is nothing left to do), and what a request's claim remembers of it."""

    answer: T
    saves: tuple[Aggregate, ...] = ()
    claim: Written | None = None


def _decided(outcome: Decision) -> Decided:
    if isinstance(outcome, Decided):
        return outcome
    return Decided(created=outcome)


def clinic_day(at: datetime) -> date:
    """The clinic's day at a moment (midnight in Madrid is 23:00 UTC in winter)."""
    return at.astimezone(ZoneInfo(DEFAULT_ZONE)).date()


def clinic_today() -> date:
    return clinic_day(datetime.now(UTC))


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

    def exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def change(
        self,
        aggregate_id: UUID,
        kind: type[A],
        decide: Callable[[A], Decision],
        expected_version: int | None = None,
        *,
        new: Callable[[], A] | None = None,
        attempts: int = 1,
    ) -> Written:
        """Load, let the aggregate decide, save: the shape of every command on an existing
        aggregate. `new` makes the aggregate when it does not exist yet (a singleton made on
        first use). With `attempts` > 1 a lost race is decided again on fresh state."""

        def attempt() -> tuple[A, Decided]:
            if new is not None and not self.exists(aggregate_id):
                aggregate = new()
            else:
                aggregate = self.load(aggregate_id, kind, expected_version)
            return aggregate, _decided(decide(aggregate))

        return self._save_decided(attempt, attempts=attempts, expected_version=expected_version)

    def create(
        self, make: Callable[[], A | tuple[A, Sequence[Aggregate]]], *, attempts: int = 1
    ) -> Written:
        """Save a new aggregate (and what it reserved, saved in the same transaction)."""

        def attempt() -> tuple[A, Decided]:
            made = make()
            if isinstance(made, tuple):
                return made[0], Decided(also=tuple(made[1]))
            return made, Decided()

        return self._save_decided(attempt, attempts=attempts)

    def _save_decided(
        self,
        attempt: Callable[[], tuple[A, Decided]],
        *,
        attempts: int = 1,
        expected_version: int | None = None,
    ) -> Written:
        """Run `attempt` and save what it decided in one transaction (`unit_of_work`)."""

        def decide() -> Unit[Written]:
            aggregate, decided = attempt()
            written = Written.of(aggregate, decided.created)
            return Unit(written, (aggregate, *decided.also), claim=written)

        return self.unit_of_work(
            decide,
            attempts=attempts,
            expected_version=expected_version,
            carried_out=lambda earlier, _: earlier,
        )

    def unit_of_work(
        self,
        decide: Callable[[], Unit[T]],
        *,
        attempts: int = 1,
        expected_version: int | None = None,
        carried_out: Callable[[Written, T], T] | None = None,
    ) -> T:
        """The one way anything is saved: decide on the store as it is now, save what the
        decision holds in one transaction (with the request's claim), and answer. A decision
        that saves nothing is done already. When another writer got there first, back off
        at random and decide again on fresh state, up to `attempts` times: a second handler
        of the same event then finds its work done, a second account with the same email
        finds the address taken. A commit whose answer was lost is settled by reading the
        store. `carried_out` answers from what an earlier run of the same request wrote."""
        request = REQUEST_KEY.get()
        for tried in range(attempts):
            _back_off(tried)
            unit = decide()
            if not unit.saves:
                return unit.answer
            claim = (
                [RequestClaim.of(*request, unit.claim)]
                if request is not None and unit.claim is not None
                else []
            )
            saving = [*unit.saves, *claim]
            ours = [e for a in saving for e in a.pending_events]
            try:
                self.save(*saving)
            except IntegrityError:
                # The store's client retries a commit whose answer was lost; its second try
                # then meets our own first one. Only a conflict with someone else is a loss.
                if self._committed(ours):
                    return unit.answer
                if request is not None and carried_out is not None:
                    earlier = self._carried_out(*request)
                    if earlier is not None:
                        return carried_out(earlier, unit.answer)
                continue
            except (OperationalError, InterfaceError) as error:
                if self._committed(ours):
                    return unit.answer
                raise StoreUnavailable(
                    "the clinic's records could not be reached; nothing was saved, try again"
                ) from error
            return unit.answer
        raise StaleVersion(expected_version, None)

    def _carried_out(self, scope: str, key: str) -> Written | None:
        """What an earlier run of this same request wrote, if one committed."""
        try:
            claim: RequestClaim = self.repository.get(request_claim_id(scope, key))
        except AggregateNotFoundError:
            return None
        return claim.written

    def _committed(self, events: Sequence[object]) -> bool:
        """Whether these very events (not a concurrent writer's at the same version) are in
        the store: an ambiguous commit is settled by reading, never by guessing."""
        if not events:
            return False
        first: Any = events[0]
        try:
            stored = self.recorder.select_events(
                first.originator_id,
                gt=first.originator_version - 1,
                lte=first.originator_version,
            )
            found: list[Any] = [self.mapper.to_domain_event(s) for s in stored]
        except (OperationalError, InterfaceError) as error:
            raise CommitUnknown(
                "the clinic's records could not be reached to confirm the change: it may or "
                "may not be saved; retry with the same Idempotency-Key, or reload first"
            ) from error
        return (
            bool(found) and type(found[0]) is type(first) and found[0].timestamp == first.timestamp
        )


def _back_off(attempt: int) -> None:
    """After a lost race, wait a little, at random, so the racers do not collide again."""
    if attempt:
        clock.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
