"""Providers follow their appointments in a calendar app (issue 21, part 4): a secret feed URL
that parses as iCalendar, follows moves and cancellations, shows initials and never a name,
answers the same 404 for a revoked and an unknown address, and is throttled."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
from icalendar import Calendar, Event

from api.app import create_app
from clinic.platform import Platform
from projections.scheduling import SchedulingQueries
from security.scheduling import FeedReads, ReadLimits, token_of
from tests.conftest import SignIn, eventually
from tests.e2e.test_appointment_book import (
    NEXT_MONDAY,
    Clinic,
    appointment,
    on_the_day,
    set_up,
)

FEEDS = "/api/calendar-feeds"


async def subscribe(http: httpx.AsyncClient, headers: dict[str, str], provider: str) -> str:
    """A new feed of the provider's appointments: the path of its secret URL."""
    made = await http.post(FEEDS, json={"provider_id": provider}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.headers["Cache-Control"] == "no-store"
    return str(urlsplit(made.json()["url"]).path)


def events_of(text: bytes) -> dict[str, Event]:
    """The feed's events by UID, as a real iCalendar parser reads them."""
    calendar = Calendar.from_ical(text)
    return {
        str(event["UID"]): event for event in calendar.walk("VEVENT") if isinstance(event, Event)
    }


async def book(http: httpx.AsyncClient, clinic: Clinic, **where: Any) -> str:
    body = appointment(clinic, **where)
    booked = await http.post("/api/appointments", json=body, headers=clinic.desk)
    assert booked.status_code == 201, booked.text
    return str(booked.json()["id"])


async def projected(platform: Platform, versions: dict[str, int]) -> None:
    """Wait until the appointment book holds each appointment at (least) its version: the
    feed is then read once, as a calendar app would, not polled into its limit."""
    book = platform.get(SchedulingQueries)

    async def there() -> bool:
        for appointment_id, version in versions.items():
            found = await book.appointment(UUID(appointment_id))
            if found is None or found["version"] < version:
                return False
        return True

    await eventually(there, what="the appointment book")


async def feed(
    http: httpx.AsyncClient, path: str, platform: Platform
) -> tuple[bytes, dict[str, Event]]:
    """The feed as read on the test appointments' day, which is years ahead: the feed shows
    the next year, on the appointment book's clock."""
    with on_the_day(platform):
        answer = await http.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    return answer.content, events_of(answer.content)


async def test_the_feed_follows_a_move_and_a_cancellation_and_names_no_patient(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, providers=2, patients=3)
    moved, cancelled, handed_over = (
        await book(anonymous, clinic, minutes=0),
        await book(anonymous, clinic, minutes=60),
        await book(anonymous, clinic, minutes=120),
    )
    path = await subscribe(anonymous, clinic.admin, clinic.providers[0])
    uid = {a: f"{a}@sonrisa" for a in (moved, cancelled, handed_over)}

    await projected(platform, dict.fromkeys(uid, 1))
    raw, before = await feed(anonymous, path, platform)
    assert set(before) == set(uid.values())
    calendar = Calendar.from_ical(raw)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Madrid"]
    first = before[uid[moved]]
    assert first.decoded("DTSTART") == NEXT_MONDAY
    assert first["DTSTART"].params["TZID"] == "Europe/Madrid"
    assert first.decoded("DTEND") == NEXT_MONDAY + timedelta(minutes=30)
    assert str(first["SUMMARY"]) == "Check-up · Chair 0 · P.A."
    assert str(first["STATUS"]) == "CONFIRMED"
    assert "DTSTAMP" in first

    later = NEXT_MONDAY + timedelta(hours=3)
    answers = [
        await anonymous.put(
            f"/api/appointments/{moved}",
            json={"start": later.isoformat(), "duration_minutes": 30},
            headers={**clinic.desk, "If-Match": '"1"'},
        ),
        await anonymous.delete(
            f"/api/appointments/{cancelled}", params={"reason": "flu"}, headers=clinic.desk
        ),
        await anonymous.put(
            f"/api/appointments/{handed_over}",
            json={
                "start": (NEXT_MONDAY + timedelta(minutes=90)).isoformat(),
                "duration_minutes": 30,
                "provider_id": clinic.providers[1],
            },
            headers={**clinic.desk, "If-Match": '"1"'},
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]

    await projected(platform, dict.fromkeys(uid, 2))
    raw, after = await feed(anonymous, path, platform)
    assert set(after) == set(before), "a moved appointment keeps its UID"
    assert after[uid[moved]].decoded("DTSTART") == later
    assert after[uid[moved]].sequence > before[uid[moved]].sequence
    assert str(after[uid[moved]]["STATUS"]) == "CONFIRMED"
    assert str(after[uid[cancelled]]["STATUS"]) == "CANCELLED"
    # Moved to another provider: gone from this one's calendar, at the time it held here.
    assert str(after[uid[handed_over]]["STATUS"]) == "CANCELLED"
    assert after[uid[handed_over]].decoded("DTSTART") == NEXT_MONDAY + timedelta(hours=2)
    text = raw.decode()
    assert "Apellido" not in text
    assert "Paciente" not in text
    assert "P.A." in text


async def test_each_read_of_a_feed_is_in_the_access_log_without_names(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=1)
    booked = await book(anonymous, clinic)
    path = await subscribe(anonymous, clinic.admin, clinic.providers[0])
    await projected(platform, {booked: 1})
    _, events = await feed(anonymous, path, platform)
    assert list(events) == [f"{booked}@sonrisa"]
    shown = await anonymous.get(f"/api/appointments/{booked}", headers=clinic.desk)
    patient = UUID(shown.json()["patient_id"])

    entries = await platform.access_log.search(
        patient_id=patient, actor=None, since=None, until=None, after_seq=0, limit=100
    )
    reads = [e for e in entries if e["action"] == "calendar-feeds:read"]
    assert reads
    details = reads[-1]["details"]
    assert details["provider_id"] == clinic.providers[0]
    assert details["appointments"] == 1
    assert "Apellido" not in str(reads[-1])
    assert "Paciente" not in str(reads[-1])


async def test_a_revoked_and_an_unknown_feed_answer_the_same_404(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=0)
    path = await subscribe(anonymous, clinic.admin, clinic.providers[0])
    assert (await anonymous.get(path)).status_code == 200
    listed = await anonymous.get(FEEDS, headers=clinic.admin)
    (kept,) = listed.json()["items"]
    assert "url" not in kept
    assert path.rsplit("/", 1)[1].removesuffix(".ics") not in listed.text

    revoked = await anonymous.delete(f"{FEEDS}/{kept['id']}", headers=clinic.admin)
    assert revoked.status_code == 204
    same = {"X-Correlation-Id": "feed-probe"}
    unknown = token_of(uuid4(), secrets.token_bytes(32))
    answers = [
        await anonymous.get(path, headers=same),
        await anonymous.get(f"{FEEDS}/{unknown}.ics", headers=same),
        await anonymous.get(f"{FEEDS}/not-a-token.ics", headers=same),
    ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert answers[0].json()["type"] == "https://sonrisa.dev/problems/not-found"
    assert answers[0].content == answers[1].content == answers[2].content
    assert (await anonymous.get(FEEDS, headers=clinic.admin)).json()["items"] == []
    again = await anonymous.delete(f"{FEEDS}/{kept['id']}", headers=clinic.admin)
    assert again.status_code == 404


async def test_a_provider_keeps_their_own_feeds_and_the_desk_none(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=0)
    dentist = await sign_in("dentist")
    me = (await anonymous.get("/api/auth/profile", headers=dentist)).json()["staff_id"]
    added = await anonymous.post(
        "/api/providers",
        headers=clinic.admin,
        json={"staff_id": me, "name": "Dra. Propia", "kind": "dentist"},
    )
    own = added.json()["id"]

    async def provider_known() -> bool:
        listed = await anonymous.get("/api/providers", headers=clinic.desk)
        return own in {p["provider_id"] for p in listed.json()["items"]}

    await eventually(provider_known, what="the dentist's provider record")

    refused = await anonymous.post(FEEDS, json={"provider_id": own}, headers=clinic.desk)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://sonrisa.dev/problems/forbidden"
    others = await anonymous.post(FEEDS, json={"provider_id": clinic.providers[0]}, headers=dentist)
    assert others.status_code == 403
    await subscribe(anonymous, dentist, own)
    await subscribe(anonymous, clinic.admin, clinic.providers[0])

    mine = (await anonymous.get(FEEDS, headers=dentist)).json()["items"]
    every = (await anonymous.get(FEEDS, headers=clinic.admin)).json()["items"]
    assert [f["provider_id"] for f in mine] == [own]
    assert sorted(f["provider_id"] for f in every) == sorted([own, clinic.providers[0]])
    theirs = next(f for f in every if f["provider_id"] != own)
    assert (await anonymous.delete(f"{FEEDS}/{theirs['id']}", headers=dentist)).status_code == 404
    gone = await anonymous.post(FEEDS, json={"provider_id": str(uuid4())}, headers=clinic.admin)
    assert gone.status_code == 404


async def test_reads_past_the_limit_get_429_with_retry_after(
    platform: Platform, sign_in: SignIn, pipeline: None
) -> None:
    running = platform.services()
    strict = FeedReads(platform.pool, ReadLimits(per_token=2, per_address=3))
    services = replace(
        running,
        provided=tuple(strict if isinstance(p, FeedReads) else p for p in running.provided),
    )
    app = create_app(platform.settings, platform.routers(), services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sonrisa.test"
    ) as http:
        clinic = await set_up(http, sign_in, platform, patients=0)
        path = await subscribe(http, clinic.admin, clinic.providers[0])
        per_token = [(await http.get(path)).status_code for _ in range(3)]
        unknown = f"{FEEDS}/{token_of(uuid4(), secrets.token_bytes(32))}.ics"
        per_address = [(await http.get(unknown)).status_code for _ in range(2)]
        refused = await http.get(path)

    assert per_token == [200, 200, 429]
    assert per_address == [404, 429]  # the address's third read, then its fourth
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://sonrisa.dev/problems/too-many-feed-reads"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "RateLimit" in refused.headers
    assert path.rsplit("/", 1)[1] not in refused.text, "the answer never echoes the token"
