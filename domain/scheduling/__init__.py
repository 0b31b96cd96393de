"""The `scheduling` context's domain: appointments and the diaries that keep them apart
(`appointments`), the rules of the clinic's calendar (`calendar`), free-slot search
(`availability`) and the reference data an admin maintains (`reference`)."""

from domain.scheduling.appointments import (
    LIVE,
    Appointment,
    Diary,
    OutsideHours,
    Resource,
    Slot,
    SlotTaken,
    Status,
    diary_id,
)

__all__ = [
    "LIVE",
    "Appointment",
    "Diary",
    "OutsideHours",
    "Resource",
    "Slot",
    "SlotTaken",
    "Status",
    "diary_id",
]
