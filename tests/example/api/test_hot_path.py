"""HotPath answers the two hot reads exactly as the FastAPI routes do.

Every request of a corpus (good and bad ids, ETags, tokens, every query parameter and its
bounds, cursors, odd paths) goes to the app as built (HotPath in front) and to the same app
without HotPath (the FastAPI routes), on the same database; status, headers, body and the
access log line must be the same. A second set of tests pins down which requests HotPath
serves itself and which it hands on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from app.api.hot import HotPath
from app.api.routes import MAX_ID_LENGTH
from app.core.config import Settings
from app.main import create_app
from app.resources import V1
from tests.conftest import LogCapture, app_client, capture_logs, http_scope, make_settings
from tests.example.api.conftest import without_hot_reads
from tests.example.api.pages_support import PAGES, READER, WRITER, bearer, create_page, page_url
from tests.example.scopes import READ_SCOPE, WRITE_SCOPE

ORIGIN = "https://app.example.com"


@asynccontextmanager
async def hot_and_routed(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of two apps built from `settings`: as built, and without HotPath."""
    hot_app, routed_app = create_app(settings), without_hot_reads(settings)
    async with (
        hot_app.router.lifespan_context(hot_app),
        routed_app.router.lifespan_context(routed_app),
        await app_client(hot_app) as hot,
        await app_client(routed_app) as slow,
    ):
        yield hot, slow


def _comparable(response: httpx.Response) -> dict[str, Any]:
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id"}}
    body: Any = response.content
    if response.headers.get("content-type", "").endswith("json") and body:
        body = json.loads(body)
        if isinstance(body, dict):
            body.pop("requestId", None)
            headers.pop("content-length", None)
    return {"status": response.status_code, "headers": headers, "body": body}


def _access_lines_since(logs: LogCapture, start: int) -> list[dict[str, Any]]:
    keep = ("method", "path", "status", "actor")
    return [
        {key: record.get(key) for key in keep}
        for record in logs.records[start:]
        if record.get("logger") == "app.core.middleware"
    ]


