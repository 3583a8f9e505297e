"""PostgreSQL reuses the plan of a list statement instead of planning every request anew.

The list's LIMIT is written into its SQL (and OFFSET only when there is one): with both bound,
PostgreSQL costs the prepared statement's generic plan for a tenth of the table and plans each
execution again (its "custom" plan), which was most of its CPU for a list with a joined
`include`. Seen from the server: `pg_prepared_statements` counts both kinds of plan per
statement of the app's own connection.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core.db import Database
from app.main import create_app
from tests.conftest import app_client, make_settings, running
from tests.machinery.fixture.resources import LINKS, RESOURCES, SCOPES
from tests.support import bearer

# Posts of the machinery fixture, `include=author` joining their account.
POSTS = "/api/v1/posts/"
ALL = bearer(*SCOPES)


async def create_posts(client: httpx.AsyncClient, *titles: str) -> None:
    """POST an account, then a post by it for each title (the session database is shared)."""
    account = await client.post(
        "/api/v1/accounts/", json={"email": f"{uuid.uuid4().hex}@plans.test"}, headers=ALL
    )
    assert account.status_code == 201, account.text
    for title in titles:
        post = {"title": title, "authorId": account.json()["id"]}
        assert (await client.post(POSTS, json=post, headers=ALL)).status_code == 201


@pytest.fixture
async def one_connection_app(postgres_url: str) -> AsyncIterator[FastAPI]:
    settings = make_settings(DATABASE_URL=f"{postgres_url}?connection_limit=1", DB_MAX_OVERFLOW=0)
    async with running(create_app(settings, resources=RESOURCES, links=LINKS)) as application:
        yield application


async def _plans(application: FastAPI) -> dict[str, tuple[int, int]]:
    """(generic, custom) plan counts per SQL text of the one connection's prepared statements."""
    database: Database = application.state.db
    await database.make_room()  # the read path's warm connection, back to the pool
    async with application.state.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        )
        return {row.statement: (row.generic_plans, row.custom_plans) for row in rows}


def _list_plans(plans: dict[str, tuple[int, int]], *, joined: bool) -> tuple[str, int, int]:
    (found,) = [
        (sql, generic, custom)
        for sql, (generic, custom) in plans.items()
        if "FROM mx_post" in sql and "ORDER BY" in sql and ("include_author" in sql) is joined
    ]
    return found


@pytest.mark.parametrize("include", [None, "author"])
async def test_a_list_statement_keeps_its_plan_after_five_requests(
    one_connection_app: FastAPI, include: str | None
) -> None:
    async with await app_client(one_connection_app) as client:
        await create_posts(client, *(f"Planned {n}" for n in range(3)))
        params = {"limit": "2", **({"include": include} if include else {})}
        for _ in range(12):
            response = await client.get(POSTS, params=params, headers=ALL)
            assert response.status_code == 200
            assert len(response.json()["data"]) == 2
    sql, generic, custom = _list_plans(await _plans(one_connection_app), joined=bool(include))
    assert "LIMIT 3" in sql
    assert "OFFSET" not in sql
    # At most the first five executions are planned for their values; then one plan is reused
    # (with bound LIMIT and OFFSET all twelve were planned anew: custom == 12).
    assert generic >= 7, (generic, custom, sql)
    assert generic + custom == 12


async def test_an_offset_is_bound_and_the_same_limit_shares_one_statement(
    one_connection_app: FastAPI,
) -> None:
    async with await app_client(one_connection_app) as client:
        await create_posts(client, *(f"Offset {n}" for n in range(4)))
        for offset in ("1", "2", "3", "1"):
            response = await client.get(POSTS, params={"limit": "1", "offset": offset}, headers=ALL)
            assert response.status_code == 200
            assert len(response.json()["data"]) == 1
        first = await client.get(POSTS, params={"limit": "1"}, headers=ALL)
        second = await client.get(POSTS, params={"limit": "1", "offset": "1"}, headers=ALL)
    assert first.json()["data"][0]["id"] != second.json()["data"][0]["id"]
    statements = [
        sql
        for sql in await _plans(one_connection_app)
        if "FROM mx_post" in sql and "ORDER BY" in sql
    ]
    # One statement with a bound OFFSET for every offset, one without for none.
    assert sorted("OFFSET $" in sql for sql in statements) == [False, True], statements
    assert all("LIMIT 2" in sql for sql in statements), statements
