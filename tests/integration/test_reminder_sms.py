"""SMS through an HTTP provider over a real socket: the Twilio-compatible shape, the signed
webhook, the idempotency key on every attempt, and SMS as the fallback when a patient
consents to SMS but not to email."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from bus.reminders.dispatcher import Dispatcher
from clinic.platform import Platform
from commands.patients import Consents, Patients
from commands.reminders import Reminders, SendReminder
from domain.reminders import Channel
from infra.outbound import (
    HttpSmsConfig,
    HttpSmsSender,
    Outgoing,
    SendFailed,
    SmtpConfig,
    SmtpSender,
    webhook_signature,
)
from projections.reminders import ReminderQueries
from tests.conftest import eventually
from tests.integration.helpers import META
from tests.integration.reminder_helpers import free_port, remindable


@dataclass
class Provider:
    """A local HTTP server standing in for the SMS provider; answers 503 while `down`."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = Provider(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, answer = (503, b"{}") if state.down else (201, b'{"sid": "SM123"}')
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


MESSAGE = Outgoing("+34600111222", "", "Su cita es mañana a las 10:00", None, "key-1")


async def test_a_twilio_compatible_send_carries_the_idempotency_key(provider: Provider) -> None:
    sender = HttpSmsSender(HttpSmsConfig(provider.url, "twilio", "AC1", "secret", "+34911000000"))
    try:
        assert await sender.send(MESSAGE) == "SM123"
    finally:
        await sender.close()
    (sent,) = provider.requests
    assert sent["path"] == "/2010-04-01/Accounts/AC1/Messages.json"
    form = parse_qs(sent["body"].decode())
    assert form == {
        "To": ["+34600111222"],
        "From": ["+34911000000"],
        "Body": ["Su cita es mañana a las 10:00"],
    }
    assert sent["headers"]["I-Twilio-Idempotency-Token"] == "key-1"
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC1:secret").decode()


async def test_a_webhook_send_is_signed_and_a_provider_outage_is_a_failed_send(
    provider: Provider,
) -> None:
    sender = HttpSmsSender(HttpSmsConfig(f"{provider.url}/hook", "webhook", token="hook-key"))
    try:
        await sender.send(MESSAGE)
        provider.down = True
        with pytest.raises(SendFailed):
            await sender.send(MESSAGE)
    finally:
        await sender.close()
    first, retried = provider.requests
    assert first["headers"]["X-Sonrisa-Signature"] == webhook_signature("hook-key", first["body"])
    assert json.loads(first["body"])["idempotency_key"] == "key-1"
    assert retried["headers"]["Idempotency-Key"] == first["headers"]["Idempotency-Key"]


async def test_a_patient_who_consents_to_sms_only_gets_an_sms(
    platform: Platform, pipeline: None, provider: Provider
) -> None:
    registration = remindable(300).model_copy(update={"consents": Consents(email=False, sms=True)})
    patient = (
        await asyncio.to_thread(platform.application(Patients).register, registration, META)
    ).id

    async def known() -> bool:
        return await platform.get(ReminderQueries).contact(patient) is not None

    await eventually(known, what="the patient's consents")
    written = await asyncio.to_thread(
        platform.application(Reminders).send_now,
        SendReminder(patient_id=patient, text="Hola"),
        META,
    )
    dispatcher = Dispatcher(
        platform.application(Reminders),
        platform.get(ReminderQueries),
        {
            Channel.EMAIL: SmtpSender(SmtpConfig("127.0.0.1", free_port(), "none")),
            Channel.SMS: HttpSmsSender(HttpSmsConfig(provider.url, "twilio", "AC1", "t", "+34")),
        },
        None,
        now=lambda: datetime.now(UTC) + timedelta(seconds=1),
    )

    async def sent() -> bool:
        await dispatcher.dispatch_once()
        found = await platform.get(ReminderQueries).reminder(written.id)
        return found is not None and found["status"] == "sent"

    await eventually(sent, what="the SMS sent and recorded")
    found = await platform.get(ReminderQueries).reminder(written.id)
    assert found is not None
    assert (found["channel"], found["provider_message_id"]) == ("sms", "SM123")
    assert found["segments"] == 1
    assert parse_qs(provider.requests[0]["body"].decode())["To"] == ["+34600000300"]
