"""The patient record as the front desk and the dentists use it, on the in-memory event store."""

from __future__ import annotations

from datetime import date
from string import ascii_uppercase
from typing import Any
from uuid import UUID, uuid4

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from commands.base import StaleVersion
from commands.patients import (
    ClearAlert,
    EndHistoryEntry,
    Patients,
    RaiseAlert,
    RecordHistoryEntry,
    RegisterPatient,
    UpdatePatient,
)
from domain.patients import (
    DNI_LETTERS,
    ContactDetails,
    Demographics,
    HistoryKind,
    Language,
    Patient,
    Severity,
    Sex,
    valid_national_id,
)
from domain.shared import InvalidValue, Meta, TransitionRefused

TODAY = date(2026, 11, 26)
FRONT_DESK = Meta(
    actor_id="user-reception-1",
    actor_role="receptionist",
    correlation_id="req-register-1",
    causation_id="req-register-1",
)
ANA: dict[str, Any] = {
    "given_name": "Ana",
    "family_name": "García López",
    "birth_date": date(1985, 3, 14),
    "sex": "female",
    "national_id": "12345678Z",
    "phone": "600 111 222",
    "email": "ana.garcia@Example.COM",
    "address": {
        "line1": "Calle Mayor 1",
        "line2": "3º B",
        "city": "Madrid",
        "postal_code": "28013",
        "region": "Madrid",
        "country": "ES",
    },
    "language": "en",
    "consents": {"sms": True, "email": True, "whatsapp": True},
}


@pytest.fixture
def patients() -> Patients:
    return Patients(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, today=lambda: TODAY)


def meta(step: str) -> Meta:
    return Meta(
        actor_id=f"user-{step}",
        actor_role="dentist",
        correlation_id=f"req-{step}",
        causation_id=f"cause-{step}",
    )


def registration(**changes: Any) -> RegisterPatient:
    return RegisterPatient(**{**ANA, **changes})


def correction(**changes: Any) -> UpdatePatient:
    return UpdatePatient(**{**ANA, **changes})


def register_ana(patients: Patients, **changes: Any) -> UUID:
    return patients.register(registration(**changes), FRONT_DESK).id


def demographics(**changes: Any) -> Demographics:
    fields = {key: ANA[key] for key in ("given_name", "family_name", "birth_date", "sex")}
    return Demographics.create(**{**fields, "national_id": None, "today": TODAY, **changes})


def contact(**changes: Any) -> ContactDetails:
    fields: dict[str, Any] = {"phone": None, "email": None, "address": None, "language": "es"}
    return ContactDetails.create(**{**fields, "consents": {}, **changes})


def stored(patients: Patients, patient_id: UUID) -> Patient:
    patient: Patient = patients.repository.get(patient_id)
    return patient


def recorded_events(patients: Patients) -> list[object]:
    notifications = patients.notification_log.select(start=1, limit=10)
    return [patients.mapper.to_domain_event(notification) for notification in notifications]


def recorded_names(patients: Patients) -> list[str]:
    return [type(event).__name__ for event in recorded_events(patients)]


def meta_of(event: object) -> Meta:
    recorded = vars(event)["meta"]
    assert isinstance(recorded, Meta)
    return recorded


# Registration


def test_a_patient_is_registered_with_everything_the_front_desk_typed(
    patients: Patients,
) -> None:
    written = patients.register(registration(), FRONT_DESK)

    patient = stored(patients, written.id)
    assert written.version == 1
    assert patient.demographics == Demographics(
        "Ana", "García López", date(1985, 3, 14), Sex.FEMALE, "12345678Z"
    )
    assert patient.contact.phone == "+34600111222"
    assert patient.contact.email == "ana.garcia@example.com"
    assert patient.contact.address is not None
    assert patient.contact.address.as_dict() == ANA["address"]
    assert patient.contact.language is Language.ENGLISH
    assert patient.contact.consents == {"sms": True, "email": True, "whatsapp": True}
    assert recorded_names(patients) == ["PatientRegistered"]


def test_a_spanish_phone_typed_with_spaces_is_stored_in_international_form(
    patients: Patients,
) -> None:
    patient_id = register_ana(patients, phone="600 111 222")

    assert stored(patients, patient_id).contact.phone == "+34600111222"


