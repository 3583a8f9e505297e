"""`include=` on reads, as Prisma's `include`: relation shapes, order, bounds, scopes, ETags.

On the machinery fixture; tests/machinery/test_resource_relations.py has every relation shape
(one-to-one both sides, named, self, many-to-many, no foreign key) and the Prisma names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from tests.api.resource_support import (
    ACCOUNT_KEYS,
    ARTICLE_KEYS,
    COMMENT_KEYS,
    LABEL_KEYS,
    POST_KEYS,
    PROFILE_KEYS,
    article_rows,
    assert_problem,
    comment_url,
    comments_url,
    fixture_app_with,
    insert_articles,
    insert_linked_posts,
    link,
    new_article,
    new_comment,
    new_label,
    url,
)
from tests.conftest import running
from tests.machinery.fixture.resources import ACCOUNTS
from tests.machinery.support import ALL, new_account, new_post, ok
from tests.support import bearer

INCLUDE_LIMIT = 100
# The fixture's accounts do not include their articles, the one relation whose target has a
# default order of its own (articles: `-createdAt`).
ACCOUNTS_WITH_ARTICLES = replace(ACCOUNTS, includes=(*ACCOUNTS.includes, "articles"))


@pytest.fixture(scope="module")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The fixture app, its accounts declared with `articles` to include."""
    async with running(fixture_app_with(settings, ACCOUNTS_WITH_ARTICLES)) as application:
        yield application


async def fetch(client: httpx.AsyncClient, target: str, **params: Any) -> Any:
    return ok(await client.get(target, params=params, headers=ALL))


async def authored_post(client: httpx.AsyncClient) -> dict[str, Any]:
    """A post with an author, a reviewer, two labels (connected out of id order) and two
    comments (created out of id order)."""
    author = await new_account(client, "ada@example.com", name="Ada")
    reviewer = await new_account(client, "rex@example.com")
    post = await new_post(client, author["id"], "Rich", reviewerId=reviewer["id"])
    labels = [await new_label(client, "first"), await new_label(client, "second")]
    for label in sorted(labels, key=lambda label: label["id"], reverse=True):
        await link(client, post["id"], label["id"])
    for number in (2, 1):
        await new_comment(client, post["id"], number)
    return post


