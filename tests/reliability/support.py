"""Helpers of the reliability suite: its own secret, tokens, a leak watch, a TCP fault proxy.

The app under test serves the machinery fixture (tests/machinery/fixture): articles stand in for
any resource with hooks, enums, lists and Json; accounts carry hidden fields. Everything here
talks to 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import asyncpg
import httpx
from fastapi import FastAPI
from loguru import logger
from sqlalchemy import insert, text
from starlette.types import Message

from app.core.config import Settings
from app.core.logging import flush_logs
from app.core.security import create_token
from app.main import create_app
from app.prisma_defaults import cuid, utcnow
from tests.conftest import make_settings, running
from tests.machinery.fixture.models import metadata
from tests.machinery.fixture.resources import LINKS, RESOURCES, SCOPES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MIGRATIONS = ROOT / "tests" / "machinery" / "fixture" / "migrations"
ARTICLES = "/api/v1/articles/"
ACCOUNTS = "/api/v1/accounts/"
READY = "/api/v1/utils/ready"
PROBLEM = "application/problem+json"
READ_SCOPE = "articles:read"
WRITE_SCOPE = "articles:write"
assert {READ_SCOPE, WRITE_SCOPE} <= set(SCOPES)
# The fixture's tables, children first (TRUNCATE … CASCADE takes them in one statement).
TABLES = tuple(table.name for table in reversed(metadata.sorted_tables))

# A secret of this session only (never the shared test secret): if it shows up in a log line or a
# response, the suite's leak watch will say so.
REL_SECRET = "rel-secret-" + secrets.token_hex(24)
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


# ------------------------------------------------------------------------------ leak watch


class SecretWatch:
    """Every secret the suite uses, and every log line and response body it saw."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.captured: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._sink_ids: list[int] = []

    def secret(self, label: str, value: str) -> str:
        if len(value) >= 8:
            with self._lock:
                self.secrets.setdefault(value, label)
        return value

    def record(self, source: str, text: str) -> None:
        with self._lock:
            self.captured.append((source, text))

    def record_response(self, response: httpx.Response) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        request = response.request
        self.record(
            f"response {request.method} {request.url.path} {response.status_code}",
            f"{headers}\n\n{response.text}",
        )

    # Loguru: a sink per rendering the service could write. `configure_logging` removes every
    # sink when an app starts, so the suite re-attaches after it (see conftest.py).
    def attach(self) -> None:
        def sink(message: Any) -> None:
            self.record("log", str(message))

        self._sink_ids = [
            logger.add(
                sink,
                level="TRACE",
                # The pretty format, plus `extra` (the JSON format writes its keys): a secret in a
                # message, a bound value or an exception's text would show here.
                format="{level} {name} {extra} {message}",
                backtrace=False,
                diagnose=False,
                catch=True,
            )
        ]

    def detach(self) -> None:
        for sink_id in self._sink_ids:
            with contextlib.suppress(ValueError):
                logger.remove(sink_id)
        self._sink_ids = []

    def leaks(self) -> list[str]:
        flush_logs()  # access lines still waiting to be logged (AccessLog)
        with self._lock:
            captured = list(self.captured)
            known = dict(self.secrets)
        found: list[str] = []
        for source, captured_text in captured:
            for value, label in known.items():
                if value in captured_text:
                    at = captured_text.index(value)
                    excerpt = captured_text[max(0, at - 80) : at].replace("\n", " ")
                    found.append(f"{label} in {source}: …{excerpt}<SECRET>")
        return found


WATCH = SecretWatch()
WATCH.secret("SECRET_KEY", REL_SECRET)


# ---------------------------------------------------------------------------- settings, apps


def rel_settings(**overrides: Any) -> Settings:
    """Test settings with the suite's own secret."""
    values: dict[str, Any] = {"SECRET_KEY": REL_SECRET, "LOG_LEVEL": "DEBUG"}
    values.update(overrides)
    return make_settings(**values)


def token(*scopes: str, subject: str = "rel-user", **options: Any) -> str:
    """A valid token (recorded as a secret)."""
    minted = create_token(rel_settings(), subject=subject, scopes=list(scopes), **options)
    return WATCH.secret(f"token {' '.join(scopes) or '(no scope)'}", minted)


def auth(raw_token: str) -> dict[str, str]:
    WATCH.secret("token", raw_token)
    return {"Authorization": f"Bearer {raw_token}"}


WRITER = auth(token(*SCOPES, subject="rel-writer"))  # every resource, read and write
READER = auth(token(READ_SCOPE, subject="rel-reader"))


