"""The channels that carry reminders out of the clinic: email over SMTP (aiosmtplib) and
SMS or WhatsApp through an HTTP provider (httpx), Twilio-compatible or a signed webhook.

Every send carries the reminder's idempotency key, the same on every attempt: as the email's
Message-ID and `X-Idempotency-Key`, as Twilio's `I-Twilio-Idempotency-Token`, as the
webhook's `Idempotency-Key`. A provider that deduplicates on it turns the one duplicate a
crash can cause into none. A failure the next attempt may not meet raises `SendFailed`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpx


class SendFailed(Exception):
    """The message did not leave; trying again later may work."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one address, as rendered."""

    to: str
    subject: str
    text: str
    html: str | None
    idempotency_key: str
    language: str = "es"


class Sender(Protocol):
    async def send(self, message: Outgoing) -> str:
        """Hands the message over; the provider's id for it."""

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    tls: str = "auto"  # auto, starttls, tls, none
    username: str | None = None
    password: str | None = None
    sender: str = "Sonrisa <reminders@localhost>"
    timeout: float = 10.0


class SmtpSender:
    """Email with a plain-text and an HTML part, over kept-open SMTP connections: up to
    `connections` messages are in the mail server's hands at once, one per connection (an
    SMTP conversation carries one message at a time)."""

    def __init__(self, config: SmtpConfig, connections: int = 1) -> None:
        self.config = config
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP | None] = asyncio.LifoQueue()
        self._open: set[aiosmtplib.SMTP] = set()
        for _ in range(max(1, connections)):
            self._idle.put_nowait(None)  # a place for a connection, opened when first needed

    async def _connected(self, client: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP:
        if client is not None and client.is_connected:
            return client
        config = self.config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            timeout=config.timeout,
            use_tls=config.tls == "tls",
            start_tls={"auto": None, "starttls": True}.get(config.tls, False),
            username=config.username,
            password=config.password,
        )
        await client.connect()
        self._open.add(client)
        return client

    async def send(self, message: Outgoing) -> str:
        email = EmailMessage()
        email["From"] = self.config.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = f"<{message.idempotency_key}@sonrisa.reminders>"
        email["X-Idempotency-Key"] = message.idempotency_key
        email["Content-Language"] = message.language
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        client = await self._idle.get()
        try:
            client = await self._connected(client)
            await client.send_message(email)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self._quit(client)
            client = None
            raise SendFailed(f"SMTP: {type(error).__name__}: {error}") from error
        finally:
            self._idle.put_nowait(client)
        return str(email["Message-ID"])

    async def _quit(self, client: aiosmtplib.SMTP | None) -> None:
        if client is None:
            return
        self._open.discard(client)
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    async def close(self) -> None:
        for client in list(self._open):
            await self._quit(client)


@dataclass(frozen=True, slots=True)
class HttpSmsConfig:
    url: str
    provider: str = "twilio"  # twilio, webhook
    account: str = ""
    token: str = ""
    sender: str = ""
    whatsapp: bool = False
    timeout: float = 10.0


def webhook_signature(token: str, body: bytes) -> str:
    """`sha256=<hex HMAC of the body>`, as the webhook receiver checks it."""
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


class HttpSmsSender:
    """SMS (or WhatsApp) through an HTTP provider."""

    def __init__(self, config: HttpSmsConfig) -> None:
        self.config = config
        self._http = httpx.AsyncClient(timeout=config.timeout)

    def _address(self, number: str) -> str:
        return f"whatsapp:{number}" if self.config.whatsapp else number

    async def send(self, message: Outgoing) -> str:
        config = self.config
        try:
            if config.provider == "twilio":
                response = await self._http.post(
                    f"{config.url.rstrip('/')}/2010-04-01/Accounts/{config.account}/Messages.json",
                    data={
                        "To": self._address(message.to),
                        "From": self._address(config.sender),
                        "Body": message.text,
                    },
                    auth=(config.account, config.token),
                    headers={"I-Twilio-Idempotency-Token": message.idempotency_key},
                )
            else:
                body = json.dumps(
                    {
                        "to": self._address(message.to),
                        "from": config.sender,
                        "body": message.text,
                        "idempotency_key": message.idempotency_key,
                    }
                ).encode()
                response = await self._http.post(
                    config.url,
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "Idempotency-Key": message.idempotency_key,
                        "X-Sonrisa-Signature": webhook_signature(config.token, body),
                    },
                )
        except httpx.HTTPError as error:
            raise SendFailed(f"SMS provider unreachable: {type(error).__name__}") from error
        if response.status_code >= 300:
            raise SendFailed(f"SMS provider answered {response.status_code}")
        try:
            answer = response.json()
            found = answer.get("sid") or answer.get("id")
        except (ValueError, AttributeError):
            found = None
        return str(found or response.headers.get("X-Message-Id") or message.idempotency_key)

    async def close(self) -> None:
        await self._http.aclose()
