"""`include=` on reads, as Prisma's `include`: relation shapes, order, bounds, scopes, ETags."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.prisma_defaults import cuid
from tests.example.api.pages_support import PAGES, bearer, bulk_insert_pages, page_url
from tests.example.api.resources_support import (
    BASE_TIME,
    EVERYTHING,
    PAGE_KEYS,
    PAGES_READ,
    REVISION_KEYS,
    TAG_KEYS,
    TAGS,
    TAGS_READ,
    USER_KEYS,
    USERS_READ,
    USERS_URL,
    assert_ok,
    assert_problem,
    create_revision,
    create_tag,
    insert_link,
    insert_user,
    new_page,
    tag_url,
    user_url,
)

USER_PAGES_LIMIT = 100


async def fetch(client: httpx.AsyncClient, url: str, **params: Any) -> Any:
    return assert_ok(await client.get(url, params=params, headers=EVERYTHING))


async def authored_page(client: httpx.AsyncClient, engine: AsyncEngine) -> dict[str, Any]:
    """A page with an author, two tags (linked out of id order) and two revisions."""
    author_id = await insert_user(engine, "ada@example.com", name="Ada", role="EDITOR")
    page = await new_page(client, title="Rich", authorId=author_id)
    first = await create_tag(client, "first")
    second = await create_tag(client, "second")
    await insert_link(engine, page["id"], second["id"])
    await insert_link(engine, page["id"], first["id"])
    for number in (2, 1):
        await create_revision(client, page["id"], number)
    return page


def user_pages_rows(author_id: int, count: int, *, prefix: str) -> list[dict[str, Any]]:
    """`count` pages of one author, creation times with ties (so the id breaks them)."""
    return [
        {
            "id": cuid(),
            "title": f"{prefix} {index}",
            "slug": f"{prefix}-{index}",
            "tags": [],
            "authorId": author_id,
            "createdAt": BASE_TIME + timedelta(seconds=index % 40),
            "updatedAt": BASE_TIME,
        }
        for index in range(count)
    ]


def newest_first(rows: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(rows, key=lambda row: (row["createdAt"], row["id"]), reverse=True)
    return [row["id"] for row in ordered]


async def targets(client: httpx.AsyncClient, engine: AsyncEngine) -> dict[str, str]:
    """URLs by name (`page`, `pages`, `user`, …) of the data `authored_page` makes."""
    page = await authored_page(client, engine)
    tag_id = (await fetch(client, TAGS))["data"][0]["id"]
    return {
        "page": page_url(page["id"]),
        "pages": PAGES,
        "user": user_url(page["authorId"]),
        "users": USERS_URL,
        "tag": tag_url(tag_id),
        "tags": TAGS,
    }


# ------------------------------------------------------------------------------ pages


async def test_get_page_with_author_and_tag_items_adds_both_relations(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await authored_page(client, engine)

    body = await fetch(client, page_url(page["id"]), include="author,tagItems")

    assert set(body) == PAGE_KEYS | {"author", "tagItems"}
    assert {key: body[key] for key in PAGE_KEYS} == page
    author = await fetch(client, user_url(page["authorId"]))
    assert body["author"] == author
    assert set(body["author"]) == USER_KEYS
    assert [tag["name"] for tag in body["tagItems"]] == ["first", "second"]
    assert all(set(tag) == TAG_KEYS for tag in body["tagItems"])
    assert [tag["id"] for tag in body["tagItems"]] == sorted(tag["id"] for tag in body["tagItems"])


async def test_include_author_of_a_page_without_author_is_null(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client, title="Orphan")

    body = await fetch(client, page_url(page["id"]), include="author,tagItems,revisions")

    assert body["author"] is None
    assert body["tagItems"] == []
    assert body["revisions"] == []


async def test_include_revisions_orders_them_by_revision(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await authored_page(client, engine)

    body = await fetch(client, page_url(page["id"]), include="revisions")

    assert [revision["revision"] for revision in body["revisions"]] == [1, 2]
    fetched = await fetch(client, f"{PAGES}{page['id']}/revisions/1")
    assert body["revisions"][0] == fetched
    assert set(body["revisions"][0]) == REVISION_KEYS


async def test_list_pages_with_include_adds_each_pages_own_relations(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    rich = await authored_page(client, engine)
    bob = await insert_user(engine, "bob@example.com")
    plain = await new_page(client, title="Plain", authorId=bob)
    orphan = await new_page(client, title="Orphan")

    body = await fetch(client, PAGES, include="author,tagItems,revisions")

    by_id = {item["id"]: item for item in body["data"]}
    assert set(by_id) == {rich["id"], plain["id"], orphan["id"]}
    assert by_id[rich["id"]]["author"]["email"] == "ada@example.com"
    assert by_id[plain["id"]]["author"]["email"] == "bob@example.com"
    assert by_id[orphan["id"]]["author"] is None
    assert [t["name"] for t in by_id[rich["id"]]["tagItems"]] == ["first", "second"]
    assert by_id[plain["id"]]["tagItems"] == []
    assert [r["revision"] for r in by_id[rich["id"]]["revisions"]] == [1, 2]
    assert by_id[orphan["id"]]["revisions"] == []


async def test_a_relation_named_twice_is_included_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await authored_page(client, engine)

    twice = await fetch(client, page_url(page["id"]), include="author,author")
    once = await fetch(client, page_url(page["id"]), include="author")

    assert twice == once


# ------------------------------------------------------------------------------ shapes, ETags


@pytest.mark.parametrize(
    ("url", "keys"),
    [("page", PAGE_KEYS), ("tag", TAG_KEYS), ("user", USER_KEYS)],
)
async def test_without_include_shapes_have_no_relation_keys(
    client: httpx.AsyncClient, engine: AsyncEngine, url: str, keys: set[str]
) -> None:
    urls = await targets(client, engine)

    one = await fetch(client, urls[url])
    listed = await fetch(client, urls[f"{url}s"])

    assert set(one) == keys
    assert all(set(item) == keys for item in listed["data"])


async def test_etag_differs_with_include_and_if_none_match_works_for_each(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await authored_page(client, engine)
    url = page_url(page["id"])
    plain = await client.get(url, headers=EVERYTHING)
    rich = await client.get(url, params={"include": "author"}, headers=EVERYTHING)

    assert plain.headers["etag"] != rich.headers["etag"]
    cached = await client.get(
        url,
        params={"include": "author"},
        headers={**EVERYTHING, "If-None-Match": rich.headers["etag"]},
    )
    assert cached.status_code == 304
    crossed = await client.get(
        url,
        params={"include": "author"},
        headers={**EVERYTHING, "If-None-Match": plain.headers["etag"]},
    )
    assert crossed.status_code == 200
    assert crossed.json() == rich.json()


# ------------------------------------------------------------------------------ users, tags


async def test_get_user_with_pages_gives_their_pages_newest_first(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await insert_user(engine, "ada@example.com")
    bob = await insert_user(engine, "bob@example.com")
    mine = user_pages_rows(ada, 5, prefix="ada")
    await bulk_insert_pages(engine, mine + user_pages_rows(bob, 2, prefix="bob"))

    body = await fetch(client, user_url(ada), include="pages")

    assert [page["id"] for page in body["pages"]] == newest_first(mine)
    assert all(set(page) == PAGE_KEYS for page in body["pages"])
    assert {key: body[key] for key in USER_KEYS} == await fetch(client, user_url(ada))


async def test_user_pages_are_bounded_to_the_newest_100(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await insert_user(engine, "ada@example.com")
    mine = user_pages_rows(ada, USER_PAGES_LIMIT + 5, prefix="ada")
    await bulk_insert_pages(engine, mine)

    body = await fetch(client, user_url(ada), include="pages")

    assert [page["id"] for page in body["pages"]] == newest_first(mine)[:USER_PAGES_LIMIT]


async def test_list_users_with_pages_bounds_each_user_separately(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await insert_user(engine, "ada@example.com")
    bob = await insert_user(engine, "bob@example.com")
    carol = await insert_user(engine, "carol@example.com")
    adas = user_pages_rows(ada, USER_PAGES_LIMIT + 1, prefix="ada")
    bobs = user_pages_rows(bob, 3, prefix="bob")
    await bulk_insert_pages(engine, adas + bobs)

    body = await fetch(client, USERS_URL, include="pages")

    pages = {user["id"]: [page["id"] for page in user["pages"]] for user in body["data"]}
    assert pages == {
        ada: newest_first(adas)[:USER_PAGES_LIMIT],
        bob: newest_first(bobs),
        carol: [],
    }


async def test_get_tag_with_pages_gives_the_linked_pages(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tag = await create_tag(client, "news")
    linked = await new_page(client, title="Linked")
    await new_page(client, title="Unlinked")
    await insert_link(engine, linked["id"], tag["id"])

    body = await fetch(client, tag_url(tag["id"]), include="pages")

    assert body == {**tag, "pages": [linked]}


# ------------------------------------------------------------------------------ bad includes


@pytest.mark.parametrize(
    ("target", "include"),
    [
        ("page", "comments"),
        ("page", "Author"),
        ("page", "author,comments"),
        ("pages", "tags"),
        ("user", "posts"),
        ("tag", "tagItems"),
    ],
)
async def test_unknown_relation_in_include_returns_422_naming_query_include(
    client: httpx.AsyncClient, engine: AsyncEngine, target: str, include: str
) -> None:
    url = (await targets(client, engine))[target]

    response = await client.get(url, params={"include": include}, headers=EVERYTHING)

    assert_problem(response, 422, field="query.include")


# ------------------------------------------------------------------------------ scopes

INCLUDE_SCOPES = [
    ("page", "author", ("pages:read",), "users:read"),
    ("page", "tagItems", ("pages:read",), "tags:read"),
    ("pages", "author", ("pages:read",), "users:read"),
    ("pages", "tagItems", ("pages:read", "users:read"), "tags:read"),
    ("user", "pages", ("users:read",), "pages:read"),
    ("users", "pages", ("users:read", "tags:read"), "pages:read"),
    ("tag", "pages", ("tags:read",), "pages:read"),
]


@pytest.mark.parametrize("granted", [False, True], ids=["without it", "with it"])
@pytest.mark.parametrize(("target", "include", "held", "needed"), INCLUDE_SCOPES)
async def test_include_needs_the_read_scope_of_the_related_resource(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    target: str,
    include: str,
    held: tuple[str, ...],
    needed: str,
    granted: bool,
) -> None:
    url = (await targets(client, engine))[target]
    scopes = (*held, needed) if granted else held

    response = await client.get(url, params={"include": include}, headers=bearer(*scopes))

    if granted:
        assert response.status_code == 200, response.text
        assert include in response.json().get("data", [response.json()])[0]
    else:
        problem = assert_problem(response, 403, code="forbidden")
        assert needed in problem["detail"]


async def test_include_revisions_needs_only_the_pages_read_scope(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await authored_page(client, engine)

    response = await client.get(
        page_url(page["id"]), params={"include": "revisions"}, headers=PAGES_READ
    )

    assert response.status_code == 200, response.text
    assert len(response.json()["revisions"]) == 2


@pytest.mark.parametrize(("url", "headers"), [(TAGS, TAGS_READ), (USERS_URL, USERS_READ)])
async def test_include_scope_is_checked_on_lists_too(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> None:
    response = await client.get(url, params={"include": "pages"}, headers=headers)

    assert_problem(response, 403, code="forbidden")


# ------------------------------------------------------------------------------ queries


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def statements_for(
    client: httpx.AsyncClient, engine: AsyncEngine, params: dict[str, Any]
) -> int:
    with counting_statements(engine) as statements:
        assert_ok(await client.get(PAGES, params=params, headers=EVERYTHING))
    return len(statements)


@pytest.mark.parametrize("pages", [2, 9])
async def test_include_costs_one_query_per_relation_not_per_row(
    client: httpx.AsyncClient, engine: AsyncEngine, pages: int
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("statements are counted with SQLAlchemy events; PostgreSQL reads bypass them")
    author_id = await insert_user(engine, "ada@example.com")
    tag = await create_tag(client, "news")
    for index in range(pages):
        page = await new_page(client, title=f"Page {index}", authorId=author_id)
        await insert_link(engine, page["id"], tag["id"])
        await create_revision(client, page["id"], 1)

    plain = await statements_for(client, engine, {})
    rich = await statements_for(client, engine, {"include": "author,tagItems,revisions"})

    assert plain >= 1
    # author (many-to-one) is joined into the list's own statement; tagItems and revisions
    # take one query each, whatever the number of pages.
    assert rich - plain == 2
