"""The read path keeps its connections warm without ever starving anyone else (PostgreSQL).

See app.core.db.Database: reads keep the connections they used checked out from the pool
(no greenlet switches per read). These tests pin down the rules that make that safe: writes,
the readiness probe and shutdown get their connections back, idle ones are pinged, leases end,
and a database that dropped every connection is met with a retry, not a 5xx.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, LiteralString

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from app.core import db as db_module
from app.core.db import Database
from app.main import create_app
from tests.conftest import app_client, capture_logs, make_settings, running
from tests.machinery.fixture.resources import LINKS, RESOURCES, SCOPES
from tests.support import bearer
from tools.migrate import to_conninfo

APP_NAME = "app-api-warm-test"
ACCOUNTS = "/api/v1/accounts/"  # any resource of the machinery fixture will do
READER = WRITER = bearer(*SCOPES)
RUN = uuid.uuid4().hex[:8]  # the session database is shared: emails unique per run


@pytest.fixture
async def tiny_app(postgres_url: str) -> AsyncIterator[FastAPI]:
    """One connection in all (pool 1, no overflow), a 2 s pool timeout."""
    settings = make_settings(
        DATABASE_URL=f"{postgres_url}?connection_limit=1&application_name={APP_NAME}",
        DB_MAX_OVERFLOW=0,
        DB_POOL_TIMEOUT=2,
    )
    async with running(create_app(settings, resources=RESOURCES, links=LINKS)) as application:
        yield application


@pytest.fixture
async def tiny(tiny_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await app_client(tiny_app) as client:
        yield client


def database(application: FastAPI) -> Database:
    return application.state.db


def _scalar(url: str, query: LiteralString) -> Any:
    with psycopg.connect(to_conninfo(url), autocommit=True) as connection:
        row = connection.execute(query, {"name": APP_NAME}).fetchone()
        assert row is not None
        return row[0]


async def backends(postgres_url: str) -> int:
    """Server connections opened by the app under test (seen from a separate connection)."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %(name)s"
    return int(await asyncio.to_thread(_scalar, postgres_url, query))


async def test_a_read_keeps_its_connection_warm_and_the_next_read_reuses_it(
    tiny_app: FastAPI, tiny: httpx.AsyncClient, postgres_url: str
) -> None:
    for _ in range(5):
        response = await tiny.get(ACCOUNTS, headers=READER)
        assert response.status_code == 200
    assert database(tiny_app).warm == 1
    assert await backends(postgres_url) == 1


async def test_a_write_after_reads_gets_the_only_connection_at_once(
    tiny_app: FastAPI, tiny: httpx.AsyncClient
) -> None:
    assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200
    assert database(tiny_app).warm == 1
    started = asyncio.get_running_loop().time()
    created = await tiny.post(
        ACCOUNTS,
        json={"email": f"after-read-{RUN}@warm.test", "name": "After a read"},
        headers=WRITER,
    )
    elapsed = asyncio.get_running_loop().time() - started
    assert created.status_code == 201, created.text
    assert elapsed < 1.5  # not the 2 s pool timeout
    read = await tiny.get(f"{ACCOUNTS}{created.json()['id']}", headers=READER)
    assert read.json()["name"] == "After a read"


async def test_readiness_after_reads_does_not_wait_for_the_pool(
    tiny_app: FastAPI, tiny: httpx.AsyncClient
) -> None:
    assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200
    assert database(tiny_app).warm == 1
    ready = await tiny.get("/api/v1/utils/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": True, "database": "ok"}


async def test_reads_and_writes_interleaved_under_concurrency_all_succeed(
    tiny: httpx.AsyncClient,
) -> None:
    async def read() -> int:
        return (await tiny.get(ACCOUNTS, headers=READER)).status_code

    async def write(n: int) -> int:
        response = await tiny.post(
            ACCOUNTS, json={"email": f"mixed-{n}-{RUN}@warm.test"}, headers=WRITER
        )
        return response.status_code

    statuses = await asyncio.gather(*(read() if n % 3 else write(n) for n in range(30)))
    assert sorted(set(statuses)) == [200, 201]


