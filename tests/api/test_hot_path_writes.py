"""HotPath answers the writes of the fixture's resources exactly as the FastAPI routes do.

Each scenario (creates, refused bodies, tokens, conditional changes, conflicts, oversized
bodies) runs twice, each time on an emptied database: once through the fixture app as built
(HotPath in front) and once through the same app without HotPath (every request through
FastAPI, see tests/api/test_hot_path.py). Every answer (status, headers, body) and every
access-log line must be the same once what two runs cannot share is replaced by a
placeholder: the generated ids (cuid, UUID), the timestamps, and the ETags computed from them
(each checked to be the hash of its body first). Serial ids (posts) restart with the tables,
so they must match as they are. What a write left in the database is read back with SQL.

The scenarios write articles (a hook-derived unique slug, retried on a conflict), labels (a
UUID key, a unique name) and accounts (a unique email, hidden fields), and change rows of
every key shape (a BigInt, three fields, a DateTime, an `@@unique`).

Three differences found this way are fixed and pinned here: the route label of writes refused
before the token is accepted, a client that disconnects while sending its body (400, not 500),
and a body that no header announced (FastAPI's content-type rule).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.hot import HotPath
from app.api.routes import MAX_ID_LENGTH, etag
from app.core.config import Settings
from app.schemas import MAX_METADATA_DEPTH
from tests.api.hot_path_support import (
    ACCOUNTS,
    ACCOUNTS_READ,
    ACCOUNTS_WRITE,
    ARTICLES,
    LABELS,
    LABELS_READ,
    LABELS_WRITE,
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
    account_url,
    article_row,
    article_url,
    comparable,
    count_rows,
    hot_and_routed,
    label_url,
    outage_settings,
    reset,
    table,
    without_hot_path,
)
from tests.conftest import LogCapture, app_client, capture_logs, http_scope, make_settings, running
from tests.machinery.fixture.resources import RESOURCES
from tests.machinery.support import ALL, sql
from tests.metrics.support import METRICS, grown, scrape
from tests.support import assert_problem, bearer

BY_ID = "/api/v1/articles/{id}"
JSON_CT = {"Content-Type": "application/json"}
VOLATILE = frozenset({"createdAt", "updatedAt"})
CUID = re.compile(r"^c[a-z0-9]{24}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
async def routed_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The fixture app without HotPath, on the same database."""
    async with running(without_hot_path(settings)) as application:
        yield application


@pytest.fixture
async def routed(routed_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await app_client(routed_app) as client:
        yield client


# ------------------------------------------------------------------------------ harness


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass(frozen=True)
class Streamed:
    """A body sent in chunks without a Content-Length (Transfer-Encoding: chunked)."""

    data: bytes
    chunk_size: int = 65_536

    async def chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.chunk_size):
            yield self.data[start : start + self.chunk_size]


Content = bytes | Streamed | None


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    content: Content = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request; a body goes as `application/json` unless the headers say otherwise."""
    sent = dict(headers or {})
    if content is not None:
        sent = {**JSON_CT, **sent}
    body = content.chunks() if isinstance(content, Streamed) else content
    return await client.request(method, url, content=body, headers=sent)


class Run:
    """One run of a scenario through one app: each answer is kept with the generated ids, the
    timestamps and the ETags replaced by placeholders (numbered in the order they were first
    seen: the same answers in two runs have the same placeholders). An id is replaced in any
    case and, for a UUID, without its hyphens too (the spellings its key accepts)."""

    def __init__(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        self.client = client
        self.engine = engine
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self._ids: dict[str, str] = {}  # generated id or ETag digest → its placeholder

    async def send(
        self,
        method: str,
        url: str,
        content: Content = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {**(JSON_CT if content is not None else {}), **(headers or {})}
        response = await send(self.client, method, url, content, sent)
        if response.status_code == 201:
            created = response.json().get("id")
            if isinstance(created, str) and not created.isdigit():  # BigInt ids restart
                placeholder = f"<id {len(self._ids) + 1}>"
                for spelling in (created, created.replace("-", "")):
                    self._ids.setdefault(spelling.lower(), placeholder)
        answer = self._normalized(response)
        shown = {k: v[:16] if k == "Authorization" else self.scrub(v) for k, v in sent.items()}
        self.answers.append((f"{method} {self.scrub(url)} {shown}", answer))
        return response

    def scrub(self, value: str) -> str:
        for seen, placeholder in self._ids.items():
            value = re.sub(re.escape(seen), placeholder, value, flags=re.IGNORECASE)
        return value

    def _normalized(self, response: httpx.Response) -> dict[str, Any]:
        answer = comparable(response)
        headers: dict[str, str] = answer["headers"]
        if "etag" in headers:
            assert headers["etag"] == etag(response.content), "the ETag is the hash of the body"
            digest = headers["etag"].strip('"')
            self._ids.setdefault(digest, f"<etag {len(self._ids) + 1}>")
        answer["headers"] = {name: self.scrub(value) for name, value in headers.items()}
        answer["body"] = self._scrubbed(answer["body"])
        return answer

    def _scrubbed(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: "<time>" if key in VOLATILE and item is not None else self._scrubbed(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._scrubbed(item) for item in value]
        if isinstance(value, str):
            return self.scrub(value)
        return value


Scenario = Callable[[Run], Awaitable[None]]


async def same_in_both(
    scenario: Scenario,
    hot: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    engine: AsyncEngine,
    logs: LogCapture,
) -> list[tuple[str, dict[str, Any]]]:
    """Run `scenario` through both apps; their answers and access lines must be the same."""
    runs: list[tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]] = []
    for client in (hot, routed):
        await reset(engine)
        run = Run(client, engine)
        start = len(logs.records)
        await scenario(run)
        lines = [
            {**line, "path": run.scrub(line["path"])} for line in access_lines_since(logs, start)
        ]
        runs.append((run.answers, lines))
    (hot_answers, hot_lines), (routed_answers, routed_lines) = runs
    assert [note for note, _ in hot_answers] == [note for note, _ in routed_answers]
    for (note, hot_answer), (_, routed_answer) in zip(hot_answers, routed_answers, strict=True):
        assert hot_answer == routed_answer, note
    assert len(hot_lines) == len(hot_answers)
    assert hot_lines == routed_lines
    return hot_answers


async def labels(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every `mx_label` row, its UUID as the API writes it (SQLite stores it as 32 hex digits)."""
    rows = await table(engine, "mx_label", "name")
    return [{**row, "id": str(uuid.UUID(str(row["id"])))} for row in rows]


