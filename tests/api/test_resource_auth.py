"""Scopes per resource: `<segment>:read` / `<segment>:write`, write implying read, 401/403."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import PAGES, bearer, page_url
from tests.example.api.resources_support import (
    PAGES_READ,
    PAGES_WRITE,
    PUBLISHED,
    PUBLISHED_READ,
    SCOPES,
    TAGS,
    TAGS_WRITE,
    UNKNOWN_INT,
    UNKNOWN_PAGE,
    USERS_URL,
    assert_ok,
    assert_problem,
    create_revision,
    create_tag,
    insert_link,
    insert_user,
    links,
    new_page,
    published_url,
    revision_numbers,
    revision_url,
    revisions_url,
    sql_rows,
    tag_item_url,
    tag_names,
    tag_url,
    user_url,
)

REVISION_BODY = {"revision": 1, "effectiveOn": "2026-01-31"}

# Every route of the new resources, a body valid for it, and the scope it needs.
ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", TAGS, None, "tags:read"),
    ("GET", tag_url(UNKNOWN_INT), None, "tags:read"),
    ("POST", TAGS, {"name": "news"}, "tags:write"),
    ("PUT", tag_url(UNKNOWN_INT), {"name": "news"}, "tags:write"),
    ("PATCH", tag_url(UNKNOWN_INT), {"name": "news"}, "tags:write"),
    ("DELETE", tag_url(UNKNOWN_INT), None, "tags:write"),
    ("GET", USERS_URL, None, "users:read"),
    ("GET", user_url(UNKNOWN_INT), None, "users:read"),
    ("GET", PUBLISHED, None, "published-pages:read"),
    ("GET", published_url(UNKNOWN_PAGE), None, "published-pages:read"),
    ("GET", revisions_url(UNKNOWN_PAGE), None, "pages:read"),
    ("GET", revision_url(UNKNOWN_PAGE, 1), None, "pages:read"),
    ("POST", revisions_url(UNKNOWN_PAGE), REVISION_BODY, "pages:write"),
    ("PUT", revision_url(UNKNOWN_PAGE, 1), {"effectiveOn": "2026-01-31"}, "pages:write"),
    ("PATCH", revision_url(UNKNOWN_PAGE, 1), {"price": "1"}, "pages:write"),
    ("DELETE", revision_url(UNKNOWN_PAGE, 1), None, "pages:write"),
    ("PUT", tag_item_url(UNKNOWN_PAGE, UNKNOWN_INT), None, "pages:write"),
    ("DELETE", tag_item_url(UNKNOWN_PAGE, UNKNOWN_INT), None, "pages:write"),
]
ROUTE_IDS = [f"{method} {url}" for method, url, _, _ in ROUTES]


def all_but(needed: str) -> dict[str, str]:
    """A token with every scope except `needed` and any scope that would imply it."""
    resource = needed.split(":", 1)[0]
    excluded = {needed, f"{resource}:write"}
    return bearer(*(scope for scope in SCOPES if scope not in excluded))


@pytest.mark.parametrize(("method", "url", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_without_a_token_returns_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, method: str, url: str, body: Any, needed: str
) -> None:
    response = await client.request(method, url, json=body)

    assert_problem(response, 401, code="unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(("method", "url", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_with_an_expired_token_returns_401_invalid_token(
    client: httpx.AsyncClient, method: str, url: str, body: Any, needed: str
) -> None:
    expired = bearer(*SCOPES, expires_in=-60)

    response = await client.request(method, url, json=body, headers=expired)

    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(("method", "url", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_without_its_scope_returns_403_before_any_lookup(
    client: httpx.AsyncClient, method: str, url: str, body: Any, needed: str
) -> None:
    # The ids do not exist: a route that looked before checking the scope would say 404.
    response = await client.request(method, url, json=body, headers=all_but(needed))

    problem = assert_problem(response, 403, code="forbidden")
    assert needed in problem["detail"]


@pytest.mark.parametrize(("method", "url", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_accepts_a_token_with_only_its_scope(
    client: httpx.AsyncClient, method: str, url: str, body: Any, needed: str
) -> None:
    response = await client.request(method, url, json=body, headers=bearer(needed))

    # The ids do not exist, so past the scope check an item route answers 404 not_found.
    assert response.status_code in {200, 201, 404}, response.text
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"


# ------------------------------------------------------------------------------ nothing written


async def test_writes_without_the_write_scope_change_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client, title="Target")
    tag = await create_tag(client, "news")
    other = await create_tag(client, "sport")
    await insert_link(engine, page["id"], tag["id"])
    await create_revision(client, page["id"], 1, price="5")
    before = (
        await tag_names(engine),
        await links(engine),
        await sql_rows(engine, "SELECT revision, price FROM page_revisions"),
    )
    tags_reader = all_but("tags:write")
    pages_reader = all_but("pages:write")
    attempts = [
        ("POST", TAGS, {"name": "new"}, tags_reader),
        ("PUT", tag_url(tag["id"]), {"name": "renamed"}, tags_reader),
        ("PATCH", tag_url(tag["id"]), {"name": "renamed"}, tags_reader),
        ("DELETE", tag_url(tag["id"]), None, tags_reader),
        ("POST", revisions_url(page["id"]), {**REVISION_BODY, "revision": 2}, pages_reader),
        ("PUT", revision_url(page["id"], 1), {"effectiveOn": "2026-02-02"}, pages_reader),
        ("PATCH", revision_url(page["id"], 1), {"price": "9"}, pages_reader),
        ("DELETE", revision_url(page["id"], 1), None, pages_reader),
        ("PUT", tag_item_url(page["id"], other["id"]), None, pages_reader),
        ("DELETE", tag_item_url(page["id"], tag["id"]), None, pages_reader),
    ]

    for method, url, body, headers in attempts:
        response = await client.request(method, url, json=body, headers=headers)
        assert_problem(response, 403, code="forbidden")

    after = (
        await tag_names(engine),
        await links(engine),
        await sql_rows(engine, "SELECT revision, price FROM page_revisions"),
    )
    assert after == before
    assert await revision_numbers(engine, page["id"]) == [1]


# ------------------------------------------------------------------------------ implications


async def test_a_tags_write_token_may_read_tags(client: httpx.AsyncClient) -> None:
    tag = await create_tag(client, "news", headers=TAGS_WRITE)

    listed = assert_ok(await client.get(TAGS, headers=TAGS_WRITE))
    fetched = assert_ok(await client.get(tag_url(tag["id"]), headers=TAGS_WRITE))

    assert listed["data"] == [tag]
    assert fetched == tag


async def test_a_pages_write_token_may_read_revisions(client: httpx.AsyncClient) -> None:
    page = await new_page(client)
    created = await create_revision(client, page["id"], 1)

    fetched = assert_ok(await client.get(revision_url(page["id"], 1), headers=PAGES_WRITE))

    assert fetched == created


async def test_a_users_write_token_may_read_users(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user_id = await insert_user(engine, "ada@example.com")

    response = await client.get(user_url(user_id), headers=bearer("users:write"))

    assert assert_ok(response)["id"] == user_id


@pytest.mark.parametrize(
    ("url", "headers", "needed"),
    [
        (TAGS, PAGES_READ, "tags:read"),
        (TAGS, PAGES_WRITE, "tags:read"),
        (USERS_URL, TAGS_WRITE, "users:read"),
        (PUBLISHED, PAGES_WRITE, "published-pages:read"),
        (PAGES, PUBLISHED_READ, "pages:read"),
        (PAGES, TAGS_WRITE, "pages:read"),
    ],
    ids=[
        "pages:read reads tags",
        "pages:write reads tags",
        "tags:write reads users",
        "pages:write reads the view",
        "published-pages:read reads pages",
        "tags:write reads pages",
    ],
)
async def test_one_resources_scope_does_not_open_another(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], needed: str
) -> None:
    response = await client.get(url, headers=headers)

    problem = assert_problem(response, 403, code="forbidden")
    assert needed in problem["detail"]


async def test_a_tags_write_token_cannot_link_tags_to_pages(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    tag = await create_tag(client, "news")

    response = await client.put(tag_item_url(page["id"], tag["id"]), headers=TAGS_WRITE)

    assert_problem(response, 403, code="forbidden")
    assert await links(engine) == []
    assert (await client.get(page_url(page["id"]), headers=PAGES_READ)).status_code == 200
