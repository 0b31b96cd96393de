"""The API serves the built web app at `/`, deep links included, and never lets it shadow the
API or the operations routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from clinic.platform import Platform
from infra.settings import Settings

PAGE = "<!doctype html><title>Sonrisa</title><div id=root></div>"


@pytest.fixture
async def web(
    platform: Platform, settings: Settings, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "index-3f2a.js").write_text("console.log('app')")
    served = settings.model_copy(update={"web_root": tmp_path})
    transport = httpx.ASGITransport(app=create_app(served, platform.routers(), platform.services()))
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        yield http


DEEP = "/patients/1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize("path", ["/", DEEP, "/calendar"])
async def test_every_page_of_the_app_is_its_index_so_deep_links_work(
    web: httpx.AsyncClient, path: str
) -> None:
    page = await web.get(path)
    assert page.status_code == 200
    assert page.text == PAGE
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_built_assets_are_served_and_cached_for_good(web: httpx.AsyncClient) -> None:
    asset = await web.get("/assets/index-3f2a.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    assert (await web.get("/assets/gone-1234.js")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/no-such-route", 404),
        ("POST", "/api/no-such-route", 404),
        ("GET", "/api/auth/login", 405),
        ("GET", "/api/patients", 401),
        ("GET", "/healthz", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/docs", 200),
        # Metrics live on a port of their own (settings.metrics_port), never beside the API.
        ("GET", "/metrics", 404),
    ],
)
async def test_the_app_never_shadows_the_api_or_operations(
    web: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    answer = await web.request(method, path)
    assert answer.status_code == status
    assert answer.text != PAGE
    if path.startswith("/api/"):
        assert answer.headers["content-type"] == "application/problem+json"


async def test_a_path_out_of_the_build_folder_is_not_served(web: httpx.AsyncClient) -> None:
    answer = await web.get("/%2e%2e/%2e%2e/etc/passwd")
    assert "root:" not in answer.text
