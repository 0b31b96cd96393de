"""`make profile`: where the platform's CPU goes on the command path, sampled by py-spy.

    py-spy record --subprocesses --format raw -o bench/profile.txt -- python -m bench.profile
    python -m bench.profile --summarise bench/profile.txt

The first runs (c), registrations at a steady 100/s with the relay and projectors as
processes of their own, under py-spy; the second prints, for each process, the share of
its samples spent in each part of the code (each sample charged to our innermost
frame and the library module on CPU; samples waiting in the event loop left out).
A profile, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import lag
from bench.harness import FULL, Harness
from clinic.supervisor import event_loop_factory

TOP = 16
PLACES = (
    "site-packages/",
    f"python{sys.version_info.major}.{sys.version_info.minor}/",
    f"{Path(__file__).resolve().parents[1]}/",
)
OURS = frozenset({"domain", "commands", "projections", "bus", "api", "infra", "clinic", "security"})
IDLE = frozenset({"asyncio.runners", "selectors", "threading"})


async def _load() -> None:
    harness = await Harness.open()
    try:
        _, note = await lag.run(harness, FULL, in_process=False)
        print(note)
    finally:
        await harness.close()


def _where(frame: str) -> str:
    """`function (path:line)` as py-spy writes it, reduced to a module-ish place."""
    path = frame.partition(" (")[2].split(":")[0]
    for marker in PLACES:
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path.removesuffix('.py').replace('/', '.')}"


def _process(frame: str) -> str:
    """`process 123:"python -m clinic relay"` as `clinic relay`, `bench.profile`, ..."""
    command = frame.partition(":")[2].strip('"').split()
    for marker in ("-m", "-P"):
        if marker in command:
            where = command.index(marker) + 1
            return " ".join(command[where : where + 2]).rsplit("/", 1)[-1]
    return " ".join(c.rsplit("/", 1)[-1] for c in command[1:3])


def summarise(raw: Path, console: Console) -> None:
    own: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # py-spy names each process a frame (children under their parent): the deepest one.
        last = max(i for i, f in enumerate(frames) if f.startswith("process "))
        process = _process(frames[last])
        samples = int(count)
        totals[process] += samples
        places = [_where(f) for f in frames[last + 1 :] if "(" in f]
        if not places or places[-1] in IDLE:
            totals[process] -= samples  # waiting for I/O: no CPU spent
            continue
        ours = [p for p in places if p.split(".")[0] in OURS]
        # Charged to our innermost frame (what we asked for), with the library doing it.
        own[process][f"{ours[-1]} → {places[-1]}" if ours else places[-1]] += samples
    for process, total in totals.most_common():
        table = Table(title=f"{process}: {total} samples")
        table.add_column("our innermost frame → the module on CPU")
        table.add_column("share", justify="right")
        for place, samples in own[process].most_common(TOP):
            table.add_row(place, f"{100 * samples / total:.1f}%")
        console.print(table)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--summarise", type=Path, help="a py-spy raw profile to summarise")
    args = parser.parse_args()
    if args.summarise:
        summarise(args.summarise, Console(width=None if sys.stdout.isatty() else 160))
        return
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_load())


if __name__ == "__main__":
    cli()