async def test_shutdown_gives_warm_connections_back_and_closes_them(postgres_url: str) -> None:
    settings = make_settings(DATABASE_URL=f"{postgres_url}?application_name={APP_NAME}")
    application = create_app(settings, resources=RESOURCES, links=LINKS)
    async with application.router.lifespan_context(application):
        async with await app_client(application) as client:
            await asyncio.gather(*(client.get(ACCOUNTS, headers=READER) for _ in range(8)))
        assert database(application).warm >= 1
    assert database(application).warm == 0
    assert await backends(postgres_url) == 0


async def test_an_idle_warm_connection_is_pinged_and_replaced_when_the_server_dropped_it(
    tiny_app: FastAPI, tiny: httpx.AsyncClient, postgres_url: str, monkeypatch: Any
) -> None:
    assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    await terminate_app_backends(postgres_url)
    with capture_logs() as logs:
        response = await tiny.get(ACCOUNTS, headers=READER)
    assert response.status_code == 200
    assert "broken connection" not in logs.text  # the ping caught it, no failed read
    assert database(tiny_app).warm == 1


async def test_a_warm_connection_killed_mid_lease_is_met_with_a_retry_not_a_5xx(
    tiny_app: FastAPI, tiny: httpx.AsyncClient, postgres_url: str
) -> None:
    assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200
    await terminate_app_backends(postgres_url)
    with capture_logs() as logs:
        response = await tiny.get(ACCOUNTS, headers=READER)
    assert response.status_code == 200
    assert "read failed on a broken connection" in logs.text
    assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200


async def test_leases_end_and_connections_go_back_to_the_pool(
    tiny_app: FastAPI, tiny: httpx.AsyncClient, monkeypatch: Any
) -> None:
    monkeypatch.setattr(db_module, "WARM_LEASE_SECONDS", 0.0)
    pool: Any = tiny_app.state.engine.sync_engine.pool
    for _ in range(3):
        assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200
        assert database(tiny_app).warm == 1
    await asyncio.sleep(0.01)
    await database(tiny_app).make_room()  # a caller outside the read path takes it back
    assert database(tiny_app).warm == 0
    assert pool.checkedout() == 0


async def terminate_app_backends(postgres_url: str) -> None:
    query = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE application_name = %(name)s"
    )
    await asyncio.to_thread(_scalar, postgres_url, query)
    await asyncio.sleep(0.1)


async def test_sqlite_reads_keep_nothing_warm(app: FastAPI, client: httpx.AsyncClient) -> None:
    if app.state.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert (await client.get(ACCOUNTS, headers=READER)).status_code == 200
    assert database(app).warm == 0


async def test_a_read_cancelled_mid_query_closes_its_connection_and_the_next_read_works(
    tiny_app: FastAPI, tiny: httpx.AsyncClient
) -> None:
    from sqlalchemy import func, literal_column, select

    db = database(tiny_app)
    slow = asyncio.create_task(db.fetch(select(func.pg_sleep(literal_column("5"))), {}))
    await asyncio.sleep(0.3)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert db.warm == 0  # its state was unknown: closed, not kept
    pool: Any = tiny_app.state.engine.sync_engine.pool
    assert pool.checkedout() == 0
    assert (await tiny.get(ACCOUNTS, headers=READER)).status_code == 200


async def test_readiness_waits_its_turn_while_every_connection_is_in_a_read(
    tiny_app: FastAPI, tiny: httpx.AsyncClient
) -> None:
    from sqlalchemy import func, literal_column, select

    db = database(tiny_app)
    slow = asyncio.create_task(db.fetch(select(func.pg_sleep(literal_column("0.3"))), {}))
    await asyncio.sleep(0.05)  # the only connection is in that read, then goes warm
    ready = await tiny.get("/api/v1/utils/ready")
    await slow
    assert ready.status_code == 200
