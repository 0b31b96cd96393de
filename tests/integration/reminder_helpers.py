"""A real SMTP server (aiosmtpd) the reminder tests start, and patients who can be reminded."""

from __future__ import annotations

import asyncio
import email
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import Message
from typing import Any
from uuid import UUID

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bus.reminders.dispatcher import Dispatcher, Links
from clinic.platform import Platform
from commands.patients import Consents, Patients, RegisterPatient
from commands.reminders import Reminders
from domain.reminders import Channel
from infra.links import LinkSigner
from infra.outbound import SmtpConfig, SmtpSender
from projections.reminders import ReminderQueries
from tests.integration.helpers import META


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received, in order."""

    messages: list[Message] = field(default_factory=list)
    delay: float = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        self.messages.append(email.message_from_bytes(raw))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`, in its own thread; can be stopped and started again."""

    def __init__(self, port: int | None = None, delay: float = 0.0) -> None:
        self.port = port or free_port()
        self.mailbox = Mailbox(delay=delay)
        self._controller: Controller | None = None

    def start(self) -> SmtpServer:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> SmtpConfig:
        return SmtpConfig("127.0.0.1", self.port, tls="none", timeout=5.0)


def text_of(message: Message) -> str:
    """The plain-text part."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload: Any = part.get_payload(decode=True)
            return bytes(payload).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the email has no text part")


def html_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload: Any = part.get_payload(decode=True)
            return bytes(payload).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("the email has no HTML part")


def remindable(n: int, *, language: str = "es", email_consent: bool = True) -> RegisterPatient:
    return RegisterPatient(
        given_name=f"Paciente {n}",
        family_name=f"Recordado {n:05d}",
        birth_date=date(1980, 1 + n % 12, 1 + n % 28),
        sex="female",
        email=f"patient{n}@example.org",
        phone=f"+34 6{n:08d}",
        language=language,
        consents=Consents(email=email_consent, sms=False),
    )


async def register_remindable(platform: Platform, n: int, **kwargs: Any) -> UUID:
    written = await asyncio.to_thread(
        platform.application(Patients).register, remindable(n, **kwargs), META
    )
    return written.id


def dispatcher(
    platform: Platform,
    server: SmtpServer,
    clock: Callable[[], datetime],
    *,
    worker: str | None = None,
    lease_seconds: float = 30.0,
    in_flight: int = 1,
) -> Dispatcher:
    return Dispatcher(
        platform.application(Reminders),
        platform.get(ReminderQueries),
        {Channel.EMAIL: SmtpSender(server.config(), connections=in_flight)},
        Links(platform.get(LinkSigner), "https://clinic.example.test", timedelta(days=14)),
        batch_size=25,
        lease_seconds=lease_seconds,
        poll_seconds=0.05,
        in_flight=in_flight,
        worker=worker,
        now=clock,
    )


def wait_for_port(port: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")
