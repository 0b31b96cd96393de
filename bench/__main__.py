"""`make bench`: every benchmark, Sonrisa beside its baseline, in one table.

    .venv/bin/python -m bench           # full sizes, about a minute and a half
    .venv/bin/python -m bench --quick   # small sizes, a smoke run

(a) RegisterPatient over HTTP vs `Application.save` of the same aggregate, commands/s;
(b) the relay vs raw aio-pika confirmed publishing of the same messages, events/s;
(c) lag from the HTTP 201 to the patient directory at a steady 100 commands/s, p50/p99;
(d) rebuilding the patient directory vs `executemany` of the same rows, events/s and rows/s;
(e) booking appointments over HTTP, a quarter of them colliding, vs `Scheduling.book`;
(f) availability for one provider over one week, p50/p99, vs the same SQL run bare;
(t) `clinic up` from start to serving with 10,000 and 200,000 events in the store;
(u) rebuilding the Mongo patient chart vs pymongo `insert_many` of the same documents;
(v) 300 registrations at once, p50/p99, and any that failed;
(g) RecordTreatment to the odontogram in Mongo at 50/s, p50/p99;
(h) the chart of a patient with 300 treatments over HTTP vs a bare pymongo `find_one`;
(i) rebuilding the odontogram's read model vs `insert_many` of the same documents.
(w) rebuilding the chart of 10,000 patients on the embedded Mongo server (SQLite), seconds.
(j) reminder emails/s vs raw aiosmtplib; (k) due-to-sent delay, p50/p99, 5,000 due within a
minute; (l) AppointmentBooked events to reminders scheduled, events/s.
(m) TreatmentRecorded to stock decremented at 50 treatments/s, p50/p99; (n) one item's stock
levels over 5,000 items and 20,000 lots, over HTTP vs the bare SQL, p50/p99.
(x) `clinic import patients` of 10,000 CSV rows, rows/s, vs saving the same patients bare;
and the same file again.

Each row's two sides run in alternating rounds in the same run, against the same
PostgreSQL (database `sonrisa_bench`, recreated), RabbitMQ (exchange and queues named
for this run, deleted at the end) and Mongo wire server (started here unless
CLINIC_MONGO_URL is set). Benchmarks are not tests: they print what they measured and
never fail on a number.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host
import sys
import time

from rich.console import Console

from bench import (
    burst,
    chart,
    chart_rebuild,
    cpu,
    importing,
    inventory,
    lag,
    rebuild,
    register,
    relaying,
    reminders,
    scheduling,
    startup,
    treatments,
)
from bench.harness import FULL, QUICK, Harness, Sizes
from bench.report import Row, table
from clinic.supervisor import event_loop_factory


async def main(sizes: Sizes, console: Console, *, in_process: bool) -> None:
    started = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    neighbours = cpu.Neighbours()
    sampling = asyncio.Event()
    sampler = asyncio.create_task(neighbours.run(sampling))
    try:
        harness = await Harness.open()
    except BaseException:
        sampling.set()
        await sampler
        raise
    try:
        rows += await _measure(harness, sizes, console, notes, in_process=in_process)
    finally:
        problems = harness.log_problems()
        busy = neighbours.busy(harness.ours())
        sampling.set()
        await sampler
        await harness.close()
    if problems:
        notes.append(f"the platform logged {problems} warnings/errors: see {harness.log_path}")
    else:
        os.unlink(harness.log_path)
    if busy:
        others = "; ".join(f"{u.name} {u.seconds:.0f} s" for u in busy[:3])
        notes.append(f"[yellow]other processes used CPU meanwhile[/yellow]: {others}")
    notes.append(
        f"{os.cpu_count()} CPUs, Python {host.python_version()}, database "
        f"{harness.settings.database_url.rsplit('/', 1)[-1]}, exchange "
        f"{harness.settings.exchange}; {time.perf_counter() - started:.0f} s in all"
    )
    console.print(table(rows, "Sonrisa benchmarks", "\n".join(notes)))


async def _measure(
    harness: Harness, sizes: Sizes, console: Console, notes: list[str], *, in_process: bool
) -> list[Row]:
    """Every benchmark, in an order that keeps each one's conditions fair (see each note)."""
    rows: list[Row] = []
    # (u) first, on a small store: the embedded wire server checks each new document
    # against every stored one, so its rebuild time grows with the square of the size.
    with console.status("(u) rebuild of the Mongo patient chart vs insert_many"):
        rows += await chart.run(harness, sizes)
    # (c) next: with `--pipeline-processes` three Platforms share PostgreSQL's
    # connections, and this process's pools have not yet grown under (a)'s load.
    with console.status(f"(c) end-to-end lag at {sizes.lag_rate:.0f} commands/s"):
        lag_rows, note = await lag.run(harness, sizes, in_process=in_process)
        notes.append(note)
    with console.status("(a) RegisterPatient: HTTP API vs Application.save"):
        rows.append(await register.run(harness, sizes))
    with console.status("(b) relay vs raw confirmed publishing"):
        rows.append(await relaying.run(harness, sizes))
    rows += lag_rows
    with console.status("(d) rebuild of the patient directory vs executemany"):
        rows += await rebuild.run(harness, sizes)
    with console.status("(e) booking and (f) availability: HTTP API vs bare"):
        rows += await scheduling.run(harness, sizes)
    with console.status("(g) (h) (i) treatments: lag to the chart, chart reads, rebuild"):
        rows += await treatments.run(harness, sizes)
    with console.status("(m) (n) inventory: lag to the stock, stock levels"):
        rows += await inventory.run(harness, sizes)
    with console.status(f"(x) import of {sizes.import_rows:,} patients from CSV"):
        rows += await importing.run(harness, sizes)
    with console.status("(v) registrations all at once"):
        rows += await burst.run(harness, sizes)
    with console.status("(j) (k) (l) the reminder worker"):
        rows += await reminders.run(harness, sizes)
    with console.status("(t) clinic up from start to serving"):
        rows += await startup.run(harness, sizes)
    with console.status("(w) rebuild of 10,000 patients' charts on the embedded Mongo server"):
        rows += await chart_rebuild.run(harness, sizes)
    return rows


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--pipeline-processes",
        action="store_true",
        help="(c): run the relay and projectors as `clinic relay` and `clinic project` "
        "processes, as docker-compose does, instead of as tasks beside the API, as `clinic up` "
        "does (needs ~50 more PostgreSQL connections)",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    # Piped (`make bench | tee`), rich would wrap the table at 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 160)
    # The same event loop as `clinic up` runs on.
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main(sizes, console, in_process=not args.pipeline_processes))


if __name__ == "__main__":
    cli()
