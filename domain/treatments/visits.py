"""A visit recorded with its appointment's completion: which treatments it carried, once."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain.shared import TransitionRefused


class VisitAtCompletion(Aggregate):
    """That the treatments of an appointment were recorded with its completion, which ones,
    and a digest of the request that recorded them. Saved in the same transaction as those
    treatments: an appointment's completion carries its treatments once, however often the
    request is retried, and a retry after a crash finds them and goes on to the completion."""

    @staticmethod
    def create_id(appointment_id: UUID) -> UUID:
        return visit_at_completion_id(appointment_id)

    @event("VisitRecordedAtCompletion")
    def __init__(
        self, appointment_id: UUID, patient_id: UUID, treatment_ids: list[UUID], digest: str
    ) -> None:
        self.patient_id = patient_id
        self.treatment_ids = list(treatment_ids)
        self.digest = digest

    def treatments_of(self, digest: str) -> list[UUID]:
        """The treatments already recorded, when the visit sent again is the same one (the
        same digest); another visit for the same completion is refused."""
        if digest != self.digest:
            raise TransitionRefused(
                "this appointment's completion already carried other treatments; amend or "
                "void those, or record more without completing"
            )
        return list(self.treatment_ids)


def visit_at_completion_id(appointment_id: UUID) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:visit-at-completion:{appointment_id}")


# Recorded before the class moved here from the command side: its stored events keep the
# topic they were written with.
register_topic("commands.treatments:VisitAtCompletion", VisitAtCompletion)
