"""The patient record: demographics, contact details, medical history and alerts.

Pure domain: values are validated here and every change is an event on the
`Patient` aggregate. Events carry only plain values so they read well on the bus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import phonenumbers
from eventsourcing.domain import Aggregate, event

from domain.shared import (
    InvalidValue,
    Meta,
    TransitionRefused,
    email_address,
    optional_text,
    require_text,
)

OLDEST_AGE_YEARS = 130
DEFAULT_PHONE_REGION = "ES"
_DNI = re.compile(r"^(\d{8})([A-Z])$")
_NIE = re.compile(r"^([XYZ])(\d{7})([A-Z])$")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Language(StrEnum):
    SPANISH = "es"
    ENGLISH = "en"


class ReminderChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"


class HistoryKind(StrEnum):
    ALLERGY = "allergy"
    MEDICATION = "medication"
    CONDITION = "condition"


class Severity(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


def valid_national_id(value: str | None) -> str | None:
    """A Spanish DNI or NIE, normalised to upper case, with its control letter checked."""
    if value is None or not value.strip():
        return None
    text = re.sub(r"[\s-]", "", value).upper()
    if match := _DNI.match(text):
        number, letter = int(match.group(1)), match.group(2)
    elif match := _NIE.match(text):
        number = int(f"{'XYZ'.index(match.group(1))}{match.group(2)}")
        letter = match.group(3)
    else:
        raise InvalidValue(
            "national id must be a DNI (8 digits and a letter) or an NIE (X, Y or Z, 7 digits "
            "and a letter)",
            field="national_id",
        )
    if DNI_LETTERS[number % 23] != letter:
        raise InvalidValue(
            "national id control letter does not match its number", field="national_id"
        )
    return text


def valid_phone(value: str | None, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """A phone number in E.164 (+34600111222); national numbers are read as Spanish."""
    if value is None or not value.strip():
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise InvalidValue(f"phone is not a phone number: {error}", field="phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue("phone is not a valid number for its country", field="phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def valid_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return email_address(value)


def valid_birth_date(value: date, today: date) -> date:
    if value > today:
        raise InvalidValue("birth date cannot be in the future", field="birth_date")
    try:
        oldest = today.replace(year=today.year - OLDEST_AGE_YEARS)
    except ValueError:  # 29 February, in a year that has none
        oldest = today.replace(year=today.year - OLDEST_AGE_YEARS, day=28)
    if value < oldest:
        raise InvalidValue(
            f"birth date is more than {OLDEST_AGE_YEARS} years ago", field="birth_date"
        )
    return value


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str = "ES"
    line2: str | None = None
    region: str | None = None

    @classmethod
    def create(cls, data: dict[str, Any] | None) -> Address | None:
        if not data:
            return None
        country = require_text(str(data.get("country") or "ES"), "address country", max_length=2)
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            raise InvalidValue("address country must be a two-letter ISO code", field="address")
        return cls(
            line1=require_text(str(data.get("line1") or ""), "address line 1", max_length=200),
            line2=optional_text(data.get("line2"), "address line 2", max_length=200),
            city=require_text(str(data.get("city") or ""), "address city", max_length=100),
            postal_code=require_text(
                str(data.get("postal_code") or ""), "address postal code", max_length=16
            ),
            region=optional_text(data.get("region"), "address region", max_length=100),
            country=country.upper(),
        )

    def as_dict(self) -> dict[str, str | None]:
        return {
            "line1": self.line1,
            "line2": self.line2,
            "city": self.city,
            "postal_code": self.postal_code,
            "region": self.region,
            "country": self.country,
        }


@dataclass(frozen=True, slots=True)
class Demographics:
    given_name: str
    family_name: str
    birth_date: date
    sex: Sex
    national_id: str | None

    @classmethod
    def create(
        cls,
        *,
        given_name: str,
        family_name: str,
        birth_date: date,
        sex: str,
        national_id: str | None,
        today: date,
    ) -> Demographics:
        try:
            checked_sex = Sex(sex)
        except ValueError:
            raise InvalidValue(
                f"sex must be one of {', '.join(s.value for s in Sex)}", field="sex"
            ) from None
        return cls(
            given_name=require_text(given_name, "given name", max_length=100),
            family_name=require_text(family_name, "family name", max_length=100),
            birth_date=valid_birth_date(birth_date, today),
            sex=checked_sex,
            national_id=valid_national_id(national_id),
        )


@dataclass(frozen=True, slots=True)
class ContactDetails:
    phone: str | None
    email: str | None
    address: Address | None
    language: Language
    consents: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        phone: str | None,
        email: str | None,
        address: dict[str, Any] | None,
        language: str,
        consents: dict[str, bool],
    ) -> ContactDetails:
        try:
            checked_language = Language(language)
        except ValueError:
            raise InvalidValue("preferred language must be es or en", field="language") from None
        unknown = set(consents) - {c.value for c in ReminderChannel}
        if unknown:
            raise InvalidValue(
                f"unknown reminder channel(s): {', '.join(sorted(unknown))}", field="consents"
            )
        details = cls(
            phone=valid_phone(phone),
            email=valid_email(email),
            address=Address.create(address),
            language=checked_language,
            consents={c.value: bool(consents.get(c.value, False)) for c in ReminderChannel},
        )
        if details.consents[ReminderChannel.SMS] and details.phone is None:
            raise InvalidValue("consent to SMS reminders needs a phone number", field="consents")
        if details.consents[ReminderChannel.WHATSAPP] and details.phone is None:
            raise InvalidValue("consent to WhatsApp reminders needs a phone", field="consents")
        if details.consents[ReminderChannel.EMAIL] and details.email is None:
            raise InvalidValue("consent to email reminders needs an email", field="consents")
        return details

    def as_event_fields(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "email": self.email,
            "address": self.address.as_dict() if self.address else None,
            "language": self.language.value,
            "consents": dict(self.consents),
        }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    entry_id: UUID
    kind: HistoryKind
    description: str
    severity: Severity | None
    started_on: date | None
    notes: str | None
    ended_on: date | None = None
    end_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_on is None


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: UUID
    code: str
    description: str
    severity: Severity


class Patient(Aggregate):
    """A person the clinic treats. Identity is the aggregate id; everything else changes."""

    @classmethod
    def register(cls, demographics: Demographics, contact: ContactDetails, meta: Meta) -> Patient:
        return cls(
            given_name=demographics.given_name,
            family_name=demographics.family_name,
            birth_date=demographics.birth_date,
            sex=demographics.sex.value,
            national_id=demographics.national_id,
            meta=meta,
            **contact.as_event_fields(),
        )

    @event("PatientRegistered")
    def __init__(
        self,
        given_name: str,
        family_name: str,
        birth_date: date,
        sex: str,
        national_id: str | None,
        phone: str | None,
        email: str | None,
        address: dict[str, Any] | None,
        language: str,
        consents: dict[str, bool],
        meta: Meta,
    ) -> None:
        self.demographics = Demographics(given_name, family_name, birth_date, Sex(sex), national_id)
        self.contact = ContactDetails(
            phone, email, Address(**address) if address else None, Language(language), consents
        )
        self.history: dict[UUID, HistoryEntry] = {}
        self.alerts: dict[UUID, Alert] = {}

    def change_contact_details(self, contact: ContactDetails, meta: Meta) -> bool:
        """Records the new contact details; returns False when nothing changed."""
        if contact == self.contact:
            return False
        self._contact_details_changed(meta=meta, **contact.as_event_fields())
        return True

    @event("ContactDetailsChanged")
    def _contact_details_changed(
        self,
        phone: str | None,
        email: str | None,
        address: dict[str, Any] | None,
        language: str,
        consents: dict[str, bool],
        meta: Meta,
    ) -> None:
        self.contact = ContactDetails(
            phone, email, Address(**address) if address else None, Language(language), consents
        )

    def correct_demographics(self, demographics: Demographics, meta: Meta) -> bool:
        """Corrects name, birth date, sex or national id; returns False when nothing changed."""
        if demographics == self.demographics:
            return False
        self._demographics_corrected(
            given_name=demographics.given_name,
            family_name=demographics.family_name,
            birth_date=demographics.birth_date,
            sex=demographics.sex.value,
            national_id=demographics.national_id,
            meta=meta,
        )
        return True

    @event("DemographicsCorrected")
    def _demographics_corrected(
        self,
        given_name: str,
        family_name: str,
        birth_date: date,
        sex: str,
        national_id: str | None,
        meta: Meta,
    ) -> None:
        self.demographics = Demographics(given_name, family_name, birth_date, Sex(sex), national_id)

    def record_history_entry(
        self,
        *,
        kind: str,
        description: str,
        severity: str | None,
        started_on: date | None,
        notes: str | None,
        today: date,
        meta: Meta,
    ) -> UUID:
        try:
            checked_kind = HistoryKind(kind)
        except ValueError:
            raise InvalidValue(
                "kind must be allergy, medication or condition", field="kind"
            ) from None
        try:
            checked_severity = Severity(severity) if severity else None
        except ValueError:
            raise InvalidValue("severity must be low, moderate or high", field="severity") from None
        if started_on is not None and started_on > today:
            raise InvalidValue(
                "a medical history entry cannot start in the future", field="started_on"
            )
        entry_id = uuid4()
        self._history_entry_recorded(
            entry_id=entry_id,
            kind=checked_kind.value,
            description=require_text(description, "description", max_length=500),
            severity=checked_severity.value if checked_severity else None,
            started_on=started_on,
            notes=optional_text(notes, "notes", max_length=2000, multiline=True),
            meta=meta,
        )
        return entry_id

    @event("MedicalHistoryEntryRecorded")
    def _history_entry_recorded(
        self,
        entry_id: UUID,
        kind: str,
        description: str,
        severity: str | None,
        started_on: date | None,
        notes: str | None,
        meta: Meta,
    ) -> None:
        self.history[entry_id] = HistoryEntry(
            entry_id,
            HistoryKind(kind),
            description,
            Severity(severity) if severity else None,
            started_on,
            notes,
        )

    def end_history_entry(
        self, entry_id: UUID, *, ended_on: date, reason: str | None, today: date, meta: Meta
    ) -> None:
        entry = self.history.get(entry_id)
        if entry is None:
            raise TransitionRefused(f"medical history entry {entry_id} does not exist")
        if not entry.active:
            raise TransitionRefused(f"medical history entry {entry_id} has already ended")
        if ended_on > today:
            raise InvalidValue("a medical history entry cannot end in the future", field="ended_on")
        if entry.started_on is not None and ended_on < entry.started_on:
            raise InvalidValue("an entry cannot end before it started", field="ended_on")
        self._history_entry_ended(
            entry_id=entry_id,
            ended_on=ended_on,
            reason=optional_text(reason, "reason", max_length=500),
            meta=meta,
        )

    @event("MedicalHistoryEntryEnded")
    def _history_entry_ended(
        self, entry_id: UUID, ended_on: date, reason: str | None, meta: Meta
    ) -> None:
        entry = self.history[entry_id]
        self.history[entry_id] = replace(entry, ended_on=ended_on, end_reason=reason)

    def raise_alert(self, *, code: str, description: str, severity: str, meta: Meta) -> UUID:
        checked_code = require_text(code, "alert code", max_length=50).lower().replace(" ", "_")
        if any(alert.code == checked_code for alert in self.alerts.values()):
            raise TransitionRefused(f"an alert '{checked_code}' is already active for this patient")
        try:
            checked_severity = Severity(severity)
        except ValueError:
            raise InvalidValue(
                "alert severity must be low, moderate or high", field="severity"
            ) from None
        alert_id = uuid4()
        self._alert_raised(
            alert_id=alert_id,
            code=checked_code,
            description=require_text(description, "alert description", max_length=500),
            severity=checked_severity.value,
            meta=meta,
        )
        return alert_id

    @event("AlertRaised")
    def _alert_raised(
        self, alert_id: UUID, code: str, description: str, severity: str, meta: Meta
    ) -> None:
        self.alerts[alert_id] = Alert(alert_id, code, description, Severity(severity))

    def clear_alert(self, alert_id: UUID, *, reason: str | None, meta: Meta) -> None:
        if alert_id not in self.alerts:
            raise TransitionRefused(f"alert {alert_id} is not active for this patient")
        self._alert_cleared(
            alert_id=alert_id, reason=optional_text(reason, "reason", max_length=500), meta=meta
        )

    @event("AlertCleared")
    def _alert_cleared(self, alert_id: UUID, reason: str | None, meta: Meta) -> None:
        del self.alerts[alert_id]
