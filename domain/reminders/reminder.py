"""Reminders as event-sourced aggregates: one per reminder, one plan per appointment, one
recall book per patient, and the clinic's policy.

A reminder's id is derived from its appointment and its label, and the plan's from the
appointment, so a redelivered `AppointmentBooked` finds them already there and schedules
nothing twice. A recall's id is derived from the treatment that brought it, so a redelivered
treatment finds it there too, and a voided treatment finds the recall it caused.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.reminders.policy import (
    RECALL_PROCEDURES,
    Backoff,
    Kind,
    Policy,
    Skip,
)
from domain.shared import Meta, TransitionRefused, require_text

POLICY_ID = uuid5(NAMESPACE_URL, "sonrisa:reminders:policy")
CLINIC_ZONE_ID = uuid5(NAMESPACE_URL, "sonrisa:reminders:clinic-zone")
RECALL = "recall"
LONGEST_TEXT = 320  # two SMS segments in GSM-7


class Status(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


PENDING = frozenset({Status.SCHEDULED})


class Ending(StrEnum):
    """How an appointment ended, as the reminders context hears it from scheduling: what is
    pending for it is cancelled."""

    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


def reminder_id(appointment_id: UUID, label: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:reminder:{appointment_id}:{label}")


def plan_id(appointment_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:reminder-plan:{appointment_id}")


def recall_id(treatment_id: UUID) -> UUID:
    """The recall a recorded treatment brings."""
    return uuid5(NAMESPACE_URL, f"sonrisa:recall:{treatment_id}")


def recall_book_id(patient_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:recall-book:{patient_id}")


class Reminder(Aggregate):
    """One message to one patient, due at a time; sent once, or given up on with a reason."""

    @staticmethod
    def create_id(reminder_id: UUID, **_: Any) -> UUID:
        return reminder_id

    @event("ReminderScheduled")
    def __init__(
        self,
        reminder_id: UUID,
        patient_id: UUID,
        appointment_id: UUID | None,
        kind: str,
        label: str,
        due_at: datetime,
        appointment_start: datetime | None,
        appointment_type: str | None,
        text: str | None,
        meta: Meta,
    ) -> None:
        self.patient_id = patient_id
        self.appointment_id = appointment_id
        self.kind = Kind(kind)
        self.label = label
        self.due_at = due_at
        self.appointment_start = appointment_start
        self.appointment_type = appointment_type
        self.text = text
        self.status = Status.SCHEDULED
        self.attempts = 0
        self.generation = 1

    @classmethod
    def message(
        cls, reminder_id: UUID, patient_id: UUID, text: str, now: datetime, meta: Meta
    ) -> Reminder:
        """A short free text staff send now."""
        return cls(
            reminder_id=reminder_id,
            patient_id=patient_id,
            appointment_id=None,
            kind=Kind.MESSAGE.value,
            label="message",
            due_at=now,
            appointment_start=None,
            appointment_type=None,
            text=require_text(text, "text", max_length=LONGEST_TEXT),
            meta=meta,
        )

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at one send, so a provider can drop a repeat; a new one
        when a reschedule re-arms the reminder, since that is a new message."""
        return str(uuid5(NAMESPACE_URL, f"sonrisa:send:{self.id}:{self.generation}"))

    def is_due(self, now: datetime) -> bool:
        return self.status in PENDING and self.due_at <= now

    def move(self, due_at: datetime, appointment_start: datetime, meta: Meta) -> None:
        """The appointment moved: the reminder goes at its new time, again if it went already."""
        if self.status is Status.CANCELLED or (
            self.due_at == due_at and self.appointment_start == appointment_start
        ):
            return
        self._moved(due_at=due_at, appointment_start=appointment_start, meta=meta)

    @event("ReminderRescheduled")
    def _moved(self, due_at: datetime, appointment_start: datetime, meta: Meta) -> None:
        self.due_at, self.appointment_start = due_at, appointment_start
        self.status, self.attempts = Status.SCHEDULED, 0
        self.generation += 1

    def _require_pending(self, doing: str) -> None:
        if self.status not in PENDING:
            raise TransitionRefused(f"cannot {doing} a reminder that is {self.status.value}")

    def record_sent(
        self,
        channel: str,
        provider_message_id: str,
        sent_at: datetime,
        consent: dict[str, bool],
        meta: Meta,
        segments: int | None = None,
    ) -> None:
        """`consent` is what the patient consented to as the send relied on it; `segments`
        what an SMS cost."""
        self._require_pending("send")
        self._sent(
            channel=channel,
            provider_message_id=provider_message_id,
            sent_at=sent_at,
            attempt=self.attempts + 1,
            consent=consent,
            segments=segments,
            meta=meta,
        )

    @event("ReminderSent")
    def _sent(
        self,
        channel: str,
        provider_message_id: str,
        sent_at: datetime,
        attempt: int,
        consent: dict[str, bool],
        segments: int | None,
        meta: Meta,
    ) -> None:
        self.status = Status.SENT
        self.attempts = attempt

    def record_failure(
        self, channel: str, reason: str, now: datetime, backoff: Backoff, meta: Meta
    ) -> None:
        """A send failed; it is tried again later, or, after the last attempt, never."""
        self._require_pending("fail")
        attempt = self.attempts + 1
        wait = backoff.after(attempt)
        self._failed(
            channel=channel,
            attempt=attempt,
            reason=reason[:500],
            retry_at=None if wait is None else now + wait,
            meta=meta,
        )

    @event("ReminderFailed")
    def _failed(
        self, channel: str, attempt: int, reason: str, retry_at: datetime | None, meta: Meta
    ) -> None:
        self.attempts = attempt
        if retry_at is None:
            self.status = Status.FAILED
        else:
            self.due_at = retry_at

    def skip(self, reason: Skip, consent: dict[str, bool], meta: Meta) -> None:
        self._require_pending("skip")
        self._skipped(reason=reason.value, consent=consent, meta=meta)

    @event("ReminderSkipped")
    def _skipped(self, reason: str, consent: dict[str, bool], meta: Meta) -> None:
        self.status = Status.SKIPPED

    def cancel(self, reason: str, meta: Meta) -> None:
        if self.status in PENDING:
            self._cancelled(reason=reason, meta=meta)

    @event("ReminderCancelled")
    def _cancelled(self, reason: str, meta: Meta) -> None:
        self.status = Status.CANCELLED


