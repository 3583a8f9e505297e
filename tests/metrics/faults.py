"""Real failures for the metrics tests: a loopback TCP proxy that can stop listening (a database
that is gone) and come back on the same port, and a free port for a server of the test's own.
Everything listens on 127.0.0.1 only, and every wait is bounded."""

from __future__ import annotations

import asyncio
import socket


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """A loopback TCP proxy to `upstream`: it forwards until `refuse()` (connection refused,
    the connections in flight aborted), then again after `restore()`, on the same port."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # pyright: ignore[reportArgumentType]
        self._transports.add(writer.transport)
        upstream: asyncio.StreamWriter | None = None
        try:
            up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
            self._transports.add(upstream.transport)
            await asyncio.gather(_pipe(reader, upstream), _pipe(up_reader, writer))
        except (OSError, TimeoutError):
            pass
        finally:
            for side in (writer, upstream):
                if side is not None:
                    side.transport.abort()
                    self._transports.discard(side.transport)
            self._tasks.discard(task)  # pyright: ignore[reportArgumentType]

    def drop(self) -> None:
        """Abort every connection in flight (both sides)."""
        for transport in list(self._transports):
            transport.abort()  # pyright: ignore[reportAttributeAccessIssue]
        self._transports.clear()

    async def refuse(self) -> None:
        """Stop listening (new connections are refused) and drop the ones in flight."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.drop()
        await asyncio.sleep(0)

    async def restore(self) -> None:
        """Listen and forward again, on the same port."""
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()