def test_a_foreign_phone_keeps_its_own_country(patients: Patients) -> None:
    patient_id = register_ana(patients, phone="+44 20 7946 0958")

    phone = stored(patients, patient_id).contact.phone
    assert phone == "+442079460958"
    assert phonenumbers.region_code_for_number(phonenumbers.parse(phone)) == "GB"


def test_the_email_domain_is_lower_cased_and_the_mailbox_kept_as_typed(
    patients: Patients,
) -> None:
    patient_id = register_ana(patients, email="  Ana.Garcia@CLINICA.Example.ES ")

    assert stored(patients, patient_id).contact.email == "Ana.Garcia@clinica.example.es"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("12345678Z", "12345678Z"),
        ("12345678-z", "12345678Z"),
        ("X1234567L", "X1234567L"),
        ("y 1234567 x", "Y1234567X"),
    ],
)
def test_a_dni_or_nie_with_its_control_letter_is_accepted(typed: str, kept: str) -> None:
    assert demographics(national_id=typed).national_id == kept


@pytest.mark.parametrize("national_id", ["12345678A", "X1234567Z"])
def test_a_dni_or_nie_with_the_wrong_control_letter_is_refused(national_id: str) -> None:
    with pytest.raises(InvalidValue, match="control letter does not match") as refused:
        demographics(national_id=national_id)
    assert refused.value.field == "national_id"


@pytest.mark.parametrize("national_id", ["1234567Z", "A1234567L", "123456789"])
def test_a_national_id_that_is_neither_a_dni_nor_an_nie_is_refused(national_id: str) -> None:
    with pytest.raises(InvalidValue, match=r"must be a DNI .* or an NIE"):
        demographics(national_id=national_id)


@given(number=st.integers(0, 99_999_999), offset=st.integers(1, 25))
def test_any_dni_is_accepted_with_its_control_letter_and_refused_with_any_other(
    number: int, offset: int
) -> None:
    letter = DNI_LETTERS[number % 23]
    other = ascii_uppercase[(ascii_uppercase.index(letter) + offset) % 26]

    assert valid_national_id(f"{number:08d}{letter}") == f"{number:08d}{letter}"
    with pytest.raises(InvalidValue, match="control letter"):
        valid_national_id(f"{number:08d}{other}")


# What the clinic refuses, and why


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_or_blank_given_name_is_refused(name: str) -> None:
    # Tabs and line breaks are refused in single-line text before emptiness is looked at.
    with pytest.raises(InvalidValue, match=r"given name (must not be empty|contains a character)"):
        demographics(given_name=name)


def test_a_given_name_of_tabs_and_line_breaks_is_refused() -> None:
    # Control characters are refused before blankness is looked at (hostile text).
    with pytest.raises(InvalidValue, match="given name"):
        demographics(given_name="\t\n ")


def test_a_blank_family_name_is_refused() -> None:
    with pytest.raises(InvalidValue, match="family name must not be empty"):
        demographics(family_name="   ")


def test_a_blank_name_never_reaches_the_record(patients: Patients) -> None:
    with pytest.raises(ValidationError, match="given_name"):
        patients.register(registration(given_name="   "), FRONT_DESK)
    assert recorded_events(patients) == []


def test_a_birth_date_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidValue, match="birth date cannot be in the future"):
        demographics(birth_date=date(2026, 11, 27))


def test_a_baby_born_today_can_be_registered() -> None:
    assert demographics(birth_date=TODAY).birth_date == TODAY


def test_a_birth_date_more_than_130_years_ago_is_refused() -> None:
    with pytest.raises(InvalidValue, match="birth date is more than 130 years ago"):
        demographics(birth_date=date(1895, 11, 25))


def test_a_birth_date_130_years_and_ten_months_ago_is_refused() -> None:
    with pytest.raises(InvalidValue, match="more than 130 years ago"):
        demographics(birth_date=date(1896, 1, 1))


def test_someone_exactly_130_years_old_can_be_registered() -> None:
    assert demographics(birth_date=date(1896, 11, 26)).birth_date == date(1896, 11, 26)


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        ("not a phone", "phone is not a phone number"),
        ("600 111", "phone is not a valid number for its country"),
        ("+34 123", "phone is not a valid number for its country"),
    ],
)
def test_a_phone_that_cannot_be_dialled_is_refused(phone: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason) as refused:
        contact(phone=phone)
    assert refused.value.field == "phone"