def fixture_app(settings: Settings) -> FastAPI:
    """The fixture app for these settings (on SQLite it builds the fixture's tables)."""
    return create_app(settings, resources=RESOURCES, links=LINKS)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The fixture app with its lifespan running (engine created, disposed at the end)."""
    async with running(fixture_app(settings)) as application:
        yield application


async def hidden_account(application: FastAPI, email: str) -> dict[str, str]:
    """An account whose hidden fields (`password`, `twoFactorSecret`) hold values the leak watch
    looks for: the API never serves them, so they are written with SQL. Answers the row."""
    row = {
        "id": cuid(),
        "email": email,
        "name": "Hidden Fields",
        "password": WATCH.secret("hidden password", "pw-hash-" + secrets.token_hex(16)),
        "twoFactorSecret": WATCH.secret("hidden twoFactorSecret", "2fa-" + secrets.token_hex(16)),
        "updatedAt": utcnow(),
    }
    # Through reserve(), as the app's own callers outside the read and write paths.
    async with application.state.db.reserve(), application.state.engine.begin() as connection:
        await connection.execute(insert(metadata.tables["mx_account"]).values(**row))
    return row


async def count_rows(application: FastAPI, table: str) -> int:
    """Rows of a fixture table, read through the app's own engine."""
    async with application.state.db.reserve(), application.state.engine.connect() as connection:
        return (await connection.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one()


def client_for(application: FastAPI, *, timeout: float = 30.0) -> httpx.AsyncClient:
    """An in-process client whose every response body goes to the leak watch."""

    async def record(response: httpx.Response) -> None:
        await response.aread()
        WATCH.record_response(response)

    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        timeout=timeout,
        event_hooks={"response": [record]},
    )


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A problem+json answer with one of these statuses (any 4xx by default), no traceback."""
    expected = " or ".join(map(str, statuses)) if statuses else "a 4xx"
    ok = response.status_code in statuses if statuses else 400 <= response.status_code < 500
    assert ok, (
        f"{response.request.method} {response.request.url.path[:120]} → "
        f"{response.status_code}, expected {expected}: {response.text[:500]}"
    )
    assert response.headers.get("content-type", "").startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    assert {"type", "title", "detail", "code"} <= body.keys()
    for marker in ("Traceback", 'File "', "sqlalchemy", "asyncpg", "RecursionError"):
        assert marker not in response.text, response.text[:500]
    return body


async def asgi_request(
    application: FastAPI,
    method: str,
    raw_path: bytes,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> httpx.Response:
    """One request straight through the ASGI interface, for what httpx refuses to send
    (a 100 KB URL, a Content-Length that lies). Answers an httpx.Response."""
    path, _, query = raw_path.partition(b"?")
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    async with asyncio.timeout(30):
        await application(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response = httpx.Response(
        start["status"],
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]],
        content=content,
        request=httpx.Request(method, "http://testserver" + path.decode("latin-1")[:200]),
    )
    WATCH.record_response(response)
    return response


async def wait_for_port(port: int, *, seconds: float) -> None:
    """Return once something accepts connections on 127.0.0.1:port; TimeoutError after `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return


# --------------------------------------------------------------------------- PostgreSQL side


@dataclass(frozen=True)
class PgDatabase:
    """A scratch database migrated from the fixture's migrations, and a password role for the
    app."""

    name: str
    admin_url: str  # superuser (trust), for set-up, counting and killing backends
    host: str
    port: int
    role: str
    password: str = field(repr=False)

    def app_url(self, *, port: int | None = None, query: str = "") -> str:
        """The Prisma-style URL the app uses: the password role, over TCP to 127.0.0.1."""
        url = (
            f"postgresql://{self.role}:{self.password}@{self.host}:{port or self.port}/{self.name}"
        )
        return f"{url}?{query}" if query else url

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.admin_url,
            timeout=5,
            server_settings={"application_name": "app-api-reliability-admin"},
        )

    async def fetchval(self, query: str, *args: Any) -> Any:
        connection = await self.connect()
        try:
            return await connection.fetchval(query, *args, timeout=10)
        finally:
            await connection.close()

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await self.connect()
        try:
            return await connection.fetch(query, *args, timeout=10)
        finally:
            await connection.close()

    async def count_articles(self) -> int:
        return await self.fetchval('SELECT count(*) FROM "mx_article"')

    async def truncate(self) -> None:
        """Empty every fixture table."""
        connection = await self.connect()
        try:
            tables = ", ".join(f'"{name}"' for name in TABLES)
            await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE", timeout=10)
        finally:
            await connection.close()

    async def app_backends(self, *, state: str | None = None) -> list[asyncpg.Record]:
        """The app's connections to this database (application_name 'app-api')."""
        query = (
            "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
            "WHERE datname = $1 AND application_name = 'app-api'"
        )
        if state is None:
            return await self.fetch(query, self.name)
        return await self.fetch(query + " AND state = $2", self.name, state)


@dataclass(frozen=True)
class PgRole:
    name: str
    password: str = field(repr=False)


@contextmanager
def scratch_database(role: PgRole, prefix: str) -> Iterator[PgDatabase]:
    """A scratch database migrated from the fixture's migrations, usable by `role`; dropped
    after."""
    assert TEST_DATABASE_URL
    import psycopg
    from psycopg import sql

    from tools.migrate import (
        apply_migrations,
        create_scratch_database,
        database_name,
        drop_database,
        to_conninfo,
    )

    admin_url = create_scratch_database(TEST_DATABASE_URL, prefix)
    name = database_name(admin_url)
    try:
        apply_migrations(admin_url, MIGRATIONS)
        with psycopg.connect(to_conninfo(admin_url), autocommit=True) as conn:
            for statement in (
                "GRANT CONNECT ON DATABASE {db} TO {role}",
                "GRANT USAGE ON SCHEMA public TO {role}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
                "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
            ):
                conn.execute(
                    sql.SQL(statement).format(
                        db=sql.Identifier(name), role=sql.Identifier(role.name)
                    )
                )
        yield PgDatabase(
            name=name,
            admin_url=admin_url,
            host="127.0.0.1",
            port=urlsplit(TEST_DATABASE_URL).port or 5432,
            role=role.name,
            password=role.password,
        )
    finally:
        drop_database(admin_url)


def percentile(values: Iterable[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
