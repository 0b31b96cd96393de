"""Mongo connections, and the embedded wire server used when no MongoDB is configured."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

SERVER_SCRIPT = Path(__file__).with_name("mongo_wire_server.py")


class EmbeddedMongoError(RuntimeError):
    pass


def connect(url: str) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)


class EmbeddedMongo:
    """Starts `mongo_wire_server.py` under the Python 3.13 venv and knows its URL."""

    def __init__(self, python: Path, port: int = 0) -> None:
        self.python = python
        self.port = port
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        if not self.python.exists():
            raise EmbeddedMongoError(
                f"cannot start the embedded Mongo wire server: {self.python} is missing; "
                "run `make .venv-mongo` (needs Python 3.13 from pyenv) or set CLINIC_MONGO_URL"
            )
        self.process = subprocess.Popen(  # noqa: S603 - our own script, our own interpreter
            [str(self.python), "-P", str(SERVER_SCRIPT), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            text=True,
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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
