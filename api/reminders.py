"""HTTP for the `reminders` context: staff list reminders and send one now, an admin sets the
policy, and patients confirm or cancel from the links in their reminders (no sign-in: the
link is the permission, and its page shows only the visit's time and place)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape
from pydantic import BaseModel, Field

from api.deps import Running, WrittenOut
from api.permissions import (
    STAFF,
    Actor,
    Grants,
    allowed,
    public,
)
from api.problems import Problem
from api.routes import Read, Write
from api.services import Services
from bus.reminders.messages import spoken
from commands.base import Instant, NotFound, StoreUnavailable
from commands.reminders import Reminders, SendReminder, SetReminderPolicy
from commands.scheduling import Cancel, Scheduling
from domain.reminders import Channel, Policy, choose_channel
from domain.reminders import Status as ReminderStatus
from domain.scheduling.appointments import Status as Visit
from domain.shared import DomainError, Meta, Role
from infra.links import Link, LinkAction, LinkRefused, LinkSigner
from projections.reminders import ReminderFilter, ReminderQueries
from projections.scheduling import SchedulingQueries
from security.message_limits import MessageLimits, Place, TooManyMessages
from security.reminders import LinkUses

router = APIRouter(prefix="/api", tags=["reminders"])
REMINDERS_READ = "reminders:read"  # reminders sent, due, failed; the policy
REMINDERS_SEND = "reminders:send"  # send one now
REMINDERS_MANAGE = "reminders:manage"  # the clinic's reminder policy
GRANTS: Grants = {
    REMINDERS_READ: (*STAFF, Role.AUDITOR),
    REMINDERS_SEND: STAFF,
    REMINDERS_MANAGE: (Role.ADMIN,),
}
Reader = Annotated[Actor, Depends(allowed(REMINDERS_READ, patient_data=True))]
Sender = Annotated[Actor, Depends(allowed(REMINDERS_SEND, patient_data=True))]
Manager = Annotated[Actor, Depends(allowed(REMINDERS_MANAGE))]
Status = Annotated[str | None, Query(pattern=f"^({'|'.join(ReminderStatus)})$")]


class ReminderOut(BaseModel):
    """A reminder (projections/reminders.py): fields of a later step (sent, failed, skipped,
    cancelled) are there once it happened."""

    id: str
    patient_id: str
    appointment_id: str | None
    kind: str
    label: str
    due_at: str
    appointment_start: str | None
    status: str = Field(description="scheduled, sent, failed, skipped or cancelled")
    channel: Channel | None
    attempts: int
    changed_at: str
    provider_message_id: str | None = None
    sent_at: str | None = None
    consent: dict[str, bool] | None = None
    segments: int | None = None
    last_error: str | None = None
    reason: str | None = None


class ReminderPageOut(BaseModel):
    items: list[ReminderOut]
    next_cursor: str | None


class PolicyOut(BaseModel):
    """The clinic's reminder policy."""

    offsets_minutes: list[int] = Field(description="how long before the visit each is sent")
    quiet_start: str
    quiet_end: str
    channels: list[Channel] = Field(description="in order of preference")
    recall_after_months: int
    recall_procedures: list[str]
    zone: str = Field(description="the clinic's zone, as its set-up names it (not the policy's)")
    clinic_name: str
    clinic_address: str


@router.get("/reminders", response_model=ReminderPageOut, response_model_exclude_unset=True)
async def list_reminders(
    read: Read,
    who: Reader,
    patient_id: UUID | None = None,
    appointment_id: UUID | None = None,
    status: Status = None,
    channel: Channel | None = None,
    due_from: Annotated[Instant | None, Query(alias="from")] = None,
    due_to: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, object]:
    where = ReminderFilter(
        patient_id,
        appointment_id,
        status,
        channel.value if channel else None,
        due_from,
        due_to,
    )
    try:
        page = await read.get(ReminderQueries).page(where, cursor, limit)
    except ValueError as error:
        raise Problem(400, "invalid-cursor", "The cursor is not valid", str(error)) from None
    answer: dict[str, object] = {"items": page.items, "next_cursor": page.next}
    read.note("query", {"patient_id": str(patient_id) if patient_id else None})
    read.shows(answer)
    return answer


