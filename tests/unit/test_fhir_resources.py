"""The FHIR mapping alone (api/fhir/resources.py): pure functions from read-model documents,
each result valid by fhirclient's R4 (4.0.1) models."""

from __future__ import annotations

from typing import Any

from fhirclient.models.fhirelementfactory import FHIRElementFactory

from api.fhir import resources


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    model = FHIRElementFactory.instantiate(resource["resourceType"], resource)
    assert model.as_json() == resource
    return resource


def test_facial_and_palatal_surfaces_take_fdis_vestibular_and_lingual_codes() -> None:
    tooth, facial, palatal = resources.body_sites(11, "FP")
    assert tooth["coding"] == [{"system": resources.TOOTH_SYSTEM, "code": "11"}]
    assert [s["coding"][0]["code"] for s in (facial, palatal)] == ["V", "L"]
    assert [s["text"] for s in (facial, palatal)] == ["F", "P"]


def test_a_checked_in_appointment_has_arrived_and_names_its_provider_and_chair() -> None:
    found = valid(
        resources.appointment(
            {
                "appointment_id": "a1",
                "patient_id": "p1",
                "provider_id": "d1",
                "operatory_id": "c1",
                "start": "2026-12-07T09:00:00+00:00",
                "end": "2026-12-07T09:30:00+00:00",
                "appointment_type": "check-up",
                "status": "checked_in",
                "booked_at": "2026-12-01T10:00:00+00:00",
                "version": 3,
            }
        )
    )
    assert found["status"] == "arrived"
    assert [p["actor"].get("type") for p in found["participant"]] == [
        None,
        "Practitioner",
        "Location",
    ]


def test_a_voided_treatment_is_entered_in_error_and_its_notes_are_kept_from_the_desk() -> None:
    treatment = {
        "treatment_id": "t1",
        "patient_id": "p1",
        "provider_id": "d1",
        "code": "FILL-1",
        "tooth": 36,
        "surfaces": "O",
        "status": "voided",
        "performed_at": "2026-12-01T10:00:00+00:00",
        "clinical_notes": "caries profunda",
    }
    for_desk = valid(resources.procedure(treatment, with_notes=False))
    assert for_desk["status"] == "entered-in-error"
    assert "note" not in for_desk
    assert valid(resources.procedure(treatment, with_notes=True))["note"] == [
        {"text": "caries profunda"}
    ]


def test_an_ended_allergy_is_inactive_and_a_moderate_one_states_no_criticality() -> None:
    chart = {
        "patient_id": "p1",
        "medical_history": [
            {
                "entry_id": "e1",
                "kind": "allergy",
                "description": "Látex",
                "severity": "moderate",
                "recorded_at": "2026-12-01T10:00:00+00:00",
                "active": False,
            },
            {"entry_id": "e2", "kind": "medication", "description": "Sintrom"},
        ],
        "alerts": [
            {"alert_id": "x1", "code": "anticoagulants", "severity": "high", "raised_at": "x"},
            {
                "alert_id": "x2",
                "code": "alergia_penicilina",
                "severity": "high",
                "raised_at": "2026-12-01T10:00:00+00:00",
            },
        ],
    }
    entry, alert = (valid(r) for r in resources.allergies(chart))
    assert entry["clinicalStatus"]["coding"][0]["code"] == "inactive"
    assert "criticality" not in entry
    assert (alert["id"], alert["criticality"]) == ("x2", "high")


def test_an_empty_search_has_no_entries_at_all() -> None:
    assert valid(resources.searchset("http://x/fhir", [])) == {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 0,
    }
