"""Shared fixtures, on any schema.

Every test that takes `client` (or `app`) runs against an SQLite file and, when
`TEST_DATABASE_URL` names a PostgreSQL server, again against a scratch database built from the
machinery fixture's migrations (tests/machinery/fixture) and dropped at the end of the session:
the app serves the fixture's resources, never the project's. tests/example/conftest.py overrides
these fixtures with the example (app.resources on prisma/migrations).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from loguru import logger
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.config import Settings
from app.core.db import Database
from app.core.logging import flush_logs
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "machinery" / "fixture"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: never read the developer's `.env`."""
    values: dict[str, Any] = {
        "ENVIRONMENT": "local",
        "SECRET_KEY": TEST_SECRET,
        "LOG_JSON": True,
        "LOG_LEVEL": "DEBUG",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # pyright: ignore[reportCallIssue]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A scratch PostgreSQL database migrated from the fixture's migrations (dropped afterwards)."""
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    from tools.migrate import apply_migrations, create_scratch_database, drop_database

    url = create_scratch_database(TEST_DATABASE_URL, "app_api_test")
    try:
        apply_migrations(url, FIXTURE / "migrations")
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    engine = create_engine(url)
    fixture_metadata().create_all(engine)
    engine.dispose()
    return url


def fixture_metadata() -> MetaData:
    """The fixture schema's tables (imported late: collection must not build its models)."""
    from tests.machinery.fixture.models import metadata

    return metadata


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(DATABASE_URL=database_url)


@asynccontextmanager
async def running(application: FastAPI) -> AsyncIterator[FastAPI]:
    """`application` with its lifespan running (connected; closed at the end)."""
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The machinery fixture's resources served by the app (tests/example overrides it)."""
    from tests.machinery.fixture.resources import LINKS, RESOURCES

    async with running(create_app(settings, resources=RESOURCES, links=LINKS)) as application:
        yield application


class _AppEngine:
    """The app's engine for a test's own statements. Like every caller outside the read and
    write paths (Database.reserve), it first makes room in the pool: the warm connections
    those paths keep are checked out."""

    def __init__(self, app: FastAPI) -> None:
        self._engine: AsyncEngine = app.state.engine
        self._db: Database = app.state.db

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        await self._db.make_room()
        async with self._engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        await self._db.make_room()
        async with self._engine.begin() as connection:
            yield connection


@pytest.fixture
def engine(app: FastAPI) -> AsyncEngine:
    return cast("AsyncEngine", _AppEngine(app))


@pytest.fixture
async def clean_db(engine: AsyncEngine) -> None:
    """Empty the fixture's tables before the test."""
    await delete_rows(engine, [table.name for table in reversed(fixture_metadata().sorted_tables)])


async def delete_rows(engine: AsyncEngine, tables: Sequence[str]) -> None:
    """Delete every row of `tables`, in that order (children first)."""
    async with engine.begin() as connection:
        # DELETE, children first: far cheaper than TRUNCATE on tables this small.
        for name in tables:
            await connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
async def client(app: FastAPI, clean_db: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def app_client(application: FastAPI) -> httpx.AsyncClient:
    """A client for an app a test built itself (the caller runs its lifespan)."""
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class LogCapture:
    """JSON log lines written while the fixture is active, parsed."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line]

    @property
    def text(self) -> str:
        # Access lines wait up to 0.1 s to be logged (AccessLog): log them first.
        flush_logs()
        return self.stream.getvalue()


@contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Log lines written inside the block (start it after any lifespan: that resets loguru)."""
    from app.core.logging import json_sink

    flush_logs()  # lines still waiting from earlier requests are not this block's
    capture = LogCapture()
    sink_id = logger.add(json_sink(capture.stream), level="DEBUG", format="{message}")
    try:
        yield capture
    finally:
        logger.remove(sink_id)


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    with capture_logs() as capture:
        yield capture


def http_scope(
    method: str,
    path: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    *,
    root_path: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """An ASGI HTTP scope for a request to `root_path + path` on testserver (`extra` added)."""
    full = root_path + path
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": full,
        "raw_path": full.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        **extra,
    }
