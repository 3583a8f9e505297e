"""Helpers shared by the resource API tests (issue #12): tokens, URLs, factories, SQL readers.

Rows the API cannot write (users) or that a test needs in bulk are inserted with SQL; what
a test asserts about storage is read back with SQL too, never through the API.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.resources import PAGE_REVISIONS, USERS
from tests.example.api.pages_support import (
    ISO_UTC_MS,
    PAGES,
    bearer,
    create_page,
)
from tests.support import PROBLEM
from tests.support import assert_problem as assert_problem_shape

API = "/api/v1"
TAGS = f"{API}/tags/"
USERS_URL = f"{API}/users/"
PUBLISHED = f"{API}/published-pages/"
UNKNOWN_PAGE = "cnotthere000000000000000000"
UNKNOWN_INT = 999_999
UUID_CANONICAL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BASE_TIME = datetime(2026, 11, 1, 12, 0, 0, 123000)

SCOPES = (
    "pages:read",
    "pages:write",
    "tags:read",
    "tags:write",
    "users:read",
    "users:write",
    "published-pages:read",
    "published-pages:write",
)

TAGS_READ = bearer("tags:read")
TAGS_WRITE = bearer("tags:write")
USERS_READ = bearer("users:read")
PAGES_READ = bearer("pages:read")
PAGES_WRITE = bearer("pages:write")
PUBLISHED_READ = bearer("published-pages:read")
EVERYTHING = bearer(*SCOPES)

TAG_KEYS = {"id", "name"}
USER_KEYS = {"id", "email", "name", "role", "createdAt"}
PUBLISHED_KEYS = {"id", "title", "slug", "summary", "authorId", "publishedAt", "updatedAt"}
REVISION_KEYS = {"pageId", "revision", "externalId", "price", "byteSize", "effectiveOn", "editedAt"}
PAGE_KEYS = {
    "id",
    "title",
    "slug",
    "summary",
    "body",
    "published",
    "status",
    "tags",
    "views",
    "metadata",
    "createdAt",
    "updatedAt",
    "publishedAt",
    "authorId",
}


# ------------------------------------------------------------------------------ URLs


def tag_url(tag_id: int | str) -> str:
    return f"{TAGS}{tag_id}"


def user_url(user_id: int | str) -> str:
    return f"{USERS_URL}{user_id}"


def published_url(page_id: str) -> str:
    return f"{PUBLISHED}{page_id}"


def revisions_url(page_id: str) -> str:
    return f"{PAGES}{page_id}/revisions/"


def revision_url(page_id: str, revision: int | str) -> str:
    return f"{revisions_url(page_id)}{revision}"


def tag_item_url(page_id: str, tag_id: int | str) -> str:
    return f"{PAGES}{page_id}/tag-items/{tag_id}"


# ------------------------------------------------------------------------------ responses


def assert_problem(
    response: httpx.Response,
    status: int,
    *,
    field: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """An RFC 9457 answer with this status, naming exactly `field` (`body.name`) if given."""
    body = assert_problem_shape(response, status)
    assert response.headers["content-type"] == PROBLEM
    assert isinstance(body["title"], str)
    assert body["title"]
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        fields = [error["field"] for error in body.get("errors") or []]
        assert field in fields, body
    return body


def assert_ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def assert_iso(value: Any) -> datetime:
    """`2026-11-22T10:00:00.000Z` → naive UTC datetime (fails on any other spelling)."""
    assert isinstance(value, str)
    assert ISO_UTC_MS.match(value), value
    return datetime.fromisoformat(value.removesuffix("Z"))


async def data(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """The `data` of one list response (fails unless 200 with the list envelope)."""
    body = assert_ok(await client.get(url, params=params, headers=headers))
    assert set(body) == {"data", "nextCursor", "count"}
    return body["data"]


async def keys_listed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], key: str = "id", **params: Any
) -> list[Any]:
    return [item[key] for item in await data(client, url, headers, **params)]


async def walk(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    *,
    limit: int,
    key: str = "id",
    **params: Any,
) -> list[Any]:
    """Follow `nextCursor` to the end; every page but the last is full, no key twice."""
    seen: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {**params, "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        body = assert_ok(await client.get(url, params=query, headers=headers))
        seen.extend(item[key] for item in body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            assert len(body["data"]) <= limit
            break
        assert isinstance(cursor, str)
        assert len(body["data"]) == limit
    assert len(seen) == len(set(seen)), seen
    return seen


def expected_order(rows: list[dict[str, Any]], order: str, *, key: str = "id") -> list[Any]:
    """Keys in `order`: by the field then the key, NULLs last in both directions."""
    column = order.removeprefix("-")
    descending = order.startswith("-")
    present = [row for row in rows if row[column] is not None]
    missing = [row for row in rows if row[column] is None]
    present.sort(key=lambda row: (row[column], row[key]), reverse=descending)
    missing.sort(key=lambda row: row[key], reverse=descending)
    return [row[key] for row in present + missing]


# ------------------------------------------------------------------------------ factories


async def create_tag(
    client: httpx.AsyncClient, name: str, *, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """POST a tag and return its JSON; fails unless 201."""
    response = await client.post(TAGS, json={"name": name}, headers=headers or TAGS_WRITE)
    return assert_ok(response, 201)


async def create_revision(
    client: httpx.AsyncClient, page_id: str, revision: int = 1, **fields: Any
) -> dict[str, Any]:
    """POST a revision (effectiveOn defaults to 2026-01-31) and return its JSON."""
    fields.setdefault("effectiveOn", "2026-01-31")
    response = await client.post(
        revisions_url(page_id), json={"revision": revision, **fields}, headers=PAGES_WRITE
    )
    return assert_ok(response, 201)


async def new_page(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A page created through the API (pages:write)."""
    return await create_page(client, headers=PAGES_WRITE, **fields)


