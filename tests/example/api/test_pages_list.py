"""`GET /pages/`: filters, orderings, offset and keyset pagination, counts, bad queries."""

from __future__ import annotations

import asyncio
import base64
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.pagination import _sign  # pyright: ignore[reportPrivateUsage]
from app.prisma_defaults import cuid
from tests.example.api.pages_support import (
    PAGES,
    READER,
    WRITER,
    bulk_insert_pages,
    create_page,
    insert_user,
    list_pages,
    page_url,
)
from tests.support import assert_problem

BASE_TIME = datetime(2026, 11, 1, 12, 0, 0, 123000)
ORDERS = ["createdAt", "updatedAt", "publishedAt", "title", "views"]
ALL_ORDERS = [*ORDERS, *(f"-{order}" for order in ORDERS)]


async def ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await list_pages(client, **params)
    assert response.status_code == 200, response.text
    return [page["id"] for page in response.json()["data"]]


def expected_order(rows: list[dict[str, Any]], order: str) -> list[str]:
    """Ids in `order`: by the column then the id, NULLs last in both directions."""
    column = order.removeprefix("-")
    descending = order.startswith("-")
    present = [row for row in rows if row[column] is not None]
    missing = [row for row in rows if row[column] is None]
    present.sort(key=lambda row: (row[column], row["id"]), reverse=descending)
    missing.sort(key=lambda row: row["id"], reverse=descending)
    return [row["id"] for row in present + missing]