async def _same(
    client: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    logs: LogCapture,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    before = len(logs.records)
    hot = await client.request(method, url, headers=headers)
    hot_lines = _access_lines_since(logs, before)
    before = len(logs.records)
    slow = await routed.request(method, url, headers=headers)
    slow_lines = _access_lines_since(logs, before)
    assert _comparable(hot) == _comparable(slow), f"{method} {url} {headers}"
    assert hot_lines == slow_lines, f"{method} {url}"
    assert len(hot_lines) == 1, f"{method} {url}"
    return hot


async def test_by_id_answers_match_the_routes(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, logs: LogCapture
) -> None:
    page = await create_page(client, title="Hot", tags=["a", "b"], metadata={"k": [1, 2]})
    url = page_url(page["id"])
    first = await _same(client, routed, logs, "GET", url, READER)
    assert first.status_code == 200
    assert first.json()["title"] == "Hot"
    etag = first.headers["etag"]
    header_cases: list[dict[str, str] | None] = [
        None,
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": READER["Authorization"].replace("Bearer", "bearer")},
        bearer(READ_SCOPE, expires_in=-120),
        bearer("other:scope"),
        WRITER,
        {**READER, "If-None-Match": etag},
        {**READER, "If-None-Match": f"W/{etag}"},
        {**READER, "If-None-Match": "*"},
        {**READER, "If-None-Match": f'"nope", {etag}'},
        {**READER, "If-None-Match": '"nope"'},
        {**READER, "If-Match": '"nope"'},
        {**READER, "Origin": ORIGIN},
    ]
    for headers in header_cases:
        await _same(client, routed, logs, "GET", url, headers)
    for other in (
        page_url("c" + "0" * 24),
        page_url("bad!id"),
        page_url("x" * 128),
        page_url("x" * (MAX_ID_LENGTH + 1)),
        page_url("%C3%A9t%C3%A9"),
        page_url("a%2Fb"),
        page_url("a/b"),
        url + "?unknown=1&limit=abc",
        url + "/",
        PAGES.rstrip("/"),
    ):
        await _same(client, routed, logs, "GET", other, READER)
    for method in ("HEAD", "DELETE", "OPTIONS", "PUT"):
        await _same(client, routed, logs, method, page_url("c" + "0" * 24), {**READER})


async def test_list_answers_match_the_routes(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, logs: LogCapture
) -> None:
    for n in range(5):
        await create_page(client, title=f"Page {n}", tags=["x"] if n % 2 else [], views=n)
    first = await _same(client, routed, logs, "GET", PAGES + "?limit=2", READER)
    cursor = first.json()["nextCursor"]
    assert cursor
    assert len(first.json()["data"]) == 2
    queries = [
        "",
        "?limit=1",
        "?limit=100",
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?limit=",
        "?limit=1&limit=3",
        f"?limit=2&cursor={cursor}",
        f"?limit=2&cursor={cursor}&orderBy=title",
        f"?cursor={cursor[:-2]}xx",
        f"?cursor={cursor}&offset=1",
        "?offset=2&limit=2",
        "?offset=-1",
        "?orderBy=-views",
        "?orderBy=publishedAt",
        "?orderBy=nope",
        "?status=DRAFT&published=false",
        "?status=draft",
        "?tag=x&count=true",
        "?q=Page%201",
        "?q=%25_",
        "?authorId=0",
        "?slug=page-3",
        "?unknown=1",
        "?count=maybe",
    ]
    for query in queries:
        await _same(client, routed, logs, "GET", PAGES + query, READER)
    for headers in (None, bearer("other:scope"), {**READER, "Origin": ORIGIN}):
        await _same(client, routed, logs, "GET", PAGES, headers)


async def test_cors_headers_are_the_same_on_hot_reads(database_url: str) -> None:
    settings = make_settings(DATABASE_URL=database_url, BACKEND_CORS_ORIGINS=[ORIGIN])
    async with hot_and_routed(settings) as (hot, slow):
        page = await create_page(hot, title="Cors")
        with capture_logs() as logs:
            for url in (page_url(page["id"]), PAGES, page_url("missing")):
                headers = {**READER, "Origin": ORIGIN}
                response = await _same(hot, slow, logs, "GET", url, headers)
                assert response.headers["access-control-allow-origin"] == ORIGIN
                assert "ETag" in response.headers["access-control-expose-headers"]


class _Next:
    """The app behind HotPath in these tests: records what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _call(app: FastAPI, hot: HotPath, method: str, path: str, root_path: str = "") -> int:
    authorization = READER["Authorization"].encode()
    headers = [(b"authorization", authorization)]
    scope: Scope = http_scope(method, path, headers, root_path=root_path, app=app, state={})
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await hot(scope, receive, send)
    return sent[0]["status"]


async def test_hot_reads_serve_the_two_reads_and_hand_on_the_rest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    page = await create_page(client, title="Served")
    behind = _Next()
    hot = HotPath(behind, prefix="/api/v1", resources=V1)
    served = [
        ("GET", page_url(page["id"]), 200),
        ("GET", PAGES, 200),
        ("GET", page_url("c" + "0" * 24), 404),
        ("GET", page_url("bad!id"), 404),
        # Writes too (a reader's token is refused).
        ("DELETE", page_url(page["id"]), 403),
    ]
    for method, path, status in served:
        assert await _call(app, hot, method, path) == status, path
    assert await _call(app, hot, "GET", page_url(page["id"]), root_path="/svc") == 200
    assert behind.paths == []
    handed_on = [
        ("HEAD", page_url(page["id"])),
        # A body the model refuses (none here): FastAPI answers, with its own 422.
        ("POST", PAGES),
        ("PATCH", page_url(page["id"])),
        ("PUT", page_url(page["id"])),
        ("PATCH", PAGES),
        ("DELETE", PAGES),
        ("POST", page_url(page["id"])),
        ("POST", "/api/v1/published-pages/"),
        ("GET", PAGES.rstrip("/")),
        ("GET", page_url("a/b")),
        ("GET", page_url("x" * (MAX_ID_LENGTH + 1))),
        ("GET", "/api/v1/utils/health-check"),
        ("GET", "/api/v1/pagesx/"),
        ("GET", "/api/v1/tags/abc"),
        ("GET", f"{page_url(page['id'])}/revisions/"),
    ]
    for method, path in handed_on:
        assert await _call(app, hot, method, path) == 418, path
    assert behind.paths == [f"{method} {path}" for method, path in handed_on]


async def test_hot_reads_check_the_token_before_the_database(
    app: FastAPI, client: httpx.AsyncClient, logs: LogCapture
) -> None:
    response = await client.get(PAGES, headers=bearer(WRITE_SCOPE, subject="writer_7"))
    assert response.status_code == 200  # write implies read
    anonymous = await client.get(PAGES)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    actors = [r.get("actor") for r in logs.records if r.get("logger") == "app.core.middleware"]
    assert actors == ["writer_7", None]


def outage_settings() -> Settings:
    """A staging app whose database is unreachable (a closed port), with CORS on."""
    return make_settings(
        ENVIRONMENT="staging",
        DATABASE_URL="postgresql://app@127.0.0.1:1/unreachable?connect_timeout=1",
        BACKEND_CORS_ORIGINS=[ORIGIN],
    )


async def test_a_database_outage_answers_the_same_503_with_cors_headers() -> None:
    settings = outage_settings()
    async with hot_and_routed(settings) as (hot, slow):
        with capture_logs() as logs:
            for url in (PAGES, page_url("c" + "0" * 24)):
                headers = {**READER, "Origin": ORIGIN}
                response = await _same(hot, slow, logs, "GET", url, headers)
                assert response.status_code == 503
                assert response.headers["access-control-allow-origin"] == ORIGIN
                assert response.headers["retry-after"] == "1"
