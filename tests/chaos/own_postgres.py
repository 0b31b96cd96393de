"""A PostgreSQL cluster of the test's own, under a temporary folder, that it may stop and
start: a real outage of the server (its port closed, every connection gone), which
terminating connections on a shared server cannot show."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parent)
    assert found, "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
    return found[-1].parent


class OwnPostgres:
    def __init__(self) -> None:
        # Straight under /tmp: pytest's own folders are closed to the postgres user.
        self.home = Path(tempfile.mkdtemp(prefix="sonrisa-test-pg."))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"
        self._bin = _bin()

    def _run(self, *command: str) -> None:
        argv = [str(self._bin / command[0]), *command[1:]]
        if os.getuid() == 0:  # the server refuses to run as root
            shutil.chown(self.home, "postgres")
            for path in self.home.rglob("*"):
                shutil.chown(path, "postgres")
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, cwd=self.home, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server, making its cluster the first time."""
        if not (self.home / "data").exists():
            self._run("initdb", "-D", str(self.home / "data"), "-A", "trust", "-U", "postgres")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.home}"
            " -c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.home / "data"), "-l", str(self.home / "log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server as an operator would (`-m fast`): sessions are ended, the port
        closes, and nothing answers until `start`."""
        self._run("pg_ctl", "-D", str(self.home / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
