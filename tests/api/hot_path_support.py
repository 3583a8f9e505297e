"""Helpers of the HotPath comparisons (tests/api/test_hot_path*.py): the fixture app with and
without HotPath on the same database, answers and access lines made comparable, tokens and
URLs of the fixture's resources, SQL readers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.hot import HotPath
from app.core.config import Settings
from app.main import create_app
from app.resource import Resource, register
from tests.conftest import LogCapture, app_client, delete_rows, make_settings
from tests.machinery.fixture.models import Pair, metadata
from tests.machinery.fixture.resources import LINKS, PAIRS, RESOURCES
from tests.machinery.support import API, sql
from tests.support import bearer

ORIGIN = "https://app.example.com"

ARTICLES = f"{API}/articles/"
LABELS = f"{API}/labels/"
ACCOUNTS = f"{API}/accounts/"
POSTS = f"{API}/posts/"
RATE_LIMITS = f"{API}/rate-limits/"
SNAPSHOTS = f"{API}/snapshots/"
SETTINGS = f"{API}/settings/"

READER = bearer("articles:read")
WRITER = bearer("articles:write")
LABELS_READ = bearer("labels:read")
LABELS_WRITE = bearer("labels:write")
ACCOUNTS_READ = bearer("accounts:read")
ACCOUNTS_WRITE = bearer("accounts:write")

# The fixture's pairs declared read-only (no writable field: no write routes, FastAPI's 405),
# in place of their own declaration (two declarations of one model share its route names).
(READ_ONLY_PAIRS,) = register(Resource(model=Pair, orderings=("left", "note")))
WITH_READ_ONLY_PAIRS = tuple(READ_ONLY_PAIRS if r is PAIRS else r for r in RESOURCES)
PAIRS_URL = f"{API}/pairs/"

UNKNOWN_CUID = "cnotthere000000000000000000"
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


def article_url(article_id: str) -> str:
    return f"{ARTICLES}{article_id}"


def label_url(label_id: str) -> str:
    return f"{LABELS}{label_id}"


def account_url(account_id: str) -> str:
    return f"{ACCOUNTS}{account_id}"


# ------------------------------------------------------------------------------ both apps


def without_hot_path(settings: Settings, resources: Sequence[Resource] = RESOURCES) -> FastAPI:
    """The fixture app `settings` build, without HotPath: every request goes through FastAPI."""
    application = create_app(settings, resources=resources, links=LINKS)
    application.user_middleware = [m for m in application.user_middleware if m.cls is not HotPath]
    return application


@asynccontextmanager
async def hot_and_routed(
    settings: Settings, resources: Sequence[Resource] = RESOURCES
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of two fixture apps built from `settings`: as built, and without HotPath."""
    hot_app = create_app(settings, resources=resources, links=LINKS)
    routed_app = without_hot_path(settings, resources)
    async with (
        hot_app.router.lifespan_context(hot_app),
        routed_app.router.lifespan_context(routed_app),
        await app_client(hot_app) as hot,
        await app_client(routed_app) as slow,
    ):
        yield hot, slow


def outage_settings() -> Settings:
    """A staging app whose database is unreachable (a closed port), with CORS on."""
    return make_settings(
        ENVIRONMENT="staging",
        DATABASE_URL="postgresql://app@127.0.0.1:1/unreachable?connect_timeout=1",
        BACKEND_CORS_ORIGINS=[ORIGIN],
    )


# ------------------------------------------------------------------------------ answers


def comparable(response: httpx.Response) -> dict[str, Any]:
    """Status, headers and body, without what differs on every request (the request id)."""
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id"}}
    body: Any = response.content
    if response.headers.get("content-type", "").endswith("json") and body:
        body = json.loads(body)
        if isinstance(body, dict):
            body.pop("requestId", None)
            headers.pop("content-length", None)
    return {"status": response.status_code, "headers": headers, "body": body}


def access_lines_since(logs: LogCapture, start: int) -> list[dict[str, Any]]:
    """The access lines logged after the first `start` records: method, path, status, actor."""
    keep = ("method", "path", "status", "actor")
    return [
        {key: record.get(key) for key in keep}
        for record in logs.records[start:]
        if record.get("logger") == "app.core.middleware"
    ]


# ------------------------------------------------------------------------------ SQL


async def reset(engine: AsyncEngine) -> None:
    """Empty the fixture's tables; serial ids start again at 1 (SQLite reuses them by itself)."""
    await delete_rows(engine, [table.name for table in reversed(metadata.sorted_tables)])
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            for table in ("mx_post", "mx_profile"):
                await connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)")
                )


async def table(engine: AsyncEngine, name: str, order: str = "id") -> list[dict[str, Any]]:
    """Every row of a table, read with SQL."""
    return await sql(engine, f'SELECT * FROM "{name}" ORDER BY "{order}"')


async def count_rows(engine: AsyncEngine, name: str) -> int:
    """Rows in a table, counted with SQL."""
    return (await sql(engine, f'SELECT count(*) AS n FROM "{name}"'))[0]["n"]


async def article_row(engine: AsyncEngine, article_id: str) -> dict[str, Any] | None:
    """One `mx_article` row read with SQL, or None."""
    rows = await sql(engine, "SELECT * FROM mx_article WHERE id = :id", id=article_id)
    return rows[0] if rows else None