@router.post(
    "/reminders",
    status_code=202,
    response_model=WrittenOut,
    responses={
        429: {
            "description": "Too many free-text messages from this account, or to this "
            "patient: wait as Retry-After says (reminders of appointments are not limited)",
            "headers": {
                "Retry-After": {
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "seconds to wait",
                }
            },
        }
    },
)
async def send_reminder(body: SendReminder, who: Sender, write: Write) -> dict[str, object]:
    """Sends one now (the worker picks it up at once), if the patient consents to a channel.
    Free-text messages are limited per sender and per patient (429 with Retry-After)."""
    patient = body.patient_id
    if body.appointment_id is not None:
        plan = await asyncio.to_thread(write.get(Reminders).plan_of, body.appointment_id)
        if plan is None:
            raise NotFound(f"appointment {body.appointment_id} has nothing to remind of")
        patient = plan.patient_id
    if patient is None:
        raise Problem(422, "invalid-reminder", "Name an appointment or a patient", "")
    write.about(patient)
    policy = await asyncio.to_thread(write.get(Reminders).policy)
    contact = await write.get(ReminderQueries).contact(patient)
    if not isinstance(choose_channel(policy.channels, contact), Channel):
        raise Problem(
            422,
            "no-consent",
            "The patient cannot be reminded",
            "the patient consents to none of the clinic's channels, or has no address on them",
        )
    if body.appointment_id is not None:
        return write.answer(await asyncio.to_thread(write.get(Reminders).send_now, body, who.meta))
    limits = write.get(MessageLimits)
    place = await _place_for_a_message(limits, who.staff_id, patient)
    try:
        sent = await asyncio.to_thread(write.get(Reminders).send_now, body, who.meta)
    except Exception:  # not sent (refused, or the store out of reach): the place is free
        await limits.give_back(place.mark)
        raise
    write.response.headers.update(place.quota.headers())
    return write.answer(sent)


async def _place_for_a_message(limits: MessageLimits, sender: UUID, patient: UUID) -> Place:
    """A place for one free-text message, or 429 with Retry-After and what the desk can do."""
    try:
        return await limits.take(sender, patient)
    except TooManyMessages as refused:
        minutes = math.ceil(refused.retry_after / 60)
        if refused.limit == "sender":
            detail = (
                f"This account has sent {refused.allowed} free-text messages in the last hour, "
                f"as many as the clinic allows. The next can go in {minutes} min."
            )
        else:
            detail = (
                f"This patient has had {refused.allowed} free-text messages from the clinic "
                f"in the last 24 hours, as many as it allows. Phone them instead, or write "
                f"again in {minutes} min."
            )
        problem = Problem(429, "too-many-messages", "Too many messages", detail)
        problem.headers["Retry-After"] = str(refused.retry_after)
        problem.headers.update(refused.quota.headers())
        raise problem from None


@router.get("/reminders/policy", response_model=PolicyOut)
def get_policy(
    running: Running, who: Annotated[Actor, Depends(allowed(REMINDERS_READ))]
) -> dict[str, object]:
    return _policy(running.get(Reminders))


@router.put("/reminders/policy", response_model=PolicyOut)
def set_policy(body: SetReminderPolicy, who: Manager, write: Write) -> dict[str, object]:
    write.wrote(write.get(Reminders).set_policy(body, who.meta))
    return _policy(write.get(Reminders))


def _policy(reminders: Reminders) -> dict[str, object]:
    return {**reminders.policy().as_dict(), "zone": str(reminders.zone())}


# Patients' links

_pages = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_PAGE = _pages.from_string(
    '<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>{{ title }}</title></head><body><main>"
    "<h1>{{ title }}</h1><p>{{ text }}</p>"
    "{% if when %}<p><strong>{{ when }}</strong><br>{{ clinic }}"
    "{% if address %}<br>{{ address }}{% endif %}</p>{% endif %}"
    '{% if action %}<form method="post"><button type="submit">{{ action }}</button></form>'
    "{% endif %}</main></body></html>"
)
LINK_ANSWERS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The link is not valid (altered, or signed with an unknown key)"},
    409: {"description": "The link was used already, or the appointment cannot change now"},
    410: {"description": "The link has expired"},
    503: {"description": "The clinic's records could not be reached; nothing changed"},
}
_WORDS = {
    "confirm": ("Confirmar su cita / Confirm your appointment", "Confirmar / Confirm"),
    "cancel": ("Cancelar su cita / Cancel your appointment", "Cancelar / Cancel"),
}


# What a link can still act on; a visit in any other state gets a page that says so, with
# no button (a cancelled visit offered "Confirm" would mislead the patient).
_ACTS_ON = {
    LinkAction.CONFIRM: {Visit.BOOKED},
    LinkAction.CANCEL: {Visit.BOOKED, Visit.CONFIRMED},
}
_NOW: dict[str, str] = {
    Visit.CONFIRMED: "ya está confirmada / is already confirmed",
    Visit.CANCELLED: "está cancelada / was cancelled",
    Visit.CHECKED_IN: "ya está en curso / is under way",
    Visit.COMPLETED: "ya se realizó / has taken place",
    Visit.NO_SHOW: "ya pasó / has passed",
}


