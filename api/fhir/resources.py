"""The FHIR R4 (4.0.1) view of Sonrisa's read models: pure functions from a read model's
document to a FHIR resource (a dict, as JSON), and the searchset Bundle that carries them.

docs/fhir.md is the mapping field by field; nothing here reads a store.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

Resource = dict[str, Any]

FHIR_VERSION = "4.0.1"
# Spain's FHIR profiles name the DNI and NIE with this OID (the Spanish national id).
NATIONAL_ID_SYSTEM = "urn:oid:1.3.6.1.4.1.19126.3"
TOOTH_SYSTEM = "http://terminology.hl7.org/CodeSystem/ex-tooth"
SURFACE_SYSTEM = "http://terminology.hl7.org/CodeSystem/FDI-surface"
# Our own codes, where no international code system says the same thing.
PROCEDURE_SYSTEM = "https://sonrisa.dev/fhir/CodeSystem/procedure"
FINDING_SYSTEM = "https://sonrisa.dev/fhir/CodeSystem/tooth-finding"
APPOINTMENT_TYPE_SYSTEM = "https://sonrisa.dev/fhir/CodeSystem/appointment-type"
PROVIDER_SYSTEM = "https://sonrisa.dev/fhir/provider"
OPERATORY_SYSTEM = "https://sonrisa.dev/fhir/operatory"
CLINICAL_STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"

# Our surfaces as FDI-surface codes: M, D, O, I, B and L are the same letters; F (facial, on
# anterior teeth) is FDI's V (vestibular) and P (palatal, upper teeth) its L (lingual). The
# letter we charted stays in the concept's text.
_SURFACES = {"M": "M", "D": "D", "O": "O", "I": "I", "B": "B", "L": "L", "F": "V", "P": "L"}
_SURFACE_NAMES = {
    "M": "Mesial",
    "D": "Distal",
    "O": "Occlusal",
    "I": "Incisal",
    "B": "Buccal",
    "V": "Ventral",
    "L": "Lingual",
}
# Our appointment statuses as FHIR's AppointmentStatus.
_APPOINTMENT_STATUS = {
    "booked": "booked",
    "confirmed": "booked",
    "checked_in": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}
# A medical-history entry's severity as AllergyIntolerance.criticality (moderate has none).
_CRITICALITY = {"low": "low", "high": "high"}
# Alerts whose code names an allergy (in English or Spanish: "latex_allergy", "alergia_…")
# are allergies too; alert codes are the clinic's own words (domain/patients.py).
_ALLERGY_WORDS = ("allerg", "alerg")


def reference(resource_type: str, resource_id: object) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _meta(document: dict[str, Any]) -> dict[str, str]:
    meta = {}
    if document.get("version") is not None:
        meta["versionId"] = str(document["version"])
    if document.get("updated_at"):
        meta["lastUpdated"] = document["updated_at"]
    return meta


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": display or code}


def _by_identifier(resource_type: str, system: str, value: str) -> dict[str, Any]:
    """A reference to something we do not serve as a resource (a provider, a chair)."""
    return {"type": resource_type, "identifier": {"system": system, "value": value}}


def body_sites(tooth: int | None, surfaces: str, area: str | None = None) -> list[dict[str, Any]]:
    """Where in the mouth: the FDI tooth (ex-tooth), then one concept per surface."""
    sites: list[dict[str, Any]] = []
    if tooth is not None:
        sites.append(
            {"coding": [{"system": TOOTH_SYSTEM, "code": str(tooth)}], "text": f"tooth {tooth}"}
        )
    for letter in surfaces or "":
        code = _SURFACES[letter]
        coding = {"system": SURFACE_SYSTEM, "code": code, "display": _SURFACE_NAMES[code]}
        sites.append({"coding": [coding], "text": letter})
    if area:
        sites.append({"text": area})
    return sites


def patient(chart: dict[str, Any]) -> Resource:
    """The patient's chart (projections/patients.py `PatientChart`) as a Patient."""
    who = chart["demographics"]
    contact = chart.get("contact") or {}
    resource: Resource = {
        "resourceType": "Patient",
        "id": chart["patient_id"],
        "meta": _meta(chart),
        "active": True,
        "name": [{"use": "official", "family": who["family_name"], "given": [who["given_name"]]}],
        "gender": who["sex"],
        "birthDate": who["birth_date"],
    }
    if who.get("national_id"):
        resource["identifier"] = [
            {"use": "official", "system": NATIONAL_ID_SYSTEM, "value": who["national_id"]}
        ]
    telecom = [
        {"system": system, "value": contact[key], "use": use}
        for key, system, use in (("phone", "phone", "mobile"), ("email", "email", "home"))
        if contact.get(key)
    ]
    if telecom:
        resource["telecom"] = telecom
    if contact.get("address"):
        resource["address"] = [_address(contact["address"])]
    if contact.get("language"):
        language = _coded(LANGUAGE_SYSTEM, contact["language"])
        resource["communication"] = [{"language": language, "preferred": True}]
    return resource