@pytest.mark.parametrize(
    "email",
    [
        "ana",
        "ana@",
        "ana@example",
        "ana @example.com",
        "a@b@c.es",
        # a second recipient, markup, a quoted local part: one plain address per field
        "a,b@example.org",
        "<img/src=x/onerror=alert(1)>@evil.example",
        '"ana luisa"@example.es',
        "ana@example.org, mallory@evil.example",
    ],
)
def test_a_malformed_email_is_refused(email: str) -> None:
    with pytest.raises(InvalidValue, match="email is not a valid address"):
        contact(email=email)


@pytest.mark.parametrize(
    "email", ["ana.garcia+citas@clinica.es", "o'neill@example.ie", "ANA@Example.ES"]
)
def test_a_plain_address_is_kept(email: str) -> None:
    kept = contact(email=email).email
    assert kept is not None
    assert kept.split("@")[0] == email.split("@", maxsplit=1)[0]


def test_an_unknown_sex_is_refused() -> None:
    with pytest.raises(InvalidValue, match="sex must be one of female, male, other, unknown"):
        demographics(sex="robot")


def test_consent_to_sms_reminders_without_a_phone_is_refused() -> None:
    with pytest.raises(InvalidValue, match="consent to SMS reminders needs a phone number"):
        contact(email="ana@example.com", consents={"sms": True})


def test_consent_to_whatsapp_reminders_without_a_phone_is_refused() -> None:
    with pytest.raises(InvalidValue, match="consent to WhatsApp reminders needs a phone"):
        contact(email="ana@example.com", consents={"whatsapp": True})


def test_consent_to_email_reminders_without_an_email_is_refused() -> None:
    with pytest.raises(InvalidValue, match="consent to email reminders needs an email"):
        contact(phone="600 111 222", consents={"email": True})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"birth_date": date(2027, 1, 1)}, "in the future"),
        ({"birth_date": date(1890, 1, 1)}, "more than 130 years ago"),
        ({"phone": "12"}, "phone"),
        ({"email": "ana@example"}, "email"),
        ({"national_id": "12345678A"}, "control letter"),
        ({"phone": None}, "consent to SMS"),
        ({"email": None}, "consent to email"),
    ],
)
def test_a_refused_registration_saves_nothing(
    patients: Patients, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidValue, match=reason):
        patients.register(registration(**changes), FRONT_DESK)

    assert list(patients.notification_log.select(start=1, limit=10)) == []


# Contact details and demographics


def test_new_contact_details_are_recorded(patients: Patients) -> None:
    patient_id = register_ana(patients)

    written = patients.update(
        patient_id,
        correction(phone="611 222 333", email="ana@nuevo.es", consents={"sms": True}),
        expected_version=1,
        meta=meta("move"),
    )

    patient = stored(patients, patient_id)
    assert written.version == 2
    assert (patient.contact.phone, patient.contact.email) == ("+34611222333", "ana@nuevo.es")
    assert patient.contact.consents == {"sms": True, "email": False, "whatsapp": False}
    assert recorded_names(patients) == ["PatientRegistered", "ContactDetailsChanged"]


def test_mistyped_demographics_are_corrected(patients: Patients) -> None:
    patient_id = register_ana(patients, birth_date=date(1958, 3, 14), national_id=None)

    patients.update(
        patient_id,
        correction(birth_date=date(1985, 3, 14), national_id="X1234567L", sex="other"),
        expected_version=1,
        meta=meta("fix"),
    )

    assert stored(patients, patient_id).demographics == Demographics(
        "Ana", "García López", date(1985, 3, 14), Sex.OTHER, "X1234567L"
    )
    assert recorded_names(patients) == ["PatientRegistered", "DemographicsCorrected"]


def test_an_update_that_changes_nothing_writes_no_event(patients: Patients) -> None:
    patient_id = register_ana(patients)

    written = patients.update(
        patient_id, correction(phone="+34 600 11 12 22"), expected_version=1, meta=meta("same")
    )

    assert written.version == 1
    assert recorded_names(patients) == ["PatientRegistered"]


def test_a_refused_update_leaves_the_record_as_it_was(patients: Patients) -> None:
    patient_id = register_ana(patients)

    with pytest.raises(InvalidValue, match="email is not a valid address"):
        patients.update(
            patient_id,
            correction(given_name="Anna", email="ana@"),
            expected_version=1,
            meta=meta("typo"),
        )

    assert stored(patients, patient_id).demographics.given_name == "Ana"
    assert recorded_names(patients) == ["PatientRegistered"]