def _closed(request: Request, action: LinkAction, visit: dict[str, Any]) -> HTMLResponse | None:
    status = str(visit.get("status", ""))
    if status in _ACTS_ON[action]:
        return None
    now = _NOW.get(status, "ya no admite cambios / can no longer be changed")
    es, en = now.split(" / ")
    return _page(
        request,
        409,
        "appointment-closed",
        "Cita sin cambios posibles / Nothing to change",
        f"Esta cita {es}. Para cualquier cambio, llame a la clínica. / "
        f"This appointment {en}. For any change, please call the clinic.",
    )


def _page(
    request: Request, status: int, kind: str, title: str, text: str, **extra: Any
) -> HTMLResponse:
    """A page for a person (a browser asks for HTML); problem+json for any other client."""
    if status >= 400 and "text/html" not in request.headers.get("accept", ""):
        raise Problem(status, kind, title, text or title)
    values = {"lang": "es", "when": None, "action": None, "clinic": "", "address": "", **extra}
    return HTMLResponse(
        _PAGE.render(title=title, text=text, **values),
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _refused(request: Request, error: LinkRefused) -> HTMLResponse:
    if error.reason == "expired":
        return _page(
            request,
            410,
            "link-expired",
            "Enlace caducado / Link expired",
            "Este enlace ha caducado. "
            "Llame a la clínica. / This link has expired. Please call the clinic.",
        )
    return _page(
        request,
        400,
        "link-invalid",
        "Enlace no válido / Invalid link",
        "Este enlace no es válido. / This link is not valid.",
    )


async def _opened(
    token: str, request: Request, running: Services
) -> tuple[Link, dict[str, Any], Policy, ZoneInfo] | HTMLResponse:
    """The link's appointment, the clinic's policy and zone, or the page that says why not."""
    try:
        link = running.get(LinkSigner).verify(token, datetime.now(UTC))
    except LinkRefused as error:
        return _refused(request, error)
    visit = await running.get(SchedulingQueries).appointment(link.appointment_id)
    if visit is None:
        return _page(request, 404, "not-found", "Cita no encontrada / Appointment not found", "")
    reminders = running.get(Reminders)
    policy, zone = await asyncio.to_thread(lambda: (reminders.policy(), reminders.zone()))
    return link, visit, policy, zone


@router.get(
    "/reminder-links/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(public)],
    responses=LINK_ANSWERS,
)
async def show_link(token: str, request: Request, running: Running) -> HTMLResponse:
    opened = await _opened(token, request, running)
    if isinstance(opened, HTMLResponse):
        return opened
    link, visit, policy, zone = opened
    closed = _closed(request, link.action, visit)
    if closed is not None:
        return closed
    title, button = _WORDS[link.action.value]
    return _page(
        request,
        200,
        "",
        title,
        "",
        when=_local(visit, zone),
        clinic=policy.clinic_name,
        address=policy.clinic_address,
        action=button,
    )


def _local(visit: dict[str, Any], zone: ZoneInfo) -> str:
    """The visit's time on the clinic's clock, in Spanish and English: all the page reveals."""
    start = datetime.fromisoformat(visit["start"])
    return f"{spoken(start, zone, 'es')} / {spoken(start, zone, 'en')}"


@router.post(
    "/reminder-links/{token}",
    response_class=HTMLResponse,
    dependencies=[Depends(public)],
    responses=LINK_ANSWERS,
)
async def use_link(token: str, request: Request, running: Running) -> HTMLResponse:
    opened = await _opened(token, request, running)
    if isinstance(opened, HTMLResponse):
        return opened
    link, visit, policy, zone = opened
    if not await running.get(LinkUses).take(link.use_id):
        return _page(
            request,
            409,
            "link-used",
            "Enlace ya usado / Link already used",
            "Este enlace ya se usó. / This link was used already.",
        )
    closed = _closed(request, link.action, visit)
    if closed is not None:
        await running.get(LinkUses).give_back(link.use_id)
        return closed
    meta = Meta(
        f"patient:{visit['patient_id']}",
        "patient",
        request.state.correlation_id,
        request.state.request_id,
    )
    try:
        if link.action is LinkAction.CONFIRM:
            await asyncio.to_thread(
                running.get(Scheduling).confirm, link.appointment_id, meta, None
            )
            done = "Su cita está confirmada. / Your appointment is confirmed."
        else:
            cancel = Cancel(reason="cancelled by the patient from a reminder", by_patient=True)
            await asyncio.to_thread(
                running.get(Scheduling).cancel, link.appointment_id, cancel, meta, None
            )
            done = "Su cita está cancelada. / Your appointment is cancelled."
    except StoreUnavailable:
        await running.get(LinkUses).give_back(link.use_id)
        return _page(request, 503, "store-unavailable", "Inténtelo de nuevo / Please try again", "")
    except DomainError as error:
        return _page(request, 409, "transition-refused", "No se pudo / Not possible", str(error))
    return _page(
        request,
        200,
        "",
        "Hecho / Done",
        done,
        when=_local(visit, zone),
        clinic=policy.clinic_name,
        address=policy.clinic_address,
    )
