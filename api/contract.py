"""What the API refuses in an address or a header, stated in the OpenAPI document's
parameters: no control character in a path or query value (the middleware refuses them
everywhere, 400), and If-Match required where the route answers 428 without it."""

from __future__ import annotations

from typing import Any

from api.deps import ETAG_PATTERN, IF_MATCH_LENGTH
from domain.shared import storable_text_pattern


def state_parameters(operation: dict[str, Any], *, if_match_required: bool) -> None:
    for parameter in operation.get("parameters", ()):
        if parameter.get("in") in ("path", "query"):
            _pattern_free_text(parameter.get("schema"))
        if parameter.get("in") == "header" and parameter["name"].lower() == "if-match":
            parameter["required"] = if_match_required
            parameter["schema"] = {
                "type": "string",
                "maxLength": IF_MATCH_LENGTH,
                "pattern": ETAG_PATTERN,
            }


def _pattern_free_text(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"format", "pattern", "enum", "const"} & set(schema):
        schema["pattern"] = storable_text_pattern()
    for branch in (*schema.get("anyOf", ()), schema.get("items")):
        _pattern_free_text(branch)
