"""HotPath answers the two hot reads exactly as the FastAPI routes do, for every key shape.

Every request of a corpus (good and bad keys, ETags, tokens, every query parameter and its
bounds, cursors, odd paths) goes to the fixture app as built (HotPath in front) and to the same
app without HotPath (the FastAPI routes), on the same database; status, headers, body and the
access log line must be the same. The corpus runs on the fixture's articles (filters,
orderings, a default order, include) and on one resource of each other key shape: a BigInt
(posts), three fields (rate limits), a DateTime (snapshots), an `@@unique` (settings), a UUID
(labels), hidden fields (accounts). A second set of tests pins down which requests HotPath
serves itself and which it hands on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from app.api.hot import HotPath
from app.api.routes import MAX_ID_LENGTH
from app.core.config import Settings
from tests.api.hot_path_support import (
    ACCOUNTS,
    ARTICLES,
    LABELS,
    ORIGIN,
    PAIRS_URL,
    POSTS,
    RATE_LIMITS,
    READER,
    SETTINGS,
    SNAPSHOTS,
    UNKNOWN_CUID,
    UNKNOWN_UUID,
    WITH_READ_ONLY_PAIRS,
    WRITER,
    access_lines_since,
    article_url,
    comparable,
    hot_and_routed,
    outage_settings,
    without_hot_path,
)
from tests.conftest import LogCapture, app_client, capture_logs, http_scope, make_settings, running
from tests.machinery.support import ALL, API, new_account, new_post, ok
from tests.support import bearer


@pytest.fixture(scope="module")
async def routed_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The fixture app without HotPath, on the same database."""
    async with running(without_hot_path(settings)) as application:
        yield application


