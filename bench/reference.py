"""The floor app-api is measured against: Starlette + a raw asyncpg pool + orjson.

Serves the two reads of the service from the same database with the same JSON shape:
``GET /pages/{id}`` and ``GET /pages/`` (the first 20 by ``"createdAt" DESC, id DESC``, with a
``nextCursor``). No auth, no ORM, no validation, no logging: what is left is the cost of HTTP,
the driver and JSON. Run by bench/run.py as
``uvicorn bench.reference:app --workers 1 --no-access-log`` with ``REF_DATABASE_URL`` and
``REF_POOL_SIZE`` (the service's pool size) in the environment.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = (
    '"id", "title", "slug", "summary", "body", "published", "status", "tags", "views", '
    '"metadata", "createdAt", "updatedAt", "publishedAt", "authorId"'
)
BY_ID = f'SELECT {COLUMNS} FROM "Page" WHERE "id" = $1'
FIRST = f'SELECT {COLUMNS} FROM "Page" ORDER BY "createdAt" DESC, "id" DESC LIMIT $1'
LIMIT = 20
JSON = "application/json"

pool: asyncpg.Pool | None = None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds") + "Z"


def _page(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "slug": row["slug"],
        "summary": row["summary"],
        "body": row["body"],
        "published": row["published"],
        "status": row["status"],
        "tags": row["tags"] or [],
        "views": row["views"],
        "metadata": row["metadata"],
        "createdAt": _iso(row["createdAt"]),
        "updatedAt": _iso(row["updatedAt"]),
        "publishedAt": _iso(row["publishedAt"]),
        "authorId": row["authorId"],
    }


async def get_page(request: Request) -> Response:
    assert pool is not None
    row = await pool.fetchrow(BY_ID, request.path_params["id"])
    if row is None:
        return Response(b'{"status":404}', status_code=404, media_type=JSON)
    return Response(orjson.dumps(_page(row)), media_type=JSON)


async def list_pages(_request: Request) -> Response:
    assert pool is not None
    rows = await pool.fetch(FIRST, LIMIT + 1)
    next_cursor = None
    if len(rows) > LIMIT:
        rows = rows[:LIMIT]
        last = rows[-1]
        position = orjson.dumps(["-createdAt", last["createdAt"].isoformat(), last["id"]])
        next_cursor = base64.urlsafe_b64encode(position).rstrip(b"=").decode()
    payload = {"data": [_page(row) for row in rows], "nextCursor": next_cursor, "count": None}
    return Response(orjson.dumps(payload), media_type=JSON)


async def _init_connection(connection: asyncpg.Connection) -> None:
    # Decode jsonb into Python values, as the service's driver setup does.
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global pool
    size = int(os.environ.get("REF_POOL_SIZE", "10"))
    pool = await asyncpg.create_pool(
        os.environ["REF_DATABASE_URL"], min_size=size, max_size=size, init=_init_connection
    )
    try:
        yield
    finally:
        await pool.close()


app = Starlette(
    routes=[Route("/pages/", list_pages), Route("/pages/{id}", get_page)], lifespan=lifespan
)
