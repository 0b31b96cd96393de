"""`clinic up` as separate OS processes: the API, the relay, the projectors and each worker
run as `clinic api`, `clinic relay`, `clinic project NAMES` and `clinic worker NAME`, the
same commands a deployment scales one by one.

The plan comes from the declared contexts: every read model lands in one projector
process, every worker gets a process of its own. They are forked from a fork server
(multiprocessing's, ADR 29) that imported the command line once: a process starts, or starts
again after a crash, in milliseconds instead of the second and a half each fresh interpreter
spends importing the platform. This process supervises them: their logs
share its standard streams (one JSON line per entry, each naming its process), their
metrics are collected through prometheus-client's multiprocess mode and served here, a
process that dies is started again with backoff, and SIGINT or SIGTERM stops them all
(SIGKILL after a grace period). Should this process itself be killed, the fork server sees
its pipe close and ends, and the kernel stops the children (PR_SET_PDEATHSIG), so none is left
running unsupervised. Each child's name (`relay`, `api-1`, ...) is its process name, as `ps`
and /proc show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, multiprocess, start_http_server

from clinic.declaration import Context
from infra.logs import get_logger
from infra.metrics import EveryProcess
from infra.settings import Settings

log = get_logger("clinic.processes")
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PRELOAD = ["clinic.cli"]  # what the fork server imports once, for every child it forks
Entry = Callable[[Sequence[str]], None]  # the command line, run in the child with its args
RESTART_FIRST_SECONDS = 0.5
RESTART_MAX_SECONDS = 30.0
STEADY_SECONDS = 30.0  # a process that ran this long starts its next backoff afresh


@dataclass(frozen=True)
class Child:
    """One process of the plan: a name for logs and metrics, and its `clinic` arguments."""

    name: str
    args: tuple[str, ...]


def default_count(cores: int | None = None) -> int:
    """Processes per scalable part by default: half the machine's cores, at least one."""
    return max(1, (cores or os.cpu_count() or 1) // 2)


def plan(settings: Settings, contexts: Sequence[Context]) -> list[Child]:
    """The processes `clinic up` runs for these contexts and settings."""
    apis = settings.api_processes or default_count()
    read_models = [m.name for c in contexts for m in c.read_models]
    groups = min(len(read_models), settings.projector_processes or default_count())
    children = [Child(f"api-{n + 1}", ("api",)) for n in range(apis)]
    children.append(Child("relay", ("relay",)))
    for n in range(groups):
        names = tuple(read_models[n::groups])
        children.append(Child(f"projector-{n + 1}", ("project", *names)))
    children += [Child(w.name, ("worker", w.name)) for c in contexts for w in c.workers]
    return children


def child_environment(
    settings: Settings, child: Child, metrics_dir: Path, base: Mapping[str, str]
) -> dict[str, str]:
    """The parent's environment, told that the schemas exist, that metrics go to the shared
    folder, which process it is, and (with more than one API process) to share the port."""
    env = {k: v for k, v in base.items() if k != "CLINIC_METRICS_PORT"}
    env.update(
        CLINIC_MIGRATE_ON_START="false",
        CLINIC_PROCESS_NAME=child.name,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    if child.args[0] == "api" and (settings.api_processes or default_count()) > 1:
        env["CLINIC_REUSE_PORT"] = "true"
    return env


def child_main(entry: Entry, name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
    """Runs in the forked child: it dies with its parent (the fork server, which ends with
    this process), takes its name and environment, then runs its `clinic` command."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    libc.prctl(PR_SET_NAME, name.encode()[:15])
    # The fork server hands each child the pipe that keeps the server alive while any of its
    # clients lives: a child keeping it would keep the server, and so itself, alive after
    # this process was killed. Children start no processes of their own; they let it go.
    server: Any = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        os.close(server._forkserver_alive_fd)
        server._forkserver_alive_fd = None
    os.environ.clear()
    os.environ.update(env)
    entry(args)


class Supervisor:
    """Starts the planned processes, restarts the ones that die, stops them all on `stop`."""

    def __init__(
        self, settings: Settings, children: Sequence[Child], metrics_dir: Path, entry: Entry
    ) -> None:
        self.settings = settings
        self.children = tuple(children)
        self.metrics_dir = metrics_dir
        self.entry = entry
        # prometheus-client picks its multiprocess mode when imported: in the fork server.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        self._forks = multiprocessing.get_context("forkserver")
        self._forks.set_forkserver_preload(PRELOAD)
        self._starting = asyncio.Lock()  # multiprocessing's bookkeeping is not thread-safe

    def serve_metrics(self) -> None:
        """Every process's metrics, collected from the shared folder, on the metrics port."""
        if self.settings.metrics_port is None:
            return
        registry = CollectorRegistry()
        registry.register(EveryProcess(str(self.metrics_dir)))
        start_http_server(
            self.settings.metrics_port, addr=self.settings.metrics_host, registry=registry
        )

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._keep(child, stop) for child in self.children))

    async def _start(self, child: Child) -> BaseProcess:
        env = child_environment(self.settings, child, self.metrics_dir, os.environ)
        process = self._forks.Process(
            target=child_main,
            args=(self.entry, child.name, child.args, env),
            name=child.name,
            daemon=True,  # should this process exit before stopping it, it is stopped
        )
        async with self._starting:  # the first start launches the fork server
            await asyncio.to_thread(process.start)
        log.info("process started", process=child.name, pid=process.pid, args=list(child.args))
        return process

    async def _keep(self, child: Child, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        backoff = RESTART_FIRST_SECONDS
        while not stop.is_set():
            started = loop.time()
            process = await self._start(child)
            stopping = asyncio.create_task(stop.wait())
            exited = asyncio.create_task(_exited(process))
            await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if stop.is_set():
                await self._stop(child, process)
                exited.cancel()
                break
            multiprocess.mark_process_dead(process.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]
            if loop.time() - started >= STEADY_SECONDS:
                backoff = RESTART_FIRST_SECONDS
            log.error(
                "process exited; restarting",
                process=child.name,
                pid=process.pid,
                code=process.exitcode,
                backoff=backoff,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            backoff = min(backoff * 2, RESTART_MAX_SECONDS)
        log.info("process stopped", process=child.name)

    async def _stop(self, child: Child, process: BaseProcess) -> None:
        """SIGTERM, then SIGKILL if it has not finished within the grace period."""
        if process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(_exited(process), timeout=self.settings.stop_grace_seconds)
            except TimeoutError:
                log.error("process did not stop in time; killing it", process=child.name)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await _exited(process)
        multiprocess.mark_process_dead(process.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]


async def _exited(process: BaseProcess) -> None:
    """Waits for the process to end (its sentinel becomes readable); then its `exitcode` is set."""
    if process.exitcode is None:
        loop = asyncio.get_running_loop()
        ended = loop.create_future()

        def on_end() -> None:
            if not ended.done():
                ended.set_result(None)

        loop.add_reader(process.sentinel, on_end)
        try:
            await ended
        finally:
            loop.remove_reader(process.sentinel)
        process.join()