def _address(address: dict[str, Any]) -> dict[str, Any]:
    lines = [line for line in (address.get("line1"), address.get("line2")) if line]
    found = {
        "use": "home",
        "line": lines,
        "city": address.get("city"),
        "state": address.get("region"),
        "postalCode": address.get("postal_code"),
        "country": address.get("country"),
    }
    return {key: value for key, value in found.items() if value}


def appointment(document: dict[str, Any]) -> Resource:
    """A booking (projections/scheduling.py `Appointments`) as an Appointment."""
    return {
        "resourceType": "Appointment",
        "id": document["appointment_id"],
        "meta": _meta(document),
        "status": _APPOINTMENT_STATUS[document["status"]],
        "appointmentType": _coded(APPOINTMENT_TYPE_SYSTEM, document["appointment_type"]),
        "start": document["start"],
        "end": document["end"],
        "created": document["booked_at"][:10],
        "participant": [
            {"actor": reference("Patient", document["patient_id"]), "status": "accepted"},
            {
                "actor": _by_identifier("Practitioner", PROVIDER_SYSTEM, document["provider_id"]),
                "status": "accepted",
            },
            {
                "actor": _by_identifier("Location", OPERATORY_SYSTEM, document["operatory_id"]),
                "status": "accepted",
            },
        ],
    }


def procedure(treatment: dict[str, Any], *, with_notes: bool) -> Resource:
    """A recorded treatment (projections/treatments.py `TreatmentChart`) as a Procedure; a
    voided one is `entered-in-error`. Its clinical notes only `with_notes`."""
    resource: Resource = {
        "resourceType": "Procedure",
        "id": treatment["treatment_id"],
        "meta": _meta(treatment),
        "status": "entered-in-error" if treatment["status"] == "voided" else "completed",
        "code": _coded(PROCEDURE_SYSTEM, treatment["code"]),
        "subject": reference("Patient", treatment["patient_id"]),
        "performedDateTime": treatment["performed_at"],
    }
    if treatment.get("provider_id"):
        actor = _by_identifier("Practitioner", PROVIDER_SYSTEM, treatment["provider_id"])
        resource["performer"] = [{"actor": actor}]
    sites = body_sites(treatment.get("tooth"), treatment.get("surfaces", ""), treatment.get("area"))
    if sites:
        resource["bodySite"] = sites
    if treatment.get("appointment_id"):
        resource["encounter"] = {"display": f"appointment {treatment['appointment_id']}"}
    if with_notes and treatment.get("clinical_notes"):
        resource["note"] = [{"text": treatment["clinical_notes"]}]
    return resource


