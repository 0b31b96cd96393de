"""The web app's API client is generated from the API's own OpenAPI and checked in; these fail
when the API changed and `make client` was not run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from clinic.web_client import CHECKED_IN, openapi_text

WEB = CHECKED_IN.parents[2]
GENERATOR = WEB / "node_modules" / ".bin" / "openapi-typescript"


def test_the_checked_in_openapi_is_what_the_api_describes_today() -> None:
    assert CHECKED_IN.read_text(encoding="utf-8") == openapi_text(), (
        "the API changed: run `make client` and commit frontend/src/api/"
    )


def test_the_checked_in_typescript_client_is_generated_from_that_openapi(tmp_path: Path) -> None:
    assert GENERATOR.exists(), "the web app's packages are missing: `make web-install`"
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(GENERATOR), str(CHECKED_IN), "-o", str(generated)],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=120,
    )
    checked_in = WEB / "src" / "api" / "schema.d.ts"
    assert checked_in.read_text(encoding="utf-8") == generated.read_text(encoding="utf-8"), (
        "frontend/src/api/schema.d.ts is stale: run `make client`"
    )
