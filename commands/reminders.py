"""The reminders context's command side: reacting to appointments and treatments, recording
every send.

The worker calls the `on_*` methods for scheduling's and treatments' events; each is
idempotent, because the plan per appointment remembers the last appointment version it acted
on, every appointment reminder's id is derived from the appointment, and a recall's from the
treatment that brought it. The dispatcher calls `due` before each send and
`record_together` after, with the outcomes of the sends that finished meanwhile; the event
store, not the read model, says whether a reminder is still due.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time
from typing import Annotated
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from pydantic import Field, StringConstraints

from commands.base import (
    ClinicApplication,
    Command,
    NotFound,
    StaleVersion,
    Unit,
    WallClock,
    Written,
)
from domain.reminders import (
    CLINIC_ZONE_ID,
    POLICY_ID,
    RECALL,
    Backoff,
    Channel,
    ClinicZone,
    Ending,
    Kind,
    Policy,
    RecallBook,
    Reminder,
    ReminderPlan,
    ReminderPolicy,
    plan_id,
    recall_book_id,
    recall_id,
    reminder_id,
)
from domain.shared import DEFAULT_ZONE, InvalidValue, Meta

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ProcedureCode = Annotated[str, StringConstraints(min_length=1, max_length=16)]
SAVE_ATTEMPTS = 5
DEFAULT = Policy().as_dict()  # the policy until an admin sets one, as sent and stored


# What the dispatcher decided for one reminder (sent, failed, skipped), applied to it.
Outcome = Callable[[Reminder], None]


class SetReminderPolicy(Command):
    """The clinic's reminder policy as an admin sends it. The zone is the clinic's set-up's."""

    offsets_minutes: list[Annotated[int, Field(ge=1, le=60 * 24 * 30)]] = Field(
        default=DEFAULT["offsets_minutes"], min_length=1, max_length=5
    )
    quiet_start: WallClock = time.fromisoformat(DEFAULT["quiet_start"])
    quiet_end: WallClock = time.fromisoformat(DEFAULT["quiet_end"])
    channels: list[Channel] = Field(
        default=DEFAULT["channels"], validate_default=True, min_length=1, max_length=3
    )
    recall_after_months: int = Field(default=DEFAULT["recall_after_months"], ge=1, le=36)
    recall_procedures: list[ProcedureCode] = Field(
        default=DEFAULT["recall_procedures"],
        max_length=20,
        description="the treatments catalogue's codes whose recording brings a recall",
    )
    clinic_name: Text = DEFAULT["clinic_name"]
    clinic_address: Annotated[str, StringConstraints(max_length=300)] = DEFAULT["clinic_address"]

    def policy(self) -> Policy:
        return Policy.of(self.model_dump(mode="json"))