def conditions(examination: dict[str, Any]) -> list[Resource]:
    """An examination's findings (projections/treatments.py `TreatmentChart`), one Condition
    each; a free note on a tooth is not a condition and stays out."""
    found: list[Resource] = []
    for index, finding in enumerate(examination["findings"]):
        if finding["condition"] == "note":
            continue
        condition: Resource = {
            "resourceType": "Condition",
            "id": f"{examination['examination_id']}-{index}",
            "meta": _meta(examination),
            "clinicalStatus": _coded(CLINICAL_STATUS, "active", "Active"),
            "verificationStatus": _coded(VERIFICATION_STATUS, "confirmed", "Confirmed"),
            "code": _coded(FINDING_SYSTEM, finding["condition"]),
            "bodySite": body_sites(finding["tooth"], finding.get("surfaces", "")),
            "subject": reference("Patient", examination["patient_id"]),
            "recordedDate": examination["recorded_at"],
        }
        if examination.get("examined_at"):
            condition["onsetDateTime"] = examination["examined_at"]
        if finding.get("note"):
            condition["note"] = [{"text": finding["note"]}]
        found.append(condition)
    return found


def allergies(chart: dict[str, Any]) -> list[Resource]:
    """The medical history's allergies, and alerts coded as allergies, of the patient's chart
    as AllergyIntolerance resources."""
    patient_ref = reference("Patient", chart["patient_id"])
    found = [
        _allergy_of_entry(entry, patient_ref)
        for entry in chart.get("medical_history") or []
        if entry["kind"] == "allergy"
    ]
    found += [
        _allergy_of_alert(alert, patient_ref)
        for alert in chart.get("alerts") or []
        if any(word in alert["code"] for word in _ALLERGY_WORDS)
    ]
    return found


def _allergy_of_entry(entry: dict[str, Any], patient_ref: dict[str, str]) -> Resource:
    active = entry.get("active", True)
    resource: Resource = {
        "resourceType": "AllergyIntolerance",
        "id": entry["entry_id"],
        "clinicalStatus": _coded(
            ALLERGY_CLINICAL, *(("active", "Active") if active else ("inactive", "Inactive"))
        ),
        "verificationStatus": _coded(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
        "type": "allergy",
        "code": {"text": entry["description"]},
        "patient": patient_ref,
        "recordedDate": entry["recorded_at"],
    }
    if entry.get("severity") in _CRITICALITY:
        resource["criticality"] = _CRITICALITY[entry["severity"]]
    if entry.get("started_on"):
        resource["onsetDateTime"] = entry["started_on"]
    if entry.get("notes"):
        resource["note"] = [{"text": entry["notes"]}]
    return resource


def _allergy_of_alert(alert: dict[str, Any], patient_ref: dict[str, str]) -> Resource:
    resource: Resource = {
        "resourceType": "AllergyIntolerance",
        "id": alert["alert_id"],
        "clinicalStatus": _coded(ALLERGY_CLINICAL, "active", "Active"),
        "verificationStatus": _coded(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
        "type": "allergy",
        "code": {"text": alert.get("description") or alert["code"]},
        "patient": patient_ref,
        "recordedDate": alert["raised_at"],
    }
    if alert.get("severity") in _CRITICALITY:
        resource["criticality"] = _CRITICALITY[alert["severity"]]
    return resource


def searchset(base: str, resources: Sequence[Resource]) -> Resource:
    """A search's answer: every match, each with its full URL (`base` is the server's root,
    e.g. http://host/fhir)."""
    bundle: Resource = {"resourceType": "Bundle", "type": "searchset", "total": len(resources)}
    if resources:  # FHIR allows no empty arrays
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ]
    return bundle


def capability_statement(
    base: str, readable: Collection[str], searches: dict[str, dict[str, str]], date: str
) -> Resource:
    """What this server does, exactly: read-only JSON FHIR R4; `read` of the `readable`
    resource types; search by the parameters in `searches` (resource type -> parameter ->
    FHIR search type)."""
    resources = []
    for resource_type, parameters in searches.items():
        interactions = ["read"] if resource_type in readable else []
        resources.append(
            {
                "type": resource_type,
                "interaction": [{"code": code} for code in [*interactions, "search-type"]],
                "searchParam": [{"name": name, "type": kind} for name, kind in parameters.items()],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Sonrisa",
        "kind": "instance",
        "software": {"name": "Sonrisa"},
        "implementation": {"description": "Sonrisa's read-only FHIR API", "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer tokens from POST /api/auth/login; the same roles "
                    "and access log as /api"
                },
                "resource": resources,
            }
        ],
    }