@pytest.fixture
async def routed(routed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await app_client(routed_app) as client:
        yield client


async def create_article(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """POST an article (title defaults to "An article") and return its JSON."""
    fields.setdefault("title", "An article")
    return ok(await client.post(ARTICLES, json=fields, headers=WRITER), 201)


async def same(
    client: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    logs: LogCapture,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request to both apps: the same answer and the same (single) access line."""
    before = len(logs.records)
    hot = await client.request(method, url, headers=headers)
    hot_lines = access_lines_since(logs, before)
    before = len(logs.records)
    slow = await routed.request(method, url, headers=headers)
    slow_lines = access_lines_since(logs, before)
    assert comparable(hot) == comparable(slow), f"{method} {url} {headers}"
    assert hot_lines == slow_lines, f"{method} {url}"
    assert len(hot_lines) == 1, f"{method} {url}"
    return hot


# ------------------------------------------------------------------------------ articles


async def test_by_id_answers_match_the_routes(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, logs: LogCapture
) -> None:
    author = await new_account(client, "author@example.com")
    fields = {"tags": ["a", "b"], "metadata": {"k": [1, 2]}, "price": "12.50"}
    article = await create_article(client, title="Hot", authorId=author["id"], **fields)
    url = article_url(article["id"])
    first = await same(client, routed, logs, "GET", url, READER)
    assert first.status_code == 200
    assert first.json()["title"] == "Hot"
    etag = first.headers["etag"]
    header_cases: list[dict[str, str] | None] = [
        None,
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": READER["Authorization"].replace("Bearer", "bearer")},
        bearer("articles:read", expires_in=-120),
        bearer("other:scope"),
        bearer("labels:read"),
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
        await same(client, routed, logs, "GET", url, headers)
    for other in (
        article_url(UNKNOWN_CUID),
        article_url("bad!id"),
        article_url("x" * 128),
        article_url("x" * (MAX_ID_LENGTH + 1)),
        article_url("%C3%A9t%C3%A9"),
        article_url("a%2Fb"),
        article_url("a/b"),
        url + "?unknown=1&limit=abc",
        url + "?include=author",
        url + "?include=author,nope",
        url + "?include=",
        url + "/",
        ARTICLES.rstrip("/"),
    ):
        await same(client, routed, logs, "GET", other, READER)
    for method in ("HEAD", "DELETE", "OPTIONS", "PUT"):
        await same(client, routed, logs, method, article_url(UNKNOWN_CUID), {**READER})


async def test_list_answers_match_the_routes(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, logs: LogCapture
) -> None:
    author = await new_account(client, "author@example.com")
    for n in range(5):
        tags, author_id = ["x"] if n % 2 else [], author["id"] if n < 2 else None
        await create_article(client, title=f"Article {n}", tags=tags, views=n, authorId=author_id)
    first = await same(client, routed, logs, "GET", ARTICLES + "?limit=2", READER)
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
        "?orderBy=-updatedAt&limit=2",
        "?orderBy=nope",
        "?orderBy=price",
        "?status=DRAFT&published=false",
        "?status=draft",
        "?published=maybe",
        "?tag=x&count=true",
        "?q=Article%201",
        "?q=%25_",
        f"?authorId={author['id']}&include=author",
        "?authorId=nobody",
        "?include=author&limit=3",
        "?include=nope",
        "?slug=article-3",
        "?unknown=1",
        "?count=maybe",
    ]
    for query in queries:
        await same(client, routed, logs, "GET", ARTICLES + query, READER)
    for headers in (None, bearer("other:scope"), {**READER, "Origin": ORIGIN}):
        await same(client, routed, logs, "GET", ARTICLES, headers)


# ------------------------------------------------------------------------------ key shapes


@dataclass(frozen=True)
class Shape:
    """One resource of the fixture: rows written through the API, then its corpus: item paths
    (relative to the collection, given the key of the first row listed; the first one found),
    the statuses they answer with, and list queries (each followed through its cursors)."""

    name: str
    collection: str
    seed: Callable[[httpx.AsyncClient], Awaitable[None]]
    items: Callable[[str], tuple[str, ...]]
    statuses: frozenset[int]
    queries: tuple[str, ...]


async def _posts(client: httpx.AsyncClient) -> None:
    author = await new_account(client, "poster@example.com")
    first = await new_post(client, author["id"], "b")
    await new_post(client, author["id"], "a", parentId=first["id"])
    await new_post(client, author["id"], "c", reviewerId=author["id"])


async def _rate_limits(client: httpx.AsyncClient) -> None:
    for key, action, bucket in (("k.1", "a", 1), ("k.1", "a", 2), ("k.1", "b", 1), ("été", "a", 1)):
        body = {"key": key, "action": action, "bucket": bucket}
        ok(await client.post(RATE_LIMITS, json=body, headers=ALL), 201)


async def _snapshots(client: httpx.AsyncClient) -> None:
    for taken_at in ("2026-01-02T03:04:05.678Z", "2026-01-02T03:04:06Z", "2025-12-31T23:59:59Z"):
        body = {"takenAt": taken_at, "note": taken_at[:10]}
        ok(await client.post(SNAPSHOTS, json=body, headers=ALL), 201)


async def _settings(client: httpx.AsyncClient) -> None:
    for name, scope in (("theme", "site"), ("theme", "user"), ("lang", "site")):
        body = {"name": name, "scope": scope, "value": f"{name}@{scope}"}
        ok(await client.post(SETTINGS, json=body, headers=ALL), 201)


async def _labels(client: httpx.AsyncClient) -> None:
    for name in ("news", "sport", "world"):
        ok(await client.post(LABELS, json={"name": name}, headers=ALL), 201)


async def _accounts(client: httpx.AsyncClient) -> None:
    accounts = [await new_account(client, e, name=e[0]) for e in ("b@x.com", "a@x.com")]
    for account in accounts:
        await new_post(client, account["id"], f"by {account['email']}")
    body = {"accountId": accounts[0]["id"], "bio": "B"}
    ok(await client.post(f"{API}/profiles/", json=body, headers=ALL), 201)


# fmt: off
SHAPES = [
    Shape(
        "posts (BigInt)",
        POSTS,
        _posts,
        lambda _: ("1", "01", "2?include=author,parent", "3?include=reviewer,replies,labels,comments",
                   "1?include=replies", "0", "-1", "4", "abc", "1.0", "+1", "%201", "1e3",
                   str(2**31), str(2**63 - 1), str(2**63), "9007199254740993", "1/2"),
        frozenset({200, 404, 422}),
        ("", "?limit=1", "?orderBy=title", "?orderBy=-id&limit=2", "?orderBy=-createdAt",
         "?include=author,replies", "?include=parent", "?orderBy=authorId", "?title=a"),
    ),
    Shape(
        "rate limits (three fields)",
        RATE_LIMITS,
        _rate_limits,
        lambda _: ("k.1/a/1", "k.1/a/01", "k.1/b/1", "%C3%A9t%C3%A9/a/1", "k%2E1/a/1",
                   "k.1/a/-1", "k.1/a/3", "k.1/a/x", "k.1/a/1.5", "k.1/a/2147483648", "k.1/a",
                   "k.1/a/1/2", "k.1//1", "k%2F1/a/1", "k.1/a/"),
        frozenset({200, 404, 422}),
        ("", "?limit=1", "?limit=2&orderBy=key", "?key=k.1", "?limit=500"),
    ),
    Shape(
        "snapshots (DateTime)",
        SNAPSHOTS,
        _snapshots,
        lambda _: ("2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.678+00:00",
                   "2026-01-02T04:04:05.678%2B01:00", "2026-01-02T03:04:05.678",
                   "2026-01-02T03:04:06Z", "2026-01-02T03:04:06.000Z", "1767323045678",
                   "2026-01-02", "2026-13-01T00:00:00Z", "nope", "2026-01-02T03:04:05.678Z/x"),
        frozenset({200, 404, 422}),
        ("", "?limit=1", "?limit=2", "?orderBy=takenAt"),
    ),
    Shape(
        "settings (@@unique)",
        SETTINGS,
        _settings,
        lambda _: ("theme/site", "theme/user", "Theme/site", "lang/user", "theme", "theme/",
                   "/site", "theme/site/x", "theme%2Fsite", "theme/site%20"),
        frozenset({200, 404}),
        ("", "?limit=1", "?limit=2", "?name=theme"),
    ),
    Shape(
        "labels (UUID)",
        LABELS,
        _labels,
        lambda key: (key, key.upper(), key.replace("-", ""), f"%7B{key}%7D", f"urn:uuid:{key}",
                     f"{key}?include=posts", UNKNOWN_UUID, "abc", f"{key}0", key[:-1]),
        frozenset({200, 404, 422}),
        ("", "?limit=1", "?include=posts", "?orderBy=name"),
    ),
    Shape(
        "accounts (hidden fields)",
        ACCOUNTS,
        _accounts,
        lambda key: (key, f"{key}?include=profile,posts", f"{key}?include=reviews",
                     f"{key}?include=password", f"{key}?include=nope", UNKNOWN_CUID, "bad!id"),
        frozenset({200, 404, 422}),
        ("", "?limit=1", "?orderBy=email", "?orderBy=-createdAt", "?email=a@x.com",
         "?include=profile", "?include=posts&limit=1", "?password=x", "?orderBy=password",
         "?orderBy=twoFactorSecret"),
    ),
]
# fmt: on


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.name for shape in SHAPES])
async def test_every_key_shape_answers_like_the_routes(
    shape: Shape, client: httpx.AsyncClient, routed: httpx.AsyncClient, logs: LogCapture
) -> None:
    await shape.seed(client)
    listed = ok(await same(client, routed, logs, "GET", shape.collection, ALL))
    items = shape.items(str(listed["data"][0].get("id")))
    found = await same(client, routed, logs, "GET", shape.collection + items[0], ALL)
    assert found.status_code == 200, found.text
    etag = found.headers["etag"]
    for headers in (
        None,
        bearer("other:scope"),
        READER,
        {**ALL, "If-None-Match": etag},
        {**ALL, "If-None-Match": f'"nope", W/{etag}'},
        {**ALL, "If-None-Match": '"nope"'},
        {**ALL, "Origin": ORIGIN},
    ):
        await same(client, routed, logs, "GET", shape.collection + items[0], headers)
    statuses = {
        (await same(client, routed, logs, "GET", shape.collection + item, ALL)).status_code
        for item in items
    }
    assert statuses == shape.statuses

    # Every page of every query, through its cursors; each cursor tampered with once.
    followed = 0
    for query in shape.queries:
        joiner = "&" if "?" in query else "?"
        url = base = shape.collection + query
        for _ in range(10):
            page = await same(client, routed, logs, "GET", url, ALL)
            cursor = page.json().get("nextCursor") if page.status_code == 200 else None
            if not cursor:
                break
            await same(client, routed, logs, "GET", f"{base}{joiner}cursor={cursor[:-2]}xx", ALL)
            url = f"{base}{joiner}cursor={cursor}"
            followed += 1
    assert followed >= 2, shape.name
    for headers in (None, bearer("other:scope"), READER):
        await same(client, routed, logs, "GET", shape.collection, headers)


async def test_cors_headers_are_the_same_on_hot_reads(database_url: str) -> None:
    settings = make_settings(DATABASE_URL=database_url, BACKEND_CORS_ORIGINS=[ORIGIN])
    async with hot_and_routed(settings) as (hot, slow):
        article = await create_article(hot, title="Cors")
        with capture_logs() as logs:
            for url in (article_url(article["id"]), ARTICLES, article_url("missing")):
                headers = {**READER, "Origin": ORIGIN}
                response = await same(hot, slow, logs, "GET", url, headers)
                assert response.headers["access-control-allow-origin"] == ORIGIN
                assert "ETag" in response.headers["access-control-expose-headers"]


# ------------------------------------------------------------------------------ what HotPath serves


class _Next:
    """The app behind HotPath in these tests: records what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _call(
    app: FastAPI,
    hot: HotPath,
    method: str,
    path: str,
    root_path: str = "",
    token: dict[str, str] = READER,
) -> int:
    headers = [(b"authorization", token["Authorization"].encode())]
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
    article = await create_article(client, title="Served")
    url = article_url(article["id"])
    behind = _Next()
    hot = HotPath(behind, prefix="/api/v1", resources=WITH_READ_ONLY_PAIRS)
    served = [
        ("GET", url, 200),
        ("GET", ARTICLES, 200),
        ("GET", article_url(UNKNOWN_CUID), 404),
        ("GET", article_url("bad!id"), 404),
        # Writes too (a reader's token is refused).
        ("DELETE", url, 403),
        # Another resource: the reader's token is refused before the key is looked up.
        ("GET", f"{POSTS}1", 403),
    ]
    for method, path, status in served:
        assert await _call(app, hot, method, path) == status, path
    assert await _call(app, hot, "GET", url, root_path="/svc") == 200
    # Every key shape, its parts converted as the path parameters are.
    for path in (
        f"{POSTS}1",
        f"{POSTS}-1",
        f"{RATE_LIMITS}k/a/01",
        f"{SNAPSHOTS}2026-01-02T03:04:05.678Z",
        f"{SETTINGS}theme/site",
        f"{LABELS}{UNKNOWN_UUID}",
        f"{LABELS}{UNKNOWN_UUID.upper()}",
        f"{ACCOUNTS}{UNKNOWN_CUID}",
    ):
        assert await _call(app, hot, "GET", path, token=ALL) == 404, path
    assert await _call(app, hot, "GET", f"{PAIRS_URL}a/1", token=ALL) == 404
    assert behind.paths == []
    handed_on = [
        ("HEAD", url),
        # A body the model refuses (none here): FastAPI answers, with its own 422.
        ("POST", ARTICLES),
        ("PATCH", url),
        ("PUT", url),
        ("PATCH", ARTICLES),
        ("DELETE", ARTICLES),
        ("POST", url),
        # A read-only resource has no writes: FastAPI's 405.
        ("POST", PAIRS_URL),
        ("PUT", f"{PAIRS_URL}a/1"),
        ("DELETE", f"{PAIRS_URL}a/1"),
        ("GET", ARTICLES.rstrip("/")),
        ("GET", article_url("a/b")),
        ("GET", article_url("x" * (MAX_ID_LENGTH + 1))),
        ("GET", f"{API}/utils/health-check"),
        ("GET", f"{API}/articlesx/"),
        # Keys the path rules refuse (FastAPI's 422) or that have too few or too many parts.
        ("GET", f"{POSTS}abc"),
        ("GET", f"{POSTS}{2**63}"),
        ("GET", f"{RATE_LIMITS}k/a/x"),
        ("GET", f"{RATE_LIMITS}k/a"),
        ("GET", f"{RATE_LIMITS}k/a/1/2"),
        ("GET", f"{RATE_LIMITS}k//1"),
        ("GET", f"{SNAPSHOTS}nope"),
        ("GET", f"{SETTINGS}theme"),
        ("GET", f"{LABELS}abc"),
        # Nested resources and links.
        ("GET", f"{POSTS}1/comments/"),
        ("GET", f"{POSTS}1/comments/1"),
        ("GET", f"{POSTS}1/label-items/"),
    ]
    for method, path in handed_on:
        assert await _call(app, hot, method, path) == 418, path
    assert behind.paths == [f"{method} {path}" for method, path in handed_on]


async def test_hot_reads_check_the_token_before_the_database(
    app: FastAPI, client: httpx.AsyncClient, logs: LogCapture
) -> None:
    response = await client.get(ARTICLES, headers=bearer("articles:write", subject="writer_7"))
    assert response.status_code == 200  # write implies read
    anonymous = await client.get(ARTICLES)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    actors = [r.get("actor") for r in logs.records if r.get("logger") == "app.core.middleware"]
    assert actors == ["writer_7", None]


async def test_a_database_outage_answers_the_same_503_with_cors_headers() -> None:
    settings = outage_settings()
    async with hot_and_routed(settings) as (hot, slow):
        with capture_logs() as logs:
            for url, token in (
                (ARTICLES, READER),
                (article_url(UNKNOWN_CUID), READER),
                (f"{POSTS}1", ALL),
                (f"{RATE_LIMITS}k/a/1", ALL),
            ):
                headers = {**token, "Origin": ORIGIN}
                response = await same(hot, slow, logs, "GET", url, headers)
                assert response.status_code == 503
                assert response.headers["access-control-allow-origin"] == ORIGIN
                assert response.headers["retry-after"] == "1"