class ReminderPlan(Aggregate):
    """What the reminders context knows of one appointment: whose, when, of which type, and
    the last version of it that it acted on (so a redelivered event changes nothing)."""

    @staticmethod
    def create_id(appointment_id: UUID, **_: Any) -> UUID:
        return plan_id(appointment_id)

    @event("ReminderPlanOpened")
    def __init__(
        self,
        appointment_id: UUID,
        patient_id: UUID,
        start: datetime,
        appointment_type: str,
        labels: list[str],
        seen_version: int,
        meta: Meta,
    ) -> None:
        self.appointment_id = appointment_id
        self.patient_id = patient_id
        self.start = start
        self.appointment_type = appointment_type
        self.labels = list(labels)
        self.seen_version = seen_version
        self.ended = False

    def has_seen(self, version: int) -> bool:
        return version <= self.seen_version

    def moved(self, start: datetime, labels: list[str], version: int, meta: Meta) -> None:
        self._moved(
            start=start,
            labels=sorted(set(self.labels) | set(labels)),
            seen_version=version,
            meta=meta,
        )

    @event("ReminderPlanMoved")
    def _moved(self, start: datetime, labels: list[str], seen_version: int, meta: Meta) -> None:
        self.start, self.labels, self.seen_version = start, list(labels), seen_version

    def end(self, outcome: str, version: int, meta: Meta) -> None:
        self._ended(outcome=outcome, labels=self.labels, seen_version=version, meta=meta)

    @event("ReminderPlanEnded")
    def _ended(self, outcome: str, labels: list[str], seen_version: int, meta: Meta) -> None:
        self.ended, self.labels, self.seen_version = True, list(labels), seen_version