# Medical history


def record(patients: Patients, patient_id: UUID, **fields: Any) -> UUID:
    written = patients.record_history_entry(
        patient_id, RecordHistoryEntry(**fields), meta("history"), expected_version=None
    )
    assert written.created is not None
    return written.created


def end(patients: Patients, patient_id: UUID, entry_id: UUID, ended_on: date) -> None:
    patients.end_history_entry(
        patient_id,
        entry_id,
        EndHistoryEntry(ended_on=ended_on, reason="treatment finished"),
        meta("history"),
        expected_version=None,
    )


def test_an_allergy_a_medication_and_a_condition_are_recorded(patients: Patients) -> None:
    patient_id = register_ana(patients)

    allergy = record(
        patients, patient_id, kind="allergy", description="Penicillin", severity="high"
    )
    medication = record(
        patients, patient_id, kind="medication", description="Sintrom", started_on=date(2024, 1, 8)
    )
    condition = record(patients, patient_id, kind="condition", description="Type 2 diabetes")

    history = stored(patients, patient_id).history
    assert [(e.kind, e.description, e.active) for e in history.values()] == [
        (HistoryKind.ALLERGY, "Penicillin", True),
        (HistoryKind.MEDICATION, "Sintrom", True),
        (HistoryKind.CONDITION, "Type 2 diabetes", True),
    ]
    assert list(history) == [allergy, medication, condition]
    assert history[allergy].severity is Severity.HIGH
    assert history[medication].started_on == date(2024, 1, 8)


def test_an_ended_medication_stays_in_the_history_but_is_no_longer_active(
    patients: Patients,
) -> None:
    patient_id = register_ana(patients)
    entry_id = record(
        patients, patient_id, kind="medication", description="Sintrom", started_on=date(2024, 1, 8)
    )

    end(patients, patient_id, entry_id, ended_on=date(2026, 11, 20))

    entry = stored(patients, patient_id).history[entry_id]
    assert not entry.active
    assert (entry.ended_on, entry.end_reason) == (date(2026, 11, 20), "treatment finished")


def test_a_history_entry_cannot_start_in_the_future(patients: Patients) -> None:
    patient_id = register_ana(patients)

    with pytest.raises(InvalidValue, match="cannot start in the future"):
        record(patients, patient_id, kind="condition", description="x", started_on=date(2027, 1, 1))


def test_a_history_entry_cannot_be_ended_twice(patients: Patients) -> None:
    patient_id = register_ana(patients)
    entry_id = record(patients, patient_id, kind="medication", description="Sintrom")
    end(patients, patient_id, entry_id, ended_on=date(2026, 11, 20))

    with pytest.raises(TransitionRefused, match="has already ended"):
        end(patients, patient_id, entry_id, ended_on=date(2026, 11, 21))


def test_a_history_entry_cannot_end_before_it_started(patients: Patients) -> None:
    patient_id = register_ana(patients)
    entry_id = record(
        patients, patient_id, kind="medication", description="Sintrom", started_on=date(2024, 1, 8)
    )

    with pytest.raises(InvalidValue, match="cannot end before it started"):
        end(patients, patient_id, entry_id, ended_on=date(2024, 1, 7))


def test_a_history_entry_cannot_end_in_the_future(patients: Patients) -> None:
    patient_id = register_ana(patients)
    entry_id = record(patients, patient_id, kind="medication", description="Sintrom")

    with pytest.raises(InvalidValue, match="cannot end in the future"):
        end(patients, patient_id, entry_id, ended_on=date(2026, 11, 27))


def test_ending_an_unknown_history_entry_is_refused(patients: Patients) -> None:
    patient_id = register_ana(patients)

    with pytest.raises(TransitionRefused, match="does not exist"):
        end(patients, patient_id, uuid4(), ended_on=date(2026, 11, 20))
    assert recorded_names(patients) == ["PatientRegistered"]


# Alerts


def raise_alert(patients: Patients, patient_id: UUID, code: str) -> UUID:
    written = patients.raise_alert(
        patient_id,
        RaiseAlert(code=code, description="Anaphylaxis to latex gloves"),
        meta("alert"),
        expected_version=None,
    )
    assert written.created is not None
    return written.created


