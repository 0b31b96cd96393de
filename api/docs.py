"""The API's documentation page (Swagger UI), served from the installed package.

FastAPI's own page loads Swagger UI from a public CDN without subresource integrity: a page
staff open while signed in would run whatever that CDN served. Here the assets come from the
`fastapi-offline` wheel, the page runs no inline script, and its policy allows this origin
only.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.permissions import public

ASSETS = Path(str(files("fastapi_offline") / "static"))
SERVED = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"})
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sonrisa API</title>
<link rel="icon" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script></body></html>
"""
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
PATHS = frozenset({"/docs", "/docs/start.js", "/docs/assets/{name}"})
HEADERS = {"Content-Security-Policy": POLICY, "Cache-Control": "no-cache"}

router = APIRouter(tags=["docs"], dependencies=[Depends(public)], include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=HEADERS)


@router.get("/docs/start.js")
async def start() -> Response:
    return Response(START, media_type="text/javascript", headers=HEADERS)


@router.get("/docs/assets/{name}")
async def asset(name: str) -> FileResponse:
    if name not in SERVED:
        raise StarletteHTTPException(404, "Not Found")
    return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})