def page_rows(count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """`count` rows with few distinct sort values, so ties (broken by id) are everywhere."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index in range(count):
        rows.append(
            {
                "id": cuid(),
                "title": rng.choice(["alpha", "bravo", "charlie", "delta"]),
                "slug": f"page-{index}",
                "published": index % 2 == 0,
                "status": rng.choice(["DRAFT", "PUBLISHED", "ARCHIVED"]),
                "tags": ["walk"],
                "views": rng.choice([0, 1, 2]),
                "createdAt": BASE_TIME + timedelta(seconds=rng.choice([0, 1, 2, 3, 4])),
                "updatedAt": BASE_TIME + timedelta(milliseconds=rng.choice([0, 5])),
                "publishedAt": rng.choice([None, None, BASE_TIME, BASE_TIME + timedelta(days=1)]),
            }
        )
    return rows


async def walk(client: httpx.AsyncClient, *, limit: int, **params: Any) -> list[str]:
    """Follow `nextCursor` to the end; every page but the last is full."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        query = {**params, "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        response = await list_pages(client, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(page["id"] for page in body["data"])
        cursor = body["nextCursor"]
        if cursor is None:
            return seen
        assert len(body["data"]) == limit
    raise AssertionError("the cursor walk did not end")


# ------------------------------------------------------------------------------- the basics


async def test_list_pages_of_an_empty_table_is_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await list_pages(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"data": [], "nextCursor": None, "count": None}


async def test_list_pages_defaults_to_newest_first_and_20_rows(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(25)
    await bulk_insert_pages(engine, rows)

    response = await list_pages(client)

    body = response.json()
    assert [page["id"] for page in body["data"]] == expected_order(rows, "-createdAt")[:20]
    assert body["nextCursor"] is not None
    assert body["count"] is None


async def test_listed_pages_have_the_same_shape_as_a_fetched_page(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(
        client, title="Shape", tags=["x"], metadata={"a": 1}, publishedAt="2026-01-01T00:00:00Z"
    )

    response = await list_pages(client)

    assert response.json()["data"] == [page]


# ---------------------------------------------------------------------------------- filters


async def test_list_pages_filters_by_status(client: httpx.AsyncClient) -> None:
    draft = await create_page(client, title="d")
    review = await create_page(client, title="r", status="REVIEW")

    assert await ids(client, status="REVIEW") == [review["id"]]
    assert await ids(client, status="DRAFT") == [draft["id"]]
    assert await ids(client, status="ARCHIVED") == []


async def test_list_pages_filters_by_published(client: httpx.AsyncClient) -> None:
    shown = await create_page(client, title="s", published=True)
    hidden = await create_page(client, title="h")

    assert await ids(client, published="true") == [shown["id"]]
    assert await ids(client, published="false") == [hidden["id"]]


async def test_list_pages_filters_by_author_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await insert_user(engine, "ada@example.com")
    bob = await insert_user(engine, "bob@example.com")
    by_ada = await create_page(client, title="a", authorId=ada)
    await create_page(client, title="b", authorId=bob)
    await create_page(client, title="nobody")

    assert await ids(client, authorId=ada) == [by_ada["id"]]
    assert await ids(client, authorId=bob + 1000) == []


async def test_list_pages_filters_by_tag_exactly(client: httpx.AsyncClient) -> None:
    both = await create_page(client, title="both", tags=["python", "sql"])
    python = await create_page(client, title="py", tags=["python"])
    await create_page(client, title="pythonic", tags=["pythonic", "Python"])
    await create_page(client, title="none")

    assert sorted(await ids(client, tag="python")) == sorted([both["id"], python["id"]])
    assert await ids(client, tag="sql") == [both["id"]]
    assert await ids(client, tag="pyth") == []


async def test_list_pages_filters_by_slug(client: httpx.AsyncClient) -> None:
    page = await create_page(client, title="One", slug="one")
    await create_page(client, title="One more", slug="one-more")

    assert await ids(client, slug="one") == [page["id"]]
    assert await ids(client, slug="on") == []


async def test_list_pages_q_matches_title_or_summary_case_insensitively(
    client: httpx.AsyncClient,
) -> None:
    in_title = await create_page(client, title="The Quick Fox")
    in_summary = await create_page(client, title="Other", summary="a QUICK summary")
    await create_page(client, title="Slow", body="quick in the body does not count")

    assert sorted(await ids(client, q="quick")) == sorted([in_title["id"], in_summary["id"]])
    assert sorted(await ids(client, q="qUiCk")) == sorted([in_title["id"], in_summary["id"]])
    assert await ids(client, q="fox") == [in_title["id"]]


@pytest.mark.parametrize(("q", "matches"), [("%", ["100% real"]), ("_", ["snake_case"])])
async def test_list_pages_q_treats_like_wildcards_literally(
    client: httpx.AsyncClient, q: str, matches: list[str]
) -> None:
    await create_page(client, title="100% real")
    await create_page(client, title="snake_case")
    await create_page(client, title="plain words")

    response = await list_pages(client, q=q)

    assert [page["title"] for page in response.json()["data"]] == matches


async def test_list_pages_q_treats_a_backslash_literally(client: httpx.AsyncClient) -> None:
    await create_page(client, title="C:\\temp")
    await create_page(client, title="C:temp")

    response = await list_pages(client, q=":\\t")

    assert [page["title"] for page in response.json()["data"]] == ["C:\\temp"]


async def test_list_pages_filters_combine_with_and(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author = await insert_user(engine, "c@example.com")
    match = await create_page(
        client, title="Match me", status="PUBLISHED", published=True, tags=["t"], authorId=author
    )
    await create_page(client, title="Match me too", status="PUBLISHED", published=False, tags=["t"])
    await create_page(client, title="Match", status="DRAFT", published=True, tags=["t"])

    found = await ids(
        client, status="PUBLISHED", published="true", tag="t", q="match", authorId=author
    )

    assert found == [match["id"]]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "draft"),
        ("status", "BOGUS"),
        ("published", "maybe"),
        ("authorId", "0"),
        ("authorId", "-3"),
        ("authorId", "x"),
        ("authorId", "2147483648"),
        ("tag", ""),
        ("tag", "t" * 65),
        ("slug", "s" * 201),
        ("q", ""),
        ("q", "q" * 201),
        ("q", "a\u0000b"),
        ("orderBy", "id"),
        ("orderBy", "+title"),
        ("orderBy", "--title"),
        ("orderBy", "Title"),
        ("count", "perhaps"),
        ("offset", "-1"),
        ("offset", "1000001"),
        ("limit", "ten"),
    ],
)
async def test_list_pages_with_an_invalid_query_parameter_returns_422_naming_it(
    client: httpx.AsyncClient, name: str, value: str
) -> None:
    response = await list_pages(client, **{name: value})

    body = assert_problem(response, 422, field=name)
    assert body["code"] == "validation_failed"


async def test_list_pages_with_an_unknown_query_parameter_returns_422(
    client: httpx.AsyncClient,
) -> None:
    response = await list_pages(client, sort="title")

    assert_problem(response, 422, field="sort")


# --------------------------------------------------------------------------------- ordering


@pytest.mark.parametrize("order", ALL_ORDERS)
async def test_list_pages_sorts_by_every_order_with_ties_broken_by_id(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str
) -> None:
    rows = page_rows(40, seed=11)
    await bulk_insert_pages(engine, rows)

    assert await ids(client, orderBy=order, limit=100) == expected_order(rows, order)


@pytest.mark.parametrize("order", ["publishedAt", "-publishedAt"])
async def test_list_pages_puts_pages_without_published_at_last_in_both_directions(
    client: httpx.AsyncClient, order: str
) -> None:
    late = await create_page(client, title="late", publishedAt="2026-02-01T00:00:00Z")
    unpublished = await create_page(client, title="never")
    early = await create_page(client, title="early", publishedAt="2026-01-01T00:00:00Z")

    found = await ids(client, orderBy=order)

    if order == "publishedAt":
        assert found == [early["id"], late["id"], unpublished["id"]]
    else:
        assert found == [late["id"], early["id"], unpublished["id"]]


async def test_list_pages_by_updated_at_follows_the_latest_write(
    client: httpx.AsyncClient,
) -> None:
    first = await create_page(client, title="first")
    second = await create_page(client, title="second")
    # Timestamps have millisecond precision: in the same millisecond the two would tie (and
    # the later id, the second page's, would come first).
    await asyncio.sleep(0.003)
    await client.patch(page_url(first["id"]), json={"views": 1}, headers=WRITER)

    assert (await ids(client, orderBy="-updatedAt"))[0] == first["id"]
    assert (await ids(client, orderBy="updatedAt"))[0] == second["id"]


# ------------------------------------------------------------------------------ offset mode


async def test_list_pages_offset_skips_rows_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(30, seed=3)
    await bulk_insert_pages(engine, rows)
    everything = expected_order(rows, "title")

    assert await ids(client, orderBy="title", offset=0, limit=7) == everything[:7]
    assert await ids(client, orderBy="title", offset=7, limit=7) == everything[7:14]
    assert await ids(client, orderBy="title", offset=28, limit=7) == everything[28:]
    assert await ids(client, orderBy="title", offset=30, limit=7) == []


async def test_list_pages_with_offset_reports_next_cursor_until_the_last_page(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await bulk_insert_pages(engine, page_rows(10))

    middle = await list_pages(client, offset=3, limit=5)
    last = await list_pages(client, offset=5, limit=5)

    assert middle.json()["nextCursor"] is not None
    assert last.json()["nextCursor"] is None


async def test_list_pages_with_cursor_and_offset_together_returns_422(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await bulk_insert_pages(engine, page_rows(5))
    cursor = (await list_pages(client, limit=2)).json()["nextCursor"]

    response = await list_pages(client, limit=2, cursor=cursor, offset=2)

    assert_problem(response, 422)


# ------------------------------------------------------------------------------ cursor mode


@pytest.mark.parametrize(
    ("order", "limit"),
    [
        ("-createdAt", 37),
        ("createdAt", 50),
        ("views", 23),
        ("-views", 100),
        ("publishedAt", 41),
        ("-publishedAt", 29),
        ("title", 64),
        ("-title", 31),
        ("updatedAt", 19),
        ("-updatedAt", 97),
    ],
)
async def test_cursor_walk_returns_every_row_exactly_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str, limit: int
) -> None:
    rows = page_rows(263)
    await bulk_insert_pages(engine, rows)

    seen = await walk(client, limit=limit, orderBy=order)

    assert len(seen) == len(set(seen)) == 263
    assert seen == expected_order(rows, order)


async def test_cursor_walk_with_a_filter_returns_every_matching_row_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(263)
    await bulk_insert_pages(engine, rows)
    drafts = [row for row in rows if row["status"] == "DRAFT"]

    seen = await walk(client, limit=10, orderBy="-views", status="DRAFT", count="true")

    assert seen == expected_order(drafts, "-views")


async def test_cursor_walk_with_limit_1_visits_every_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(12)
    await bulk_insert_pages(engine, rows)

    assert await walk(client, limit=1, orderBy="-publishedAt") == expected_order(
        rows, "-publishedAt"
    )


async def test_cursor_continues_after_the_row_it_names_is_deleted(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(9)
    await bulk_insert_pages(engine, rows)
    everything = expected_order(rows, "views")
    first = (await list_pages(client, orderBy="views", limit=3)).json()
    await client.delete(page_url(first["data"][-1]["id"]), headers=WRITER)

    response = await list_pages(client, orderBy="views", limit=3, cursor=first["nextCursor"])

    assert [page["id"] for page in response.json()["data"]] == everything[3:6]


async def test_next_cursor_is_null_when_the_last_page_is_exactly_full(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await bulk_insert_pages(engine, page_rows(10))
    first = (await list_pages(client, limit=5)).json()

    second = (await list_pages(client, limit=5, cursor=first["nextCursor"])).json()

    assert len(second["data"]) == 5
    assert second["nextCursor"] is None


async def test_cursor_used_with_another_order_by_returns_422(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await bulk_insert_pages(engine, page_rows(5))
    cursor = (await list_pages(client, limit=2, orderBy="title")).json()["nextCursor"]

    for other in ("-title", "views", "-createdAt"):
        response = await list_pages(client, limit=2, orderBy=other, cursor=cursor)
        body = assert_problem(response, 422, field="cursor")
        assert "orderBy" in body["detail"]


async def test_cursor_made_for_the_default_order_needs_no_order_by(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(5)
    await bulk_insert_pages(engine, rows)
    cursor = (await list_pages(client, limit=2)).json()["nextCursor"]

    found = await ids(client, limit=2, cursor=cursor)

    assert found == expected_order(rows, "-createdAt")[2:4]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tampered(cursor: str) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    flipped = bytearray(raw)
    flipped[5] ^= 0x01
    forged_payload = raw[:-12].replace(b'"title"', b'"views"')
    encode = _b64
    return [
        encode(bytes(flipped)),  # one bit changed
        encode(forged_payload + raw[-12:]),  # another order, old signature
        encode(raw[:-12]),  # signature cut off
        cursor[:-3],  # truncated
        cursor[:10],
        cursor + "AAAA",  # extended
        cursor[::-1],
    ]


GARBAGE_CURSORS = [
    "garbage",
    "!!!!",
    "a",
    "====",
    "%%%",
    "é",
    "eyJhbGciOiJub25lIn0",
    base64.urlsafe_b64encode(b'["title", "x", "y"]').decode(),
    base64.urlsafe_b64encode(b"\x00" * 40).decode(),
    "A" * 512,
]


async def test_forged_or_truncated_cursor_returns_422_problem(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await bulk_insert_pages(engine, page_rows(5))
    cursor = (await list_pages(client, limit=2, orderBy="title")).json()["nextCursor"]

    for bad in _tampered(cursor):
        response = await list_pages(client, limit=2, orderBy="title", cursor=bad)
        assert_problem(response, 422, field="cursor")


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
async def test_garbage_cursor_returns_422_problem(client: httpx.AsyncClient, cursor: str) -> None:
    response = await list_pages(client, orderBy="title", cursor=cursor)

    assert_problem(response, 422, field="cursor")


async def test_cursor_longer_than_512_characters_returns_422(client: httpx.AsyncClient) -> None:
    response = await list_pages(client, cursor="A" * 513)

    assert_problem(response, 422, field="cursor")


async def test_cursor_signed_with_another_secret_returns_422(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    from app.pagination import Position, encode_cursor
    from app.resources import PageOrder

    cursor = encode_cursor(
        PageOrder("title"), Position(value="alpha", id=cuid()), key=b"some other key"
    )

    response = await list_pages(client, orderBy="title", cursor=cursor)

    assert_problem(response, 422, field="cursor")


@pytest.mark.parametrize(
    ("order", "position"),
    [
        ("-createdAt", ["-createdAt", "not a date", "cx"]),
        ("-createdAt", ["-createdAt", 5, "cx"]),
        ("-createdAt", ["-createdAt", None, "cx"]),
        ("-createdAt", ["-createdAt", "2026-01-01T00:00:00+05:00", "cx"]),
        ("publishedAt", ["publishedAt", [], "cx"]),
        ("views", ["views", "abc", "cx"]),
        ("views", ["views", 1, 5]),
        ("views", ["views", 1.5, "cx"]),
        ("views", ["views", True, "cx"]),
        ("views", ["views", 2**40, "cx"]),
        ("title", ["title", {"a": 1}, None]),
        ("title", ["title", "a", "b", "c"]),
        ("title", {"order": "title"}),
    ],
)
async def test_cursor_signed_by_the_service_but_of_another_shape_returns_422(
    client: httpx.AsyncClient, app: FastAPI, order: str, position: Any
) -> None:
    # Only the service can sign a cursor, but one from another release may carry another shape.
    payload = orjson.dumps(position)
    cursor = _b64(payload + _sign(payload, app.state.cursor_key))

    response = await list_pages(client, orderBy=order, cursor=cursor)

    assert_problem(response, 422, field="cursor")


# ------------------------------------------------------------------------------ count/limit


async def test_count_true_gives_the_exact_total_of_matching_rows(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = page_rows(57)
    await bulk_insert_pages(engine, rows)
    drafts = sum(row["status"] == "DRAFT" for row in rows)

    everything = (await list_pages(client, count="true", limit=5)).json()
    filtered = (await list_pages(client, count="true", status="DRAFT", limit=1)).json()
    later = (await list_pages(client, count="true", limit=5, offset=50)).json()
    cursor = everything["nextCursor"]
    following = (await list_pages(client, count="true", limit=5, cursor=cursor)).json()

    assert everything["count"] == 57
    assert filtered["count"] == drafts
    assert later["count"] == 57
    assert following["count"] == 57
    assert (await list_pages(client, count="true", q="no such page")).json()["count"] == 0


async def test_count_is_null_unless_asked_for(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await bulk_insert_pages(engine, page_rows(3))

    assert (await list_pages(client)).json()["count"] is None
    assert (await list_pages(client, count="false")).json()["count"] is None


@pytest.mark.parametrize("limit", [1, 100])
async def test_limit_at_its_bounds_is_accepted(
    client: httpx.AsyncClient, engine: AsyncEngine, limit: int
) -> None:
    await bulk_insert_pages(engine, page_rows(101))

    body = (await list_pages(client, limit=limit)).json()

    assert len(body["data"]) == limit
    assert body["nextCursor"] is not None


@pytest.mark.parametrize("limit", [0, 101, -1])
async def test_limit_outside_its_bounds_returns_422(client: httpx.AsyncClient, limit: int) -> None:
    response = await list_pages(client, limit=limit)

    assert_problem(response, 422, field="limit")


async def test_list_pages_with_read_scope_only(client: httpx.AsyncClient) -> None:
    response = await client.get(PAGES, headers=READER)

    assert response.status_code == 200
