"""`/published-pages/`: the `PublishedPage` view, read-only, ordered and cursored like pages."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.prisma_defaults import cuid
from tests.example.api.pages_support import bulk_insert_pages, page_url
from tests.example.api.resources_support import (
    BASE_TIME,
    EVERYTHING,
    PAGES_WRITE,
    PUBLISHED,
    PUBLISHED_KEYS,
    PUBLISHED_READ,
    READ_ONLY_WRITES,
    UNKNOWN_PAGE,
    assert_method_not_allowed,
    assert_ok,
    assert_operation_ids,
    assert_problem,
    count_rows,
    expected_order,
    insert_user,
    keys_listed,
    new_page,
    published_url,
    walk,
)

LIVE = {"published": True, "status": "PUBLISHED"}


def view_rows(count: int, *, seed: int = 11) -> list[dict[str, Any]]:
    """`count` published pages with few distinct values (ties and NULL publishedAt)."""
    rng = random.Random(seed)
    return [
        {
            "id": cuid(),
            "title": rng.choice(["alpha", "bravo", "charlie"]),
            "slug": f"live-{index}",
            **LIVE,
            "tags": [],
            "createdAt": BASE_TIME,
            "updatedAt": BASE_TIME + timedelta(milliseconds=rng.choice([0, 5])),
            "publishedAt": rng.choice([None, BASE_TIME, BASE_TIME + timedelta(days=1)]),
        }
        for index in range(count)
    ]


async def seed_view(engine: AsyncEngine, count: int) -> list[dict[str, Any]]:
    rows = view_rows(count)
    hidden = [
        {**rows[0], "id": cuid(), "slug": f"hidden-{index}", **state}
        for index, state in enumerate(
            [
                {"published": False, "status": "PUBLISHED"},
                {"published": True, "status": "DRAFT"},
                {"published": False, "status": "ARCHIVED"},
            ]
        )
    ]
    await bulk_insert_pages(engine, rows + hidden)
    return rows


# ------------------------------------------------------------------------------ contents


async def test_only_pages_published_with_status_published_are_listed(
    client: httpx.AsyncClient,
) -> None:
    live = await new_page(client, title="Live", **LIVE)
    for state in (
        {"published": True, "status": "REVIEW"},
        {"published": False, "status": "PUBLISHED"},
        {"published": False, "status": "DRAFT"},
    ):
        await new_page(client, title="Hidden", **state)

    ids = await keys_listed(client, PUBLISHED, PUBLISHED_READ)

    assert ids == [live["id"]]


async def test_published_page_json_is_the_view_projection_of_the_page(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author_id = await insert_user(engine, "ada@example.com")
    page = await new_page(
        client,
        title="Live",
        summary="Short",
        body="Not in the view",
        authorId=author_id,
        publishedAt="2026-11-20T10:00:00.123Z",
        **LIVE,
    )

    response = await client.get(published_url(page["id"]), headers=PUBLISHED_READ)

    assert assert_ok(response) == {
        "id": page["id"],
        "title": "Live",
        "slug": page["slug"],
        "summary": "Short",
        "authorId": author_id,
        "publishedAt": "2026-11-20T10:00:00.123Z",
        "updatedAt": page["updatedAt"],
    }
    assert response.headers["etag"].startswith('"')
    listed = assert_ok(await client.get(PUBLISHED, headers=PUBLISHED_READ))["data"]
    assert listed == [response.json()]
    assert set(listed[0]) == PUBLISHED_KEYS


async def test_get_published_page_with_matching_if_none_match_returns_304(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client, title="Live", **LIVE)
    first = await client.get(published_url(page["id"]), headers=PUBLISHED_READ)

    response = await client.get(
        published_url(page["id"]),
        headers={**PUBLISHED_READ, "If-None-Match": first.headers["etag"]},
    )

    assert response.status_code == 304


@pytest.mark.parametrize(
    "state",
    [{"published": False, "status": "PUBLISHED"}, {"published": True, "status": "DRAFT"}],
    ids=["not published", "draft"],
)
async def test_get_unpublished_page_in_the_view_returns_404(
    client: httpx.AsyncClient, state: dict[str, Any]
) -> None:
    page = await new_page(client, title="Hidden", **state)

    response = await client.get(published_url(page["id"]), headers=PUBLISHED_READ)

    assert_problem(response, 404, code="not_found")


async def test_get_unknown_published_page_returns_404(client: httpx.AsyncClient) -> None:
    response = await client.get(published_url(UNKNOWN_PAGE), headers=PUBLISHED_READ)

    assert_problem(response, 404, code="not_found")


async def test_unpublishing_a_page_removes_it_from_the_view(client: httpx.AsyncClient) -> None:
    page = await new_page(client, title="Live", **LIVE)
    await client.patch(page_url(page["id"]), json={"published": False}, headers=PAGES_WRITE)

    response = await client.get(published_url(page["id"]), headers=PUBLISHED_READ)

    assert_problem(response, 404, code="not_found")
    assert await keys_listed(client, PUBLISHED, PUBLISHED_READ) == []


async def test_a_page_edit_shows_in_the_view(client: httpx.AsyncClient) -> None:
    page = await new_page(client, title="Live", **LIVE)
    edited = await client.patch(
        page_url(page["id"]), json={"title": "Renamed"}, headers=PAGES_WRITE
    )

    view = assert_ok(await client.get(published_url(page["id"]), headers=PUBLISHED_READ))

    assert view["title"] == "Renamed"
    assert view["updatedAt"] == edited.json()["updatedAt"]


# ------------------------------------------------------------------------------ orderings

ORDERS = ["publishedAt", "-publishedAt", "updatedAt", "-updatedAt", "title", "-title"]


async def test_default_order_is_newest_published_first_nulls_last_ties_by_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = await seed_view(engine, 12)

    ids = await keys_listed(client, PUBLISHED, PUBLISHED_READ, limit=100)

    assert ids == expected_order(rows, "-publishedAt")
    assert ids[-1] in {row["id"] for row in rows if row["publishedAt"] is None}


@pytest.mark.parametrize("order", ORDERS)
async def test_list_published_pages_sorts_by_each_order_with_ties_broken_by_id(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str
) -> None:
    rows = await seed_view(engine, 12)

    ids = await keys_listed(client, PUBLISHED, PUBLISHED_READ, orderBy=order, limit=100)

    assert ids == expected_order(rows, order)


@pytest.mark.parametrize("order", [None, *ORDERS])
async def test_cursor_walk_over_published_pages_returns_every_row_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str | None
) -> None:
    rows = await seed_view(engine, 23)
    params = {"orderBy": order} if order else {}

    walked = await walk(client, PUBLISHED, PUBLISHED_READ, limit=4, **params)

    assert walked == expected_order(rows, order or "-publishedAt")


async def test_list_published_pages_offset_and_count(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rows = await seed_view(engine, 9)
    everything = expected_order(rows, "-publishedAt")

    body = assert_ok(
        await client.get(
            PUBLISHED, params={"offset": 3, "limit": 4, "count": "true"}, headers=PUBLISHED_READ
        )
    )

    assert [item["id"] for item in body["data"]] == everything[3:7]
    assert body["count"] == 9


# ------------------------------------------------------------------------------ filters


async def test_list_published_pages_filters_by_author_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await insert_user(engine, "ada@example.com")
    bob = await insert_user(engine, "bob@example.com")
    mine = await new_page(client, title="Mine", authorId=ada, **LIVE)
    await new_page(client, title="Theirs", authorId=bob, **LIVE)
    await new_page(client, title="Draft of mine", authorId=ada)

    ids = await keys_listed(client, PUBLISHED, PUBLISHED_READ, authorId=ada)

    assert ids == [mine["id"]]


async def test_list_published_pages_filters_by_slug(client: httpx.AsyncClient) -> None:
    wanted = await new_page(client, title="x", slug="wanted", **LIVE)
    await new_page(client, title="y", slug="wanted-2", **LIVE)

    ids = await keys_listed(client, PUBLISHED, PUBLISHED_READ, slug="wanted")

    assert ids == [wanted["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"orderBy": "createdAt"}, "query.orderBy"),
        ({"orderBy": "views"}, "query.orderBy"),
        ({"status": "DRAFT"}, "query.status"),
        ({"limit": 0}, "query.limit"),
    ],
    ids=["createdAt not in the view", "views not in the view", "status filter", "limit 0"],
)
async def test_list_published_pages_with_a_bad_query_returns_422(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get(PUBLISHED, params=params, headers=PUBLISHED_READ)

    assert_problem(response, 422, field=field)


# ------------------------------------------------------------------------------ read-only


@pytest.mark.parametrize(("method", "on_item"), READ_ONLY_WRITES)
async def test_writing_the_view_returns_405_with_allow_get_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, on_item: bool
) -> None:
    page = await new_page(client, title="Live", **LIVE)
    url = published_url(page["id"]) if on_item else PUBLISHED
    body = None if method == "DELETE" else {"title": "x"}

    response = await client.request(method, url, json=body, headers=EVERYTHING)

    assert_method_not_allowed(response, method)
    assert await count_rows(engine, "Page") == 1
    view = assert_ok(await client.get(published_url(page["id"]), headers=PUBLISHED_READ))
    assert view["title"] == "Live"


async def test_published_page_operations_have_stable_ids_and_no_write_operations(
    client: httpx.AsyncClient,
) -> None:
    await assert_operation_ids(
        client,
        {
            ("GET", "/api/v1/published-pages/"): "listPublishedPages",
            ("GET", "/api/v1/published-pages/{id}"): "getPublishedPage",
            ("POST", "/api/v1/published-pages/"): None,
            ("PATCH", "/api/v1/published-pages/{id}"): None,
            ("DELETE", "/api/v1/published-pages/{id}"): None,
        },
    )
