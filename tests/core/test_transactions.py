"""The request transaction: committed before the response, rolled back on any error (on the
machinery fixture's tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import DbDep
from app.core.db import prepare_embedded_database
from app.main import create_app
from tests.conftest import app_client, make_settings
from tests.machinery.fixture.resources import LINKS, RESOURCES


class BoomError(Exception):
    pass


async def _accounts(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text('SELECT count(*) FROM "mx_account"'))).scalar_one()


def _insert_account(email: str) -> str:
    return (
        'INSERT INTO "mx_account" (id, email, "updatedAt") '
        f"VALUES ('{email}', '{email}', CURRENT_TIMESTAMP)"
    )


@pytest.fixture
async def tx_app(database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(make_settings(DATABASE_URL=database_url), resources=RESOURCES, links=LINKS)

    @app.post("/test/write-then-fail")
    async def write_then_fail(tx: DbDep) -> dict[str, bool]:  # pyright: ignore[reportUnusedFunction]
        await tx.fetch(text(_insert_account("rolled@back.test")))
        raise BoomError("after the write")

    @app.post("/test/write")
    async def write(tx: DbDep) -> dict[str, bool]:  # pyright: ignore[reportUnusedFunction]
        await tx.fetch(text(_insert_account("kept@commit.test")))
        return {"ok": True}

    @app.post("/test/fail-at-commit")
    async def fail_at_commit(tx: DbDep) -> dict[str, bool]:  # pyright: ignore[reportUnusedFunction]
        # SQLite checks a deferred foreign key at COMMIT: the commit itself fails.
        await tx.fetch(text("PRAGMA defer_foreign_keys = ON"))
        await tx.fetch(
            text(
                'INSERT INTO "mx_post" (id, title, "authorId") '
                "VALUES (1, 't', 'no-such-account')"
            )
        )
        return {"ok": True}

    async with app.router.lifespan_context(app):
        async with app.state.engine.begin() as connection:
            await connection.execute(text('DELETE FROM "mx_post"'))
            await connection.execute(text('DELETE FROM "mx_account"'))
        yield app


async def test_write_then_error_leaves_no_row(tx_app: FastAPI) -> None:
    async with await app_client(tx_app) as client:
        response = await client.post("/test/write-then-fail")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["requestId"] == response.headers["x-request-id"]
    assert body["requestId"] in body["detail"]
    assert "Traceback" not in response.text
    assert "after the write" not in response.text
    assert await _accounts(tx_app.state.engine) == 0


async def test_successful_write_is_durable_when_the_response_arrives(tx_app: FastAPI) -> None:
    async with await app_client(tx_app) as client:
        response = await client.post("/test/write")
    assert response.status_code == 200
    # A separate connection sees the row: the commit happened before the response was sent.
    assert await _accounts(tx_app.state.engine) == 1


async def test_commit_failure_is_an_error_response_never_2xx(tx_app: FastAPI) -> None:
    if tx_app.state.engine.dialect.name != "sqlite":
        pytest.skip("deferred foreign keys are an SQLite pragma")
    async with await app_client(tx_app) as client:
        response = await client.post("/test/fail-at-commit")
    assert response.status_code >= 400
    assert response.headers["content-type"] == "application/problem+json"
    async with tx_app.state.engine.connect() as connection:
        posts = (await connection.execute(text('SELECT count(*) FROM "mx_post"'))).scalar_one()
    assert posts == 0


async def test_embedded_tables_are_never_created_on_postgres(postgres_url: str) -> None:
    app = create_app(make_settings(DATABASE_URL=postgres_url), resources=RESOURCES, links=LINKS)
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.engine
        with pytest.raises(RuntimeError, match="SQLite only"):
            await prepare_embedded_database(engine)
        from app.core.embedded import create_tables

        async with engine.connect() as connection:
            with pytest.raises(RuntimeError, match="SQLite only"):
                await connection.run_sync(create_tables)


async def test_lifespan_on_postgres_creates_nothing(postgres_url: str) -> None:
    """Starting on PostgreSQL runs no DDL: a dropped table stays dropped."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.core.config import parse_database_url

    database = parse_database_url(postgres_url, make_settings())
    engine = create_async_engine(database.url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text('ALTER TABLE "mx_label" RENAME TO "mx_label_aside"'))
        app = create_app(make_settings(DATABASE_URL=postgres_url), resources=RESOURCES, links=LINKS)
        async with app.router.lifespan_context(app), await app_client(app) as client:
            assert (await client.get("/api/v1/utils/ready")).status_code == 200
        async with engine.connect() as connection:
            exists = await connection.scalar(text("SELECT to_regclass('\"mx_label\"') IS NOT NULL"))
        assert exists is False
    finally:
        async with engine.begin() as connection:
            await connection.execute(text('ALTER TABLE "mx_label_aside" RENAME TO "mx_label"'))
        await engine.dispose()


async def test_body_over_the_limit_is_413_unread(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/accounts/", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


async def test_streamed_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65_536

    response = await client.post(
        "/api/v1/accounts/", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
