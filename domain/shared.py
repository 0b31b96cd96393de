"""Building blocks shared by every bounded context: who did it, and why the domain said no."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The clinic's zone until an admin sets up the clinic: mainland Spain. (The Canary Islands are
# Atlantic/Canary; a clinic there sets its zone when it sets up its calendar.)
DEFAULT_ZONE = "Europe/Madrid"


class DomainError(ValueError):
    """A rule of the clinic refused the request; the message says which and why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidValue(DomainError):
    """A value a person typed is not acceptable (a future birth date, a bad phone)."""


class TransitionRefused(DomainError):
    """The aggregate is in a state where this change makes no sense."""


@dataclass(frozen=True, slots=True)
class Meta:
    """Who asked for a change, and which request or event caused it (invariant 6)."""

    actor_id: str
    actor_role: str
    correlation_id: str
    causation_id: str

    def as_dict(self) -> dict[str, str]:
        return {
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }

    @classmethod
    def unrecorded(cls) -> Meta:
        """For events stored before they carried who caused them."""
        return cls("unrecorded", "unrecorded", "", "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Meta:
        return cls(
            actor_id=str(data["actor_id"]),
            actor_role=str(data["actor_role"]),
            correlation_id=str(data["correlation_id"]),
            causation_id=str(data["causation_id"]),
        )


def require_text(value: str, field: str, *, max_length: int) -> str:
    """Trimmed, non-empty text of bounded length."""
    text = " ".join(value.split())
    if not text:
        raise InvalidValue(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidValue(f"{field} must be at most {max_length} characters", field=field)
    return text


def optional_text(value: str | None, field: str, *, max_length: int) -> str | None:
    if value is None or not value.strip():
        return None
    return require_text(value, field, max_length=max_length)
