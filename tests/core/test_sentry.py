"""Sentry for real: a local DSN pointing at a tiny HTTP server that receives the envelope."""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import sentry_sdk

from app.core.security import create_token
from app.main import create_app, init_sentry
from tests.conftest import TEST_SECRET, app_client, make_settings


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # pyright: ignore[reportMissingImports]

            body = brotli.decompress(body)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        _Collector.received.append(body)  # pyright: ignore[reportUnknownArgumentType]
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[str]:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{server.server_port}/42"
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)  # inactive for the rest of the session
        server.shutdown()


async def test_unhandled_error_reaches_sentry(sentry_server: str, tmp_path: object) -> None:
    settings = make_settings(SENTRY_DSN=sentry_server, SQLITE_PATH=f"{tmp_path}/s.sqlite3")
    app = create_app(settings)

    @app.get("/test/explode")
    async def explode() -> None:  # pyright: ignore[reportUnusedFunction]
        raise ZeroDivisionError("kaboom-for-sentry")

    async with app.router.lifespan_context(app), await app_client(app) as client:
        token = create_token(settings, subject="someone", scopes=["pages:read"])
        response = await client.get(
            "/test/explode",
            headers={"X-Request-ID": "sentry-req-1", "Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 500
        # flush() returns once the transport has delivered the queued envelopes.
        await asyncio.to_thread(sentry_sdk.flush, 5)
    envelopes = b"\n".join(_Collector.received).decode("utf-8", "replace")
    assert "kaboom-for-sentry" in envelopes
    assert "ZeroDivisionError" in envelopes
    assert '"environment":"local"' in envelopes.replace(" ", "")
    assert "app-api@" in envelopes
    assert "sentry-req-1" in envelopes
    assert TEST_SECRET not in envelopes
    assert token not in envelopes


def test_sentry_is_off_without_a_dsn() -> None:
    assert init_sentry(make_settings()) is False
    assert sentry_sdk.get_client().dsn is None
