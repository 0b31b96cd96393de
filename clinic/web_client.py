"""The API's OpenAPI description, from which the web app's typed client is generated.

`make client` writes it to `frontend/src/api/openapi.json` and regenerates the client; a test
fails when the checked-in copy no longer matches the API. No server is needed: an app without
services can still describe itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from clinic.parts import described_app
from infra.settings import PROJECT_ROOT, Settings

CHECKED_IN = PROJECT_ROOT / "frontend" / "src" / "api" / "openapi.json"


def openapi_text() -> str:
    description = described_app(Settings()).openapi()
    return json.dumps(description, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> None:
    target = Path(argv[0]) if argv else CHECKED_IN
    target.write_text(openapi_text(), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
