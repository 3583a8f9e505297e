"""Helpers shared by the pages API tests: tokens, a page factory, rows read straight from SQL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.resources import PAGES as PAGE_RESOURCE
from tests.example.scopes import READ_SCOPE, WRITE_SCOPE
from tests.support import bearer

PAGES = "/api/v1/pages/"
PAGE = PAGE_RESOURCE.table
CUID = re.compile(r"^c[a-z0-9]{24}$")
ISO_UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def page_url(page_id: str) -> str:
    return f"{PAGES}{page_id}"


READER = bearer(READ_SCOPE)
WRITER = bearer(WRITE_SCOPE)


async def create_page(
    client: httpx.AsyncClient, *, headers: dict[str, str] | None = None, **fields: Any
) -> dict[str, Any]:
    """POST a page (title defaults to "A page") and return its JSON; fails unless 201."""
    fields.setdefault("title", "A page")
    response = await client.post(PAGES, json=fields, headers=headers or WRITER)
    assert response.status_code == 201, response.text
    return response.json()


async def get_page(client: httpx.AsyncClient, page_id: str) -> httpx.Response:
    return await client.get(page_url(page_id), headers=READER)


async def list_pages(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get(PAGES, params=params, headers=READER)


async def count_pages(engine: AsyncEngine) -> int:
    """Rows in the `Page` table, read with SQL (not through the API)."""
    async with engine.connect() as connection:
        return (await connection.execute(text('SELECT count(*) FROM "Page"'))).scalar_one()


async def page_row(engine: AsyncEngine, page_id: str) -> dict[str, Any] | None:
    """One `Page` row read with SQL (typed by the table's columns), or None."""
    async with engine.connect() as connection:
        result = await connection.execute(select(PAGE).where(PAGE.c.id == page_id))
        row = result.mappings().one_or_none()
    return dict(row) if row is not None else None


async def insert_user(engine: AsyncEngine, email: str) -> int:
    """A `User` row inserted with SQL; returns its id."""
    async with engine.begin() as connection:
        await connection.execute(
            text('INSERT INTO "User"(email) VALUES (:email)'), {"email": email}
        )
        result = await connection.execute(
            text('SELECT id FROM "User" WHERE email = :email'), {"email": email}
        )
        return result.scalar_one()


async def bulk_insert_pages(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    """Insert many `Page` rows in one statement (explicit ids, timestamps, everything)."""
    async with engine.begin() as connection:
        await connection.execute(insert(PAGE), rows)


async def db_now(engine: AsyncEngine) -> datetime:
    """The database's clock, as naive UTC."""
    if engine.dialect.name == "postgresql":
        query = "SELECT (now() AT TIME ZONE 'UTC')::timestamp(6)"
    else:
        query = "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"
    async with engine.connect() as connection:
        value = (await connection.execute(text(query))).scalar_one()
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def parse_iso(value: str) -> datetime:
    """`2026-11-22T10:00:00.000Z` → naive UTC datetime."""
    assert ISO_UTC_MS.match(value), value
    return datetime.fromisoformat(value.removesuffix("Z"))