async def insert_user(
    engine: AsyncEngine,
    email: str,
    *,
    name: str | None = None,
    role: str = "USER",
    created_at: datetime | None = None,
) -> int:
    """A `User` row inserted with SQL (app-web owns users); returns its id."""
    ids = await insert_users(
        engine,
        [{"email": email, "name": name, "role": role, "createdAt": created_at or BASE_TIME}],
    )
    return ids[0]


async def insert_users(engine: AsyncEngine, rows: list[dict[str, Any]]) -> list[int]:
    """Many `User` rows in one statement; returns their ids in the order given."""
    async with engine.begin() as connection:
        await connection.execute(insert(USERS.table), rows)
        result = await connection.execute(
            text('SELECT id, email FROM "User"'),
        )
        by_email = {row.email: row.id for row in result}
    return [by_email[row["email"]] for row in rows]


async def insert_tag(engine: AsyncEngine, name: str) -> int:
    """A `Tag` row inserted with SQL; returns its id."""
    async with engine.begin() as connection:
        await connection.execute(text('INSERT INTO "Tag"(name) VALUES (:name)'), {"name": name})
        result = await connection.execute(
            text('SELECT id FROM "Tag" WHERE name = :name'), {"name": name}
        )
        return result.scalar_one()


async def insert_link(engine: AsyncEngine, page_id: str, tag_id: int) -> None:
    """A `_PageToTag` row (A = page, B = tag), as Prisma's `connect` writes it."""
    async with engine.begin() as connection:
        await connection.execute(
            text('INSERT INTO "_PageToTag"("A", "B") VALUES (:a, :b)'), {"a": page_id, "b": tag_id}
        )


