"""Calendar feeds over HTTP (issue 21): a provider, or an admin for any provider, makes a secret
subscription URL of that provider's appointments, lists the feeds and revokes them; a calendar
app, which cannot send a bearer token, reads the feed with the URL's token alone.

A revoked, unknown or malformed token gets the same 404, body and all (it does not even echo
the token), so nothing tells whether a feed was ever there. Reads are throttled per token and
per address, and each one is in the access log: the feed, its provider, how many appointments
and which patients (by id), never a name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from api.deps import Running
from api.permissions import AccessIntent, Actor, allowed, public
from api.problems import Problem
from api.scheduling.actions import CALENDAR_FEED_READ, CALENDAR_FEEDS, CALENDAR_FEEDS_ANY
from api.scheduling.ics import calendar_of
from commands.base import Command
from commands.scheduling import Scheduling
from infra.logs import get_logger
from projections.scheduling import SchedulingQueries
from security.scheduling import CalendarFeeds, FeedReads, TooManyReads

router = APIRouter(prefix="/api", tags=["calendar feeds"])
log = get_logger("api.calendar_feeds")
Keeper = Annotated[Actor, Depends(allowed(CALENDAR_FEEDS))]
FEEDS = "/api/calendar-feeds"
# What a 404 or 429 of a feed says it was about: the route, never the token asked for.
FEED_ADDRESS = f"{FEEDS}/{{token}}.ics"
PAST, AHEAD = timedelta(days=30), timedelta(days=365)  # cancelled ones stay this long
MEDIA_TYPE = "text/calendar; charset=utf-8"
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_RETRY_AFTER = {"schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}
FEED_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {"schema": {"type": "string"}}}},
    404: {"description": "No live feed at this address (never there, or revoked: the same)"},
    429: {
        "description": "Too many reads of this feed, or from this address: wait as "
        "Retry-After says",
        "headers": {"Retry-After": _RETRY_AFTER},
    },
}


class NewFeed(Command):
    provider_id: UUID = Field(description="whose appointments the feed shows")


class FeedOut(BaseModel):
    """A calendar feed, without its secret."""

    id: str
    provider_id: str
    created_by: str
    created_at: str


class FeedCreatedOut(FeedOut):
    url: str = Field(description="the subscription URL: shown this once, keep it secret")


class FeedsOut(BaseModel):
    items: list[FeedOut]


async def _providers_of(who: Actor, queries: SchedulingQueries) -> list[UUID] | None:
    """The providers whose feeds `who` keeps: those that are them, or None for any."""
    if who.may(CALENDAR_FEEDS_ANY):
        return None
    mine = str(who.staff_id)
    return [UUID(p["provider_id"]) for p in await queries.provider_list() if p["staff_id"] == mine]


@router.post(
    "/calendar-feeds",
    status_code=201,
    response_model=FeedCreatedOut,
    responses={404: {"description": "The provider does not exist"}},
)
async def create_feed(
    body: NewFeed, who: Keeper, response: Response, running: Running
) -> dict[str, object]:
    """A secret subscription URL of the provider's appointments, shown only in this answer.
    Providers make them for themselves; admins for anyone."""
    queries = running.get(SchedulingQueries)
    if await queries.provider(body.provider_id) is None:
        raise Problem(404, "not-found", "Not found", f"provider {body.provider_id} does not exist")
    mine = await _providers_of(who, queries)
    if mine is not None and body.provider_id not in mine:
        raise Problem(
            403,
            "forbidden",
            "Not allowed",
            "a provider makes feeds of their own appointments; an admin, of anyone's",
        )
    feed, token = await running.get(CalendarFeeds).create(body.provider_id, who.staff_id)
    log.info("calendar feed created", feed_id=str(feed.id), provider_id=str(feed.provider_id))
    response.headers.update(_PRIVATE)
    url = f"{running.settings.public_url.rstrip('/')}{FEEDS}/{token}.ics"
    return {**feed.as_dict(), "url": url}


@router.get("/calendar-feeds", response_model=FeedsOut)
async def list_feeds(who: Keeper, running: Running) -> dict[str, object]:
    """The live feeds: one's own, or every provider's for an admin. Never their secrets."""
    mine = await _providers_of(who, running.get(SchedulingQueries))
    feeds = await running.get(CalendarFeeds).active(mine)
    return {"items": [feed.as_dict() for feed in feeds]}


@router.delete("/calendar-feeds/{feed_id:uuid}", status_code=204)
async def revoke_feed(feed_id: UUID, who: Keeper, running: Running) -> Response:
    """Revokes a feed: its URL answers 404 from now on, as if it had never been."""
    mine = await _providers_of(who, running.get(SchedulingQueries))
    if not await running.get(CalendarFeeds).revoke(feed_id, who.staff_id, mine):
        raise Problem(404, "not-found", "Not found", f"no live calendar feed {feed_id} of yours")
    log.info("calendar feed revoked", feed_id=str(feed_id))
    return Response(status_code=204)


@router.get(
    "/calendar-feeds/{token}.ics",
    response_class=Response,
    dependencies=[Depends(public)],
    responses=FEED_ANSWERS,
)
async def read_feed(token: str, request: Request, running: Running) -> Response:
    """The provider's appointments from 30 days ago to a year ahead, as iCalendar. No sign-in:
    the token is the permission."""
    address = request.client.host if request.client else "unknown"
    try:
        quota = await running.get(FeedReads).take(token, address)
    except TooManyReads as refused:
        problem = Problem(
            429,
            "too-many-feed-reads",
            "Too many reads",
            f"this calendar feed, or this address, was read as often as an hour allows; "
            f"try again in {refused.retry_after} s",
            instance=FEED_ADDRESS,
        )
        problem.headers["Retry-After"] = str(refused.retry_after)
        problem.headers.update(refused.quota.headers())
        raise problem from None
    feed = await running.get(CalendarFeeds).open(token)
    if feed is None:
        raise Problem(
            404, "not-found", "Not found", "there is no calendar feed here", instance=FEED_ADDRESS
        )
    queries = running.get(SchedulingQueries)
    now = running.get(Scheduling).now()  # the appointment book's clock
    appointments = await queries.provider_calendar(feed.provider_id, now - PAST, now + AHEAD)
    request.state.access = AccessIntent(
        CALENDAR_FEED_READ,
        None,
        {
            "feed_id": str(feed.id),
            "provider_id": str(feed.provider_id),
            "appointments": len(appointments),
        },
    )
    request.state.access.shows(appointments)
    provider = await queries.provider(feed.provider_id) or {}
    setup = await queries.clinic_setup() or {}
    zone = await queries.zone()
    body = calendar_of(
        f"Sonrisa: {provider.get('name', 'appointments')}",
        appointments,
        setup,
        zone,
        now.astimezone(zone).date(),
    )
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            **_PRIVATE,
            **quota.headers(),
            "Content-Disposition": 'inline; filename="sonrisa.ics"',
        },
    )