def clear_alert(patients: Patients, patient_id: UUID, alert_id: UUID) -> None:
    patients.clear_alert(
        patient_id, alert_id, ClearAlert(reason="tested negative"), meta("alert"), None
    )


def test_an_alert_is_raised_and_then_cleared(patients: Patients) -> None:
    patient_id = register_ana(patients)
    alert_id = raise_alert(patients, patient_id, "Latex allergy")

    alert = stored(patients, patient_id).alerts[alert_id]
    assert (alert.code, alert.severity) == ("latex_allergy", Severity.HIGH)

    clear_alert(patients, patient_id, alert_id)

    assert stored(patients, patient_id).alerts == {}
    assert recorded_names(patients)[1:] == ["AlertRaised", "AlertCleared"]


def test_raising_an_alert_code_that_is_already_active_is_refused(patients: Patients) -> None:
    patient_id = register_ana(patients)
    raise_alert(patients, patient_id, "latex_allergy")

    with pytest.raises(TransitionRefused, match="'latex_allergy' is already active"):
        raise_alert(patients, patient_id, "Latex Allergy")
    assert len(stored(patients, patient_id).alerts) == 1


def test_a_cleared_alert_can_be_raised_again(patients: Patients) -> None:
    patient_id = register_ana(patients)
    clear_alert(patients, patient_id, raise_alert(patients, patient_id, "latex_allergy"))

    alert_id = raise_alert(patients, patient_id, "latex_allergy")

    assert list(stored(patients, patient_id).alerts) == [alert_id]


def test_clearing_an_unknown_alert_is_refused(patients: Patients) -> None:
    patient_id = register_ana(patients)

    with pytest.raises(TransitionRefused, match="is not active for this patient"):
        clear_alert(patients, patient_id, uuid4())


# Who did it, and why


def test_every_event_records_who_asked_for_it_and_why(patients: Patients) -> None:
    patient_id = register_ana(patients)
    patients.update(
        patient_id, correction(given_name="Anna", phone="611 222 333"), 1, meta("update")
    )
    entry_id = patients.record_history_entry(
        patient_id, RecordHistoryEntry(kind="allergy", description="Latex"), meta("record"), 3
    ).created
    assert entry_id is not None
    patients.end_history_entry(
        patient_id, entry_id, EndHistoryEntry(ended_on=TODAY), meta("end"), 4
    )
    alert_id = patients.raise_alert(
        patient_id, RaiseAlert(code="bleeding", description="On anticoagulants"), meta("raise"), 5
    ).created
    assert alert_id is not None
    patients.clear_alert(patient_id, alert_id, ClearAlert(), meta("clear"), 6)

    assert [(type(e).__name__, meta_of(e)) for e in recorded_events(patients)] == [
        ("PatientRegistered", FRONT_DESK),
        ("DemographicsCorrected", meta("update")),
        ("ContactDetailsChanged", meta("update")),
        ("MedicalHistoryEntryRecorded", meta("record")),
        ("MedicalHistoryEntryEnded", meta("end")),
        ("AlertRaised", meta("raise")),
        ("AlertCleared", meta("clear")),
    ]


# Two people editing the same patient


def test_an_update_made_on_an_old_version_is_refused_as_stale(patients: Patients) -> None:
    patient_id = register_ana(patients)
    patients.update(patient_id, correction(given_name="Anna"), 1, meta("first"))

    with pytest.raises(StaleVersion, match="changed since version 1; it is now at version 2"):
        patients.update(patient_id, correction(family_name="García"), 1, meta("second"))
    assert stored(patients, patient_id).demographics.family_name == "García López"


def test_of_two_concurrent_saves_of_the_same_patient_the_second_is_refused(
    patients: Patients,
) -> None:
    patient_id = register_ana(patients)

    def decide_while_reception_saves_first(in_surgery: Patient) -> None:
        at_reception = stored(patients, patient_id)
        at_reception.raise_alert(
            code="unpaid", description="Owes 40 EUR", severity="low", meta=meta("a")
        )
        patients.save(at_reception)
        in_surgery.raise_alert(
            code="latex_allergy", description="Latex", severity="high", meta=meta("b")
        )

    with pytest.raises(StaleVersion, match="changed by someone else"):
        patients.change(patient_id, Patient, decide_while_reception_saves_first)
    alerts = stored(patients, patient_id).alerts.values()
    assert [alert.code for alert in alerts] == ["unpaid"]
