"""A TCP proxy in front of RabbitMQ that can freeze like a broker that has stopped answering,
and that counts the connections its clients hold open.

Frozen, it still accepts and holds TCP connections, and it still notices when a client closes
one, but it forwards no byte either way; what arrives meanwhile is held and delivered, in
order, when it thaws. The counts are taken as connections open and close, not sampled, so
they do not depend on the machine's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit


class FrozenBroker:
    def __init__(self, broker_url: str) -> None:
        self.upstream = urlsplit(broker_url)
        self.open = 0  # client connections open now
        self.most = 0  # the most ever open at once
        self.accepted = 0  # client connections ever accepted
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on a free port; the broker URL to give the clients instead of the broker's."""
        self._server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        credentials = self.upstream.netloc.rpartition("@")[0]
        return urlunsplit(self.upstream._replace(netloc=f"{credentials}@127.0.0.1:{port}"))

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _link(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self.most = max(self.most, self.open)
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        broker_w: asyncio.StreamWriter | None = None
        try:
            broker_r, broker_w = await asyncio.open_connection(
                self.upstream.hostname, self.upstream.port or 5672
            )
            # Either side's end of stream ends the link: the other side is closed too.
            pumps = [
                asyncio.ensure_future(self._pump(client_r, broker_w)),
                asyncio.ensure_future(self._pump(broker_r, client_w)),
            ]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except OSError:
            pass
        finally:
            self.open -= 1
            self._links.discard(task)
            for writer in (client_w, broker_w):
                if writer is not None:
                    writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy bytes one way; frozen, hold them, but go on reading so that an end of stream
        is seen at once."""
        held: asyncio.Queue[bytes] = asyncio.Queue()

        async def forward() -> None:
            while True:
                chunk = await held.get()
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()

        forwarding = asyncio.ensure_future(forward())
        try:
            while chunk := await reader.read(65536):
                held.put_nowait(chunk)
                if forwarding.done():
                    return
        except OSError:
            return
        finally:
            forwarding.cancel()
            with contextlib.suppress(BaseException):
                await forwarding