async def insert_revision(
    engine: AsyncEngine,
    page_id: str,
    revision: int,
    *,
    price: Decimal = Decimal("0"),
    byte_size: int = 0,
    effective_on: date = date(2026, 1, 31),
    external_id: uuid.UUID | None = None,
    edited_at: datetime = BASE_TIME,
) -> None:
    """A `page_revisions` row inserted with SQL (column types from the generated model)."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(PAGE_REVISIONS.table).values(
                page_id=page_id,
                revision=revision,
                external_id=external_id or uuid.uuid4(),
                price=price,
                byte_size=byte_size,
                effective_on=effective_on,
                edited_at=edited_at,
            )
        )


def times(count: int, *, step: timedelta = timedelta(seconds=1)) -> list[datetime]:
    return [BASE_TIME + step * index for index in range(count)]


# ------------------------------------------------------------------------------ SQL readers


async def count_rows(engine: AsyncEngine, table: str) -> int:
    """Rows in a table, counted with SQL."""
    async with engine.connect() as connection:
        return (await connection.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one()


async def sql_rows(engine: AsyncEngine, query: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of a plain SQL query, as dicts (values as the driver returns them)."""
    async with engine.connect() as connection:
        result = await connection.execute(text(query), params)
        return [dict(row) for row in result.mappings()]


async def tag_names(engine: AsyncEngine) -> list[str]:
    rows = await sql_rows(engine, 'SELECT name FROM "Tag" ORDER BY id')
    return [row["name"] for row in rows]


async def links(engine: AsyncEngine) -> list[tuple[str, int]]:
    """Every `_PageToTag` row as (A, B)."""
    rows = await sql_rows(engine, 'SELECT "A", "B" FROM "_PageToTag" ORDER BY "A", "B"')
    return [(row["A"], row["B"]) for row in rows]


async def revision_row(engine: AsyncEngine, page_id: str, revision: int) -> dict[str, Any] | None:
    """One `page_revisions` row read with plain SQL, or None."""
    rows = await sql_rows(
        engine,
        "SELECT page_id, revision, external_id, price, byte_size, effective_on, edited_at "
        "FROM page_revisions WHERE page_id = :page_id AND revision = :revision",
        page_id=page_id,
        revision=revision,
    )
    return rows[0] if rows else None


async def revision_numbers(engine: AsyncEngine, page_id: str) -> list[int]:
    rows = await sql_rows(
        engine,
        "SELECT revision FROM page_revisions WHERE page_id = :page_id ORDER BY revision",
        page_id=page_id,
    )
    return [row["revision"] for row in rows]


# ------------------------------------------------------------------------------ contract


def assert_method_not_allowed(response: httpx.Response, method: str) -> None:
    """405 problem+json whose `Allow` header offers GET and not `method`."""
    assert_problem(response, 405)
    allowed = {verb.strip() for verb in response.headers["allow"].split(",")}
    assert "GET" in allowed
    assert method not in allowed


async def assert_operation_ids(
    client: httpx.AsyncClient, expected: dict[tuple[str, str], str | None]
) -> None:
    """The OpenAPI document names these (method, path) operations with these ids."""
    response = await client.get(f"{API}/openapi.json")
    paths = assert_ok(response)["paths"]
    found = {
        (method.upper(), path): paths.get(path, {}).get(method.lower(), {}).get("operationId")
        for method, path in expected
    }
    assert found == expected


# Write methods tried on a read-only resource: (method, on the item rather than the list).
READ_ONLY_WRITES: list[tuple[str, bool]] = [
    ("POST", False),
    ("PUT", True),
    ("PATCH", True),
    ("DELETE", True),
]


async def etag_of(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    """The ETag a GET of `url` answers with (fails unless 200)."""
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["etag"]


async def conditional_write(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    *,
    if_match: str,
) -> httpx.Response:
    return await client.request(method, url, json=body, headers={**headers, "If-Match": if_match})


def assert_written(response: httpx.Response, method: str) -> None:
    """A successful PUT/PATCH (200) or DELETE (204)."""
    assert response.status_code == (204 if method == "DELETE" else 200), response.text