class SendReminder(Command):
    """Staff send one now: a reminder of an appointment, or a short free text to a patient."""

    appointment_id: UUID | None = None
    patient_id: UUID | None = None
    text: Annotated[str, StringConstraints(min_length=1, max_length=320)] | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Reminders(ClinicApplication):
    """The command side of the `reminders` context."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        now: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(env)
        self.now = now
        self.backoff = backoff or Backoff()

    # The clinic's policy

    def policy(self) -> Policy:
        try:
            found: ReminderPolicy = self.repository.get(POLICY_ID)
        except AggregateNotFoundError:
            return Policy()
        return found.policy

    def zone(self) -> ZoneInfo:
        """The clinic's zone, as learned from scheduling's clinic set-up; the default until
        the clinic is set up."""
        try:
            found: ClinicZone = self.repository.get(CLINIC_ZONE_ID)
        except AggregateNotFoundError:
            return ZoneInfo(DEFAULT_ZONE)
        return found.zone

    def set_policy(self, cmd: SetReminderPolicy, meta: Meta) -> Written:
        policy = cmd.policy()
        return self.change(
            POLICY_ID,
            ReminderPolicy,
            lambda p: p.set(policy, meta),
            new=lambda: ReminderPolicy(meta=meta),
            attempts=5,
        )

    # Choreography: scheduling's events

    def on_clinic_set_up(self, zone_name: str, version: int, meta: Meta) -> None:
        """Scheduling's clinic set-up names the clinic's zone: reminders are reckoned in it
        from now on. A redelivered or earlier version of the set-up changes nothing."""

        def decide() -> list[Aggregate]:
            if not self.exists(CLINIC_ZONE_ID):
                return [ClinicZone(zone_name=zone_name, seen_version=version, meta=meta)]
            known = self.load(CLINIC_ZONE_ID, ClinicZone)
            known.learn(zone_name, version, meta)
            return [known] if known.pending_events else []

        self._react(decide)

    def on_booked(
        self,
        appointment_id: UUID,
        patient_id: UUID,
        start: datetime,
        appointment_type: str,
        version: int,
        meta: Meta,
    ) -> None:
        def decide() -> list[Aggregate]:
            if self.exists(plan_id(appointment_id)):
                return []  # a redelivery, or a concurrent handler of it: scheduled already
            due = self.policy().schedule(start, self.now(), self.zone())
            plan = ReminderPlan(
                appointment_id=appointment_id,
                patient_id=patient_id,
                start=start,
                appointment_type=appointment_type,
                labels=sorted(due),
                seen_version=version,
                meta=meta,
            )
            reminders = [
                self._appointment_reminder(plan, label, when, meta) for label, when in due.items()
            ]
            return [plan, *reminders]

        self._react(decide)

    def on_rescheduled(
        self, appointment_id: UUID, start: datetime, version: int, meta: Meta
    ) -> None:
        def decide() -> list[Aggregate]:
            plan = self._plan(appointment_id)
            if plan is None or plan.has_seen(version):
                return []
            due = self.policy().schedule(start, self.now(), self.zone())
            changed: list[Aggregate] = []
            for label in plan.labels:
                if label == RECALL:
                    continue
                reminder = self.load(reminder_id(appointment_id, label), Reminder)
                if label in due:
                    reminder.move(due[label], start, meta)
                else:
                    reminder.cancel(
                        "the appointment moved: this reminder would come too late", meta
                    )
                changed.append(reminder)
            existing = set(plan.labels)
            plan.moved(start, sorted(due), version, meta)
            for label, when in due.items():
                if label not in existing:
                    changed.append(self._appointment_reminder(plan, label, when, meta))
            return [plan, *changed]

        self._react(decide)

    def on_ended(
        self, appointment_id: UUID, outcome: Ending, at: datetime, version: int, meta: Meta
    ) -> None:
        """A cancellation, no-show or completion cancels what is pending. A completed visit
        brings no recall: the treatments recorded at it do (`on_treatment_recorded`)."""

        def decide() -> list[Aggregate]:
            plan = self._plan(appointment_id)
            if plan is None or plan.has_seen(version):
                return []
            changed: list[Aggregate] = []
            for label in plan.labels:
                reminder = self.load(reminder_id(appointment_id, label), Reminder)
                reminder.cancel(f"the appointment was {outcome.replace('_', ' ')}", meta)
                changed.append(reminder)
            plan.end(outcome, version, meta)
            return [plan, *changed]

        self._react(decide)

    # Choreography: treatments' events

    def on_treatment_recorded(
        self,
        treatment_id: UUID,
        patient_id: UUID,
        procedure_code: str,
        performed_at: datetime,
        appointment_id: UUID | None,
        meta: Meta,
    ) -> None:
        """An examination or cleaning (the policy's recall procedures) brings the patient's
        recall `recall_after_months` after it was done, in place of a pending recall that an
        earlier one brought. None comes for a time already past, and a redelivered treatment
        brings nothing twice."""
        policy = self.policy()
        if not policy.recalls(procedure_code):
            return
        due = policy.recall_at(performed_at, self.zone())
        if due <= self.now():
            return

        def decide() -> list[Aggregate]:
            if self.exists(recall_id(treatment_id)):
                return []  # a redelivery, or a concurrent handler of the same event won
            book = self._recall_book(patient_id) or RecallBook(patient_id=patient_id, meta=meta)
            if not book.supersedes(performed_at):
                return []
            changed: list[Aggregate] = []
            if book.treatment_id is not None:
                earlier = self.load(recall_id(book.treatment_id), Reminder)
                earlier.cancel("a later examination or cleaning brings the recall", meta)
                changed.append(earlier)
            book.follow(treatment_id, performed_at, meta)
            recall = Reminder(
                reminder_id=recall_id(treatment_id),
                patient_id=patient_id,
                appointment_id=appointment_id,
                kind=Kind.RECALL.value,
                label=RECALL,
                due_at=due,
                appointment_start=None,
                appointment_type=None,
                text=None,
                meta=meta,
            )
            return [book, recall, *changed]

        self._react(decide)

    def on_treatment_voided(self, treatment_id: UUID, meta: Meta) -> None:
        """A treatment voided as entered in error cancels the recall it brought, if that is
        still pending; the patient's next examination or cleaning brings the next one."""

        def decide() -> list[Aggregate]:
            try:
                recall = self.load(recall_id(treatment_id), Reminder)
            except NotFound:
                return []  # it brought none (another procedure, or superseded before it came)
            recall.cancel("the treatment was voided as entered in error", meta)
            changed: list[Aggregate] = [recall]
            book = self._recall_book(recall.patient_id)
            if book is not None:
                book.drop(treatment_id, meta)
                changed.append(book)
            return [a for a in changed if a.pending_events]  # none: a redelivery, done already

        self._react(decide)

    def recall_of(self, patient_id: UUID) -> Reminder | None:
        """The recall the patient's latest examination or cleaning brought, whatever became
        of it."""
        book = self._recall_book(patient_id)
        if book is None or book.treatment_id is None:
            return None
        return self.load(recall_id(book.treatment_id), Reminder)

    # Staff send one now

    def send_now(self, cmd: SendReminder, meta: Meta) -> Written:
        now = self.now()
        if cmd.appointment_id is not None:
            plan = self._plan(cmd.appointment_id)
            if plan is None or plan.ended:
                raise NotFound(f"appointment {cmd.appointment_id} has nothing to remind of")
            label = f"now-{uuid4().hex[:12]}"
            return self.create(lambda: self._appointment_reminder(plan, label, now, meta))
        if cmd.patient_id is None or cmd.text is None:
            raise InvalidValue("name an appointment, or a patient and a text", field="text")
        patient, text = cmd.patient_id, cmd.text
        return self.create(lambda: Reminder.message(uuid4(), patient, text, now, meta))

    # The dispatcher, around each send

    def due(self, reminder: UUID, now: datetime) -> Reminder | None:
        """The reminder when it is still due at `now`, by the event store; else None."""
        try:
            found = self.load(reminder, Reminder)
        except NotFound:
            return None
        return found if found.is_due(now) else None

    def record_together(self, decisions: Sequence[tuple[Reminder, Outcome]]) -> list[int]:
        """Several reminders' outcomes, each decided on the reminder as the dispatcher loaded
        it, saved in one transaction: one commit for a whole group of sends. The version each
        is at after. When one of them changed meanwhile, each is saved on its own, decided on
        the version the dispatcher loaded; one that changed answers the version the event
        store has it at now, as a lone save does."""
        loaded = [(reminder.id, reminder.version, outcome) for reminder, outcome in decisions]

        def decide() -> Unit[list[int]]:
            for reminder, outcome in decisions:
                outcome(reminder)
            return Unit([r.version for r, _ in decisions], tuple(r for r, _ in decisions))

        try:
            return self.unit_of_work(decide) if decisions else []
        except StaleVersion:
            return [self._alone(*each) for each in loaded]

    def _alone(self, reminder: UUID, version: int, outcome: Outcome) -> int:
        try:
            return self.change(reminder, Reminder, outcome, expected_version=version).version
        except StaleVersion:
            return self.load(reminder, Reminder).version

    def plan_of(self, appointment_id: UUID) -> ReminderPlan | None:
        return self._plan(appointment_id)

    # Helpers

    def _recall_book(self, patient_id: UUID) -> RecallBook | None:
        try:
            return self.load(recall_book_id(patient_id), RecallBook)
        except NotFound:
            return None

    def _plan(self, appointment_id: UUID) -> ReminderPlan | None:
        try:
            return self.load(plan_id(appointment_id), ReminderPlan)
        except NotFound:
            return None

    @staticmethod
    def _appointment_reminder(
        plan: ReminderPlan, label: str, when: datetime, meta: Meta
    ) -> Reminder:
        return Reminder(
            reminder_id=reminder_id(plan.appointment_id, label),
            patient_id=plan.patient_id,
            appointment_id=plan.appointment_id,
            kind=Kind.APPOINTMENT.value,
            label=label,
            due_at=when,
            appointment_start=plan.start,
            appointment_type=plan.appointment_type,
            text=None,
            meta=meta,
        )

    def _react(self, decide: Callable[[], list[Aggregate]]) -> None:
        """Save what a reaction decided, together. Losing the race to a concurrent handler
        of the same event means deciding again, which then finds the work done; a commit
        whose answer was lost is settled by reading the store (`unit_of_work`)."""
        self.unit_of_work(lambda: Unit(None, tuple(decide())), attempts=SAVE_ATTEMPTS)
