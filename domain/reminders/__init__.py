"""The reminders context: when reminders go out and what became of each (pure domain)."""

from domain.reminders.policy import (
    Backoff,
    Channel,
    Contact,
    Kind,
    Policy,
    QuietHours,
    Skip,
    choose_channel,
    real_local,
    sms_segments,
)
from domain.reminders.reminder import (
    POLICY_ID,
    RECALL,
    Reminder,
    ReminderPlan,
    ReminderPolicy,
    Status,
    plan_id,
    reminder_id,
)

__all__ = [
    "POLICY_ID",
    "RECALL",
    "Backoff",
    "Channel",
    "Contact",
    "Kind",
    "Policy",
    "QuietHours",
    "Reminder",
    "ReminderPlan",
    "ReminderPolicy",
    "Skip",
    "Status",
    "choose_channel",
    "plan_id",
    "real_local",
    "reminder_id",
    "sms_segments",
]
