"""AccessLog: the service's access lines reach loguru in batches, on time, in order, all of them."""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from loguru import logger

from app.core.logging import access_log, configure_logging, json_sink
from app.core.middleware import RequestContextMiddleware
from app.main import create_app
from tests.conftest import LogCapture, app_client, http_scope, make_settings

HEALTH = "/api/v1/utils/health-check"


def _access_lines(text: str) -> list[dict[str, Any]]:
    """The access lines in `text` as logged so far (read without flushing anything)."""
    records = [json.loads(line) for line in text.splitlines() if line]
    return [r for r in records if r.get("logger") == "app.core.middleware"]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


async def test_a_line_waits_for_the_timer_and_keeps_the_time_its_response_ended(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    started = time.time()
    response = await client.get(HEALTH)
    ended = time.time()
    assert response.status_code == 200
    assert _access_lines(logs.stream.getvalue()) == []  # not yet: it waits for the batch
    await asyncio.sleep(0.3)  # the batch interval is 0.1 s
    logged = time.time()
    (line,) = _access_lines(logs.stream.getvalue())
    assert line["requestId"] == response.headers["x-request-id"]
    assert line["status"] == 200
    assert logged - ended >= 0.05  # logged by the timer, later…
    # … yet stamped with the end of its response (millisecond precision), not with that moment.
    assert started - 0.001 <= _epoch(line["time"]) <= ended + 0.001


async def test_lines_keep_their_order_and_none_is_lost_at_shutdown() -> None:
    application: FastAPI = create_app(make_settings())
    stream = io.StringIO()
    ids = [f"order-{n}" for n in range(30)]
    async with application.router.lifespan_context(application):
        # Added after the lifespan started (it resets loguru's sinks), kept past its end.
        sink_id = logger.add(json_sink(stream), level="INFO", format="{message}")
        interval, access_log.interval = access_log.interval, 60.0  # no timer fires in this test
        try:
            async with await app_client(application) as http:
                for request_id in ids:
                    await http.get(HEALTH, headers={"X-Request-ID": request_id})
            waiting = _access_lines(stream.getvalue())
        finally:
            access_log.interval = interval
    logger.remove(sink_id)
    # The lifespan has ended (the service stopped): every line was logged, in order.
    assert waiting == []
    assert [r["requestId"] for r in _access_lines(stream.getvalue())] == ids


async def test_without_batched_logs_each_line_is_logged_at_once() -> None:
    stream = io.StringIO()

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Any) -> None:
        return None

    try:
        configure_logging(level="INFO", json=True, stream=stream)  # not batched: local tools
        assert access_log.interval == 0
        middleware = RequestContextMiddleware(ok)
        await middleware(http_scope("GET", "/x", [(b"x-request-id", b"at-once")]), receive, send)
        (line,) = _access_lines(stream.getvalue())
        assert (line["requestId"], line["status"], line["path"]) == ("at-once", 204, "/x")
    finally:
        configure_logging(level="INFO", json=True)


async def test_a_large_batch_is_logged_in_chunks_with_the_loop_running_in_between() -> None:
    stream = io.StringIO()
    ticks = 0
    seen: list[int] = []

    def sink(message: Any) -> None:
        seen.append(ticks)
        stream.write(str(message))

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    try:
        configure_logging(level="INFO", json=True, stream=io.StringIO(), batched=True)
        logger.add(sink, level="INFO", format="{extra[requestId]}\n")
        access_log.interval = 0.05
        for n in range(300):  # as many as 0.1 s of a busy worker's responses
            access_log.add((f"chunk-{n}", "GET", "/x", 200, 0.1, None))
        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.3)
        ticker.cancel()
    finally:
        access_log.flush()
        configure_logging(level="INFO", json=True)
    assert stream.getvalue().split() == [f"chunk-{n}" for n in range(300)]  # all, in order
    # Other tasks ran between the chunks: no single stall for all 300 lines.
    assert len(set(seen)) >= 300 // 64
    assert seen.count(seen[0]) <= 64
