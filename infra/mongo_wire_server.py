"""A MongoDB wire-protocol server in memory (mongoeco), for one machine and for tests.

Runs under its own Python 3.13 venv (`.venv-mongo`), so it imports nothing from
Sonrisa. Prints `listening <port>` once it accepts connections.
"""

import argparse
import asyncio
import signal

from mongoeco.engines.memory import MemoryEngine
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer


async def serve(host: str, port: int) -> None:
    server = AsyncMongoEcoProxyServer(engine=MemoryEngine(), host=host, port=port)
    address = await server.start()
    print(f"listening {address.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))
