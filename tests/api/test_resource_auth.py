"""Scopes per resource: `<segment>:read` / `<segment>:write`, write implying read, 401/403."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.resource import Resource, equals
from tests.api.resource_support import (
    UNKNOWN_ACCOUNT,
    UNKNOWN_LABEL,
    UNKNOWN_POST,
    article_rows,
    assert_problem,
    comment_rows,
    comment_url,
    comments_url,
    fixture_app_with,
    insert_articles,
    label_item_url,
    label_names,
    link,
    links,
    new_comment,
    new_label,
    url,
)
from tests.conftest import running
from tests.machinery.fixture.models import Article
from tests.machinery.fixture.resources import SCOPES as FIXTURE_SCOPES
from tests.machinery.support import new_account, new_post, ok, sql
from tests.support import bearer

# A read-only resource (no `writable`: GET only), as a view is served: the fixture's articles
# at /archive/, in place of their writable declaration (an app serves one resource per model).
ARCHIVE = Resource(
    model=Article,
    segment="archive",
    orderings=("publishedAt", "title"),
    default_order="-publishedAt",
    filters={"authorId": equals()},
    includes=("author",),
)
SCOPES = (*FIXTURE_SCOPES, "archive:read", "archive:write")
LABELS_READ = bearer("labels:read")
LABELS_WRITE = bearer("labels:write")
POSTS_READ = bearer("posts:read")
POSTS_WRITE = bearer("posts:write")
ARCHIVE_READ = bearer("archive:read")
UNKNOWN_ARTICLE = "cnotthere000000000000000000"
COMMENT_BODY = {"id": 1, "body": "A comment"}


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The fixture app, its articles served read-only at /archive/."""
    async with running(fixture_app_with(settings, ARCHIVE)) as application:
        yield application


# Routes of every kind, a body valid for each, and the scope it needs: top-level (labels), a
# read-only resource (archive), a nested one (comments: the posts' scope), a many-to-many link
# (the owner's scope), a three-field key (rate limits).
ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("GET", url("labels"), None, "labels:read"),
    ("GET", url("labels", UNKNOWN_LABEL), None, "labels:read"),
    ("POST", url("labels"), {"name": "news"}, "labels:write"),
    ("PUT", url("labels", UNKNOWN_LABEL), {"name": "news"}, "labels:write"),
    ("PATCH", url("labels", UNKNOWN_LABEL), {"name": "news"}, "labels:write"),
    ("DELETE", url("labels", UNKNOWN_LABEL), None, "labels:write"),
    ("GET", url("accounts"), None, "accounts:read"),
    ("GET", url("accounts", UNKNOWN_ACCOUNT), None, "accounts:read"),
    ("GET", url("archive"), None, "archive:read"),
    ("GET", url("archive", UNKNOWN_ARTICLE), None, "archive:read"),
    ("GET", comments_url(UNKNOWN_POST), None, "posts:read"),
    ("GET", comment_url(UNKNOWN_POST, 1), None, "posts:read"),
    ("POST", comments_url(UNKNOWN_POST), COMMENT_BODY, "posts:write"),
    ("PUT", comment_url(UNKNOWN_POST, 1), {"body": "A comment"}, "posts:write"),
    ("PATCH", comment_url(UNKNOWN_POST, 1), {"body": "A comment"}, "posts:write"),
    ("DELETE", comment_url(UNKNOWN_POST, 1), None, "posts:write"),
    ("PUT", label_item_url(UNKNOWN_POST, UNKNOWN_LABEL), None, "posts:write"),
    ("DELETE", label_item_url(UNKNOWN_POST, UNKNOWN_LABEL), None, "posts:write"),
    ("GET", url("rate-limits", "k", "a", 1), None, "rate-limits:read"),
    ("DELETE", url("rate-limits", "k", "a", 1), None, "rate-limits:write"),
]
ROUTE_IDS = [f"{method} {target}" for method, target, _, _ in ROUTES]


def all_but(needed: str) -> dict[str, str]:
    """A token with every scope except `needed` and any scope that would imply it."""
    resource = needed.split(":", 1)[0]
    excluded = {needed, f"{resource}:write"}
    return bearer(*(scope for scope in SCOPES if scope not in excluded))