def newest_first(rows: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(rows, key=lambda row: (row["createdAt"], row["id"]), reverse=True)
    return [row["id"] for row in ordered]


def by_id(ids: list[str]) -> list[str]:
    """Post ids (BigInt, sent as strings) in the posts' default order."""
    return sorted(ids, key=int)


async def targets(client: httpx.AsyncClient) -> dict[str, str]:
    """URLs by name (`post`, `posts`, `account`, …) of the data `authored_post` makes, with an
    article and a profile of its author."""
    post = await authored_post(client)
    author = post["authorId"]
    article = await new_article(client, "Story", authorId=author)
    profile = ok(
        await client.post(url("profiles"), json={"accountId": author, "bio": "b"}, headers=ALL),
        201,
    )
    label = (await fetch(client, url("labels")))["data"][0]
    return {
        "post": url("posts", post["id"]),
        "posts": url("posts"),
        "account": url("accounts", author),
        "accounts": url("accounts"),
        "label": url("labels", label["id"]),
        "labels": url("labels"),
        "comment": comment_url(post["id"], 1),
        "comments": comments_url(post["id"]),
        "article": url("articles", article["id"]),
        "articles": url("articles"),
        "profile": url("profiles", profile["id"]),
        "profiles": url("profiles"),
    }


# ------------------------------------------------------------------------------ posts


async def test_get_post_with_author_and_labels_adds_both_relations(
    client: httpx.AsyncClient,
) -> None:
    post = await authored_post(client)

    body = await fetch(client, url("posts", post["id"]), include="author,labels")

    assert set(body) == POST_KEYS | {"author", "labels"}
    assert {key: body[key] for key in POST_KEYS} == post
    assert body["author"] == await fetch(client, url("accounts", post["authorId"]))
    assert set(body["author"]) == ACCOUNT_KEYS
    assert {label["name"] for label in body["labels"]} == {"first", "second"}
    assert all(set(label) == LABEL_KEYS for label in body["labels"])
    ids = [label["id"] for label in body["labels"]]
    assert ids == sorted(ids)


async def test_include_author_of_an_article_without_author_is_null(
    client: httpx.AsyncClient,
) -> None:
    author = await new_account(client, "ada@example.com")
    orphan = await new_article(client, "Orphan")
    signed = await new_article(client, "Signed", authorId=author["id"])

    one = await fetch(client, url("articles", orphan["id"]), include="author")
    listed = await fetch(client, url("articles"), include="author")

    assert one == {**orphan, "author": None}
    authors = {item["id"]: item["author"] for item in listed["data"]}
    assert authors == {orphan["id"]: None, signed["id"]: author}


async def test_include_comments_orders_them_by_their_id(client: httpx.AsyncClient) -> None:
    post = await authored_post(client)

    body = await fetch(client, url("posts", post["id"]), include="comments")

    assert [comment["id"] for comment in body["comments"]] == [1, 2]
    assert body["comments"][0] == await fetch(client, comment_url(post["id"], 1))
    assert all(set(comment) == COMMENT_KEYS for comment in body["comments"])


async def test_list_posts_with_include_adds_each_posts_own_relations(
    client: httpx.AsyncClient,
) -> None:
    rich = await authored_post(client)
    bob = await new_account(client, "bob@example.com")
    plain = await new_post(client, bob["id"], "Plain")

    body = await fetch(client, url("posts"), include="author,reviewer,labels,comments")

    posts = {item["id"]: item for item in body["data"]}
    assert set(posts) == {rich["id"], plain["id"]}
    assert posts[rich["id"]]["author"]["email"] == "ada@example.com"
    assert posts[rich["id"]]["reviewer"]["email"] == "rex@example.com"
    assert posts[plain["id"]]["author"] == bob
    assert posts[plain["id"]]["reviewer"] is None
    assert {label["name"] for label in posts[rich["id"]]["labels"]} == {"first", "second"}
    assert posts[plain["id"]]["labels"] == []
    assert [comment["id"] for comment in posts[rich["id"]]["comments"]] == [1, 2]
    assert posts[plain["id"]]["comments"] == []


async def test_a_relation_named_twice_is_included_once(client: httpx.AsyncClient) -> None:
    post = await authored_post(client)

    twice = await fetch(client, url("posts", post["id"]), include="author,labels,author")
    once = await fetch(client, url("posts", post["id"]), include="author,labels")

    assert twice == once


# ------------------------------------------------------------------------------ shapes, ETags


@pytest.mark.parametrize(
    ("target", "keys"),
    [
        ("post", POST_KEYS),
        ("label", LABEL_KEYS),
        ("account", ACCOUNT_KEYS),
        ("comment", COMMENT_KEYS),
        ("article", ARTICLE_KEYS),
        ("profile", PROFILE_KEYS),
    ],
)
async def test_without_include_shapes_have_no_relation_keys(
    client: httpx.AsyncClient, target: str, keys: set[str]
) -> None:
    urls = await targets(client)

    one = await fetch(client, urls[target])
    listed = await fetch(client, urls[f"{target}s"])

    assert set(one) == keys
    assert listed["data"]
    assert all(set(item) == keys for item in listed["data"])


async def test_etag_differs_with_include_and_if_none_match_works_for_each(
    client: httpx.AsyncClient,
) -> None:
    post = await authored_post(client)
    target = url("posts", post["id"])
    plain = await client.get(target, headers=ALL)
    rich = await client.get(target, params={"include": "author"}, headers=ALL)

    assert plain.headers["etag"] != rich.headers["etag"]
    cached = await client.get(
        target,
        params={"include": "author"},
        headers={**ALL, "If-None-Match": rich.headers["etag"]},
    )
    assert cached.status_code == 304
    crossed = await client.get(
        target,
        params={"include": "author"},
        headers={**ALL, "If-None-Match": plain.headers["etag"]},
    )
    assert crossed.status_code == 200
    assert crossed.json() == rich.json()


async def test_a_change_to_an_included_row_changes_the_etag_of_the_include_only(
    client: httpx.AsyncClient,
) -> None:
    post = await authored_post(client)
    target = url("posts", post["id"])
    plain = await client.get(target, headers=ALL)
    rich = await client.get(target, params={"include": "author"}, headers=ALL)

    renamed = await client.patch(
        url("accounts", post["authorId"]), json={"name": "Ada L."}, headers=ALL
    )
    assert renamed.status_code == 200, renamed.text

    still = await client.get(target, headers={**ALL, "If-None-Match": plain.headers["etag"]})
    assert still.status_code == 304
    stale = await client.get(
        target,
        params={"include": "author"},
        headers={**ALL, "If-None-Match": rich.headers["etag"]},
    )
    assert stale.status_code == 200
    assert stale.json()["author"]["name"] == "Ada L."
    assert stale.headers["etag"] != rich.headers["etag"]


# ------------------------------------------------------------------------------ order, bounds


async def test_get_account_with_articles_gives_them_in_the_articles_order_newest_first(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = (await new_account(client, "ada@example.com"))["id"]
    bob = (await new_account(client, "bob@example.com"))["id"]
    mine = article_rows(ada, 5, prefix="ada")
    await insert_articles(engine, mine + article_rows(bob, 2, prefix="bob"))

    body = await fetch(client, url("accounts", ada), include="articles")

    assert [article["id"] for article in body["articles"]] == newest_first(mine)
    assert all(set(article) == ARTICLE_KEYS for article in body["articles"])
    assert {key: body[key] for key in ACCOUNT_KEYS} == await fetch(client, url("accounts", ada))


async def test_account_articles_are_bounded_to_the_newest_100(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = (await new_account(client, "ada@example.com"))["id"]
    mine = article_rows(ada, INCLUDE_LIMIT + 5, prefix="ada")
    await insert_articles(engine, mine)

    body = await fetch(client, url("accounts", ada), include="articles")

    assert [article["id"] for article in body["articles"]] == newest_first(mine)[:INCLUDE_LIMIT]


async def test_list_accounts_with_articles_bounds_each_account_separately(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = (await new_account(client, "ada@example.com"))["id"]
    bob = (await new_account(client, "bob@example.com"))["id"]
    carol = (await new_account(client, "carol@example.com"))["id"]
    adas = article_rows(ada, INCLUDE_LIMIT + 1, prefix="ada")
    bobs = article_rows(bob, 3, prefix="bob")
    await insert_articles(engine, adas + bobs)

    body = await fetch(client, url("accounts"), include="articles")

    articles = {item["id"]: [a["id"] for a in item["articles"]] for item in body["data"]}
    assert articles == {
        ada: newest_first(adas)[:INCLUDE_LIMIT],
        bob: newest_first(bobs),
        carol: [],
    }


async def test_get_label_with_posts_gives_the_linked_posts(client: httpx.AsyncClient) -> None:
    author = await new_account(client, "ada@example.com")
    label = await new_label(client, "news")
    linked = await new_post(client, author["id"], "Linked")
    await new_post(client, author["id"], "Unlinked")
    await link(client, linked["id"], label["id"])

    body = await fetch(client, url("labels", label["id"]), include="posts")

    assert body == {**label, "posts": [linked]}


async def test_list_labels_with_posts_bounds_each_label_separately(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author = (await new_account(client, "ada@example.com"))["id"]
    busy = await new_label(client, "busy")
    quiet = await new_label(client, "quiet")
    unused = await new_label(client, "unused")
    busy_posts = await insert_linked_posts(engine, author, busy["id"], INCLUDE_LIMIT + 2)
    quiet_posts = await insert_linked_posts(engine, author, quiet["id"], 2)

    body = await fetch(client, url("labels"), include="posts")

    posts = {item["id"]: [post["id"] for post in item["posts"]] for item in body["data"]}
    assert posts == {
        busy["id"]: by_id(busy_posts)[:INCLUDE_LIMIT],
        quiet["id"]: by_id(quiet_posts),
        unused["id"]: [],
    }


# ------------------------------------------------------------------------------ bad includes


@pytest.mark.parametrize(
    ("target", "include"),
    [
        ("post", "articles"),
        ("post", "Author"),
        ("post", "author,articles"),
        ("posts", "tags"),
        ("account", "author"),
        ("label", "labels"),
        ("comments", "comments"),
        ("article", "posts"),
    ],
)
async def test_unknown_relation_in_include_returns_422_naming_query_include(
    client: httpx.AsyncClient, target: str, include: str
) -> None:
    target_url = (await targets(client))[target]

    response = await client.get(target_url, params={"include": include}, headers=ALL)

    assert_problem(response, 422, field="query.include")


# ------------------------------------------------------------------------------ scopes

INCLUDE_SCOPES = [
    ("post", "author", ("posts:read",), "accounts:read"),
    ("post", "labels", ("posts:read",), "labels:read"),
    ("posts", "author", ("posts:read",), "accounts:read"),
    ("posts", "labels", ("posts:read", "accounts:read"), "labels:read"),
    ("account", "posts", ("accounts:read",), "posts:read"),
    ("accounts", "posts", ("accounts:read", "labels:read"), "posts:read"),
    ("account", "profile", ("accounts:read",), "profiles:read"),
    ("account", "articles", ("accounts:read",), "articles:read"),
    ("profile", "account", ("profiles:read",), "accounts:read"),
    ("label", "posts", ("labels:read",), "posts:read"),
    ("article", "author", ("articles:read",), "accounts:read"),
    ("articles", "author", ("articles:read", "posts:read"), "accounts:read"),
]


@pytest.mark.parametrize("granted", [False, True], ids=["without it", "with it"])
@pytest.mark.parametrize(("target", "include", "held", "needed"), INCLUDE_SCOPES)
async def test_include_needs_the_read_scope_of_the_related_resource(
    client: httpx.AsyncClient,
    target: str,
    include: str,
    held: tuple[str, ...],
    needed: str,
    granted: bool,
) -> None:
    target_url = (await targets(client))[target]
    scopes = (*held, needed) if granted else held

    response = await client.get(target_url, params={"include": include}, headers=bearer(*scopes))

    if granted:
        assert response.status_code == 200, response.text
        assert include in response.json().get("data", [response.json()])[0]
    else:
        problem = assert_problem(response, 403, code="forbidden")
        assert needed in problem["detail"]


@pytest.mark.parametrize(
    ("target", "include"),
    [("post", "comments,replies,parent"), ("posts", "comments"), ("comment", "post")],
)
async def test_include_within_posts_needs_only_the_posts_read_scope(
    client: httpx.AsyncClient, target: str, include: str
) -> None:
    # Comments are nested under posts: their scope is the posts' one.
    target_url = (await targets(client))[target]

    response = await client.get(
        target_url, params={"include": include}, headers=bearer("posts:read")
    )

    assert response.status_code == 200, response.text
    body = response.json().get("data", [response.json()])[0]
    assert set(include.split(",")) <= set(body)


@pytest.mark.parametrize(
    ("target", "scope"), [("labels", "labels:read"), ("accounts", "accounts:read")]
)
async def test_include_scope_is_checked_on_lists_too(
    client: httpx.AsyncClient, target: str, scope: str
) -> None:
    # Even on an empty list: the scope is checked before any row is read.
    response = await client.get(url(target), params={"include": "posts"}, headers=bearer(scope))

    problem = assert_problem(response, 403, code="forbidden")
    assert "posts:read" in problem["detail"]


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
        ok(await client.get(url("posts"), params=params, headers=ALL))
    return len(statements)


@pytest.mark.parametrize("posts", [2, 9])
async def test_include_costs_one_query_per_relation_not_per_row(
    client: httpx.AsyncClient, engine: AsyncEngine, posts: int
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("statements are counted with SQLAlchemy events; PostgreSQL reads bypass them")
    author = await new_account(client, "ada@example.com")
    reviewer = await new_account(client, "rex@example.com")
    label = await new_label(client, "news")
    root = await new_post(client, author["id"], "Root")
    for index in range(posts):
        post = await new_post(
            client, author["id"], f"Post {index}", reviewerId=reviewer["id"], parentId=root["id"]
        )
        await link(client, post["id"], label["id"])
        await new_comment(client, post["id"], 1)

    plain = await statements_for(client, engine, {})
    rich = await statements_for(
        client, engine, {"include": "author,reviewer,parent,labels,comments,replies"}
    )

    assert plain >= 1
    # The to-one relations (author, reviewer, parent) are joined into the list's own
    # statement; labels, comments and replies take one query each, whatever the number of posts.
    assert rich - plain == 3
