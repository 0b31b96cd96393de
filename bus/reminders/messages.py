"""What a reminder says, in Spanish or English: Jinja2 templates, autoescaped in HTML.

Each carries the clinic's name and address, the visit's date and time on the clinic's
clock as a person would say it, and the links to confirm or cancel. Nothing else about
the patient is in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from domain.reminders import Kind
from infra.locale import clock, day, language_of


def spoken(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """`jueves, 3 de diciembre de 2026 a las 11:00` / `Thursday, 3 December 2026 at 11:00`:
    the day and the time as Babel writes them in the language, on the clinic's clock."""
    language = language_of(language)
    on, at = day(moment, language, zone), clock(moment, zone, language)
    if language == "es":
        article = "a la" if moment.astimezone(zone).hour == 1 else "a las"
        return f"{on} {article} {at}"
    return f"{on} at {at}"


_SUBJECTS = {
    ("es", Kind.APPOINTMENT): "Recordatorio de su cita en {clinic}",
    ("en", Kind.APPOINTMENT): "Reminder of your appointment at {clinic}",
    ("es", Kind.RECALL): "{clinic}: es hora de su revisión",
    ("en", Kind.RECALL): "{clinic}: time for your check-up",
    ("es", Kind.MESSAGE): "Mensaje de {clinic}",
    ("en", Kind.MESSAGE): "A message from {clinic}",
}

_BODIES = {
    "appointment.es": (
        "Le recordamos su cita en {{ clinic }}{% if address %} ({{ address }}){% endif %} "
        "el {{ when }}."
        "{% if confirm %}\nConfirmar: {{ confirm }}\nCancelar: {{ cancel }}{% endif %}"
    ),
    "appointment.en": (
        "This is a reminder of your appointment at {{ clinic }}"
        "{% if address %} ({{ address }}){% endif %} on {{ when }}."
        "{% if confirm %}\nConfirm: {{ confirm }}\nCancel: {{ cancel }}{% endif %}"
    ),
    "recall.es": (
        "Han pasado unos meses desde su última visita a {{ clinic }}. "
        "Llámenos o escríbanos para reservar su próxima revisión."
        "{% if address %} {{ address }}.{% endif %}"
    ),
    "recall.en": (
        "It has been a few months since your last visit to {{ clinic }}. "
        "Call or write to us to book your next check-up."
        "{% if address %} {{ address }}.{% endif %}"
    ),
    "message.es": "{{ clinic }}: {{ text }}",
    "message.en": "{{ clinic }}: {{ text }}",
}
_HTML = (
    '<!doctype html><html lang="{{ language }}"><body>'
    "<p>{{ body }}</p>"
    "{% if confirm %}<p>"
    '<a href="{{ confirm }}">{{ "Confirmar" if language == "es" else "Confirm" }}</a> · '
    '<a href="{{ cancel }}">{{ "Cancelar" if language == "es" else "Cancel" }}</a>'
    "</p>{% endif %}"
    "<p>{{ clinic }}{% if address %}<br>{{ address }}{% endif %}</p></body></html>"
)

_text = Environment(
    loader=DictLoader(_BODIES),
    autoescape=False,  # noqa: S701 - plain text for SMS and the email's text part, never HTML
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)
_html = Environment(
    loader=DictLoader({"message.html": _HTML}),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
)


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


def render(
    kind: Kind,
    language: str,
    *,
    clinic: str,
    address: str,
    zone: ZoneInfo,
    start: datetime | None = None,
    text: str | None = None,
    confirm: str | None = None,
    cancel: str | None = None,
) -> Rendered:
    language = language_of(language)
    when = spoken(start, zone, language) if start is not None else ""
    values = {
        "clinic": clinic,
        "address": address,
        "when": when,
        "text": text or "",
        "confirm": confirm,
        "cancel": cancel,
        "language": language,
    }
    template = _text.get_template(f"{kind.value}.{language}")
    body = template.render(values)
    without_links = template.render({**values, "confirm": None, "cancel": None})
    html = _html.get_template("message.html").render({**values, "body": without_links})
    return Rendered(_SUBJECTS[(language, kind)].format(clinic=clinic), body, html, language)
