"""OpenAPI links: how an answer leads to the next request, so a client (or a stateful
fuzzer) can follow a patient it registered into their appointments, treatments and plans.

Each entry: the operation whose success answer has an id, and the operations that take it,
with where each value goes (`path.`, `query.`, `header.` or the body). A link that acts on
the record just written sends its ETag as If-Match.
"""

from __future__ import annotations

from typing import Any

_ID = "$response.body#/id"
_ETAG = {"header.If-Match": "$response.header.ETag"}
Operation = tuple[str, str]  # method, path

PATIENT = {"path.patient_id": _ID}
APPOINTMENT = {"path.appointment_id": _ID}
TREATMENT = {"path.treatment_id": _ID}
PLAN = {"path.plan_id": _ID}

# (source operation, its success status) -> link name -> (target, parameters, body)
LINKS: dict[tuple[Operation, str], dict[str, tuple[Operation, dict[str, str], Any]]] = {
    (("POST", "/api/patients"), "201"): {
        "ReadPatient": (("GET", "/api/patients/{patient_id}"), PATIENT, None),
        "UpdatePatient": (("PUT", "/api/patients/{patient_id}"), PATIENT | _ETAG, None),
        "PatientTreatments": (("GET", "/api/patients/{patient_id}/treatments"), PATIENT, None),
        "PatientPlans": (("GET", "/api/patients/{patient_id}/plans"), PATIENT, None),
        "PatientChart": (("GET", "/api/patients/{patient_id}/chart"), PATIENT, None),
        "PatientHistory": (("GET", "/api/patients/{patient_id}/medical-history"), PATIENT, None),
        "RecordHistory": (("POST", "/api/patients/{patient_id}/medical-history"), PATIENT, None),
        "RaiseAlert": (("POST", "/api/patients/{patient_id}/alerts"), PATIENT, None),
        "PatientAppointments": (("GET", "/api/appointments"), {"query.patient": _ID}, None),
        "BookAppointment": (("POST", "/api/appointments"), {}, {"patient_id": _ID}),
        "RecordTreatment": (("POST", "/api/treatments"), {}, {"patient_id": _ID}),
        "RecordExamination": (("POST", "/api/examinations"), {}, {"patient_id": _ID}),
        "DraftPlan": (("POST", "/api/plans"), {}, {"patient_id": _ID}),
        "JoinWaitlist": (("POST", "/api/waitlist"), {}, {"patient_id": _ID}),
    },
    (("POST", "/api/appointments"), "201"): {
        "ReadAppointment": (("GET", "/api/appointments/{appointment_id}"), APPOINTMENT, None),
        "Reschedule": (("PUT", "/api/appointments/{appointment_id}"), APPOINTMENT | _ETAG, None),
        "Cancel": (("DELETE", "/api/appointments/{appointment_id}"), APPOINTMENT | _ETAG, None),
        **{
            step.title().replace("-", ""): (
                ("POST", f"/api/appointments/{{appointment_id}}/{step}"),
                APPOINTMENT | _ETAG,
                None,
            )
            for step in ("confirm", "check-in", "complete", "no-show")
        },
        "RecordVisit": (
            ("POST", "/api/appointments/{appointment_id}/treatments"),
            APPOINTMENT | _ETAG,
            {"patient_id": "$request.body#/patient_id"},
        ),
        "SendReminder": (
            ("POST", "/api/reminders"),
            {},
            {"appointment_id": _ID, "patient_id": "$request.body#/patient_id"},
        ),
    },
    (("POST", "/api/treatments"), "201"): {
        "ReadTreatment": (("GET", "/api/treatments/{treatment_id}"), TREATMENT, None),
        "AmendTreatment": (("PUT", "/api/treatments/{treatment_id}"), TREATMENT | _ETAG, None),
        "VoidTreatment": (
            ("POST", "/api/treatments/{treatment_id}/void"),
            TREATMENT | _ETAG,
            None,
        ),
    },
    (("POST", "/api/plans"), "201"): {
        "ReadPlan": (("GET", "/api/plans/{plan_id}"), PLAN, None),
        "AddItem": (("POST", "/api/plans/{plan_id}/items"), PLAN | _ETAG, None),
        "Present": (("POST", "/api/plans/{plan_id}/present"), PLAN | _ETAG, None),
    },
    (("POST", "/api/plans/{plan_id}/items"), "201"): {
        "WithdrawItem": (
            ("POST", "/api/plans/{plan_id}/items/{item_id}/withdraw"),
            {**PLAN, "path.item_id": "$response.body#/item_id"} | _ETAG,
            None,
        ),
    },
}


def add_links(schema: dict[str, Any]) -> None:
    """Write `LINKS` into the document, each naming its target by operationId. An entry whose
    operations are not in the document (an app built without them) is left out."""
    paths = schema.get("paths", {})
    for ((method, path), status), links in LINKS.items():
        source = paths.get(path, {}).get(method.lower())
        if source is None or status not in source.get("responses", {}):
            continue
        for name, ((target_method, target_path), parameters, body) in links.items():
            target = paths.get(target_path, {}).get(target_method.lower())
            if target is None:
                continue
            link: dict[str, Any] = {"operationId": target["operationId"]}
            if parameters:
                link["parameters"] = parameters
            if body is not None:
                link["requestBody"] = body
            source["responses"][status].setdefault("links", {})[name] = link
