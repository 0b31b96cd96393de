"""A RabbitMQ node of the test's own, under a temporary folder, that it may stop and start: the
broker going away and coming back, which closing connections on a shared node cannot show,
and which must not disturb anyone else's node. As `.ci/run` starts CI's own node."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SBIN = Path("/usr/lib/rabbitmq/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRabbitMQ:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="sonrisa-test-rabbitmq."))
        self.port = _free_port()
        self.node = f"sonrisa-test-{self.home.name.rsplit('.', 1)[-1]}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (self.home / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.home / "enabled_plugins").write_text("[].\n")
        self.env = {
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_DIST_PORT": str(_free_port()),
            "RABBITMQ_PID_FILE": str(self.home / "node.pid"),
        }

    def _run(self, *argv: str, timeout: float = 120) -> None:
        command = [*argv]
        environment = {**os.environ, **self.env}
        if os.getuid() == 0:  # as the rabbitmq user, whose Erlang cookie rabbitmqctl shares
            shutil.chown(self.home, "rabbitmq")
            for path in self.home.rglob("*"):
                shutil.chown(path, "rabbitmq")
            variables = [f"{k}={v}" for k, v in self.env.items()]
            command = ["runuser", "-u", "rabbitmq", "--", "env", "HOME=/var/lib/rabbitmq",
                       *variables, *argv]  # fmt: skip
        subprocess.run(
            command, cwd=self.home, env=environment, check=True, capture_output=True,
            timeout=timeout,
        )  # fmt: skip

    def start(self) -> None:
        """Boot the node and wait until it takes connections."""
        self._run(str(SBIN / "rabbitmq-server"), "-detached")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                break
            time.sleep(0.2)
        self._run(str(SBIN / "rabbitmqctl"), "-q", "-n", self.node, "await_startup")

    def stop(self) -> None:
        """Stop the whole node (the Erlang VM too): its port closes, its connections drop."""
        pid = self.home / "node.pid"
        self._run(
            str(SBIN / "rabbitmqctl"), "-q", "-n", self.node, "stop",
            *([str(pid)] if pid.exists() else []),
        )  # fmt: skip

    def remove(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