class RecallBook(Aggregate):
    """A patient's recall: which recorded treatment the pending one follows. A patient has at
    most one pending recall, after their latest examination or cleaning; an earlier one, or
    one done at the same time (an examination and a cleaning at one visit), adds none."""

    @staticmethod
    def create_id(patient_id: UUID, **_: Any) -> UUID:
        return recall_book_id(patient_id)

    @event("RecallBookOpened")
    def __init__(self, patient_id: UUID, meta: Meta) -> None:
        self.patient_id = patient_id
        self.treatment_id: UUID | None = None
        self.performed_at: datetime | None = None

    def supersedes(self, performed_at: datetime) -> bool:
        """Whether a treatment done at `performed_at` brings a recall in place of the one
        the book follows."""
        return self.performed_at is None or performed_at > self.performed_at

    def follow(self, treatment_id: UUID, performed_at: datetime, meta: Meta) -> None:
        if not self.supersedes(performed_at):
            raise TransitionRefused("an earlier treatment does not replace a later one's recall")
        self._followed(treatment_id=treatment_id, performed_at=performed_at, meta=meta)

    @event("RecallFollowsTreatment")
    def _followed(self, treatment_id: UUID, performed_at: datetime, meta: Meta) -> None:
        self.treatment_id, self.performed_at = treatment_id, performed_at

    def drop(self, treatment_id: UUID, meta: Meta) -> None:
        """The treatment was voided: its recall is gone, and the next one starts afresh."""
        if self.treatment_id == treatment_id:
            self._dropped(treatment_id=treatment_id, meta=meta)

    @event("RecallTreatmentDropped")
    def _dropped(self, treatment_id: UUID, meta: Meta) -> None:
        self.treatment_id, self.performed_at = None, None


class ReminderPolicy(Aggregate):
    """The clinic's reminder policy, one for the clinic; the default until an admin sets one."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return POLICY_ID

    @event("ReminderPolicyOpened")
    def __init__(self, meta: Meta) -> None:
        self.policy = Policy()

    class ReminderPolicySet(Aggregate.Event):
        """The policy in its stored form (`Policy.as_dict`)."""

        offsets_minutes: list[int]
        quiet_start: str
        quiet_end: str
        channels: list[str]
        recall_after_months: int
        recall_procedures: list[str]
        clinic_name: str
        clinic_address: str
        meta: Meta
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 named appointment types (a recall followed a completed visit); the
            recall now follows a recorded treatment, so the default procedures stand."""
            state.pop("recall_types", None)
            state["recall_procedures"] = sorted(RECALL_PROCEDURES)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2 kept a zone of its own; the clinic's zone is scheduling's set-up."""
            state.pop("zone", None)

        def apply(self, aggregate: Any) -> None:
            aggregate.policy = Policy.of(vars(self))

    def set(self, policy: Policy, meta: Meta) -> None:
        self.trigger_event(self.ReminderPolicySet, meta=meta, **policy.as_dict())


class ClinicZone(Aggregate):
    """The clinic's zone as the reminders context learned it from scheduling's clinic set-up
    (its events' payloads), and the version of the set-up it was learned from: reminders are
    reckoned on the clinic's clock. None is kept until the clinic is set up (`DEFAULT_ZONE`)."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return CLINIC_ZONE_ID

    @event("ClinicZoneLearned")
    def __init__(self, zone_name: str, seen_version: int, meta: Meta) -> None:
        self.zone_name, self.seen_version = zone_name, seen_version

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def learn(self, zone_name: str, version: int, meta: Meta) -> None:
        """A later version of the set-up (a redelivered earlier one changes nothing)."""
        if version > self.seen_version:
            self._learned(zone_name=zone_name, seen_version=version, meta=meta)

    @event("ClinicZoneRelearned")
    def _learned(self, zone_name: str, seen_version: int, meta: Meta) -> None:
        self.zone_name, self.seen_version = zone_name, seen_version
