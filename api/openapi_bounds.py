"""Every string and integer in the OpenAPI document states its bound (OWASP API4: a client
can tell how much it may send, and how much it may get).

A route's own constraints come first: what its models and parameters declare (a name's
`max_length`, a grade's `le`) is already in the document and is kept. What is left gets the
bound the API enforces on everything, found here once instead of on each field:

- a UUID is at most 45 characters in any spelling the API parses (`urn:uuid:...`);
- a pattern anchored at both ends bounds its own length;
- any other string in a body (a date, an instant, a fee spelled as text) fits in the body,
  which is at most `max_request_bytes` (413 otherwise);
- any other string in the address (a path or query parameter) fits in the address, which
  is at most MAX_TARGET_LENGTH (400 otherwise, api/middleware.py);
- a header states its own bound (If-Match's `max_length`): none is found for it here.

An answer's strings are at most ANSWER_TEXT_LENGTH: everything the API stores came in
through a bounded field (the longest is far shorter, a test checks it), and what it makes
itself (ids, instants, tokens, pages) is shorter still. An answer's integers are at most
64-bit (the stores keep them as bigint). An integer in a request has the bounds its model
declares, and the narrowest format that holds them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from infra.settings import MAX_TARGET_LENGTH

ANSWER_TEXT_LENGTH = 65_536
UUID_LENGTH = 45  # urn:uuid: and 36 characters; braces or no hyphens are shorter
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_REF = "#/components/schemas/"
_NESTED = ("items", "additionalProperties", "propertyNames", "not", "contains")
_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def bound(document: dict[str, Any], *, max_request_bytes: int) -> None:
    """Add the enforced bound to every string and integer of `document` that states none."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    asked = _reachable(schemas, list(_request_schemas(document)))
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", ()):
                # A header or cookie is not in the address: it states its own bound, or none.
                limit = MAX_TARGET_LENGTH if parameter.get("in") in ("path", "query") else None
                _bound(parameter.get("schema", {}), limit, answer=False)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _bound(media.get("schema", {}), max_request_bytes, answer=False)
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    _bound(media.get("schema", {}), ANSWER_TEXT_LENGTH, answer=True)
                for header in response.get("headers", {}).values():
                    _bound(header.get("schema", {}), ANSWER_TEXT_LENGTH, answer=True)
    for name, schema in schemas.items():
        if name in asked:
            _bound(schema, max_request_bytes, answer=False)
        else:
            _bound(schema, ANSWER_TEXT_LENGTH, answer=True)


def pattern_length(pattern: str) -> int | None:
    """The longest text a pattern anchored at both ends can match, or None if unbounded."""
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith(r"\$"):
        return None
    try:
        longest = int(re._parser.parse(pattern).getwidth()[1])  # type: ignore[attr-defined, unused-ignore]
    except re.error:
        return None
    return longest if longest < re._constants.MAXREPEAT else None  # type: ignore[attr-defined, unused-ignore]


def _request_schemas(document: dict[str, Any]) -> Iterator[str]:
    """The component schemas a request names directly (a body, a parameter)."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", ()):
                yield from _refs(parameter.get("schema", {}))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from _refs(media.get("schema", {}))


def _reachable(schemas: dict[str, Any], names: list[str]) -> set[str]:
    found: set[str] = set()
    while names:
        name = names.pop()
        if name not in found and name in schemas:
            found.add(name)
            names.extend(_refs(schemas[name]))
    return found


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            yield ref.removeprefix(_REF)
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _bound(schema: Any, text_length: int | None, *, answer: bool) -> None:
    if not isinstance(schema, dict):
        return
    types = schema.get("type")
    kinds = set(types) if isinstance(types, list) else {types}
    if "string" in kinds:
        _bound_string(schema, text_length)
    if "integer" in kinds:
        _bound_integer(schema, answer=answer)
    for key in _NESTED:
        _bound(schema.get(key), text_length, answer=answer)
    for key in _LISTS:
        for sub in schema.get(key, ()):
            _bound(sub, text_length, answer=answer)
    for sub in schema.get("properties", {}).values():
        _bound(sub, text_length, answer=answer)


def _bound_string(schema: dict[str, Any], text_length: int | None) -> None:
    if {"maxLength", "enum", "const"} & schema.keys():
        return
    if schema.get("format") == "uuid":
        schema["maxLength"] = UUID_LENGTH
        return
    longest = pattern_length(schema["pattern"]) if "pattern" in schema else None
    if longest is None:
        longest = text_length
    if longest is not None:
        schema["maxLength"] = longest


def _bound_integer(schema: dict[str, Any], *, answer: bool) -> None:
    if answer:
        schema.setdefault("minimum", INT64[0])
        schema.setdefault("maximum", INT64[1])
    if "format" not in schema:
        low = schema.get("minimum", schema.get("exclusiveMinimum", INT64[0]))
        high = schema.get("maximum", schema.get("exclusiveMaximum", INT64[1]))
        schema["format"] = "int32" if INT32[0] <= low and high <= INT32[1] else "int64"
