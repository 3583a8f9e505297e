"""Helpers of the machinery tests: the token, URLs and SQL of the fixture app."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.machinery.fixture.resources import SCOPES
from tests.support import bearer

API = "/api/v1"
ALL = bearer(*SCOPES)
PROBLEM = "application/problem+json"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return response.json()


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> list[dict[str, Any]]:
    """Run SQL on the fixture database; the rows it returns, if any, as dicts."""
    async with engine.begin() as connection:
        result = await connection.execute(text(statement), params)
        return [dict(row) for row in result.mappings()] if result.returns_rows else []


async def new_account(client: httpx.AsyncClient, email: str, **fields: Any) -> dict[str, Any]:
    return ok(
        await client.post(f"{API}/accounts/", json={"email": email, **fields}, headers=ALL), 201
    )


async def new_post(
    client: httpx.AsyncClient, author_id: str, title: str = "t", **fields: Any
) -> dict[str, Any]:
    body = {"title": title, "authorId": author_id, **fields}
    return ok(await client.post(f"{API}/posts/", json=body, headers=ALL), 201)
