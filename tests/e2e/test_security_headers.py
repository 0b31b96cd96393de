"""Every answer is hardened against sniffing and framing, the documentation page loads nothing
from another origin, HSTS is sent over TLS only, and every 405 says what is allowed."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from clinic.parts import described_app, http_app
from clinic.platform import Platform
from infra.settings import Settings
from tests.conftest import SignIn

FRAMING_REFUSED = "frame-ancestors 'none'"


def hardened(answer: httpx.Response) -> bool:
    return answer.headers.get(
        "x-content-type-options"
    ) == "nosniff" and FRAMING_REFUSED in answer.headers.get("content-security-policy", "")


async def test_api_answers_problems_and_reminder_pages_are_never_sniffed_or_framed(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    desk = await sign_in("receptionist")
    answers = {
        "a query": await anonymous.get("/api/patients", headers=desk),
        "a problem": await anonymous.get("/api/patients"),
        "health": await anonymous.get("/healthz"),
        "the document": await anonymous.get("/openapi.json"),
        "a reminder page": await anonymous.get(
            "/api/reminder-links/forged", headers={"accept": "text/html"}
        ),
        "the documentation": await anonymous.get("/docs"),
    }
    assert answers["a query"].status_code == 200
    assert answers["a reminder page"].headers["content-type"].startswith("text/html")
    assert [name for name, answer in answers.items() if not hardened(answer)] == []
    policy = answers["a query"].headers["content-security-policy"]
    assert "default-src 'none'" in policy, "JSON answers need nothing loaded"


async def test_the_documentation_page_loads_nothing_from_another_origin(
    anonymous: httpx.AsyncClient,
) -> None:
    page = await anonymous.get("/docs")
    assert page.status_code == 200
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert loaded, "the page loads its assets"
    assert [url for url in loaded if not url.startswith("/")] == []
    assert "<script>" not in page.text, "no inline script: the policy allows none"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "https:" not in policy
    assert "http:" not in policy
    for url in loaded:
        asset = await anonymous.get(url)
        assert asset.status_code == 200, url
    bundle = await anonymous.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.text
    assert (await anonymous.get("/docs/assets/..%2Fcore.py")).status_code == 404
    assert (await anonymous.get("/docs/assets/__init__.py")).status_code == 404


async def test_hsts_is_sent_over_tls_only(platform: Platform) -> None:
    app = http_app(platform)
    seen: dict[str, httpx.Response] = {}
    for scheme in ("https", "http"):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://sonrisa.test") as h:
            seen[scheme] = await h.get("/healthz")
    assert seen["https"].headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" not in seen["http"].headers


@pytest.fixture(scope="module")
def document(settings: Settings) -> dict[str, Any]:
    return described_app(settings).openapi()


async def test_every_405_says_which_methods_the_address_takes(
    anonymous: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    missing: list[str] = []
    for template, operations in document["paths"].items():
        path = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000000", template)
        if "{role}" in template:
            path = template.replace("{role}", "dentist").replace("{staff_id}", "0" * 32)
        documented = {method.upper() for method in operations}
        answer = await anonymous.request("PATCH" if "PATCH" not in documented else "TRACE", path)
        if answer.status_code != 405:
            missing.append(f"{template}: {answer.status_code}")
            continue
        allowed = {m.strip() for m in answer.headers.get("allow", "").split(",") if m.strip()}
        if not documented <= allowed:
            missing.append(f"{template}: Allow {sorted(allowed)} lacks {sorted(documented)}")
    assert missing == []


async def test_an_address_the_document_names_as_it_is_takes_only_its_own_methods(
    anonymous: httpx.AsyncClient,
) -> None:
    """/api/waitlist/matches also fits /api/waitlist/{entry_id}, whose DELETE it must not take."""
    for method in ("DELETE", "OPTIONS"):
        answer = await anonymous.request(method, "/api/waitlist/matches")
        assert answer.status_code == 405, method
        assert answer.headers["allow"] == "GET"
