"""Logs: JSON lines with request id, stdlib loggers intercepted, secrets masked."""

from __future__ import annotations

import io
import json
import logging

import httpx
from loguru import logger

from app.core.logging import configure_logging, redact
from app.core.security import create_token
from tests.conftest import LogCapture, make_settings


def _access(logs: LogCapture, path: str) -> dict[str, object]:
    lines = [r for r in logs.records if r.get("path") == path and "status" in r]
    assert len(lines) == 1, logs.text
    return lines[0]


async def test_one_json_access_line_per_request(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    response = await client.get("/api/v1/utils/health-check")
    line = _access(logs, "/api/v1/utils/health-check")
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert isinstance(line["durationMs"], float | int)
    assert line["requestId"] == response.headers["x-request-id"]
    assert line["level"] == "INFO"
    assert line["time"]


async def test_well_formed_request_id_is_kept_and_echoed(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    response = await client.get(
        "/api/v1/utils/health-check", headers={"X-Request-ID": "web-1234.abc:7"}
    )
    assert response.headers["x-request-id"] == "web-1234.abc:7"
    assert _access(logs, "/api/v1/utils/health-check")["requestId"] == "web-1234.abc:7"


async def test_malformed_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/utils/health-check", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200}
    )
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    assert generated.isalnum()


async def test_request_id_joins_every_line_logged_during_the_request(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    response = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 404
    assert all(r.get("requestId") == "trace-me" for r in logs.records if r.get("path"))


async def test_access_line_names_the_actor_and_never_the_token(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    token = create_token(make_settings(), subject="user_42", scopes=["accounts:read"])
    await client.get("/api/v1/accounts/", headers={"Authorization": f"Bearer {token}"})
    assert _access(logs, "/api/v1/accounts/")["actor"] == "user_42"
    assert token not in logs.text
    assert token.split(".")[2] not in logs.text


def test_stdlib_loggers_are_routed_into_loguru() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    try:
        logging.getLogger("uvicorn.error").warning("from uvicorn %s", "here")
        logging.getLogger("sqlalchemy.engine").warning("from sqlalchemy")
        logging.getLogger("asyncpg").error("from asyncpg")
        records = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        configure_logging(level="INFO", json=True)
    by_logger = {r["logger"]: r for r in records}
    assert by_logger["uvicorn.error"]["message"] == "from uvicorn here"
    assert by_logger["uvicorn.error"]["level"] == "WARNING"
    assert by_logger["sqlalchemy.engine"]["message"] == "from sqlalchemy"
    assert by_logger["asyncpg"]["level"] == "ERROR"


def test_uvicorns_own_access_line_is_neither_written_nor_built() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    try:
        access = logging.getLogger("uvicorn.access")
        # uvicorn formats its access line only when this logger reaches a handler.
        assert not access.hasHandlers()
        access.warning('127.0.0.1:5000 - "GET / HTTP/1.1" 200')
        assert logging.getLogger("uvicorn.error").hasHandlers()
    finally:
        configure_logging(level="INFO", json=True)
    assert "GET / HTTP/1.1" not in stream.getvalue()


def test_pretty_format_in_local() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=False, stream=stream)
    try:
        logger.info("hello {}", "there")
    finally:
        configure_logging(level="INFO", json=True)
    text = stream.getvalue()
    assert "hello there" in text
    assert not text.startswith("{")


def test_level_filters_lines() -> None:
    stream = io.StringIO()
    configure_logging(level="WARNING", json=True, stream=stream)
    try:
        logger.info("quiet")
        logger.warning("loud")
    finally:
        configure_logging(level="INFO", json=True)
    assert "quiet" not in stream.getvalue()
    assert "loud" in stream.getvalue()


def test_secrets_are_masked_in_messages() -> None:
    token = create_token(make_settings(), subject="s", scopes=[])
    stream = io.StringIO()
    configure_logging(level="INFO", json=True, stream=stream)
    try:
        logger.info("Authorization: Bearer {}", token)
        logger.info("connecting to postgresql://app:hunter2@db:5432/app")
    finally:
        configure_logging(level="INFO", json=True)
    text = stream.getvalue()
    assert token not in text
    assert "hunter2" not in text
    assert "postgresql://app:[REDACTED]@db:5432/app" in text
    assert redact("bearer abc.def") == "bearer [REDACTED]"
