"""Regressions from review: the raw read path recovers, honours ?schema= behind PgBouncer,
busy/timeout conditions are 503, and auth is checked before a connection is taken."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import parse_database_url
from app.main import create_app
from tests.conftest import TEST_DATABASE_URL, app_client, make_settings
from tests.example.api.pages_support import READER, WRITER
from tests.example.conftest import MIGRATIONS

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")


@pytest.fixture
def scratch_url() -> Iterator[str]:
    from tools.migrate import apply_migrations, create_scratch_database, drop_database

    assert TEST_DATABASE_URL
    url = create_scratch_database(TEST_DATABASE_URL, "app_api_resil")
    try:
        apply_migrations(url, MIGRATIONS)
        yield url
    finally:
        drop_database(url)


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(parse_database_url(url, make_settings()).url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def test_reads_recover_at_once_after_backends_are_terminated(scratch_url: str) -> None:
    app = create_app(make_settings(DATABASE_URL=scratch_url))
    async with app.router.lifespan_context(app), await app_client(app) as client:
        created = await client.post("/api/v1/pages/", json={"title": "survivor"}, headers=WRITER)
        url = f"/api/v1/pages/{created.json()['id']}"
        # Warm several pooled connections, then kill every backend of the service.
        await asyncio.gather(*(client.get(url, headers=READER) for _ in range(8)))
        await _admin(
            scratch_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            # This test's database only: an app-api running beside the tests keeps its own.
            "WHERE application_name = 'app-api' AND datname = current_database() "
            "AND pid <> pg_backend_pid()",
        )
        statuses = [(await client.get(url, headers=READER)).status_code for _ in range(12)]
    # At most the requests that met a dead connection fail (503); then reads work again,
    # without waiting for the idle ping.
    assert set(statuses) <= {200, 503}
    assert statuses[-10:] == [200] * 10, statuses


async def test_pgbouncer_mode_reads_the_schema_named_in_the_url(tmp_path: Path) -> None:
    from tools.migrate import apply_migrations, create_scratch_database, drop_database

    assert TEST_DATABASE_URL
    base = create_scratch_database(TEST_DATABASE_URL, "app_api_tenant")
    try:
        tenant = f"{base}?schema=tenant"
        apply_migrations(tenant, MIGRATIONS)
        app = create_app(make_settings(DATABASE_URL=f"{tenant}&pgbouncer=true"))
        async with app.router.lifespan_context(app), await app_client(app) as client:
            created = await client.post("/api/v1/pages/", json={"title": "t"}, headers=WRITER)
            assert created.status_code == 201, created.text
            one = await client.get(f"/api/v1/pages/{created.json()['id']}", headers=READER)
            listed = await client.get("/api/v1/pages/?count=true", headers=READER)
        assert one.status_code == 200, one.text
        assert listed.status_code == 200, listed.text
        assert listed.json()["count"] == 1
        assert [page["id"] for page in listed.json()["data"]] == [created.json()["id"]]
    finally:
        drop_database(base)


async def test_statement_timeout_is_503_not_500(scratch_url: str) -> None:
    app = create_app(make_settings(DATABASE_URL=scratch_url, DB_STATEMENT_TIMEOUT_MS=300))
    blocker = create_async_engine(parse_database_url(scratch_url, make_settings()).url)
    try:
        async with app.router.lifespan_context(app), await app_client(app) as client:
            created = await client.post("/api/v1/pages/", json={"title": "x"}, headers=WRITER)
            page_url = f"/api/v1/pages/{created.json()['id']}"
            async with blocker.connect() as connection:
                transaction = await connection.begin()
                await connection.execute(text('LOCK TABLE "Page" IN ACCESS EXCLUSIVE MODE'))
                read = await client.get(page_url, headers=READER)
                write = await client.patch(page_url, json={"views": 1}, headers=WRITER)
                await transaction.rollback()
            after = await client.get(page_url, headers=READER)
    finally:
        await blocker.dispose()
    for response in (read, write):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert response.headers["content-type"] == "application/problem+json"
    assert after.status_code == 200
    assert after.json()["views"] == 0


async def test_anonymous_requests_get_401_even_when_the_database_is_down() -> None:
    app = create_app(make_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere"))
    async with app.router.lifespan_context(app), await app_client(app) as client:
        listed = await client.get("/api/v1/pages/")
        created = await client.post("/api/v1/pages/", json={"title": "x"})
    assert listed.status_code == 401
    assert created.status_code == 401
