"""Helpers of the resource API tests on the machinery fixture: the app with a declaration
swapped in, URLs, factories, SQL readers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.main import create_app
from app.prisma_defaults import cuid
from app.resource import Resource, register
from tests.machinery.fixture.models import metadata, t_label_to_post
from tests.machinery.fixture.resources import LINKS, RESOURCES
from tests.machinery.support import ALL, API, ok, sql
from tests.support import PROBLEM

BASE_TIME = datetime(2026, 11, 1, 12, 0, 0, 123000)

ACCOUNT_KEYS = {"id", "email", "name", "createdAt", "updatedAt"}
POST_KEYS = {"id", "title", "authorId", "reviewerId", "parentId", "createdAt"}
LABEL_KEYS = {"id", "name"}
COMMENT_KEYS = {"id", "postId", "body"}
PROFILE_KEYS = {"id", "accountId", "bio"}
ARTICLE_KEYS = {
    "id",
    "title",
    "slug",
    "summary",
    "body",
    "published",
    "status",
    "views",
    "tags",
    "metadata",
    "price",
    "publishedAt",
    "authorId",
    "createdAt",
    "updatedAt",
}

UNKNOWN_ACCOUNT = "cnotthere000000000000000000"
UNKNOWN_POST = 999_999_999
UNKNOWN_LABEL = "00000000-0000-4000-8000-000000000000"


def fixture_app_with(settings: Settings, *declarations: Resource) -> FastAPI:
    """The fixture app with `declarations` in place of the fixture's resources of the same
    models. One resource per model in an app: its routes are named after the model."""
    models = {declaration.model for declaration in declarations}
    kept = [resource for resource in RESOURCES if resource.model not in models]
    return create_app(settings, resources=(*kept, *register(*declarations)), links=LINKS)


# ------------------------------------------------------------------------------ URLs


def url(segment: str, *key: Any) -> str:
    """A top-level resource's list (`/api/v1/labels/`) or, with its key, one item."""
    path = f"{API}/{segment}/"
    return path + "/".join(str(part) for part in key) if key else path


def comments_url(post_id: Any) -> str:
    return f"{url('posts', post_id)}/comments/"


def comment_url(post_id: Any, comment_id: int) -> str:
    return f"{comments_url(post_id)}{comment_id}"


def label_item_url(post_id: Any, label_id: str) -> str:
    return f"{url('posts', post_id)}/label-items/{label_id}"


# ------------------------------------------------------------------------------ responses


def assert_problem(
    response: httpx.Response, status: int, *, field: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """An RFC 9457 answer with this status (its `code`, an error naming `field`, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert field in [error["field"] for error in body.get("errors") or []], body
    return body


# ------------------------------------------------------------------------------ factories


async def new_label(
    client: httpx.AsyncClient, name: str, *, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await client.post(url("labels"), json={"name": name}, headers=headers or ALL)
    return ok(response, 201)


async def new_comment(
    client: httpx.AsyncClient, post_id: Any, comment_id: int, body: str = "A comment"
) -> dict[str, Any]:
    response = await client.post(
        comments_url(post_id), json={"id": comment_id, "body": body}, headers=ALL
    )
    return ok(response, 201)


async def new_article(client: httpx.AsyncClient, title: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(url("articles"), json={"title": title, **fields}, headers=ALL)
    return ok(response, 201)


async def link(client: httpx.AsyncClient, post_id: Any, label_id: str) -> None:
    """Connect a label to a post (Prisma's `connect` on the implicit many-to-many)."""
    response = await client.put(label_item_url(post_id, label_id), headers=ALL)
    assert response.status_code == 204, response.text


def article_rows(author_id: str, count: int, *, prefix: str) -> list[dict[str, Any]]:
    """`count` articles of one author, creation times with ties (so the id breaks them)."""
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


async def insert_articles(engine: AsyncEngine, rows: list[dict[str, Any]]) -> None:
    """Many `mx_article` rows in one statement (explicit ids and timestamps)."""
    async with engine.begin() as connection:
        await connection.execute(insert(metadata.tables["mx_article"]), rows)


async def insert_linked_posts(
    engine: AsyncEngine, author_id: str, label_id: str, count: int
) -> list[str]:
    """`count` posts of one author, each connected to the label; their ids."""
    posts = metadata.tables["mx_post"]
    rows = [{"title": f"Post {n}", "authorId": author_id} for n in range(count)]
    async with engine.begin() as connection:
        result = await connection.execute(insert(posts).returning(posts.c.id), rows)
        ids = [str(post_id) for post_id in result.scalars()]
        label = uuid.UUID(label_id)
        await connection.execute(
            insert(t_label_to_post), [{"A": label, "B": int(post_id)} for post_id in ids]
        )
    return ids


# ------------------------------------------------------------------------------ SQL readers


async def label_names(engine: AsyncEngine) -> list[str]:
    rows = await sql(engine, "SELECT name FROM mx_label ORDER BY name")
    return [row["name"] for row in rows]


async def links(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Every `_LabelToPost` row as (label, post)."""
    rows = await sql(engine, 'SELECT "A", "B" FROM "_LabelToPost"')
    return sorted((str(row["A"]), str(row["B"])) for row in rows)


async def comment_rows(engine: AsyncEngine) -> list[tuple[int, int, str]]:
    rows = await sql(engine, 'SELECT id, "postId", body FROM mx_comment')
    return sorted((row["id"], row["postId"], row["body"]) for row in rows)