async def tables(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """The rows writes of articles, labels and accounts could change."""
    return {
        "mx_article": await table(engine, "mx_article"),
        "mx_label": await labels(engine),
        "mx_account": await table(engine, "mx_account"),
    }


async def new_account(run: Run, email: str, **fields: Any) -> dict[str, Any]:
    """An account created through the run (so its id gets a placeholder)."""
    response = await run.send("POST", ACCOUNTS, raw({"email": email, **fields}), ACCOUNTS_WRITE)
    assert response.status_code == 201, response.text
    return response.json()


# ------------------------------------------------------------------------------ 1. creates

ARTICLE_FIELDS: dict[str, Any] = {
    "title": "Hot writes",
    "summary": "A summary",
    "body": "The body",
    "published": True,
    "status": "PUBLISHED",
    "tags": ["a", "b"],
    "views": 3,
    "metadata": {"k": [1, {"n": None}], "s": "é"},
    "price": "12.5",
    "publishedAt": "2026-11-01T12:00:00Z",
}


async def creates(run: Run) -> None:
    account = await run.send("POST", ACCOUNTS, raw({"email": "a@example.com"}), ACCOUNTS_WRITE)
    author = account.json()["id"]
    assert CUID.match(author)
    assert account.headers["location"] == account_url(author)
    assert account.headers["etag"] == etag(account.content)
    assert set(account.json()) == {"id", "email", "name", "createdAt", "updatedAt"}

    body = raw({**ARTICLE_FIELDS, "authorId": author})
    response = await run.send("POST", ARTICLES, body, WRITER)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    article = response.json()
    assert CUID.match(article["id"])
    assert response.headers["location"] == article_url(article["id"])
    assert response.headers["etag"] == etag(response.content)
    assert article["slug"] == "hot-writes"
    assert {key: article[key] for key in ARTICLE_FIELDS if key != "publishedAt"} == {
        key: value for key, value in ARTICLE_FIELDS.items() if key != "publishedAt"
    }
    assert article["publishedAt"] == "2026-11-01T12:00:00.000Z"
    assert article["authorId"] == author
    row = await article_row(run.engine, article["id"])
    assert row is not None
    assert (row["title"], row["slug"], row["views"]) == ("Hot writes", "hot-writes", 3)

    # The created article is what its Location serves, with the same ETag.
    fetched = await run.send("GET", response.headers["location"], None, READER)
    assert fetched.status_code == 200
    assert fetched.json() == article
    assert fetched.headers["etag"] == response.headers["etag"]

    # The derived slug is taken: the next free one.
    again = await run.send("POST", ARTICLES, raw({"title": "Hot writes"}), WRITER)
    assert again.status_code == 201, again.text
    assert again.json()["slug"] == "hot-writes-2"

    # Bodies only Python's JSON parser reads (HotPath hands them to FastAPI): created as well.
    for encoded in (
        b"\xef\xbb\xbf" + raw({"title": "With a BOM"}),
        json.dumps({"title": "In UTF-16"}).encode("utf-16"),
    ):
        odd = await run.send("POST", ARTICLES, encoded, WRITER)
        assert odd.status_code == 201, odd.text
        assert await article_row(run.engine, odd.json()["id"]) is not None

    # Keys of other shapes in the Location: a BigInt (serial), three fields, a DateTime.
    post = await run.send("POST", POSTS, raw({"title": "p", "authorId": author}), ALL)
    assert (post.status_code, post.headers["location"]) == (201, f"{POSTS}1"), post.text
    limit = raw({"key": "k 1", "action": "a/b", "bucket": 7})
    limited = await run.send("POST", RATE_LIMITS, limit, ALL)
    assert limited.headers["location"] == f"{RATE_LIMITS}k%201/a%2Fb/7", limited.text
    taken = raw({"takenAt": "2026-01-02T03:04:05+01:00", "note": "n"})
    snapshot = await run.send("POST", SNAPSHOTS, taken, ALL)
    assert snapshot.headers["location"] == f"{SNAPSHOTS}2026-01-02T02%3A04%3A05.000Z"

    label = await run.send("POST", LABELS, raw({"name": "news"}), LABELS_WRITE)
    assert label.status_code == 201, label.text
    assert UUID.match(label.json()["id"])
    assert label.headers["location"] == label_url(label.json()["id"])
    assert label.headers["etag"] == etag(label.content)
    assert await labels(run.engine) == [{"id": label.json()["id"], "name": "news"}]
    assert await count_rows(run.engine, "mx_article") == 4


async def test_creates_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    answers = await same_in_both(creates, client, routed, engine, logs)
    locations = [answer["headers"].get("location") for _, answer in answers]
    assert locations[0] == "/api/v1/accounts/<id 1>"
    assert locations[1] == "/api/v1/articles/<id 3>"
    assert locations[-1].startswith("/api/v1/labels/<id ")


# ------------------------------------------------------------------------------ 2. bad bodies

INVALID_JSON: list[bytes] = [
    b'{"title": ',
    b"{'title': 'single quotes'}",
    b'{"title": "a raw\ttab"}',
    b'{"title": "x"} and more',
    b'{"title": "\xff"}',
    b" ",
]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


REFUSED_ARTICLES: list[Any] = [
    {"title": 5},
    {"title": None},
    {"title": "x", "views": "many"},
    {"title": "x", "views": -1},
    {"title": "x", "views": 1.5},
    {"title": "x", "tags": "a"},
    {"title": "x", "status": "draft"},
    {"title": "x", "published": "maybe"},
    {"title": "x", "metadata": [1]},
    {"title": "x", "metadata": {"deep": _nested(MAX_METADATA_DEPTH + 1)}},
    {"title": "x", "price": "abc"},
    {"title": "x", "price": "1.234"},
    {"title": "x", "price": "1e20"},
    {"title": "x", "publishedAt": 1_700_000_000},
    {"title": "x", "slug": "Not A Slug"},
    {"title": "x", "authorId": 0},
    {"title": "x", "author": {}},
    {"title": "x", "nope": 1},
    {"title": "x", "id": UNKNOWN_CUID},
    {"title": "x", "createdAt": "2026-01-01T00:00:00Z"},
    {},
    {"slug": "no-title"},
    {"title": "x" * 201},
    {"title": ""},
    {"title": "   "},
    {"title": "a\u0000b"},
    [],
    ["title"],
    "title",
    1,
    True,
]

REFUSED_ARTICLE_CHANGES: list[Any] = [
    {"title": None},
    {"title": 5},
    {"views": None},
    {"slug": None},
    {"views": 1.5},
    {"metadata": [1]},
    {"price": "abc"},
    {"title": "x" * 201},
    {"nope": 1},
    [],
]

REFUSED_LABELS: list[Any] = [
    {},
    {"name": None},
    {"name": 123},
    {"name": ["news"]},
    {"name": "ok", "id": UNKNOWN_UUID},
    {"name": "ok", "posts": []},
    [],
    "news",
]

REFUSED_LABEL_CHANGES: list[Any] = [{"name": None}, {"name": 123}, {"other": 1}]

REFUSED_ACCOUNTS: list[Any] = [
    {},
    {"email": None},
    {"email": 5},
    {"email": "b@example.com", "password": "secret"},
    {"email": "b@example.com", "twoFactorSecret": "123456"},
    {"email": "b@example.com", "name": 5},
    {"email": "b@example.com", "id": UNKNOWN_CUID},
    {"email": "b@example.com", "createdAt": "2026-01-01T00:00:00Z"},
    {"email": "b@example.com", "profile": {}},
    [],
]

REFUSED_ACCOUNT_CHANGES: list[Any] = [
    {"email": None},
    {"password": "secret"},
    {"twoFactorSecret": None},
    {"name": 5},
    [],
]

# Not JSON at all (400), then no body and `null` (422: the body is required).
NO_BODIES: list[tuple[bytes, int]] = [*((b, 400) for b in INVALID_JSON), (b"", 422), (b"null", 422)]


async def bad_bodies(run: Run) -> None:
    article = await run.send("POST", ARTICLES, raw({"title": "Kept", "tags": ["t"]}), WRITER)
    label = await run.send("POST", LABELS, raw({"name": "kept"}), LABELS_WRITE)
    account = await new_account(run, "kept@example.com")
    article_item, label_item = article_url(article.json()["id"]), label_url(label.json()["id"])
    account_item = account_url(account["id"])
    before = await tables(run.engine)
    cases: list[tuple[str, str, dict[str, str], list[Any]]] = [
        ("POST", ARTICLES, WRITER, REFUSED_ARTICLES),
        ("PUT", article_item, WRITER, REFUSED_ARTICLES),
        ("PATCH", article_item, WRITER, REFUSED_ARTICLE_CHANGES),
        ("POST", LABELS, LABELS_WRITE, REFUSED_LABELS),
        ("PUT", label_item, LABELS_WRITE, REFUSED_LABELS),
        ("PATCH", label_item, LABELS_WRITE, REFUSED_LABEL_CHANGES),
        ("POST", ACCOUNTS, ACCOUNTS_WRITE, REFUSED_ACCOUNTS),
        ("PUT", account_item, ACCOUNTS_WRITE, REFUSED_ACCOUNTS),
        ("PATCH", account_item, ACCOUNTS_WRITE, REFUSED_ACCOUNT_CHANGES),
    ]
    for method, url, headers, refused in cases:
        for content, status in NO_BODIES:
            assert_problem(await run.send(method, url, content, headers), status)
        for value in refused:
            assert_problem(await run.send(method, url, raw(value), headers), 422)
    assert await tables(run.engine) == before


async def test_refused_bodies_answer_alike_and_change_nothing(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(bad_bodies, client, routed, engine, logs)


# ------------------------------------------------------------------------------ 3. tokens

EXPIRED = bearer("articles:write", expires_in=-120)
BASIC = {"Authorization": "Basic dXNlcjpwYXNz"}
NOT_A_TOKEN = {"Authorization": "Bearer not-a-token"}


async def tokens(run: Run) -> None:
    article = await run.send("POST", ARTICLES, raw({"title": "Guarded"}), WRITER)
    label = await run.send("POST", LABELS, raw({"name": "guarded"}), LABELS_WRITE)
    account = await new_account(run, "guarded@example.com")
    article_item, label_item = article_url(article.json()["id"]), label_url(label.json()["id"])
    account_item = account_url(account["id"])
    before = await tables(run.engine)
    nobody: dict[str, str] = {}
    good = raw({"title": "Not written"})
    email = raw({"email": "new@example.com"})
    cases: list[tuple[str, str, Content, dict[str, str], int]] = [
        # The body is read (and must be JSON) before the token is looked at …
        ("POST", ARTICLES, b'{"title": ', nobody, 400),
        ("POST", ARTICLES, b'{"title": ', READER, 400),
        ("PATCH", article_item, b"{", nobody, 400),
        # … but its fields are checked after it.
        ("POST", ARTICLES, raw({"title": 5}), nobody, 401),
        ("POST", ARTICLES, raw({"title": 5}), READER, 403),
        ("POST", ARTICLES, b"", nobody, 401),
        ("POST", ARTICLES, b"null", READER, 403),
        ("POST", ARTICLES, good, nobody, 401),
        ("POST", ARTICLES, good, BASIC, 401),
        ("POST", ARTICLES, good, NOT_A_TOKEN, 401),
        ("POST", ARTICLES, good, EXPIRED, 401),
        ("POST", ARTICLES, good, READER, 403),
        ("POST", ARTICLES, good, LABELS_WRITE, 403),
        ("PATCH", article_item, good, nobody, 401),
        ("PATCH", article_item, good, READER, 403),
        ("PUT", article_item, good, nobody, 401),
        ("PUT", article_item, good, READER, 403),
        ("PUT", article_item, raw({}), READER, 403),
        ("DELETE", article_item, None, nobody, 401),
        ("DELETE", article_item, None, READER, 403),
        ("DELETE", article_item, None, {**READER, "If-Match": "*"}, 403),
        ("DELETE", article_url(UNKNOWN_CUID), None, nobody, 401),
        ("PATCH", article_url(UNKNOWN_CUID), good, READER, 403),
        ("POST", LABELS, raw({"name": "x"}), WRITER, 403),
        ("POST", LABELS, raw({"name": "x"}), LABELS_READ, 403),
        ("PATCH", label_item, raw({"name": "x"}), nobody, 401),
        ("PUT", label_item, raw({"name": "x"}), WRITER, 403),
        ("DELETE", label_item, None, LABELS_READ, 403),
        ("DELETE", label_url(UNKNOWN_UUID), None, LABELS_READ, 403),
        ("POST", ACCOUNTS, email, nobody, 401),
        ("POST", ACCOUNTS, email, ACCOUNTS_READ, 403),
        ("POST", ACCOUNTS, raw({"email": "x", "password": "p"}), WRITER, 403),
        ("PATCH", account_item, raw({"name": "x"}), EXPIRED, 401),
        ("PUT", account_item, email, LABELS_WRITE, 403),
        ("DELETE", account_item, None, ACCOUNTS_READ, 403),
    ]
    for method, url, content, headers, status in cases:
        response = await run.send(method, url, content, headers)
        assert_problem(response, status)
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert await tables(run.engine) == before


async def test_tokens_are_checked_alike_and_nothing_is_written(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(tokens, client, routed, engine, logs)
    actors = {record.get("actor") for record in logs.records if record.get("status") in {401, 403}}
    assert actors == {None, "user_42"}


# ------------------------------------------------------------------------------ 4. changes


async def article_changes(run: Run) -> None:
    created = await run.send("POST", ARTICLES, raw({"title": "Original", "tags": ["a"]}), WRITER)
    article_id, first = created.json()["id"], created.headers["etag"]
    url = article_url(article_id)

    async def change(
        method: str, content: Content, status: int, if_match: str | None = None
    ) -> httpx.Response:
        headers = WRITER if if_match is None else {**WRITER, "If-Match": if_match}
        response = await run.send(method, url, content, headers)
        assert response.status_code == status, response.text
        return response

    patched = await change("PATCH", raw({"title": "Changed"}), 200)
    assert patched.json()["title"] == "Changed"
    current = patched.headers["etag"]
    stored = await article_row(run.engine, article_id)
    assert stored is not None
    assert stored["title"] == "Changed"
    for stale in (first, f"W/{current}", '"nope"'):
        assert_problem(await change("PATCH", raw({"views": 5}), 412, stale), 412)
        assert_problem(await change("PUT", raw({"title": "No"}), 412, stale), 412)
        assert_problem(await change("DELETE", None, 412, stale), 412)
    assert await article_row(run.engine, article_id) == stored
    current = (await change("PATCH", raw({"views": 5}), 200, current)).headers["etag"]
    one_of = f'"nope", {current}'
    current = (await change("PATCH", raw({"summary": "s"}), 200, one_of)).headers["etag"]
    unchanged = await change("PATCH", raw({}), 200)
    assert unchanged.headers["etag"] == current
    cleared = await change("PATCH", raw({"summary": None, "tags": None, "price": None}), 200)
    assert (cleared.json()["summary"], cleared.json()["tags"]) == (None, [])
    replaced = await change("PUT", raw({"title": "Replaced"}), 200, "*")
    assert replaced.json()["views"] == 0
    # The slug is kept when a replacement leaves it out (the hook), not derived again.
    assert replaced.json()["slug"] == "original"
    again = await change(
        "PUT", raw({"title": "Again", "slug": "chosen"}), 200, replaced.headers["etag"]
    )
    assert again.json()["slug"] == "chosen"
    current = again.headers["etag"]
    fetched = await run.send("GET", url, None, READER)
    assert fetched.headers["etag"] == current
    await change("DELETE", None, 204, current)
    assert await article_row(run.engine, article_id) is None
    await change("DELETE", None, 404)
    await change("DELETE", None, 412, "*")  # no current representation: If-Match fails
    await change("PATCH", raw({"title": "Gone"}), 404)
    await change("PATCH", raw({}), 404)
    await change("PUT", raw({"title": "Gone"}), 404)
    await change("PATCH", raw({"title": "Gone"}), 412, "*")
    for other, status in ((UNKNOWN_CUID, 404), ("bad!id", 404), ("x" * (MAX_ID_LENGTH + 1), 422)):
        for method, content in (("PATCH", raw({"title": "x"})), ("PUT", raw({"title": "x"}))):
            response = await run.send(method, article_url(other), content, WRITER)
            assert_problem(response, status)
        assert_problem(await run.send("DELETE", article_url(other), None, WRITER), status)
    assert await count_rows(run.engine, "mx_article") == 0


async def label_changes(run: Run) -> None:
    created = await run.send("POST", LABELS, raw({"name": "news"}), LABELS_WRITE)
    label_id, first = created.json()["id"], created.headers["etag"]
    url = label_url(label_id)

    async def change(
        method: str, content: Content, status: int, if_match: str | None = None, at: str = url
    ) -> httpx.Response:
        headers = LABELS_WRITE if if_match is None else {**LABELS_WRITE, "If-Match": if_match}
        response = await run.send(method, at, content, headers)
        assert response.status_code == status, response.text
        return response

    current = (await change("PATCH", raw({"name": "updates"}), 200)).headers["etag"]
    assert await labels(run.engine) == [{"id": label_id, "name": "updates"}]
    await change("PATCH", raw({"name": "stale"}), 412, first)
    await change("PUT", raw({"name": "stale"}), 412, first)
    await change("DELETE", None, 412, first)
    current = (await change("PUT", raw({"name": "renamed"}), 200, current)).headers["etag"]
    # Other spellings of the UUID name the same label.
    upper = await change("PATCH", raw({"name": "upper"}), 200, "*", label_url(label_id.upper()))
    bare = label_url(label_id.replace("-", ""))
    renamed = await change("PATCH", raw({"name": "bare"}), 200, upper.headers["etag"], bare)
    current = renamed.headers["etag"]
    assert await labels(run.engine) == [{"id": label_id, "name": "bare"}]
    await change("DELETE", None, 204, current)
    assert await count_rows(run.engine, "mx_label") == 0
    await change("DELETE", None, 404)
    await change("PATCH", raw({"name": "gone"}), 404)
    await change("PUT", raw({"name": "gone"}), 412, "*")
    for other, status in ((UNKNOWN_UUID, 404), ("abc", 422), (f"{label_id}0", 422), (-1, 422)):
        await change("PATCH", raw({"name": "x"}), status, at=label_url(str(other)))
        await change("PUT", raw({"name": "x"}), status, at=label_url(str(other)))
        await change("DELETE", None, status, at=label_url(str(other)))
    assert await count_rows(run.engine, "mx_label") == 0


SECRETS = {"password": "argon2-hash-of-the-password", "twoFactorSecret": "totp-seed-value"}


async def account_changes(run: Run) -> None:
    account = await new_account(run, "a@example.com", name="A")
    url, created = account_url(account["id"]), account
    update = 'UPDATE mx_account SET password = :password, "twoFactorSecret" = :twoFactorSecret'
    await sql(run.engine, update, **SECRETS)

    async def change(
        method: str, content: Content, status: int, if_match: str | None = None
    ) -> httpx.Response:
        headers = ACCOUNTS_WRITE if if_match is None else {**ACCOUNTS_WRITE, "If-Match": if_match}
        response = await run.send(method, url, content, headers)
        assert response.status_code == status, response.text
        return response

    async def stored() -> dict[str, Any]:
        (row,) = await sql(run.engine, "SELECT * FROM mx_account")
        return row

    # Hidden fields are never served, and writes leave them as they are (a PUT too).
    fetched = await run.send("GET", url, None, ACCOUNTS_READ)
    assert fetched.json() == created
    first = fetched.headers["etag"]
    patched = await change("PATCH", raw({"name": "B"}), 200, first)
    assert set(patched.json()) == set(created)
    assert {key: (await stored())[key] for key in SECRETS} == SECRETS
    await change("PATCH", raw({"name": "C"}), 412, first)
    replaced = await change("PUT", raw({"email": "b@example.com"}), 200, patched.headers["etag"])
    assert (replaced.json()["email"], replaced.json()["name"]) == ("b@example.com", None)
    assert {key: (await stored())[key] for key in SECRETS} == SECRETS
    await change("PUT", raw({"name": "no email"}), 422)
    await change("DELETE", None, 204, replaced.headers["etag"])
    assert await count_rows(run.engine, "mx_account") == 0
    await change("DELETE", None, 404)
    await change("PATCH", raw({"name": "gone"}), 412, "*")
    await change("PUT", raw({"email": "gone@example.com"}), 404)


async def keyed_changes(run: Run) -> None:
    """Changes by a BigInt key, a key of three fields, a DateTime and an `@@unique`, each
    named by every spelling its path parameters accept."""
    author = (await new_account(run, "keys@example.com"))["id"]
    post = await run.send("POST", POSTS, raw({"title": "p", "authorId": author}), ALL)
    assert post.json()["id"] == "1"
    limit = {"key": "k.1", "action": "a", "bucket": 1}
    assert (await run.send("POST", RATE_LIMITS, raw(limit), ALL)).status_code == 201
    taken = {"takenAt": "2026-01-02T03:04:05.678Z", "note": "n"}
    assert (await run.send("POST", SNAPSHOTS, raw(taken), ALL)).status_code == 201
    setting = {"name": "theme", "scope": "site", "value": "dark"}
    assert (await run.send("POST", SETTINGS, raw(setting), ALL)).status_code == 201
    for method, url, content, status in (
        ("PATCH", f"{POSTS}01", {"title": "q"}, 200),
        ("PUT", f"{POSTS}1", {"title": "r", "authorId": author}, 200),
        ("PATCH", f"{POSTS}2", {"title": "q"}, 404),
        ("PATCH", f"{POSTS}-1", {"title": "q"}, 404),
        ("PATCH", f"{POSTS}abc", {"title": "q"}, 422),
        ("PATCH", f"{POSTS}{2**63}", {"title": "q"}, 422),
        ("PATCH", f"{POSTS}1", {"authorId": "nobody"}, 409),
        ("PATCH", f"{RATE_LIMITS}k.1/a/01", {"hits": 3}, 200),
        ("PUT", f"{RATE_LIMITS}k.1/a/1", {"hits": 4}, 200),
        ("PATCH", f"{RATE_LIMITS}k.1/a/1", {"bucket": 2}, 422),
        ("PATCH", f"{RATE_LIMITS}k.1/a/2", {"hits": 1}, 404),
        ("PATCH", f"{RATE_LIMITS}k.1/a/x", {"hits": 1}, 422),
        ("PATCH", f"{RATE_LIMITS}k.1/a", {"hits": 1}, 404),
        ("PATCH", f"{RATE_LIMITS}k.1/a/1/2", {"hits": 1}, 404),
        ("PATCH", f"{SNAPSHOTS}2026-01-02T04:04:05.678%2B01:00", {"note": "m"}, 200),
        ("PUT", f"{SNAPSHOTS}2026-01-02T03:04:05.678Z", {"note": "o"}, 200),
        ("PATCH", f"{SNAPSHOTS}2026-01-02T03:04:05Z", {"note": "m"}, 404),
        ("PATCH", f"{SNAPSHOTS}nope", {"note": "m"}, 422),
        ("PATCH", f"{SETTINGS}theme/site", {"value": "light"}, 200),
        ("PATCH", f"{SETTINGS}theme/site", {"scope": "user"}, 422),
        ("PUT", f"{SETTINGS}theme/user", {"value": "x"}, 404),
        ("PATCH", f"{SETTINGS}theme", {"value": "x"}, 404),
    ):
        response = await run.send(method, url, raw(content), ALL)
        assert response.status_code == status, (method, url, response.text)
    rows = {
        "posts": await sql(run.engine, "SELECT id, title FROM mx_post"),
        "limits": await sql(run.engine, "SELECT hits FROM mx_rate_limit"),
        "snapshots": await sql(run.engine, "SELECT note FROM mx_snapshot"),
        "settings": await sql(run.engine, "SELECT value FROM mx_setting"),
    }
    assert rows == {
        "posts": [{"id": 1, "title": "r"}],
        "limits": [{"hits": 4}],
        "snapshots": [{"note": "o"}],
        "settings": [{"value": "light"}],
    }
    # Deleted by key, the DateTime one named in epoch milliseconds.
    keys = (
        f"{POSTS}1",
        f"{RATE_LIMITS}k.1/a/1",
        f"{SNAPSHOTS}1767323045678",
        f"{SETTINGS}theme/site",
    )
    for url in keys:
        current = await run.send("GET", url, None, ALL)
        stale = await run.send("DELETE", url, None, {**ALL, "If-Match": '"stale"'})
        assert_problem(stale, 412)
        deleted = await run.send("DELETE", url, None, {**ALL, "If-Match": current.headers["etag"]})
        assert deleted.status_code == 204, (url, deleted.text)
        assert_problem(await run.send("DELETE", url, None, ALL), 404)


async def test_article_changes_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(article_changes, client, routed, engine, logs)


async def test_label_changes_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(label_changes, client, routed, engine, logs)


async def test_account_changes_answer_alike_and_keep_hidden_fields(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    answers = await same_in_both(account_changes, client, routed, engine, logs)
    served = json.dumps([answer for _, answer in answers], default=str)
    assert not any(secret in served for secret in SECRETS.values())


async def test_changes_by_every_key_shape_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(keyed_changes, client, routed, engine, logs)


# ------------------------------------------------------------------------------ 5. body size


def oversized(settings: Settings) -> Scenario:
    limit = settings.MAX_BODY_BYTES

    async def scenario(run: Run) -> None:
        article = await run.send("POST", ARTICLES, raw({"title": "Small"}), WRITER)
        label = await run.send("POST", LABELS, raw({"name": "small"}), LABELS_WRITE)
        account = await new_account(run, "small@example.com")
        article_item, label_item = article_url(article.json()["id"]), label_url(label.json()["id"])
        too_big = b'{"title": "' + b"a" * limit + b'"}'
        before = await tables(run.engine)
        for method, url, headers in (
            ("POST", ARTICLES, WRITER),
            ("POST", ARTICLES, {}),  # the body is read before the token
            ("PUT", article_item, WRITER),
            ("PATCH", article_item, WRITER),
            ("POST", LABELS, LABELS_WRITE),
            ("PATCH", label_item, LABELS_WRITE),
            ("PUT", account_url(account["id"]), ACCOUNTS_WRITE),
        ):
            streamed = await run.send(method, url, Streamed(too_big), headers)
            assert_problem(streamed, 413)
            assert "content-length" not in streamed.request.headers
            assert_problem(await run.send(method, url, too_big, headers), 413)
        assert await tables(run.engine) == before

        # A body of exactly the limit is read (and refused for its field, through FastAPI).
        filler = limit - len(raw({"title": "x", "body": ""}))
        at_limit = raw({"title": "x", "body": "b" * filler})
        assert len(at_limit) == limit
        for content in (at_limit, Streamed(at_limit)):
            assert_problem(await run.send("POST", ARTICLES, content, WRITER), 422)
        assert await tables(run.engine) == before

        # Streamed bodies within the limit are written.
        small = await run.send("POST", ARTICLES, Streamed(raw({"title": "Streamed"}), 3), WRITER)
        assert small.status_code == 201, small.text
        patched = await run.send("PATCH", article_item, Streamed(raw({"views": 7}), 2), WRITER)
        assert patched.status_code == 200, patched.text
        named = await run.send("PATCH", label_item, Streamed(raw({"name": "big"}), 1), LABELS_WRITE)
        assert named.status_code == 200, named.text
        assert await count_rows(run.engine, "mx_article") == 2

    return scenario


async def test_oversized_bodies_are_refused_alike(
    client: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    engine: AsyncEngine,
    logs: LogCapture,
    settings: Settings,
) -> None:
    await same_in_both(oversized(settings), client, routed, engine, logs)


# ------------------------------------------------------------------------------ 6. conflicts


async def conflicts(run: Run) -> None:
    taken = await run.send("POST", ARTICLES, raw({"title": "First", "slug": "taken"}), WRITER)
    other = await run.send("POST", ARTICLES, raw({"title": "Second"}), WRITER)
    assert (taken.status_code, other.status_code) == (201, 201)
    other_url = article_url(other.json()["id"])
    articles = await table(run.engine, "mx_article")

    duplicate = await run.send("POST", ARTICLES, raw({"title": "Third", "slug": "taken"}), WRITER)
    assert assert_problem(duplicate, 409)["errors"][0]["field"] == "body.slug"
    assert await table(run.engine, "mx_article") == articles
    no_author = await run.send("POST", ARTICLES, raw({"title": "x", "authorId": "nobody"}), WRITER)
    assert assert_problem(no_author, 409)["errors"][0]["field"] == "body.authorId"
    assert await table(run.engine, "mx_article") == articles
    etag_now = other.headers["etag"]
    for method, if_match in (("PUT", None), ("PUT", etag_now), ("PATCH", None), ("PATCH", "*")):
        headers = WRITER if if_match is None else {**WRITER, "If-Match": if_match}
        clash = await run.send(
            method, other_url, raw({"title": "Second", "slug": "taken"}), headers
        )
        assert assert_problem(clash, 409)["errors"][0]["field"] == "body.slug"
        assert await table(run.engine, "mx_article") == articles
    gone = await run.send("PATCH", other_url, raw({"authorId": "nobody"}), WRITER)
    assert assert_problem(gone, 409)["errors"][0]["field"] == "body.authorId"

    # A derived slug that is taken is not a conflict: the next free one is used.
    derived = await run.send("POST", ARTICLES, raw({"title": "Taken"}), WRITER)
    assert derived.status_code == 201, derived.text
    assert derived.json()["slug"] == "taken-2"
    assert await count_rows(run.engine, "mx_article") == len(articles) + 1

    news = await run.send("POST", LABELS, raw({"name": "news"}), LABELS_WRITE)
    sport = await run.send("POST", LABELS, raw({"name": "sport"}), LABELS_WRITE)
    sport_url, sport_etag = label_url(sport.json()["id"]), sport.headers["etag"]
    assert news.status_code == 201
    rows = await labels(run.engine)
    again = await run.send("POST", LABELS, raw({"name": "news"}), LABELS_WRITE)
    assert assert_problem(again, 409)["errors"][0]["field"] == "body.name"
    for method, if_match in (("PUT", None), ("PATCH", None), ("PATCH", sport_etag)):
        headers = LABELS_WRITE if if_match is None else {**LABELS_WRITE, "If-Match": if_match}
        clash = await run.send(method, sport_url, raw({"name": "news"}), headers)
        assert_problem(clash, 409)
    assert await labels(run.engine) == rows

    first = await new_account(run, "a@example.com")
    second = await new_account(run, "b@example.com")
    accounts = await table(run.engine, "mx_account")
    twice = await run.send("POST", ACCOUNTS, raw({"email": "a@example.com"}), ACCOUNTS_WRITE)
    assert assert_problem(twice, 409)["errors"][0]["field"] == "body.email"
    for method in ("PUT", "PATCH"):
        clash = await run.send(
            method, account_url(second["id"]), raw({"email": first["email"]}), ACCOUNTS_WRITE
        )
        assert assert_problem(clash, 409)["errors"][0]["field"] == "body.email"
    assert await table(run.engine, "mx_account") == accounts


async def test_conflicts_answer_alike_and_leave_no_row(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(conflicts, client, routed, engine, logs)


# ------------------------------------------------------------------------------ 7. metrics


async def counted(run: Run) -> None:
    created = await run.send("POST", ARTICLES, raw({"title": "Counted"}), WRITER)
    url = article_url(created.json()["id"])
    await run.send("POST", ARTICLES, raw({"title": "Counted", "slug": "counted"}), WRITER)  # 409
    await run.send("POST", ARTICLES, raw({}), WRITER)  # 422, FastAPI's
    await run.send("POST", ARTICLES, b"{", WRITER)  # 400, FastAPI's
    await run.send("PATCH", url, raw({"title": "x"}), WRITER)
    await run.send("PATCH", url, raw({"title": "x"}), {**WRITER, "If-Match": '"stale"'})
    await run.send("PUT", url, raw({"title": "y"}), WRITER)
    await run.send("PATCH", article_url(UNKNOWN_CUID), raw({"title": "x"}), WRITER)
    await run.send("DELETE", url, None, WRITER)
    await run.send("POST", LABELS, raw({"name": "counted"}), LABELS_WRITE)
    await run.send("PATCH", f"{RATE_LIMITS}k/a/1", raw({"hits": 1}), ALL)  # 404


async def refused_early(run: Run) -> None:
    url = article_url(UNKNOWN_CUID)
    await run.send("POST", ARTICLES, raw({"title": "x"}), {})  # 401
    await run.send("POST", ARTICLES, raw({"title": "x"}), READER)  # 403
    await run.send("DELETE", url, None, READER)  # 403
    await run.send("PATCH", url, Streamed(b" " * 1_100_000), WRITER)  # 413 while reading
    await run.send("DELETE", f"{RATE_LIMITS}k/a/1", None, READER)  # 403


async def gained_counts(
    scenario: Scenario, client: httpx.AsyncClient, engine: AsyncEngine
) -> dict[tuple[str, str, str], int]:
    await reset(engine)
    before = await scrape(client)
    await scenario(Run(client, engine))
    after = await scrape(client)
    gained = grown(after.requests(), before.requests())
    gained.pop(("GET", METRICS, "200"), None)
    return gained


async def test_hot_writes_are_counted_under_their_route(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    hot = await gained_counts(counted, client, engine)
    assert hot == {
        ("POST", "/api/v1/articles/", "201"): 1,
        ("POST", "/api/v1/articles/", "422"): 1,
        ("POST", "/api/v1/articles/", "400"): 1,
        ("POST", "/api/v1/articles/", "409"): 1,
        ("PATCH", BY_ID, "200"): 1,
        ("PATCH", BY_ID, "412"): 1,
        ("PATCH", BY_ID, "404"): 1,
        ("PUT", BY_ID, "200"): 1,
        ("DELETE", BY_ID, "204"): 1,
        ("POST", "/api/v1/labels/", "201"): 1,
        ("PATCH", "/api/v1/rate-limits/{key}/{action}/{bucket}", "404"): 1,
    }
    assert hot == await gained_counts(counted, routed, engine)


async def test_writes_refused_before_the_token_is_checked_are_counted_under_their_route(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    expected = {
        ("POST", "/api/v1/articles/", "401"): 1,
        ("POST", "/api/v1/articles/", "403"): 1,
        ("DELETE", BY_ID, "403"): 1,
        ("PATCH", BY_ID, "413"): 1,
        ("DELETE", "/api/v1/rate-limits/{key}/{action}/{bucket}", "403"): 1,
    }
    assert await gained_counts(refused_early, routed, engine) == expected
    assert await gained_counts(refused_early, client, engine) == expected


# ------------------------------------------------------------------------------ around the writes


async def same_answer(
    hot: httpx.AsyncClient,
    routed: httpx.AsyncClient,
    logs: LogCapture,
    method: str,
    url: str,
    content: Content = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request that changes nothing, to both apps: the same answer and access line."""
    answers: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    response: httpx.Response | None = None
    for client in (hot, routed):
        start = len(logs.records)
        response = await send(client, method, url, content, headers)
        answers.append((comparable(response), access_lines_since(logs, start)))
    (hot_answer, hot_lines), (routed_answer, routed_lines) = answers
    assert hot_answer == routed_answer, f"{method} {url}"
    assert hot_lines == routed_lines, f"{method} {url}"
    assert len(hot_lines) == 1
    assert response is not None
    return response


async def around(run: Run) -> None:
    """Writes HotPath hands on (or serves) next to the ones it stands in for."""
    article = await run.send("POST", ARTICLES, raw({"title": "Around"}), WRITER)
    url = article_url(article.json()["id"])
    account = await new_account(run, "around@example.com")
    post = await run.send("POST", POSTS, raw({"title": "p", "authorId": account["id"]}), ALL)
    everything = bearer("pairs:write", "articles:write")
    before = await tables(run.engine)
    for method, at, content, status in (
        ("POST", ARTICLES.rstrip("/"), raw({"title": "x"}), 307),  # FastAPI's redirect
        ("PATCH", f"{url}/", raw({"title": "x"}), 307),
        ("DELETE", f"{url}/", None, 307),
        ("PUT", ARTICLES, raw({"title": "x"}), 405),
        ("PATCH", ARTICLES, raw({"title": "x"}), 405),
        ("DELETE", ARTICLES, None, 405),
        ("POST", url, raw({"title": "x"}), 405),
        # A read-only resource: no writes.
        ("POST", PAIRS_URL, raw({"left": "a", "right": 1}), 405),
        ("PATCH", f"{PAIRS_URL}a/1", raw({"note": "x"}), 405),
        ("PUT", f"{PAIRS_URL}a/1", raw({"note": "x"}), 405),
        ("DELETE", f"{PAIRS_URL}a/1", None, 405),
        ("POST", "/api/v1/articlesx/", raw({"title": "x"}), 404),
        ("PATCH", article_url("%C3%A9t%C3%A9"), raw({"title": "x"}), 404),
        ("PATCH", url, raw({"title": "x"}), 415),
        ("PATCH", f"{RATE_LIMITS}k/a", raw({"hits": 1}), 404),
    ):
        headers = {**everything, "Content-Type": "text/plain"} if status == 415 else everything
        response = await run.send(method, at, content, headers)
        assert response.status_code == status, (method, at, response.text)
    assert await tables(run.engine) == before
    # What a write may carry besides its body: a query string, a +json type, an empty If-Match.
    created = await run.send("POST", f"{ARTICLES}?ignored=1", raw({"title": "Query"}), WRITER)
    assert created.status_code == 201, created.text
    merge = {**WRITER, "Content-Type": "application/merge-patch+json; charset=utf-8"}
    patched = await run.send("PATCH", url, raw({"views": 2}), merge)
    assert patched.status_code == 200, patched.text
    empty = await run.send("PATCH", url, raw({"views": 3}), {**WRITER, "If-Match": ""})
    assert_problem(empty, 412)
    deleted = await run.send("DELETE", url, raw({"ignored": True}), WRITER)
    assert deleted.status_code == 204
    # Writes of a nested resource (FastAPI's own routes) next to its parent's.
    comments = f"{POSTS}{post.json()['id']}/comments/"
    comment = await run.send("POST", comments, raw({"id": 1, "body": "c"}), ALL)
    assert comment.status_code == 201, comment.text
    assert (await run.send("PATCH", f"{comments}1", raw({"body": "d"}), ALL)).status_code == 200
    assert (await run.send("DELETE", f"{comments}1", None, ALL)).status_code == 204


async def test_writes_next_to_the_hot_ones_answer_alike(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with hot_and_routed(settings, WITH_READ_ONLY_PAIRS) as (hot, slow):
        with capture_logs() as logs:
            await same_in_both(around, hot, slow, engine, logs)


async def test_writes_under_a_root_path_answer_alike(
    app: FastAPI, routed_app: FastAPI, engine: AsyncEngine, logs: LogCapture
) -> None:
    def under_svc(application: FastAPI) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(
            app=application, root_path="/svc", raise_app_exceptions=False
        )
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def scenario(run: Run) -> None:
        created = await run.send("POST", f"/svc{ARTICLES}", raw({"title": "Mounted"}), WRITER)
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert location == f"/svc{article_url(created.json()['id'])}"
        patched = await run.send("PATCH", location, raw({"views": 1}), WRITER)
        assert patched.status_code == 200, patched.text
        missing = f"/svc{label_url(UNKNOWN_UUID)}"
        assert_problem(await run.send("PATCH", missing, raw({}), LABELS_WRITE), 404)
        limit = raw({"key": "k", "action": "a", "bucket": 1})
        limited = await run.send("POST", f"/svc{RATE_LIMITS}", limit, ALL)
        assert limited.headers["location"] == f"/svc{RATE_LIMITS}k/a/1", limited.text
        deleted = await run.send("DELETE", location, None, WRITER)
        assert deleted.status_code == 204

    async with under_svc(app) as hot, under_svc(routed_app) as slow:
        await same_in_both(scenario, hot, slow, engine, logs)


async def test_cors_headers_are_the_same_on_hot_writes(
    database_url: str, engine: AsyncEngine
) -> None:
    settings = make_settings(DATABASE_URL=database_url, BACKEND_CORS_ORIGINS=[ORIGIN])

    async def scenario(run: Run) -> None:
        cors = {"Origin": ORIGIN}
        created = await run.send("POST", ARTICLES, raw({"title": "Cors"}), {**WRITER, **cors})
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        answers = [
            created,
            await run.send("PATCH", url, raw({"views": 1}), {**WRITER, **cors}),
            await run.send("PATCH", url, raw({}), {**WRITER, **cors, "If-Match": '"old"'}),
            await run.send("POST", ARTICLES, raw({}), {**WRITER, **cors}),
            await run.send("POST", ARTICLES, raw({"title": "x"}), cors),
            await run.send("PUT", url, raw({"title": "x"}), {**READER, **cors}),
            await run.send("DELETE", url, None, {**WRITER, **cors}),
        ]
        assert [a.status_code for a in answers] == [201, 200, 412, 422, 401, 403, 204]
        for answer in answers:
            assert answer.headers["access-control-allow-origin"] == ORIGIN
        for answer in answers[:2]:
            exposed = answer.headers["access-control-expose-headers"]
            assert "ETag" in exposed
            assert "Location" in exposed

    async with hot_and_routed(settings) as (hot, slow):
        with capture_logs() as logs:
            await same_in_both(scenario, hot, slow, engine, logs)


async def test_a_database_outage_answers_writes_with_the_same_503() -> None:
    settings = outage_settings()
    async with hot_and_routed(settings) as (hot, slow):
        with capture_logs() as logs:
            for method, url, content, token, status in (
                ("POST", ARTICLES, raw({"title": "Lost"}), WRITER, 503),
                ("PATCH", article_url(UNKNOWN_CUID), raw({"title": "Lost"}), WRITER, 503),
                ("PUT", label_url(UNKNOWN_UUID), raw({"name": "lost"}), LABELS_WRITE, 503),
                ("DELETE", article_url(UNKNOWN_CUID), None, WRITER, 503),
                ("PATCH", f"{RATE_LIMITS}k/a/1", raw({"hits": 1}), ALL, 503),
                # FastAPI begins the request's transaction before it checks the body's fields
                # (HotPath hands it such a body) or the key.
                ("POST", ARTICLES, raw({}), WRITER, 503),
                ("DELETE", article_url("bad!id"), None, WRITER, 503),
                # Refused before the transaction is begun.
                ("POST", ARTICLES, b"{", WRITER, 400),
                ("POST", ARTICLES, raw({"title": "x"}), READER, 403),
            ):
                headers = {**token, "Origin": ORIGIN}
                response = await same_answer(hot, slow, logs, method, url, content, headers)
                assert response.status_code == status, response.text
                assert response.headers["access-control-allow-origin"] == ORIGIN
                if status == 503:
                    assert response.headers["retry-after"] == "1"


# ------------------------------------------------------------------------------ raw ASGI

Received = list[Message]


async def asgi(
    application: ASGIApp,
    method: str,
    path: str,
    messages: Received,
    headers: Sequence[tuple[bytes, bytes]],
    **scope_extra: Any,
) -> tuple[int, dict[str, Any]]:
    """One request through the ASGI interface with exactly these `receive` messages (then the
    client is gone, as a server reports it): the status and the JSON body."""
    scope: Scope = http_scope(method, path, headers, **scope_extra)
    pending = list(messages)
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def record(message: Message) -> None:
        sent.append(message)

    await application(scope, receive, record)
    status: int = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    problem: dict[str, Any] = json.loads(body) if body else {}
    problem.pop("requestId", None)
    if problem.get("status") == 500:
        problem.pop("detail")  # it quotes the request id
    return status, problem


AUTHORIZATION: tuple[bytes, bytes] = (b"authorization", WRITER["Authorization"].encode())
JSON_HEADER: tuple[bytes, bytes] = (b"content-type", b"application/json")


class Behind:
    """The app behind HotPath in the next test: records what reaches it, body included."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.requests.append((scope["method"], scope["path"], body))
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def whole(body: bytes) -> Received:
    return [{"type": "http.request", "body": body, "more_body": False}]


async def test_hot_path_serves_good_writes_and_hands_refused_bodies_on_whole(
    app: FastAPI, clean_db: None, engine: AsyncEngine
) -> None:
    """What the comparisons above rest on: HotPath answers these writes itself."""
    behind = Behind()
    hot = HotPath(behind, prefix="/api/v1", resources=RESOURCES)

    async def call(
        method: str, path: str, messages: Received, token: tuple[bytes, bytes] = AUTHORIZATION
    ) -> tuple[int, dict[str, Any]]:
        headers = [token, JSON_HEADER] if messages else [token]
        return await asgi(hot, method, path, messages, headers, app=app, router=app.router)

    status, article = await call("POST", ARTICLES, whole(raw({"title": "Served"})))
    assert status == 201
    item = article_url(article["id"])
    assert (await call("PATCH", item, whole(raw({"views": 2}))))[0] == 200
    assert (await call("PUT", item, whole(raw({"title": "Again"}))))[0] == 200
    assert (await call("DELETE", item, []))[0] == 204
    assert await count_rows(engine, "mx_article") == 0
    # Every key shape.
    every = (b"authorization", ALL["Authorization"].encode())
    status, label = await call("POST", LABELS, whole(raw({"name": "n"})), every)
    assert status == 201
    renamed = whole(raw({"name": "m"}))
    assert (await call("PATCH", label_url(label["id"].upper()), renamed, every))[0] == 200
    limit = whole(raw({"key": "k", "action": "a", "bucket": 1}))
    assert (await call("POST", RATE_LIMITS, limit, every))[0] == 201
    assert (await call("PUT", f"{RATE_LIMITS}k/a/01", whole(raw({"hits": 2})), every))[0] == 200
    assert (await call("DELETE", f"{RATE_LIMITS}k/a/1", [], every))[0] == 204
    assert (await call("DELETE", f"{SETTINGS}n/s", [], every))[0] == 404
    assert (await call("DELETE", f"{SNAPSHOTS}1767323045678", [], every))[0] == 404
    assert behind.requests == []

    # A body the model refuses reaches FastAPI whole, however it arrived.
    chunked: Received = [
        {"type": "http.request", "body": b'{"title":', "more_body": True},
        {"type": "http.request", "body": b" 5}", "more_body": False},
    ]
    assert (await call("POST", ARTICLES, chunked))[0] == 418
    assert (await call("PATCH", item, whole(b"{")))[0] == 418
    assert (await call("PATCH", f"{RATE_LIMITS}k/a/1", whole(raw({"key": "j"})), every))[0] == 418
    assert behind.requests == [
        ("POST", ARTICLES, b'{"title": 5}'),
        ("PATCH", item, b"{"),
        ("PATCH", f"{RATE_LIMITS}k/a/1", b'{"key": "j"}'),
    ]


async def test_a_client_gone_before_its_body_arrived_answers_alike(
    app: FastAPI, routed_app: FastAPI, clean_db: None, engine: AsyncEngine
) -> None:
    headers = [AUTHORIZATION, (b"content-type", b"application/json"), (b"content-length", b"40")]
    partial: Received = [{"type": "http.request", "body": b'{"title": "cut', "more_body": True}]
    with capture_logs() as logs:
        answers = [await asgi(a, "POST", ARTICLES, partial, headers) for a in (app, routed_app)]
    assert await count_rows(engine, "mx_article") == 0
    errors = [r["message"] for r in logs.records if r.get("level") == "ERROR"]
    assert (answers[0], errors) == (answers[1], [])
    assert answers[0][0] == 400


async def test_a_body_announced_by_no_header_answers_alike(
    app: FastAPI, routed_app: FastAPI, clean_db: None, engine: AsyncEngine
) -> None:
    body: Received = [{"type": "http.request", "body": raw({"title": "Plain"}), "more_body": False}]
    headers = [AUTHORIZATION, (b"content-type", b"text/plain")]
    answers = [await asgi(a, "POST", ARTICLES, body, headers) for a in (app, routed_app)]
    assert answers[0] == answers[1]
    assert await count_rows(engine, "mx_article") == 0
