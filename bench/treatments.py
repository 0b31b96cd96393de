"""(g) RecordTreatment over HTTP to the odontogram visible in Mongo, at a steady 50/s;
(h) `GET /api/patients/{id}/chart` of a patient with 300 treatments vs a bare pymongo
`find_one`; (i) rebuilding the odontogram's read model vs `insert_many` of its documents."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID, uuid4

import httpx

from bench.chart import rebuild_vs_insert_many
from bench.harness import Harness, Sizes, run_alone
from bench.report import Row, value_at_most
from bench.workload import open_loop, percentile, registered_patients
from commands.identity import Identity, RegisterStaff
from commands.treatments import RecordTreatment, Treatments
from domain.shared import Meta, Role
from domain.treatments import VALID_TEETH, is_anterior
from security.sessions import Claims

PROJECTION = "treatment_chart"
ODONTOGRAMS = "treatment_odontograms"
RATE = 50.0
CHART_TREATMENTS = 300
CHART_READS = 300
POLL_SECONDS = 0.002
SCRATCH = "bench_treatment_chart"


def _body(patient_id: UUID, n: int) -> dict[str, object]:
    tooth = VALID_TEETH[n % len(VALID_TEETH)]
    surface = "I" if is_anterior(tooth) else "O"
    return {"patient_id": str(patient_id), "code": "FILL-1", "tooth": tooth, "surfaces": surface}


def dentist_account(harness: Harness) -> UUID:
    """A real, active dentist's account: a treatment's provider must be one."""
    command = RegisterStaff(
        name="Bench Dentist",
        email=f"bench-{uuid4().hex[:12]}@clinica.es",
        roles=[Role.DENTIST],
        password="dientes-sanos-cada-dia-2026",
    )
    admin = Meta("bench", Role.ADMIN.value, "bench", "bench")
    return harness.platform.application(Identity).register(command, admin).id


async def _dentist(harness: Harness, staff_id: UUID) -> dict[str, str]:
    claims = Claims(staff_id, uuid4(), (Role.DENTIST.value,), "Bench Dentist")
    pair = await harness.platform.tokens.start_session(claims)
    return {"Authorization": f"Bearer {pair.access_token}"}


async def _visible(
    harness: Harness,
    outstanding: dict[str, tuple[float, str]],
    lags: list[float],
    sent: asyncio.Event,
) -> None:
    """One poller for every outstanding treatment, until all are sent and all are in their
    patient's composed odontogram."""
    charts = harness.platform.mongo_db[ODONTOGRAMS]
    while not (sent.is_set() and not outstanding):
        if outstanding:
            asked = time.perf_counter()
            patients = sorted({patient for _, patient in outstanding.values()})
            cursor = charts.find({"_id": {"$in": patients}}, {"contributions": 1})
            async for chart in cursor:
                for treatment_id in set(chart["contributions"]) & set(outstanding):
                    lags.append(asked - outstanding.pop(treatment_id)[0])
        await asyncio.sleep(POLL_SECONDS)


async def lag(harness: Harness, sizes: Sizes, headers: dict[str, str]) -> list[Row]:
    """(g): open loop at RATE commands/s; lag from each 201 to its contribution in Mongo."""
    platform, stop = harness.platform, asyncio.Event()
    parts = [platform.relay().run(stop), platform.consumer(PROJECTION).run(stop)]
    tasks = [asyncio.create_task(part) for part in parts]
    outstanding: dict[str, tuple[float, str]] = {}
    lags: list[float] = []
    patients = await asyncio.to_thread(registered_patients, platform, 50)
    total = round(RATE * sizes.lag_seconds)
    try:
        async with httpx.AsyncClient(base_url=harness.base_url, headers=headers) as client:

            async def one(n: int) -> None:
                patient = patients[n % len(patients)]
                response = await client.post("/api/treatments", json=_body(patient, n))
                if response.status_code != 201:
                    raise RuntimeError(f"record answered {response.status_code}")
                outstanding[response.json()["id"]] = (time.perf_counter(), str(patient))

            async def watch(sent: asyncio.Event) -> None:
                await _visible(harness, outstanding, lags, sent)

            await open_loop(RATE, total, one, watch, settle_seconds=30)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    detail = f"{len(lags)} treatments at {RATE:.0f}/s, HTTP 201 to its patient's odontogram"
    return [
        Row("(g) RecordTreatment to odontogram, p50", percentile(lags, 0.5) * 1000, unit="ms",
            detail=detail),
        Row("(g) RecordTreatment to odontogram, p99", percentile(lags, 0.99) * 1000, unit="ms",
            target="≤ 100 ms", met=value_at_most(100), detail=detail),
    ]  # fmt: skip


