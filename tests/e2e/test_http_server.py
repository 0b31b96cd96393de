"""The real HTTP server: the size limit holds on the stream, forwarded addresses are believed only
from a proxy the settings name, and metrics are served apart from the API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from clinic.parts import http_app
from clinic.platform import Platform
from clinic.supervisor import api_part
from infra.settings import Settings
from tests.conftest import SignIn, eventually, running
from tests.e2e.test_clinic_up import free_port
from tests.e2e.test_patients_api import PATIENT
from tests.integration.test_relay_crash import CLINIC, clinic_env

MIB = 1024 * 1024
FORGED = "203.0.113.99"


@dataclass(frozen=True)
class Server:
    base: str
    metrics: str
    pid: int


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(url)).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def clinic_api(
    settings: Settings, opened_platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`clinic api` in a process of its own, with metrics on a port of their own."""
    port, metrics_port = free_port(), free_port()
    env = clinic_env(settings, CLINIC_PORT=str(port), CLINIC_METRICS_PORT=str(metrics_port))
    output = tmp_path_factory.mktemp("clinic-api") / "output"
    with output.open("wb") as sink:
        process = subprocess.Popen([CLINIC, "api"], env=env, stdout=sink, stderr=sink)
    server = Server(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}", process.pid)
    try:
        _wait_until_serving(f"{server.base}/healthz", process, output)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], output: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, output.read_text()[-3000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within 90 s")


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def _post_chunked_and_wait(base: str, path: str, total: int) -> bytes:
    """POST `total` bytes with chunked transfer (no Content-Length), then wait for the answer
    WITHOUT ending the body: an answer that comes proves the server did not need the rest,
    however fast or slow this machine is."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    chunk = 64 * 1024
    piece = f"{chunk:x}\r\n".encode() + b"a" * chunk + b"\r\n"

    async def pump() -> None:  # no terminating chunk: the body is never complete
        for _ in range(total // chunk):
            writer.write(piece)
            await writer.drain()  # blocks for good once the server stops reading: fine

    pumping = asyncio.create_task(pump())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=120)
        length = next(
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        return head + await asyncio.wait_for(reader.readexactly(length), timeout=60)
    finally:
        pumping.cancel()
        writer.close()


async def test_a_chunked_body_past_the_limit_is_refused_without_being_read(
    clinic_api: Server, settings: Settings
) -> None:
    past_the_limit = settings.max_request_bytes + 4 * 64 * 1024
    before = _rss_bytes(clinic_api.pid)
    peak = before
    sending = asyncio.create_task(
        _post_chunked_and_wait(clinic_api.base, "/api/auth/login", past_the_limit)
    )
    while not sending.done():
        peak = max(peak, _rss_bytes(clinic_api.pid))
        await asyncio.sleep(0.02)
    answer = await sending

    head, _, problem = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    assert b"payload-too-large" in problem
    assert peak - before < 16 * MIB, f"the server grew by {(peak - before) // MIB} MiB"


async def test_an_address_that_is_not_valid_http_gets_a_problem_not_plain_text(
    clinic_api: Server,
) -> None:
    """A raw byte where the address allows none is refused before the app sees it; the answer
    is still problem+json, as the document promises for every 400."""
    host, port = clinic_api.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /api/treatments?to=\xc3\x8e HTTP/1.1\r\nHost: clinic\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    problem = json.loads(body)
    assert problem["type"].endswith("/malformed-request")
    assert problem["status"] == 400


async def test_a_chunked_body_past_the_limit_is_refused_by_the_app(
    anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    pulled = 0
    chunk = 16 * 1024

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1024):  # 16 MiB
            pulled += 1
            yield b"a" * chunk

    refused = await anonymous.post("/api/auth/login", content=body())
    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/payload-too-large")
    assert pulled <= settings.max_request_bytes // chunk + 2


async def test_a_chunked_body_within_the_limit_still_works(
    anonymous: httpx.AsyncClient,
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"email": "nobody@clinica.es", '
        yield b'"password": "not the password"}'

    answer = await anonymous.post(
        "/api/auth/login", content=body(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401


async def test_metrics_are_served_on_their_own_port_and_not_by_the_api(
    clinic_api: Server,
) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{clinic_api.base}/metrics")).status_code == 404
        metrics = await http.get(f"{clinic_api.metrics}/metrics")
    assert metrics.status_code == 200
    assert "sonrisa_http_request_seconds" in metrics.text


async def _source_of_a_write(base: str, platform: Platform, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        created = await http.post(
            "/api/patients", json=PATIENT, headers={"X-Forwarded-For": FORGED}
        )
        assert created.status_code == 201, created.text
    (entry,) = await platform.access_log.search(
        patient_id=UUID(created.json()["id"]),
        actor=None,
        since=None,
        until=None,
        after_seq=0,
        limit=10,
    )
    return str(entry["source_address"])


@pytest.mark.parametrize(
    ("trusted", "recorded"), [([], "127.0.0.1"), (["127.0.0.1/32"], FORGED)], ids=["none", "named"]
)
async def test_forwarded_addresses_are_believed_only_from_a_proxy_the_settings_name(
    platform: Platform, settings: Settings, sign_in: SignIn, trusted: list[str], recorded: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = api_part(http_app(platform), "127.0.0.1", port, trusted)
    async with running(serve):
        await eventually(lambda: _answers(f"{base}/healthz"), what="the API to serve")
        assert await _source_of_a_write(base, platform, await sign_in("receptionist")) == recorded


async def test_a_forged_forwarded_address_does_not_get_past_the_sign_in_throttle(
    platform: Platform, settings: Settings
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = api_part(http_app(platform), "127.0.0.1", port)
    wrong = {"email": "ana@clinica.es", "password": "not the password"}
    async with running(serve), httpx.AsyncClient(base_url=base) as http:
        await eventually(lambda: _answers(f"{base}/healthz"), what="the API to serve")
        statuses = [
            (
                await http.post(
                    "/api/auth/login", json=wrong, headers={"X-Forwarded-For": f"198.51.100.{n}"}
                )
            ).status_code
            for n in range(settings.login_failures_per_account_address + 1)
        ]
    assert statuses[-1] == 429, statuses


def test_a_wildcard_is_not_a_proxy(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="never"):
        Settings(trusted_proxies="*")
    assert Settings(trusted_proxies="10.0.0.0/8, 192.0.2.7").trusted_proxy_list() == [
        "10.0.0.0/8",
        "192.0.2.7",
    ]
