"""What a reminder says, and the links in it: Spanish or English, the clinic's clock, HTML
escaped; a link that is altered in any one character, expired or signed by an unknown key
is refused."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from bus.reminders.messages import render, spoken
from domain.reminders import Kind
from infra.keys import Keyring, fresh_secrets
from infra.links import LinkAction, LinkRefused, LinkSigner

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")
VISIT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # 11:00 in Madrid, 10:00 in the Canaries
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_the_time_is_written_as_a_person_reads_it_on_the_clinics_clock() -> None:
    assert spoken(VISIT, MADRID, "es") == "jueves, 3 de diciembre de 2026 a las 11:00"
    assert spoken(VISIT, MADRID, "en") == "Thursday, 3 December 2026 at 11:00"
    assert spoken(VISIT, CANARY, "es") == "jueves, 3 de diciembre de 2026 a las 10:00"


def test_an_early_visit_reads_as_spain_and_britain_write_the_hour() -> None:
    five_past_nine = datetime(2026, 12, 8, 8, 5, tzinfo=UTC)  # Madrid, a Tuesday
    assert spoken(five_past_nine, MADRID, "es") == "martes, 8 de diciembre de 2026 a las 9:05"
    assert spoken(five_past_nine, MADRID, "en") == "Tuesday, 8 December 2026 at 09:05"
    one_oclock = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)
    assert spoken(one_oclock, MADRID, "es").endswith("a la 1:00")


def test_a_visit_in_the_week_the_clocks_go_forward_is_on_summer_time_after_the_change() -> None:
    saturday, monday = (datetime(2027, 3, d, 9, 30, tzinfo=UTC) for d in (27, 29))
    assert spoken(saturday, MADRID, "es") == "sábado, 27 de marzo de 2027 a las 10:30"
    assert spoken(monday, MADRID, "es") == "lunes, 29 de marzo de 2027 a las 11:30"
    assert spoken(monday, MADRID, "en") == "Monday, 29 March 2027 at 11:30"
    late_sunday = datetime(2027, 3, 28, 22, 30, tzinfo=UTC)  # already Monday in Madrid
    assert spoken(late_sunday, MADRID, "en") == "Monday, 29 March 2027 at 00:30"


def test_an_appointment_reminder_names_the_clinic_the_time_and_both_links() -> None:
    message = render(
        Kind.APPOINTMENT,
        "en",
        clinic="Clínica <Sol>",
        address="Calle Mayor 1, Madrid",
        zone=MADRID,
        start=VISIT,
        confirm="https://clinic.test/c?a=1&b=2",
        cancel="https://clinic.test/x",
    )
    assert message.subject == "Reminder of your appointment at Clínica <Sol>"
    assert "Thursday, 3 December 2026 at 11:00" in message.text
    assert "Confirm: https://clinic.test/c?a=1&b=2" in message.text
    assert "Clínica &lt;Sol&gt;" in message.html
    assert "<Sol>" not in message.html
    assert 'href="https://clinic.test/c?a=1&amp;b=2"' in message.html


def test_an_unknown_language_falls_back_to_spanish() -> None:
    message = render(Kind.RECALL, "fr", clinic="Sol", address="", zone=MADRID)
    assert message.language == "es"
    assert "revisión" in message.subject


@pytest.fixture
def signer() -> LinkSigner:
    return LinkSigner(Keyring.of("links", str(fresh_secrets()["link_key"])))


def test_a_signed_link_verifies_until_it_expires(signer: LinkSigner) -> None:
    appointment, reminder = uuid4(), uuid4()
    token = signer.make(appointment, reminder, LinkAction.CONFIRM, NOW, timedelta(days=14), VISIT)
    link = signer.verify(token, NOW)
    assert (link.appointment_id, link.reminder_id, link.action) == (
        appointment,
        reminder,
        LinkAction.CONFIRM,
    )
    assert link.expires == VISIT, "a link dies when the visit starts"
    with pytest.raises(LinkRefused) as refused:
        signer.verify(token, VISIT)
    assert refused.value.reason == "expired"


def test_a_link_altered_in_any_one_character_is_refused(signer: LinkSigner) -> None:
    token = signer.make(uuid4(), uuid4(), LinkAction.CANCEL, NOW, timedelta(days=1))
    alphabet = string.ascii_letters + string.digits + "-_."
    for position, original in enumerate(token):
        for replacement in (alphabet[(alphabet.index(original) + 1) % len(alphabet)], "A"):
            if replacement == original:
                continue
            altered = token[:position] + replacement + token[position + 1 :]
            with pytest.raises(LinkRefused) as refused:
                signer.verify(altered, NOW)
            assert refused.value.reason == "tampered", (position, replacement)


def test_a_link_signed_with_another_key_is_refused_and_a_rotated_key_still_verifies() -> None:
    old, new = (str(fresh_secrets()["link_key"]) for _ in range(2))
    token = LinkSigner(Keyring.of("links", old)).make(
        uuid4(), uuid4(), LinkAction.CONFIRM, NOW, timedelta(days=1)
    )
    with pytest.raises(LinkRefused):
        LinkSigner(Keyring.of("links", new)).verify(token, NOW)
    assert LinkSigner(Keyring.of("links", new, [old])).verify(token, NOW).action is (
        LinkAction.CONFIRM
    )
