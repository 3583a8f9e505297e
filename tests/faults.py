"""A loopback TCP proxy whose faults a test switches on and off (reliability and metrics
suites), and a free port. Everything here talks to 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Literal


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ProxyMode = Literal["pass", "reset", "silent"]


class TcpProxy:
    """A loopback TCP proxy whose faults a test switches on and off.

    `pass` forwards; `reset` accepts and aborts at once (a dropped connection); `silent` accepts
    and never answers (a black hole); `refuse()` stops listening (connection refused);
    `drop()` aborts every connection in flight; `stall()` stops forwarding on the connections
    already open (a network partition) until `restore()`.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode: ProxyMode = "pass"
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # pyright: ignore[reportArgumentType]
        self._transports.add(writer.transport)
        upstream: asyncio.StreamWriter | None = None
        try:
            if self.mode == "reset":
                writer.transport.abort()
                return
            if self.mode == "silent":
                # Read and drop until the client gives up (bounded: 60 s at most).
                with contextlib.suppress(OSError, TimeoutError):
                    async with asyncio.timeout(60):
                        while await reader.read(65536):
                            pass
                return
            up_reader, upstream = await asyncio.wait_for(asyncio.open_connection(*self.upstream), 5)
            self._transports.add(upstream.transport)
            await asyncio.gather(
                _pipe(reader, upstream, self._flowing), _pipe(up_reader, writer, self._flowing)
            )
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

    def stall(self) -> None:
        """Keep every connection open but forward nothing (until `restore()`)."""
        self._flowing.clear()

    async def refuse(self) -> None:
        """Stop listening (new connections are refused) and drop the ones in flight."""
        if self._server is not None:
            self._server.close()
            self._server = None
        self.drop()
        await asyncio.sleep(0)

    async def restore(self) -> None:
        """Forward again, on the same port."""
        self.mode = "pass"
        self._flowing.set()
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        self._flowing.set()
        await self.refuse()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
) -> None:
    try:
        while data := await reader.read(65536):
            await flowing.wait()
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.transport.abort()
