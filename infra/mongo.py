"""Mongo connections, and the embedded wire server used when no MongoDB is configured."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from infra.logs import get_logger

SERVER_SCRIPT = Path(__file__).with_name("mongo_wire_server.py")
log = get_logger("infra.mongo")


class EmbeddedMongoError(RuntimeError):
    pass


def connect(url: str) -> AsyncMongoClient[dict[str, Any]]:
    # A short server selection: a read whose store is down answers 503 soon, not in 30 s.
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=2000)


class EmbeddedMongo:
    """Starts `mongo_wire_server.py` under the Python 3.13 venv and knows its URL; `run`
    keeps it running under the supervisor, on the same port, restarted when it dies."""

    def __init__(self, python: Path, port: int = 0, data: Path | None = None) -> None:
        self.python = python
        self.port = port
        self.data = data
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        if not self.python.exists():
            raise EmbeddedMongoError(
                f"cannot start the embedded Mongo wire server: {self.python} is missing; "
                "run `make .venv-mongo` (needs Python 3.13 from pyenv) or set CLINIC_MONGO_URL"
            )
        command = [str(self.python), "-P", str(SERVER_SCRIPT), "--port", str(self.port)]
        if self.data is not None:
            command += ["--data", str(self.data)]
        self.process = subprocess.Popen(  # noqa: S603 - our own script, our own interpreter
            command, stdout=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("listening "):
                self.port = int(line.split()[1])
                self.url = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
                return self.url
            if not line and self.process.poll() is not None:
                break
        self.stop()
        raise EmbeddedMongoError("the embedded Mongo wire server did not start; see its output")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def run(self, stop: asyncio.Event) -> None:
        """A supervised part: start the server if it is not running, watch it, and raise when
        it dies so the supervisor restarts it (with backoff) on the same port and data."""
        if not self.running:
            await asyncio.to_thread(self.start)
            log.info("embedded Mongo wire server started", port=self.port)
        try:
            while not stop.is_set():
                if not self.running:
                    code = self.process.returncode if self.process else None
                    self.process = None
                    raise EmbeddedMongoError(f"the embedded Mongo wire server exited ({code})")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
        finally:
            if stop.is_set():
                await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
