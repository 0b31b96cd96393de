"""The `reminders` context, declared: the clinic's reminder policy, reminders and recalls; the
due list and the worker's view of contacts (PostgreSQL); the worker that reacts to scheduling's
and treatments' events and sends what is due by email and SMS (ADR 12)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from api import reminders as http
from bus.reminders.choreography import AppointmentReactions
from bus.reminders.dispatcher import Dispatcher, Links
from clinic.declaration import Context, Reaction, Worker
from commands.reminders import Reminders
from domain.reminders import Backoff, Channel
from infra.links import LinkSigner
from infra.outbound import HttpSmsConfig, HttpSmsSender, Sender, SmtpConfig, SmtpSender
from projections.reminders import DueList, ReminderContacts, ReminderQueries
from security.message_limits import MessageLimits
from security.reminders import LinkUses

if TYPE_CHECKING:
    from clinic.platform import Platform


def _retry_as_configured(reminders: Reminders, platform: Platform) -> None:
    s = platform.settings
    reminders.backoff = Backoff(
        first=timedelta(seconds=s.reminders_retry_first_seconds),
        longest=timedelta(seconds=s.reminders_retry_longest_seconds),
        attempts=s.reminders_attempts,
    )


def senders(platform: Platform) -> dict[Channel, Sender]:
    """Email always; SMS and WhatsApp when an HTTP provider is configured."""
    s = platform.settings
    found: dict[Channel, Sender] = {
        Channel.EMAIL: SmtpSender(
            SmtpConfig(
                s.smtp_host,
                s.smtp_port,
                s.smtp_tls,
                s.smtp_username,
                s.smtp_password.get_secret_value() if s.smtp_password else None,
                s.smtp_sender,
                s.smtp_timeout_seconds,
            ),
            connections=s.reminders_in_flight,
        )
    }
    if s.sms_url:
        token = s.sms_token.get_secret_value() if s.sms_token else ""
        for channel in (Channel.SMS, Channel.WHATSAPP):
            found[channel] = HttpSmsSender(
                HttpSmsConfig(
                    s.sms_url,
                    s.sms_provider,
                    s.sms_account,
                    token,
                    s.sms_sender,
                    whatsapp=channel is Channel.WHATSAPP,
                )
            )
    return found


def dispatcher(platform: Platform, worker: str | None = None) -> Dispatcher:
    """Claims due reminders and sends them."""
    s = platform.settings
    return Dispatcher(
        platform.application(Reminders),
        platform.get(ReminderQueries),
        senders(platform),
        Links(platform.get(LinkSigner), s.public_url, timedelta(days=s.reminder_link_days)),
        batch_size=s.reminders_batch_size,
        lease_seconds=s.reminders_lease_seconds,
        poll_seconds=s.reminders_poll_seconds,
        in_flight=s.reminders_in_flight,
        worker=worker,
    )


REACTIONS = Reaction(
    AppointmentReactions.name,
    AppointmentReactions.binding_keys,
    lambda p: AppointmentReactions(p.application(Reminders), p.reader),
)
WORKER = Worker(
    "reminders",
    "The reminder worker: schedules reminders from appointment and treatment events, and "
    "sends them when due.",
    reactions=(REACTIONS,),
    loops=lambda p: {"dispatcher": dispatcher(p).run},
)

CONTEXT = Context(
    name="reminders",
    application=Reminders,
    set_up=_retry_as_configured,
    read_models=(DueList(), ReminderContacts()),
    provides=(
        lambda p: ReminderQueries(p.pool),
        lambda p: LinkSigner(p.keys["links"]),
        lambda p: LinkUses(p.pool),
        lambda p: MessageLimits.of(p.pool, p.settings),
    ),
    routers=(http.router,),
    grants=http.GRANTS,
    workers=(WORKER,),
    tables=(lambda p: p.get(LinkUses), lambda p: p.get(MessageLimits)),
)
