"""Database metrics: connections by state, waits for a connection, pool-timeout 503s and
database errors by kind, on SQLite and (TEST_DATABASE_URL) PostgreSQL, from real failures:
a held pool, a lock that outlasts statement_timeout, a database behind a refusing proxy.
The app serves the machinery fixture (tests/machinery/fixture); its articles are the reads and
writes that fail."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.requests import Request

from app.core.db import Database
from app.core.errors import unhandled_error
from app.core.metrics import Metrics, database_error_kind
from app.main import create_app
from tests.conftest import app_client, fixture_metadata, make_settings
from tests.faults import TcpProxy
from tests.machinery.fixture.resources import LINKS, RESOURCES
from tests.metrics.support import ARTICLES, PROBLEM, Scrape, bearer, grown, scrape

READY = "/api/v1/utils/ready"
BY_ID = "/api/v1/articles/{id}"
READ = "articles:read"
WRITE = "articles:write"


@asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A fixture app of its own (fresh metrics) with its lifespan running, and a client."""
    settings = make_settings(LOG_LEVEL="WARNING", **overrides)
    application = create_app(settings, resources=RESOURCES, links=LINKS)
    async with (
        application.router.lifespan_context(application),
        await app_client(application) as client,
    ):
        yield application, client


def fixture_sqlite(path: Path) -> str:
    """A new SQLite file with the fixture's tables: its URL."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    fixture_metadata().create_all(engine)
    engine.dispose()
    return url


def connections(result: Scrape) -> dict[str, float]:
    return {
        state: result.value("app_api_db_connections", state=state)
        for state in ("in_use", "idle", "warm")
    }


async def test_connection_gauges_follow_the_pool(app: FastAPI, client: httpx.AsyncClient) -> None:
    database: Database = app.state.db
    pool: Any = database.engine.sync_engine.pool
    reader = bearer(app.state.settings, READ)
    for _ in range(3):
        assert (await client.get(ARTICLES, headers=reader)).status_code == 200

    idle_state = connections(await scrape(client))
    assert idle_state == {
        "in_use": pool.checkedout() - database.warm,
        "idle": pool.checkedin(),
        "warm": database.warm,
    }
    assert idle_state["in_use"] == 0
    assert idle_state["idle"] + idle_state["warm"] >= 1  # the reads' connection is still open
    if database.precompiled:  # PostgreSQL: reads keep their connection warm
        assert idle_state["warm"] >= 1

    async with database.reserve(), database.engine.connect() as held:
        await held.execute(text("SELECT 1"))
        busy = connections(await scrape(client))
    assert busy["in_use"] == 1
    assert connections(await scrape(client))["in_use"] == 0


async def test_each_admission_to_the_pool_is_a_wait_observation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    reader = bearer(app.state.settings, READ)
    before = await scrape(client)
    for _ in range(5):
        assert (await client.get(f"{ARTICLES}missing", headers=reader)).status_code == 404
    assert (await client.get("/api/v1/utils/health-check")).status_code == 200  # no database
    after = await scrape(client)

    count = "app_api_db_pool_wait_seconds_count"
    assert after.value(count) - before.value(count) == 5
    # Nobody waited: every observation is in the first bucket.
    first = after.value("app_api_db_pool_wait_seconds_bucket", le="0.0001")
    assert first - before.value("app_api_db_pool_wait_seconds_bucket", le="0.0001") == 5


async def test_a_pool_timeout_is_a_counted_503(database_url: str) -> None:
    async with running(DATABASE_URL=database_url, DB_POOL_SIZE=1, DB_POOL_TIMEOUT=0.2) as (
        application,
        client,
    ):
        database: Database = application.state.db
        reader = bearer(application.state.settings, READ)
        assert (await client.get(ARTICLES, headers=reader)).status_code == 200
        async with database.reserve(), database.engine.connect() as held:
            # The one connection is busy (a slow query would hold it the same way).
            await held.execute(text("SELECT 1"))
            started = time.perf_counter()
            response = await client.get(ARTICLES, headers=reader)
            elapsed = time.perf_counter() - started
        result = await scrape(client)

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert 0.2 <= elapsed < 2
    assert result.value("app_api_db_pool_timeouts_total") == 1
    assert result.value("http_requests_total", method="GET", route=ARTICLES, status="503") == 1
    assert result.value("http_requests_total", method="GET", route=ARTICLES, status="200") == 1
    # The timed-out wait was observed: between 0.1 and 0.25 s.
    waited = result.value("app_api_db_pool_wait_seconds_bucket", le="0.25")
    assert waited - result.value("app_api_db_pool_wait_seconds_bucket", le="0.1") == 1
    # Not a database error: the database was fine, the pool was full.
    assert sum(result.series("app_api_db_errors_total").values()) == 0


async def test_a_real_sqlalchemy_pool_timeout_is_counted_as_one(tmp_path: Path) -> None:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'pool.sqlite3'}",
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.05,
    )
    metrics = Metrics()
    try:
        async with engine.connect():
            with pytest.raises(sa_exc.TimeoutError) as caught:
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()
    assert database_error_kind(caught.value) is None
    metrics.database_error(caught.value)
    result = Scrape(metrics.exposition().decode())
    assert result.value("app_api_db_pool_timeouts_total") == 1
    assert sum(result.series("app_api_db_errors_total").values()) == 0


def _proxied(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))


async def test_a_database_outage_gives_counted_503s(postgres_url: str) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(postgres_url).port or 5432)
    await proxy.start()
    try:
        async with running(DATABASE_URL=_proxied(postgres_url, proxy.port)) as (
            application,
            client,
        ):
            settings = application.state.settings
            reader = bearer(settings, READ)
            writer = bearer(settings, READ, WRITE)
            assert (await client.get(ARTICLES, headers=reader)).status_code == 200
            before = await scrape(client)

            await proxy.refuse()  # the database is gone: refused, connections in flight dropped
            calls = [
                ("GET", ARTICLES, {"headers": reader}),
                ("GET", f"{ARTICLES}some-id", {"headers": reader}),
                ("POST", ARTICLES, {"headers": writer, "json": {"title": "during the outage"}}),
                ("GET", READY, {}),
            ]
            for method, url, kwargs in calls:
                async with asyncio.timeout(10):
                    response = await client.request(method, url, **kwargs)
                assert response.status_code == 503, (method, url, response.text)
            during = await scrape(client)

            await proxy.restore()
            for _ in range(100):  # back within 10 s, without a restart
                if (await client.get(ARTICLES, headers=reader)).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            after = await scrape(client)
    finally:
        await proxy.close()

    gained = grown(during.requests(), before.requests())
    gained.pop(("GET", "/metrics", "200"), None)
    assert gained == {
        ("GET", ARTICLES, "503"): 1,
        ("GET", BY_ID, "503"): 1,
        ("POST", ARTICLES, "503"): 1,
        ("GET", READY, "503"): 1,
    }
    errors = "app_api_db_errors_total"
    # The three data requests failed on the database; readiness reports it and is no error.
    assert during.value(errors, kind="unreachable") - before.value(errors, kind="unreachable") == 3
    assert during.value(errors, kind="statement_timeout") == 0
    assert during.value(errors, kind="other") == 0
    assert after.value(errors, kind="unreachable") == during.value(errors, kind="unreachable")
    assert after.value("http_requests_total", method="GET", route=ARTICLES, status="200") >= 2


async def test_a_statement_timeout_is_counted_by_kind(postgres_url: str) -> None:
    async with running(DATABASE_URL=postgres_url, DB_STATEMENT_TIMEOUT_MS=300) as (
        application,
        client,
    ):
        reader = bearer(application.state.settings, READ)
        locker = await asyncpg.connect(postgres_url, timeout=5)
        try:
            transaction = locker.transaction()
            await transaction.start()
            # Reads of articles now wait for the lock until statement_timeout cancels them.
            await locker.execute('LOCK TABLE "mx_article" IN ACCESS EXCLUSIVE MODE')
            async with asyncio.timeout(10):
                response = await client.get(ARTICLES, headers=reader)
            await transaction.rollback()
        finally:
            await locker.close()
        assert (await client.get(ARTICLES, headers=reader)).status_code == 200
        result = await scrape(client)

    assert response.status_code == 503, response.text
    assert result.value("app_api_db_errors_total", kind="statement_timeout") == 1
    assert result.value("app_api_db_errors_total", kind="unreachable") == 0
    assert result.value("http_requests_total", method="GET", route=ARTICLES, status="503") == 1


async def test_other_database_errors_are_counted_as_other(postgres_url: str) -> None:
    async with running(DATABASE_URL=postgres_url) as (application, client):
        engine = application.state.engine
        try:
            async with engine.connect() as connection:
                await connection.execute(text('SELECT * FROM "NoSuchTable"'))
        except sa_exc.ProgrammingError as exc:
            error: Exception = exc
        else:
            pytest.fail("the query should have failed")
        scope = {"type": "http", "app": application, "method": "GET", "path": "/x", "headers": []}
        request = Request({**scope, "query_string": b""})
        response = await unhandled_error(request, error)
        result = await scrape(client)

    assert response.status_code == 500
    assert database_error_kind(error) == "other"
    assert result.value("app_api_db_errors_total", kind="other") == 1


async def test_error_kinds_of_real_postgresql_failures(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url, timeout=5)
    try:
        await connection.execute("SET statement_timeout = 50")
        with pytest.raises(asyncpg.QueryCanceledError) as cancelled:
            await connection.execute("SELECT pg_sleep(2)")
        with pytest.raises(asyncpg.UndefinedTableError) as undefined:
            await connection.execute('SELECT * FROM "NoSuchTable"')
    finally:
        await connection.close()
    port = urlsplit(postgres_url).port or 5432
    closed = TcpProxy("127.0.0.1", port)
    await closed.start()
    await closed.refuse()
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect(_proxied(postgres_url, closed.port), timeout=5)
    await closed.close()

    assert database_error_kind(cancelled.value) == "statement_timeout"
    assert database_error_kind(undefined.value) == "other"
    assert database_error_kind(refused.value) == "unreachable"
    assert database_error_kind(ValueError("not a database error")) is None


@pytest.mark.slow
async def test_a_locked_sqlite_file_is_a_counted_503(tmp_path: Path) -> None:
    """SQLite's outage: another process holds the write lock past busy_timeout (5 s)."""
    path = tmp_path / "locked.sqlite3"
    async with running(DATABASE_URL=fixture_sqlite(path)) as (application, client):
        writer = bearer(application.state.settings, READ, WRITE)
        assert (await client.get(ARTICLES, headers=writer)).status_code == 200
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")
            async with asyncio.timeout(30):
                response = await client.post(ARTICLES, json={"title": "locked out"}, headers=writer)
        finally:
            other.execute("ROLLBACK")
            other.close()
        created = await client.post(ARTICLES, json={"title": "after the lock"}, headers=writer)
        result = await scrape(client)

    assert response.status_code == 503, response.text
    assert created.status_code == 201, created.text
    assert result.value("http_requests_total", method="POST", route=ARTICLES, status="503") == 1
    assert result.value("http_requests_total", method="POST", route=ARTICLES, status="201") == 1
    assert result.value("app_api_db_errors_total", kind="unreachable") == 1
