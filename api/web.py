"""The clinic's web app: the built front end at `/`, deep links falling back to its index.html.

Never shadows the API or the operations routes: under those prefixes an unknown path is the
API's own 404 (problem+json), not the app's page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.permissions import public

RESERVED = ("api", "fhir", "healthz", "readyz", "metrics", "docs", "redoc", "openapi.json")


class WebPath(PathConvertor):
    """Any path but those of the API and operations, so the app's route never even
    matches them (their 404 and 405 stay the API's own)."""

    regex = "(?!(?:" + "|".join(p.replace(".", r"\.") for p in RESERVED) + ")(?:/|$)).+"


register_url_convertor("web", WebPath())
router = APIRouter(tags=["web"], dependencies=[Depends(public)], include_in_schema=False)
WEB_PATHS = frozenset({"/", "/{path:web}"})
# Vite names its built assets by their content hash, so they never change under one name.
IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _not_found() -> StarletteHTTPException:
    return StarletteHTTPException(404, "Not Found")


def _page(index: Path) -> FileResponse:
    if not index.is_file():
        raise StarletteHTTPException(
            404, "The web app is not built: `make run` builds it (frontend/)"
        )
    headers = {"Cache-Control": "no-cache", **SECURITY_HEADERS}
    return FileResponse(index, media_type="text/html", headers=headers)


@router.get("/", include_in_schema=False)
async def web_app_home(request: Request) -> FileResponse:
    root: Path = request.app.state.web_root
    return _page(root / "index.html")


@router.get("/{path:web}", include_in_schema=False)
async def web_app(path: str, request: Request) -> FileResponse:
    """A built file, or the app's page for any other route of the app (a deep link)."""
    root: Path = request.app.state.web_root.resolve()
    candidate = (root / path).resolve()
    if candidate.is_relative_to(root) and candidate.is_file():
        cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
        return FileResponse(candidate, headers={"Cache-Control": cache, **SECURITY_HEADERS})
    if path.startswith("assets/") or "." in path.rsplit("/", 1)[-1]:
        raise _not_found()  # a missing file, not a page of the app
    return _page(root / "index.html")
