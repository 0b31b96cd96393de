"""A MongoDB wire-protocol server (mongoeco), for one machine and for tests.

Runs under its own Python 3.13 venv (`.venv-mongo`), so it imports nothing from
Sonrisa. With `--data FILE` it keeps its documents in that SQLite file, so a restart
resumes where it stopped; without, it keeps them in memory. Prints `listening <port>`
once it accepts connections.
"""

import argparse
import asyncio
import fcntl
import os
import signal
from pathlib import Path

from mongoeco.engines.memory import MemoryEngine
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer


async def orphaned(parent: int) -> None:
    """Returns once the process that started us is gone (it was killed, say): a server
    nobody supervises must not hold the port and the data file."""
    while os.getppid() == parent:  # noqa: ASYNC110 - no event tells us; we look now and then
        await asyncio.sleep(0.5)


async def own(data: Path, within: float = 30.0) -> int:
    """An exclusive lock on the data file's lock file, waiting for a server that is on its
    way out (an orphan notices its parent is gone within half a second): two servers must
    never write one SQLite file."""
    data.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(f"{data}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if loop.time() > deadline:
                raise SystemExit(f"another server keeps {data}; not starting") from None
            await asyncio.sleep(0.1)
        else:
            return handle


async def serve(host: str, port: int, data: Path | None) -> None:
    if data is not None:
        await own(data)
    engine = SQLiteEngine(str(data)) if data is not None else MemoryEngine()
    server = AsyncMongoEcoProxyServer(engine=engine, host=host, port=port)
    address = await server.start()
    print(f"listening {address.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watch = asyncio.ensure_future(orphaned(os.getppid()))
    watch.add_done_callback(lambda _: stop.set())
    await stop.wait()
    watch.cancel()
    await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="SQLite file; memory if unset")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.data))