@pytest.mark.parametrize(("method", "target", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_without_a_token_returns_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, method: str, target: str, body: Any, needed: str
) -> None:
    response = await client.request(method, target, json=body)

    assert_problem(response, 401, code="unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(("method", "target", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_with_an_expired_token_returns_401_invalid_token(
    client: httpx.AsyncClient, method: str, target: str, body: Any, needed: str
) -> None:
    expired = bearer(*SCOPES, expires_in=-60)

    response = await client.request(method, target, json=body, headers=expired)

    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize(("method", "target", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_without_its_scope_returns_403_before_any_lookup(
    client: httpx.AsyncClient, method: str, target: str, body: Any, needed: str
) -> None:
    # The keys do not exist: a route that looked before checking the scope would say 404.
    response = await client.request(method, target, json=body, headers=all_but(needed))

    problem = assert_problem(response, 403, code="forbidden")
    assert needed in problem["detail"]


@pytest.mark.parametrize(("method", "target", "body", "needed"), ROUTES, ids=ROUTE_IDS)
async def test_every_resource_route_accepts_a_token_with_only_its_scope(
    client: httpx.AsyncClient, method: str, target: str, body: Any, needed: str
) -> None:
    response = await client.request(method, target, json=body, headers=bearer(needed))

    # The keys do not exist, so past the scope check an item route answers 404 not_found.
    assert response.status_code in {200, 201, 404}, response.text
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"


# ------------------------------------------------------------------------------ nothing written


async def test_writes_without_the_write_scope_change_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author = await new_account(client, "ada@example.com", name="Ada")
    post = await new_post(client, author["id"])
    label = await new_label(client, "news")
    other = await new_label(client, "sport")
    await link(client, post["id"], label["id"])
    await new_comment(client, post["id"], 1, "first")
    accounts = "SELECT id, email, name FROM mx_account ORDER BY id"
    before = (
        await label_names(engine),
        await links(engine),
        await comment_rows(engine),
        await sql(engine, accounts),
    )
    labels_reader = all_but("labels:write")
    posts_reader = all_but("posts:write")
    accounts_reader = all_but("accounts:write")
    attempts = [
        ("POST", url("labels"), {"name": "new"}, labels_reader),
        ("PUT", url("labels", label["id"]), {"name": "renamed"}, labels_reader),
        ("PATCH", url("labels", label["id"]), {"name": "renamed"}, labels_reader),
        ("DELETE", url("labels", label["id"]), None, labels_reader),
        ("POST", comments_url(post["id"]), {"id": 2, "body": "second"}, posts_reader),
        ("PUT", comment_url(post["id"], 1), {"body": "changed"}, posts_reader),
        ("PATCH", comment_url(post["id"], 1), {"body": "changed"}, posts_reader),
        ("DELETE", comment_url(post["id"], 1), None, posts_reader),
        ("PUT", label_item_url(post["id"], other["id"]), None, posts_reader),
        ("DELETE", label_item_url(post["id"], label["id"]), None, posts_reader),
        ("POST", url("accounts"), {"email": "bob@example.com"}, accounts_reader),
        ("PATCH", url("accounts", author["id"]), {"name": "Eve"}, accounts_reader),
        ("DELETE", url("accounts", author["id"]), None, accounts_reader),
    ]

    for method, target, body, headers in attempts:
        response = await client.request(method, target, json=body, headers=headers)
        assert_problem(response, 403, code="forbidden")

    after = (
        await label_names(engine),
        await links(engine),
        await comment_rows(engine),
        await sql(engine, accounts),
    )
    assert after == before
    assert len(after[1]) == 1
    assert [row[0] for row in after[2]] == [1]


# ------------------------------------------------------------------------------ implications


async def test_a_labels_write_token_may_read_labels(client: httpx.AsyncClient) -> None:
    label = await new_label(client, "news", headers=LABELS_WRITE)

    listed = ok(await client.get(url("labels"), headers=LABELS_WRITE))
    fetched = ok(await client.get(url("labels", label["id"]), headers=LABELS_WRITE))

    assert listed["data"] == [label]
    assert fetched == label


async def test_a_posts_write_token_may_read_comments(client: httpx.AsyncClient) -> None:
    author = await new_account(client, "ada@example.com")
    post = await new_post(client, author["id"])
    created = await new_comment(client, post["id"], 1)

    fetched = ok(await client.get(comment_url(post["id"], 1), headers=POSTS_WRITE))
    listed = ok(await client.get(comments_url(post["id"]), headers=POSTS_WRITE))

    assert fetched == created
    assert listed["data"] == [created]


async def test_a_write_token_may_read_a_read_only_resource(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # The archive has no write routes, yet `archive:write` implies `archive:read`.
    author = await new_account(client, "ada@example.com")
    [row] = article_rows(author["id"], 1, prefix="story")
    await insert_articles(engine, [row])
    writer = bearer("archive:write")

    fetched = ok(await client.get(url("archive", row["id"]), headers=writer))
    listed = ok(await client.get(url("archive"), headers=writer))

    assert fetched == ok(await client.get(url("archive", row["id"]), headers=ARCHIVE_READ))
    assert fetched["title"] == "story 0"
    assert listed["data"] == [fetched]


@pytest.mark.parametrize(
    ("target", "headers", "needed"),
    [
        (url("labels"), POSTS_READ, "labels:read"),
        (url("labels"), POSTS_WRITE, "labels:read"),
        (url("accounts"), LABELS_WRITE, "accounts:read"),
        (url("archive"), POSTS_WRITE, "archive:read"),
        (url("archive"), bearer("articles:read", "articles:write"), "archive:read"),
        (url("posts"), ARCHIVE_READ, "posts:read"),
        (url("posts"), LABELS_WRITE, "posts:read"),
    ],
    ids=[
        "posts:read reads labels",
        "posts:write reads labels",
        "labels:write reads accounts",
        "posts:write reads the archive",
        "the articles' scopes read the archive of articles",
        "archive:read reads posts",
        "labels:write reads posts",
    ],
)
async def test_one_resources_scope_does_not_open_another(
    client: httpx.AsyncClient, target: str, headers: dict[str, str], needed: str
) -> None:
    response = await client.get(target, headers=headers)

    problem = assert_problem(response, 403, code="forbidden")
    assert needed in problem["detail"]


async def test_a_labels_write_token_cannot_link_labels_to_posts(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author = await new_account(client, "ada@example.com")
    post = await new_post(client, author["id"])
    label = await new_label(client, "news")

    response = await client.put(label_item_url(post["id"], label["id"]), headers=LABELS_WRITE)

    assert_problem(response, 403, code="forbidden")
    assert await links(engine) == []
    assert (await client.get(url("posts", post["id"]), headers=POSTS_READ)).status_code == 200
