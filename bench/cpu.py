"""CPU seconds per process from /proc: who used the machine while a benchmark ran.

On a small shared machine a benchmark's numbers mean little without knowing what
else was running; these readings go under the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
# Servers every benchmark drives: their CPU is part of the work, not a neighbour's.
SERVICES = frozenset({"postgres", "beam.smp", "erl_child_setup", "epmd", "inet_gethost"})


@dataclass(frozen=True)
class Usage:
    name: str
    seconds: float


def _read(pid: int) -> Usage | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    # The command name is in parentheses and may contain spaces; fields follow the last ')'.
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return Usage(command.strip()[:80] or name, (utime + stime) / _TICKS)


def seconds(pid: int) -> float:
    usage = _read(pid)
    return usage.seconds if usage else 0.0


def snapshot() -> dict[int, Usage]:
    found: dict[int, Usage] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (usage := _read(int(entry.name))) is not None:
            found[int(entry.name)] = usage
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Neighbours:
    """Samples every process once a second, so even short-lived ones (a test run) are seen."""

    def __init__(self) -> None:
        self.first = snapshot()
        self.last: dict[int, Usage] = dict(self.first)
        self.comms: dict[int, str] = {pid: _comm(pid) for pid in self.first}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    def sample(self) -> None:
        for pid, usage in snapshot().items():
            if pid not in self.comms:
                self.comms[pid] = _comm(pid)
            self.last[pid] = usage

    def busy(self, ours: set[int], at_least: float = 2.0) -> list[Usage]:
        """Processes that are neither this benchmark nor the servers it drives."""
        self.sample()
        found: list[Usage] = []
        for pid, now in self.last.items():
            if pid in ours or self.comms.get(pid) in SERVICES or now.name.startswith("postgres"):
                continue
            used = now.seconds - (self.first[pid].seconds if pid in self.first else 0.0)
            if used >= at_least:
                found.append(Usage(now.name, used))
        return sorted(found, key=lambda u: -u.seconds)
