"""The reminders context's command side: reacting to appointments, recording every send.

The worker calls the `on_*` methods for scheduling's events; each is idempotent, because
the plan per appointment remembers the last appointment version it acted on and every id
is derived from the appointment. The dispatcher calls `due`, `record_sent`,
`record_failure` and `skip` around each send; the event store, not the read model, says
whether a reminder is still due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from pydantic import Field, StringConstraints

from commands.base import ClinicApplication, Command, Decided, NotFound, WallClock, Written
from domain.reminders import (
    POLICY_ID,
    RECALL,
    Backoff,
    Channel,
    Kind,
    Policy,
    QuietHours,
    Reminder,
    ReminderPlan,
    ReminderPolicy,
    Skip,
    plan_id,
    reminder_id,
)
from domain.shared import InvalidValue, Meta

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SetReminderPolicy(Command):
    offsets_minutes: list[Annotated[int, Field(ge=1, le=60 * 24 * 30)]] = Field(
        default=[48 * 60, 120], min_length=1, max_length=5
    )
    quiet_start: WallClock = time(21, 0)
    quiet_end: WallClock = time(9, 0)
    channels: list[Channel] = Field(
        default=[Channel.EMAIL, Channel.SMS], min_length=1, max_length=3
    )
    recall_after_months: int = Field(default=6, ge=1, le=36)
    recall_types: list[Text] = Field(default=["check-up", "cleaning"], max_length=20)
    zone: Text = "Europe/Madrid"
    clinic_name: Text = "Sonrisa"
    clinic_address: Annotated[str, StringConstraints(max_length=300)] = ""

    def policy(self) -> Policy:
        return Policy(
            offsets=tuple(timedelta(minutes=m) for m in self.offsets_minutes),
            quiet=QuietHours(self.quiet_start, self.quiet_end),
            channels=tuple(self.channels),
            recall_after_months=self.recall_after_months,
            recall_types=frozenset(t.lower() for t in self.recall_types),
            zone=self.zone,
            clinic_name=self.clinic_name,
            clinic_address=self.clinic_address,
        )


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

    def on_booked(
        self,
        appointment_id: UUID,
        patient_id: UUID,
        start: datetime,
        appointment_type: str,
        version: int,
        meta: Meta,
    ) -> None:
        if self.exists(plan_id(appointment_id)):
            return  # a redelivery: scheduled already
        due = self.policy().schedule(start, self.now())
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
        self._save_once(plan, *reminders)

    def on_rescheduled(
        self, appointment_id: UUID, start: datetime, version: int, meta: Meta
    ) -> None:
        plan = self._plan(appointment_id)
        if plan is None or plan.has_seen(version):
            return
        due = self.policy().schedule(start, self.now())
        changed: list[Aggregate] = []
        for label in plan.labels:
            if label == RECALL:
                continue
            reminder = self.load(reminder_id(appointment_id, label), Reminder)
            if label in due:
                reminder.move(due[label], start, meta)
            else:
                reminder.cancel("the appointment moved: this reminder would come too late", meta)
            changed.append(reminder)
        existing = set(plan.labels)
        plan.moved(start, sorted(due), version, meta)
        for label, when in due.items():
            if label not in existing:
                changed.append(self._appointment_reminder(plan, label, when, meta))
        self._save_once(plan, *changed)

    def on_ended(
        self, appointment_id: UUID, outcome: str, at: datetime, version: int, meta: Meta
    ) -> None:
        """A cancellation or no-show cancels what is pending; a completed check-up or
        cleaning schedules the recall."""
        plan = self._plan(appointment_id)
        if plan is None or plan.has_seen(version):
            return
        changed: list[Aggregate] = []
        for label in plan.labels:
            reminder = self.load(reminder_id(appointment_id, label), Reminder)
            reminder.cancel(f"the appointment was {outcome.replace('_', ' ')}", meta)
            changed.append(reminder)
        policy = self.policy()
        recall = outcome == "completed" and policy.recalls(plan.appointment_type)
        if recall and not self.exists(reminder_id(appointment_id, RECALL)):
            changed.append(
                Reminder(
                    reminder_id=reminder_id(appointment_id, RECALL),
                    patient_id=plan.patient_id,
                    appointment_id=appointment_id,
                    kind=Kind.RECALL.value,
                    label=RECALL,
                    due_at=policy.recall_at(at),
                    appointment_start=None,
                    appointment_type=plan.appointment_type,
                    text=None,
                    meta=meta,
                )
            )
        plan.end(outcome, version, meta, recall=recall)
        self._save_once(plan, *changed)

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

    def record_sent(
        self,
        reminder: UUID | Reminder,
        channel: Channel,
        provider_message_id: str,
        consent: dict[str, bool],
        sent_at: datetime,
        meta: Meta,
        segments: int | None = None,
    ) -> Written:
        return self._on(
            reminder,
            lambda r: r.record_sent(
                channel.value, provider_message_id, sent_at, consent, meta, segments
            ),
        )

    def record_failure(
        self, reminder: UUID | Reminder, channel: Channel, reason: str, now: datetime, meta: Meta
    ) -> Written:
        return self._on(
            reminder, lambda r: r.record_failure(channel.value, reason, now, self.backoff, meta)
        )

    def skip(
        self, reminder: UUID | Reminder, reason: Skip, consent: dict[str, bool], meta: Meta
    ) -> Written:
        return self._on(reminder, lambda r: r.skip(reason, consent, meta))

    def _on(self, reminder: UUID | Reminder, decide: Callable[[Reminder], None]) -> Written:
        """Decide on the reminder as the dispatcher loaded it (saving a second read), or load
        it by id; a concurrent change to it makes the save a `StaleVersion`, never a loss."""
        if isinstance(reminder, UUID):
            return self.change(reminder, Reminder, decide)
        loaded = reminder

        def attempt() -> tuple[Reminder, Decided]:
            decide(loaded)
            return loaded, Decided()

        return self._save_decided(attempt)

    def plan_of(self, appointment_id: UUID) -> ReminderPlan | None:
        return self._plan(appointment_id)

    # Helpers

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

    def _save_once(self, *aggregates: Aggregate) -> None:
        """Saved together; a concurrent handler of the same event that got there first has
        done the same, so losing the race changes nothing."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            return
