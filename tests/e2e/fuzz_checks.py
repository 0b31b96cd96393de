"""Schemathesis hooks for tests/e2e/test_fuzz.py (loaded by path, in the fuzzer's process).

Schema-valid data may still be refused by a decision the document cannot state: a patient
that is not registered, an end before its start, a cursor or link this API did not give out,
a password too easy to guess (400/422 with a problem type of its own). It must never be
refused by the API's own checks of the request's form, which the document states: the
schema (`invalid-request`), control characters, If-Match, unknown query parameters.
`positive_data_acceptance` lets 400 and 422 through (schemathesis.toml); this check
tells the two kinds apart."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

FORM_CHECKS = frozenset(
    {
        "invalid-request",
        "invalid-characters",
        "invalid-if-match",
        "unknown-parameter",
        "precondition-required",
    }
)


@schemathesis.check
def schema_valid_data_passes_the_form_checks(ctx: Any, response: Any, case: Any) -> None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 422, 428):
        return
    try:
        kind = str(json.loads(response.content).get("type", "")).rsplit("/", 1)[-1]
    except (ValueError, AttributeError):
        kind = ""
    if kind in FORM_CHECKS:
        raise AssertionError(
            f"Schema-valid data refused by a check of its form ({kind}): the document "
            f"does not state what the API enforces\n{response.content[:600]!r}"
        )