async def chart(harness: Harness, headers: dict[str, str], dentist: UUID) -> list[Row]:
    """(h): one patient with CHART_TREATMENTS treatments; the chart over HTTP, one at a time."""
    platform = harness.platform
    [patient] = await asyncio.to_thread(registered_patients, platform, 1)
    meta = Meta(str(dentist), Role.DENTIST.value, "bench", "bench")

    def seed() -> None:
        for n in range(CHART_TREATMENTS):
            platform.application(Treatments).record(
                RecordTreatment.model_validate(_body(patient, n)), meta
            )

    await asyncio.to_thread(seed)
    await platform.projectors[PROJECTION].rebuild()
    documents = platform.mongo_db[PROJECTION]
    http: list[float] = []
    bare: list[float] = []
    every: list[float] = []
    async with httpx.AsyncClient(base_url=harness.base_url, headers=headers) as client:
        for _ in range(CHART_READS):
            started = time.perf_counter()
            response = await client.get(f"/api/patients/{patient}/chart")
            http.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"chart answered {response.status_code}")
            started = time.perf_counter()
            await documents.find_one({"patient_id": str(patient)})
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            await documents.find({"patient_id": str(patient)}).to_list()
            every.append(time.perf_counter() - started)
    teeth = len(response.json()["teeth"])
    detail = (
        f"{CHART_TREATMENTS} treatments on {teeth} teeth: GET chart (guard, access log, "
        f"find_one of the composed odontogram) vs bare find_one; {CHART_READS} reads each"
    )
    return [
        Row("(h) GET chart, 300 treatments, p50", percentile(http, 0.5) * 1000,
            percentile(bare, 0.5) * 1000, unit="ms", detail=detail),
        Row("(h) GET chart, 300 treatments, p99", percentile(http, 0.99) * 1000,
            percentile(bare, 0.99) * 1000, unit="ms", target="≤ 20 ms", met=value_at_most(20),
            detail=detail),
        Row("(h) bare find of all 300 contributions, p99", percentile(every, 0.99) * 1000,
            percentile(bare, 0.99) * 1000, unit="ms",
            detail="where (h)'s time goes: find of the patient's contributions vs find_one"),
    ]  # fmt: skip


async def rebuild(harness: Harness, sizes: Sizes) -> list[Row]:
    """(i): every treatment event folded again and swapped in, vs inserting the results."""
    projector, database = harness.platform.projectors[PROJECTION], harness.platform.mongo_db
    events, documents, seconds = await rebuild_vs_insert_many(
        projector, database, SCRATCH, sizes.rounds
    )
    return [
        Row(
            "(i) rebuild treatment_chart (Mongo), events/s",
            events * sizes.rounds / seconds["rebuild"],
            len(documents) * sizes.rounds / seconds["bare"],
            detail=(
                f"{events} events into {len(documents)} contributions, shadow + rename, vs "
                f"insert_many of the same documents (documents/s); x{sizes.rounds}"
            ),
        )
    ]


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    dentist = await asyncio.to_thread(dentist_account, harness)
    headers = await _dentist(harness, dentist)
    rows = await lag(harness, sizes, headers)
    rows += await chart(harness, headers, dentist)
    rows += await rebuild(harness, sizes)
    return rows


if __name__ == "__main__":  # `python -m bench.treatments [--quick]`: these three alone
    run_alone(run, "Sonrisa benchmarks: treatments", "sonrisa_bench_treatments")
