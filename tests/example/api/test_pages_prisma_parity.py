"""Rows as Prisma writes and reads them: ids, timestamps, enums, arrays, JSON; and concurrency."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import (
    CUID,
    ISO_UTC_MS,
    PAGES,
    WRITER,
    count_pages,
    create_page,
    db_now,
    get_page,
    list_pages,
    page_row,
    page_url,
    parse_iso,
)

MS = timedelta(milliseconds=1)


def on_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


async def stored(engine: AsyncEngine, page_id: str) -> dict[str, Any]:
    """status, tags and metadata exactly as the database holds them."""
    if on_postgres(engine):
        query = """
            SELECT status::text AS status, tags, pg_typeof(tags)::text AS tags_type,
                   metadata::text AS metadata, jsonb_typeof(metadata) AS metadata_type,
                   pg_typeof(status)::text AS status_type
            FROM "Page" WHERE id = :id
        """
    else:
        query = """
            SELECT status, tags, 'json' AS tags_type, metadata,
                   json_type(metadata) AS metadata_type, typeof(status) AS status_type
            FROM "Page" WHERE id = :id
        """
    async with engine.connect() as connection:
        row = (await connection.execute(text(query), {"id": page_id})).mappings().one()
    return dict(row)


# ------------------------------------------------------------------------- ids and clocks


async def test_created_page_id_is_a_prisma_cuid(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    pages = [await create_page(client, title=f"Page {n}") for n in range(5)]

    assert all(CUID.match(page["id"]) for page in pages)
    assert len({page["id"] for page in pages}) == 5
    for page in pages:
        row = await page_row(engine, page["id"])
        assert row is not None
        assert CUID.match(row["id"])


async def test_created_at_comes_from_the_database_clock_and_updated_at_is_set(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    before = await db_now(engine)

    page = await create_page(client)

    after = await db_now(engine)
    created_at = parse_iso(page["createdAt"])
    updated_at = parse_iso(page["updatedAt"])
    # TIMESTAMP(3) rounds to the millisecond: allow one either side.
    assert before - MS <= created_at <= after + MS
    assert before - MS <= updated_at <= after + MS
    row = await page_row(engine, page["id"])
    assert row is not None
    assert row["updatedAt"] is not None
    assert row["createdAt"].tzinfo is None
    assert row["updatedAt"].tzinfo is None


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_updated_at_advances_on_every_write_and_created_at_does_not_move(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str
) -> None:
    page = await create_page(client, title="Clock")
    versions = [page]
    for n in range(3):
        await asyncio.sleep(0.003)  # timestamps have millisecond precision, as in Prisma
        response = await client.request(
            method, page_url(page["id"]), json={"title": f"Clock {n}"}, headers=WRITER
        )
        assert response.status_code == 200
        versions.append(response.json())

    stamps = [parse_iso(version["updatedAt"]) for version in versions]
    assert stamps == sorted(set(stamps))  # strictly increasing
    assert {version["createdAt"] for version in versions} == {page["createdAt"]}
    row = await page_row(engine, page["id"])
    assert row is not None
    assert row["updatedAt"] == stamps[-1]


async def test_an_empty_patch_does_not_touch_updated_at(client: httpx.AsyncClient) -> None:
    page = await create_page(client)
    await asyncio.sleep(0.003)

    response = await client.patch(page_url(page["id"]), json={}, headers=WRITER)

    assert response.json()["updatedAt"] == page["updatedAt"]


async def test_datetimes_are_iso_8601_utc_with_milliseconds_and_z_everywhere(
    client: httpx.AsyncClient,
) -> None:
    created = await create_page(client, publishedAt="2026-11-20T12:34:56.789+02:00")
    fetched = (await get_page(client, created["id"])).json()
    listed = (await list_pages(client)).json()["data"][0]

    for page in (created, fetched, listed):
        for field in ("createdAt", "updatedAt", "publishedAt"):
            assert ISO_UTC_MS.match(page[field]), (field, page[field])
        assert page["publishedAt"] == "2026-11-20T10:34:56.789Z"


async def test_published_at_is_stored_as_naive_utc_like_prisma(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await create_page(client, publishedAt="2026-11-20T12:34:56.789+02:00")

    row = await page_row(engine, page["id"])

    assert row is not None
    assert row["publishedAt"] == datetime(2026, 11, 20, 10, 34, 56, 789000)


# ----------------------------------------------------------------- enums, arrays and JSON


async def test_status_tags_and_metadata_are_stored_in_the_databases_own_types(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await create_page(
        client,
        status="PUBLISHED",
        tags=["python", "prisma"],
        metadata={"seo": {"index": True}, "n": 1},
    )

    row = await stored(engine, page["id"])

    assert row["status"] == "PUBLISHED"
    assert json.loads(row["metadata"]) == {"seo": {"index": True}, "n": 1}
    assert row["metadata_type"] == "object"
    if on_postgres(engine):
        assert row["status_type"] == '"PageStatus"'
        assert row["tags"] == ["python", "prisma"]
        assert row["tags_type"] == "text[]"
    else:
        assert row["status_type"] == "text"
        assert json.loads(row["tags"]) == ["python", "prisma"]


async def test_default_status_is_stored_as_draft(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await create_page(client)

    assert (await stored(engine, page["id"]))["status"] == "DRAFT"


async def test_metadata_cleared_by_patch_is_sql_null_not_json_null(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await create_page(client, metadata={"a": 1})

    await client.patch(page_url(page["id"]), json={"metadata": None}, headers=WRITER)

    row = await stored(engine, page["id"])
    assert row["metadata"] is None


# --------------------------------------------------------------- rows written by Prisma


async def insert_like_prisma(engine: AsyncEngine, **values: Any) -> None:
    """A plain SQL INSERT as Prisma Client sends it: explicit id and updatedAt."""
    row: dict[str, Any] = {
        "id": "cm3x1k2p40000abcd1234efgh",
        "title": "From Prisma",
        "slug": "from-prisma",
        "status": "PUBLISHED",
        "tags": ["next", "prisma"],
        "metadata": {"layout": "wide", "blocks": [1, 2, {"x": None}]},
        "published": True,
        "views": 12,
        "summary": "Written by app-web",
        "createdAt": datetime(2026, 11, 19, 8, 0, 0, 250000),
        "updatedAt": datetime(2026, 11, 20, 9, 30, 0, 500000),
        "publishedAt": datetime(2026, 11, 20, 9, 0, 0),
    }
    row.update(values)
    if on_postgres(engine):
        statement = """
            INSERT INTO "Page" (id, title, slug, status, tags, metadata, published, views,
                                summary, "createdAt", "updatedAt", "publishedAt")
            VALUES (:id, :title, :slug, CAST(:status AS "PageStatus"), :tags,
                    CAST(:metadata AS jsonb), :published, :views, :summary,
                    :createdAt, :updatedAt, :publishedAt)
        """
    else:
        statement = """
            INSERT INTO "Page" (id, title, slug, status, tags, metadata, published, views,
                                summary, "createdAt", "updatedAt", "publishedAt")
            VALUES (:id, :title, :slug, :status, :tags, :metadata, :published, :views,
                    :summary, :createdAt, :updatedAt, :publishedAt)
        """
        row["tags"] = None if row["tags"] is None else json.dumps(row["tags"])
        for key in ("createdAt", "updatedAt", "publishedAt"):
            # SQLite has no timestamp type: text in SQLAlchemy's format, as the app writes it.
            if row[key] is not None:
                row[key] = row[key].isoformat(sep=" ", timespec="microseconds")
    row["metadata"] = None if row["metadata"] is None else json.dumps(row["metadata"])
    async with engine.begin() as connection:
        await connection.execute(text(statement), row)


async def test_a_row_inserted_like_prisma_reads_back_through_get_and_list(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await insert_like_prisma(engine)
    expected = {
        "id": "cm3x1k2p40000abcd1234efgh",
        "title": "From Prisma",
        "slug": "from-prisma",
        "summary": "Written by app-web",
        "body": None,
        "published": True,
        "status": "PUBLISHED",
        "tags": ["next", "prisma"],
        "views": 12,
        "metadata": {"layout": "wide", "blocks": [1, 2, {"x": None}]},
        "createdAt": "2026-11-19T08:00:00.250Z",
        "updatedAt": "2026-11-20T09:30:00.500Z",
        "publishedAt": "2026-11-20T09:00:00.000Z",
        "authorId": None,
    }

    fetched = await get_page(client, expected["id"])
    by_tag = (await list_pages(client, tag="prisma", status="PUBLISHED", published="true")).json()
    by_slug = (await list_pages(client, slug="from-prisma", q="APP-WEB")).json()

    assert fetched.status_code == 200
    assert fetched.json() == expected
    assert by_tag["data"] == [expected]
    assert by_slug["data"] == [expected]


async def test_a_row_inserted_like_prisma_can_be_updated_through_the_api(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await insert_like_prisma(engine)
    fetched = await get_page(client, "cm3x1k2p40000abcd1234efgh")

    response = await client.patch(
        page_url("cm3x1k2p40000abcd1234efgh"),
        json={"tags": ["api"], "status": "ARCHIVED"},
        headers={**WRITER, "If-Match": fetched.headers["etag"]},
    )

    assert response.status_code == 200
    page = response.json()
    assert page["createdAt"] == "2026-11-19T08:00:00.250Z"
    assert parse_iso(page["updatedAt"]) > parse_iso("2026-11-20T09:30:00.500Z")
    row = await stored(engine, page["id"])
    assert row["status"] == "ARCHIVED"


async def test_prisma_rows_with_null_tags_and_non_object_metadata_read_back(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await insert_like_prisma(engine, tags=None, metadata=[1, "two"], publishedAt=None)
    await insert_like_prisma(
        engine, id="cm3x1k2p40000abcd1234efgi", slug="scalar-json", metadata="just a string"
    )

    listed = (await list_pages(client, orderBy="title")).json()["data"]

    assert [page["tags"] for page in listed] == [[], ["next", "prisma"]]
    assert [page["metadata"] for page in listed] == [[1, "two"], "just a string"]
    assert listed[0]["publishedAt"] is None


async def test_prisma_rows_with_numbers_beyond_64_bits_or_a_double_read_back(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # Prisma (and jsonb) keep any JSON number; JavaScript reads them as doubles, and so do we.
    await insert_like_prisma(engine)
    cast_jsonb = "::jsonb" if on_postgres(engine) else ""
    document = '{"huge": 123456789012345678901234567890, "big": 1e400, "ok": 1.5}'
    async with engine.begin() as connection:
        await connection.execute(text(f"UPDATE \"Page\" SET metadata = '{document}'{cast_jsonb}"))

    fetched = await get_page(client, "cm3x1k2p40000abcd1234efgh")
    listed = await list_pages(client)

    assert fetched.status_code == 200
    expected = {"huge": 1.2345678901234568e29, "big": None, "ok": 1.5}
    assert fetched.json()["metadata"] == expected
    assert listed.json()["data"][0]["metadata"] == expected


async def test_prisma_rows_sort_and_page_with_api_rows(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await insert_like_prisma(engine)
    mine = await create_page(client, title="Mine")

    first = (await list_pages(client, limit=1, orderBy="-createdAt")).json()
    second = await list_pages(client, limit=1, orderBy="-createdAt", cursor=first["nextCursor"])

    assert [page["id"] for page in first["data"]] == [mine["id"]]
    assert [page["id"] for page in second.json()["data"]] == ["cm3x1k2p40000abcd1234efgh"]
    assert second.json()["nextCursor"] is None


# ---------------------------------------------------------------- concurrency (PostgreSQL)


def postgres_only(engine: AsyncEngine) -> None:
    if not on_postgres(engine):
        pytest.skip("row locks and concurrent transactions: PostgreSQL only")


async def test_concurrent_patches_with_one_if_match_leave_exactly_one_winner(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    postgres_only(engine)
    page = await create_page(client, title="Contended", views=0)
    etag = (await get_page(client, page["id"])).headers["etag"]

    async def patch(views: int) -> httpx.Response:
        return await client.patch(
            page_url(page["id"]), json={"views": views}, headers={**WRITER, "If-Match": etag}
        )

    for attempt in range(5):
        responses = await asyncio.gather(patch(100 + attempt), patch(200 + attempt))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 412], [response.text for response in responses]
        winner = next(response for response in responses if response.status_code == 200)
        assert (await get_page(client, page["id"])).json() == winner.json()
        etag = winner.headers["etag"]


async def test_concurrent_creates_with_one_explicit_slug_leave_one_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    postgres_only(engine)

    async def post(n: int) -> httpx.Response:
        return await client.post(
            PAGES, json={"title": f"Racer {n}", "slug": "the-slug"}, headers=WRITER
        )

    responses = await asyncio.gather(*(post(n) for n in range(20)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    assert all(
        response.json()["errors"][0]["field"] == "body.slug"
        for response in responses
        if response.status_code == 409
    )
    assert await count_pages(engine) == 1


async def test_concurrent_creates_with_one_title_all_get_distinct_slugs(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    postgres_only(engine)

    async def post() -> httpx.Response:
        return await client.post(PAGES, json={"title": "Untitled"}, headers=WRITER)

    responses = await asyncio.gather(*(post() for _ in range(20)))

    assert [response.status_code for response in responses] == [201] * 20, [
        response.text for response in responses if response.status_code != 201
    ]
    slugs = {response.json()["slug"] for response in responses}
    assert slugs == {"untitled", *(f"untitled-{n}" for n in range(2, 21))}
    assert await count_pages(engine) == 20


async def test_concurrent_deletes_with_one_if_match_delete_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    postgres_only(engine)
    page = await create_page(client)
    etag = (await get_page(client, page["id"])).headers["etag"]

    responses = await asyncio.gather(
        *(
            client.delete(page_url(page["id"]), headers={**WRITER, "If-Match": etag})
            for _ in range(5)
        )
    )

    # RFC 9110: with no current representation, If-Match is false → 412 for the losers.
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [204, 412, 412, 412, 412]
    assert await count_pages(engine) == 0
