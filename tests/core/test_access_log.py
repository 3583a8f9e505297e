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

from app.core.logging import access_log, configure_logging, flush_logs, json_sink
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
    calls: list[tuple[int, int]] = []  # (loop ticks so far, lines) per record a sink received
    write = json_sink(stream)

    def sink(message: Any) -> None:
        before = stream.tell()
        write(message)
        calls.append((ticks, stream.getvalue()[before:].count("\n")))

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    try:
        configure_logging(level="INFO", json=True, stream=io.StringIO(), batched=True)
        logger.add(sink, level="INFO", format="{message}")
        access_log.interval = 0.05
        for n in range(300):  # as many as 0.1 s of a busy worker's responses
            access_log.add((f"chunk-{n}", "GET", "/x", 200, 0.1, None))
        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.3)
        ticker.cancel()
    finally:
        access_log.flush()
        configure_logging(level="INFO", json=True)
    lines = _access_lines(stream.getvalue())
    assert [line["requestId"] for line in lines] == [f"chunk-{n}" for n in range(300)]
    # 64 lines per record, and other tasks ran between the records: no stall for all 300.
    assert [count for _, count in calls] == [64, 64, 64, 64, 44]
    assert len({tick for tick, _ in calls}) == 5


async def test_a_batched_line_is_the_line_logged_on_its_own() -> None:
    """The batch records' JSON lines are those of one record per line: same keys, same order,
    same values (the message redacted the same way), only the time differs."""
    entry = ("same-1", "GET", "/api/v1/pages/x?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", 404, 0.37, "svc@web")  # fmt: skip
    texts: list[str] = []
    try:
        for batched in (False, True):
            stream = io.StringIO()
            configure_logging(level="INFO", json=True, stream=stream, batched=batched)
            access_log.add(entry)
            flush_logs()  # the access line, then the batched sink's pending lines
            texts.append(stream.getvalue())
    finally:
        configure_logging(level="INFO", json=True)
    alone, batched_line = (json.loads(text) for text in texts)  # exactly one line each
    assert texts[1].count("\n") == 1
    assert list(alone) == list(batched_line) == [
        "time", "level", "message", "logger", "requestId", "method", "path", "status", "durationMs", "actor",
    ]  # fmt: skip
    assert {**alone, "time": None} == {**batched_line, "time": None}
    assert alone["message"] == "GET /api/v1/pages/x?token=[REDACTED] 404 0.37ms"
    assert abs(_epoch(alone["time"]) - _epoch(batched_line["time"])) < 5


async def test_below_the_configured_level_no_access_line_is_written() -> None:
    stream = io.StringIO()
    try:
        configure_logging(level="WARNING", json=True, stream=stream, batched=True)
        access_log.add(("quiet", "GET", "/x", 200, 0.1, None))
        access_log.flush()
    finally:
        configure_logging(level="INFO", json=True)
    assert stream.getvalue() == ""
