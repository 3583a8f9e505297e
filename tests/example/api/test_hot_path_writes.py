"""HotPath answers the writes of pages and tags exactly as the FastAPI routes do.

Each scenario (creates, refused bodies, tokens, conditional changes, conflicts, oversized
bodies) runs twice, each time on an emptied database: once through the app as built (HotPath
in front) and once through the same app without HotPath (every request through FastAPI, see
tests/api/test_hot_path.py). Every answer (status, headers, body) and every access-log line
must be the same once what two runs cannot share is replaced by a placeholder: the generated
page ids, the timestamps, and the ETags computed from them (each checked to be the hash of its
body first). Tag and user ids restart with the tables, so they must match as they are. What a
write left in the database is read back with SQL.

Three differences found this way are fixed and pinned here: the route label of writes refused
before the token is accepted, a client that disconnects while sending its body (400, not 500),
and a body that no header announced (FastAPI's content-type rule).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.hot import HotPath
from app.api.routes import MAX_ID_LENGTH, etag
from app.core.config import Settings
from app.resources import V1
from app.schemas import MAX_METADATA_DEPTH
from tests.conftest import LogCapture, capture_logs, http_scope, make_settings
from tests.example.api.pages_support import (
    CUID,
    PAGES,
    READER,
    WRITER,
    assert_problem,
    bearer,
    insert_user,
    page_row,
    page_url,
)
from tests.example.api.resources_support import (
    TAGS,
    TAGS_READ,
    TAGS_WRITE,
    UNKNOWN_INT,
    UNKNOWN_PAGE,
    count_rows,
    sql_rows,
    tag_url,
)
from tests.example.api.test_hot_path import (
    ORIGIN,
    _access_lines_since,
    _comparable,
    hot_and_routed,
    outage_settings,
)
from tests.example.conftest import truncate
from tests.example.scopes import WRITE_SCOPE
from tests.metrics.support import METRICS, grown, scrape

BY_ID = "/api/v1/pages/{id}"
JSON_CT = {"Content-Type": "application/json"}
VOLATILE = frozenset({"createdAt", "updatedAt"})


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
    """One run of a scenario through one app: each answer is kept with the generated page ids,
    the timestamps and the ETags replaced by placeholders (numbered in the order they were
    first seen: the same answers in two runs have the same placeholders)."""

    def __init__(self, client: httpx.AsyncClient, engine: AsyncEngine) -> None:
        self.client = client
        self.engine = engine
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self._ids: dict[str, str] = {}  # page id or ETag digest → its placeholder

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
            created = response.json()["id"]
            if isinstance(created, str):
                self._ids.setdefault(created, f"<page id {len(self._ids) + 1}>")
        answer = self._normalized(response)
        shown = {k: v[:16] if k == "Authorization" else self.scrub(v) for k, v in sent.items()}
        self.answers.append((f"{method} {self.scrub(url)} {shown}", answer))
        return response

    def scrub(self, value: str) -> str:
        for seen, placeholder in self._ids.items():
            value = value.replace(seen, placeholder)
        return value

    def _normalized(self, response: httpx.Response) -> dict[str, Any]:
        answer = _comparable(response)
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


async def reset(engine: AsyncEngine) -> None:
    """Empty the tables; serial ids start again at 1 (SQLite reuses them by itself)."""
    await truncate(engine)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            for table in ("Tag", "User"):
                await connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), 1, false)")
                )


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
            {**line, "path": run.scrub(line["path"])} for line in _access_lines_since(logs, start)
        ]
        runs.append((run.answers, lines))
    (hot_answers, hot_lines), (routed_answers, routed_lines) = runs
    assert [note for note, _ in hot_answers] == [note for note, _ in routed_answers]
    for (note, hot_answer), (_, routed_answer) in zip(hot_answers, routed_answers, strict=True):
        assert hot_answer == routed_answer, note
    assert len(hot_lines) == len(hot_answers)
    assert hot_lines == routed_lines
    return hot_answers


async def table(engine: AsyncEngine, name: str) -> list[dict[str, Any]]:
    """Every row of a table, read with SQL."""
    return await sql_rows(engine, f'SELECT * FROM "{name}" ORDER BY id')


async def tables(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """The rows writes of pages and tags could change."""
    return {name: await table(engine, name) for name in ("Page", "Tag")}


# ------------------------------------------------------------------------------ 1. creates

PAGE_FIELDS: dict[str, Any] = {
    "title": "Hot writes",
    "summary": "A summary",
    "body": "The body",
    "published": True,
    "status": "PUBLISHED",
    "tags": ["a", "b"],
    "views": 3,
    "metadata": {"k": [1, {"n": None}], "s": "é"},
    "publishedAt": "2026-11-01T12:00:00Z",
}


async def creates(run: Run) -> None:
    author = await insert_user(run.engine, "author@example.com")
    response = await run.send("POST", PAGES, raw({**PAGE_FIELDS, "authorId": author}), WRITER)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert CUID.match(page["id"])
    assert response.headers["location"] == page_url(page["id"])
    assert response.headers["etag"] == etag(response.content)
    assert page["slug"] == "hot-writes"
    assert {key: page[key] for key in PAGE_FIELDS if key != "publishedAt"} == {
        key: value for key, value in PAGE_FIELDS.items() if key != "publishedAt"
    }
    assert page["publishedAt"] == "2026-11-01T12:00:00.000Z"
    assert page["authorId"] == author
    row = await page_row(run.engine, page["id"])
    assert row is not None
    assert (row["title"], row["slug"], row["views"]) == ("Hot writes", "hot-writes", 3)

    # The created page is what its Location serves, with the same ETag.
    fetched = await run.send("GET", response.headers["location"], None, READER)
    assert fetched.status_code == 200
    assert fetched.json() == page
    assert fetched.headers["etag"] == response.headers["etag"]

    # The derived slug is taken: the next free one.
    again = await run.send("POST", PAGES, raw({"title": "Hot writes"}), WRITER)
    assert again.status_code == 201, again.text
    assert again.json()["slug"] == "hot-writes-2"

    # Bodies only Python's JSON parser reads (HotPath hands them to FastAPI): created as well.
    for encoded in (
        b"\xef\xbb\xbf" + raw({"title": "With a BOM"}),
        json.dumps({"title": "In UTF-16"}).encode("utf-16"),
    ):
        odd = await run.send("POST", PAGES, encoded, WRITER)
        assert odd.status_code == 201, odd.text
        assert await page_row(run.engine, odd.json()["id"]) is not None

    tag = await run.send("POST", TAGS, raw({"name": "news"}), TAGS_WRITE)
    assert tag.status_code == 201, tag.text
    assert tag.headers["location"] == tag_url(tag.json()["id"])
    assert tag.headers["etag"] == etag(tag.content)
    assert await table(run.engine, "Tag") == [{"id": tag.json()["id"], "name": "news"}]
    assert await count_rows(run.engine, "Page") == 4


async def test_creates_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    answers = await same_in_both(creates, client, routed, engine, logs)
    locations = [answer["headers"].get("location") for _, answer in answers]
    assert locations[0] == "/api/v1/pages/<page id 1>"
    assert locations[-1] == "/api/v1/tags/1"


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


REFUSED_PAGES: list[Any] = [
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
    {"title": "x", "publishedAt": 1_700_000_000},
    {"title": "x", "slug": "Not A Slug"},
    {"title": "x", "authorId": 0},
    {"title": "x", "nope": 1},
    {"title": "x", "id": UNKNOWN_PAGE},
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

REFUSED_PAGE_CHANGES: list[Any] = [
    {"title": None},
    {"title": 5},
    {"views": None},
    {"slug": None},
    {"views": 1.5},
    {"metadata": [1]},
    {"title": "x" * 201},
    {"nope": 1},
    [],
]

REFUSED_TAGS: list[Any] = [
    {},
    {"name": ""},
    {"name": "   "},
    {"name": "x" * 65},
    {"name": None},
    {"name": 123},
    {"name": ["news"]},
    {"name": "ok", "id": 5},
    [],
]

REFUSED_TAG_CHANGES: list[Any] = [{"name": None}, {"name": 123}, {"name": "x" * 65}, {"other": 1}]

# Not JSON at all (400), then no body and `null` (422: the body is required).
NO_BODIES: list[tuple[bytes, int]] = [*((b, 400) for b in INVALID_JSON), (b"", 422), (b"null", 422)]


async def bad_bodies(run: Run) -> None:
    page = await run.send("POST", PAGES, raw({"title": "Kept", "tags": ["t"]}), WRITER)
    tag = await run.send("POST", TAGS, raw({"name": "kept"}), TAGS_WRITE)
    page_item, tag_item = page_url(page.json()["id"]), tag_url(tag.json()["id"])
    before = await tables(run.engine)
    cases: list[tuple[str, str, dict[str, str], list[Any]]] = [
        ("POST", PAGES, WRITER, REFUSED_PAGES),
        ("PUT", page_item, WRITER, REFUSED_PAGES),
        ("PATCH", page_item, WRITER, REFUSED_PAGE_CHANGES),
        ("POST", TAGS, TAGS_WRITE, REFUSED_TAGS),
        ("PUT", tag_item, TAGS_WRITE, REFUSED_TAGS),
        ("PATCH", tag_item, TAGS_WRITE, REFUSED_TAG_CHANGES),
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

EXPIRED = bearer(WRITE_SCOPE, expires_in=-120)
BASIC = {"Authorization": "Basic dXNlcjpwYXNz"}
NOT_A_TOKEN = {"Authorization": "Bearer not-a-token"}


async def tokens(run: Run) -> None:
    page = await run.send("POST", PAGES, raw({"title": "Guarded"}), WRITER)
    tag = await run.send("POST", TAGS, raw({"name": "guarded"}), TAGS_WRITE)
    page_item, tag_item = page_url(page.json()["id"]), tag_url(tag.json()["id"])
    before = await tables(run.engine)
    nobody: dict[str, str] = {}
    good = raw({"title": "Not written"})
    cases: list[tuple[str, str, Content, dict[str, str], int]] = [
        # The body is read (and must be JSON) before the token is looked at …
        ("POST", PAGES, b'{"title": ', nobody, 400),
        ("POST", PAGES, b'{"title": ', READER, 400),
        ("PATCH", page_item, b"{", nobody, 400),
        # … but its fields are checked after it.
        ("POST", PAGES, raw({"title": 5}), nobody, 401),
        ("POST", PAGES, raw({"title": 5}), READER, 403),
        ("POST", PAGES, b"", nobody, 401),
        ("POST", PAGES, b"null", READER, 403),
        ("POST", PAGES, good, nobody, 401),
        ("POST", PAGES, good, BASIC, 401),
        ("POST", PAGES, good, NOT_A_TOKEN, 401),
        ("POST", PAGES, good, EXPIRED, 401),
        ("POST", PAGES, good, READER, 403),
        ("POST", PAGES, good, TAGS_WRITE, 403),
        ("PATCH", page_item, good, nobody, 401),
        ("PATCH", page_item, good, READER, 403),
        ("PUT", page_item, good, nobody, 401),
        ("PUT", page_item, good, READER, 403),
        ("PUT", page_item, raw({}), READER, 403),
        ("DELETE", page_item, None, nobody, 401),
        ("DELETE", page_item, None, READER, 403),
        ("DELETE", page_item, None, {**READER, "If-Match": "*"}, 403),
        ("DELETE", page_url(UNKNOWN_PAGE), None, nobody, 401),
        ("PATCH", page_url(UNKNOWN_PAGE), good, READER, 403),
        ("POST", TAGS, raw({"name": "x"}), WRITER, 403),
        ("POST", TAGS, raw({"name": "x"}), TAGS_READ, 403),
        ("PATCH", tag_item, raw({"name": "x"}), nobody, 401),
        ("PUT", tag_item, raw({"name": "x"}), WRITER, 403),
        ("DELETE", tag_item, None, TAGS_READ, 403),
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


async def page_changes(run: Run) -> None:
    created = await run.send("POST", PAGES, raw({"title": "Original", "tags": ["a"]}), WRITER)
    page_id, first = created.json()["id"], created.headers["etag"]
    url = page_url(page_id)

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
    stored = await page_row(run.engine, page_id)
    assert stored is not None
    assert stored["title"] == "Changed"
    for stale in (first, f"W/{current}", '"nope"'):
        assert_problem(await change("PATCH", raw({"views": 5}), 412, stale), 412)
        assert_problem(await change("PUT", raw({"title": "No"}), 412, stale), 412)
        assert_problem(await change("DELETE", None, 412, stale), 412)
    assert await page_row(run.engine, page_id) == stored
    current = (await change("PATCH", raw({"views": 5}), 200, current)).headers["etag"]
    one_of = f'"nope", {current}'
    current = (await change("PATCH", raw({"summary": "s"}), 200, one_of)).headers["etag"]
    unchanged = await change("PATCH", raw({}), 200)
    assert unchanged.headers["etag"] == current
    cleared = await change("PATCH", raw({"summary": None, "tags": None}), 200)
    assert (cleared.json()["summary"], cleared.json()["tags"]) == (None, [])
    replaced = await change("PUT", raw({"title": "Replaced"}), 200, "*")
    assert replaced.json()["views"] == 0
    assert replaced.json()["slug"] == "replaced"
    again = await change(
        "PUT", raw({"title": "Again", "slug": "chosen"}), 200, replaced.headers["etag"]
    )
    assert again.json()["slug"] == "chosen"
    current = again.headers["etag"]
    fetched = await run.send("GET", url, None, READER)
    assert fetched.headers["etag"] == current
    await change("DELETE", None, 204, current)
    assert await page_row(run.engine, page_id) is None
    await change("DELETE", None, 404)
    await change("DELETE", None, 412, "*")  # no current representation: If-Match fails
    await change("PATCH", raw({"title": "Gone"}), 404)
    await change("PATCH", raw({}), 404)
    await change("PUT", raw({"title": "Gone"}), 404)
    await change("PATCH", raw({"title": "Gone"}), 412, "*")
    for other, status in ((UNKNOWN_PAGE, 404), ("bad!id", 404), ("x" * (MAX_ID_LENGTH + 1), 422)):
        for method, content in (("PATCH", raw({"title": "x"})), ("PUT", raw({"title": "x"}))):
            response = await run.send(method, page_url(other), content, WRITER)
            assert_problem(response, status)
        assert_problem(await run.send("DELETE", page_url(other), None, WRITER), status)
    assert await count_rows(run.engine, "Page") == 0


async def tag_changes(run: Run) -> None:
    created = await run.send("POST", TAGS, raw({"name": "news"}), TAGS_WRITE)
    tag_id, first = created.json()["id"], created.headers["etag"]
    url = tag_url(tag_id)

    async def change(
        method: str, content: Content, status: int, if_match: str | None = None, at: str = url
    ) -> httpx.Response:
        headers = TAGS_WRITE if if_match is None else {**TAGS_WRITE, "If-Match": if_match}
        response = await run.send(method, at, content, headers)
        assert response.status_code == status, response.text
        return response

    current = (await change("PATCH", raw({"name": "updates"}), 200)).headers["etag"]
    assert await table(run.engine, "Tag") == [{"id": tag_id, "name": "updates"}]
    await change("PATCH", raw({"name": "stale"}), 412, first)
    await change("PUT", raw({"name": "stale"}), 412, first)
    await change("DELETE", None, 412, first)
    current = (await change("PUT", raw({"name": "renamed"}), 200, current)).headers["etag"]
    # Leading zeros name the same tag.
    zeros = await change("PATCH", raw({"name": "zeros"}), 200, "*", f"{TAGS}0{tag_id}")
    current = zeros.headers["etag"]
    assert await table(run.engine, "Tag") == [{"id": tag_id, "name": "zeros"}]
    await change("DELETE", None, 204, current)
    assert await count_rows(run.engine, "Tag") == 0
    await change("DELETE", None, 404)
    await change("PATCH", raw({"name": "gone"}), 404)
    await change("PUT", raw({"name": "gone"}), 412, "*")
    for other, status in ((UNKNOWN_INT, 404), (-1, 404), ("abc", 422), (2**31, 422)):
        await change("PATCH", raw({"name": "x"}), status, at=tag_url(other))
        await change("PUT", raw({"name": "x"}), status, at=tag_url(other))
        await change("DELETE", None, status, at=tag_url(other))
    assert await count_rows(run.engine, "Tag") == 0


async def test_page_changes_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(page_changes, client, routed, engine, logs)


async def test_tag_changes_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(tag_changes, client, routed, engine, logs)


# ------------------------------------------------------------------------------ 5. body size


def oversized(settings: Settings) -> Scenario:
    limit = settings.MAX_BODY_BYTES

    async def scenario(run: Run) -> None:
        page = await run.send("POST", PAGES, raw({"title": "Small"}), WRITER)
        tag = await run.send("POST", TAGS, raw({"name": "small"}), TAGS_WRITE)
        page_item, tag_item = page_url(page.json()["id"]), tag_url(tag.json()["id"])
        before = await tables(run.engine)
        too_big = b'{"title": "' + b"a" * limit + b'"}'
        for method, url, headers in (
            ("POST", PAGES, WRITER),
            ("POST", PAGES, {}),  # the body is read before the token
            ("PUT", page_item, WRITER),
            ("PATCH", page_item, WRITER),
            ("POST", TAGS, TAGS_WRITE),
            ("PATCH", tag_item, TAGS_WRITE),
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
            assert_problem(await run.send("POST", PAGES, content, WRITER), 422)
        assert await tables(run.engine) == before

        # Streamed bodies within the limit are written.
        small = await run.send("POST", PAGES, Streamed(raw({"title": "Streamed"}), 3), WRITER)
        assert small.status_code == 201, small.text
        patched = await run.send("PATCH", page_item, Streamed(raw({"views": 7}), 2), WRITER)
        assert patched.status_code == 200, patched.text
        assert await count_rows(run.engine, "Page") == 2

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
    taken = await run.send("POST", PAGES, raw({"title": "First", "slug": "taken"}), WRITER)
    other = await run.send("POST", PAGES, raw({"title": "Second"}), WRITER)
    assert (taken.status_code, other.status_code) == (201, 201)
    other_url = page_url(other.json()["id"])
    pages = await table(run.engine, "Page")

    duplicate = await run.send("POST", PAGES, raw({"title": "Third", "slug": "taken"}), WRITER)
    assert assert_problem(duplicate, 409)["errors"][0]["field"] == "body.slug"
    assert await table(run.engine, "Page") == pages
    missing_author = await run.send("POST", PAGES, raw({"title": "x", "authorId": 999}), WRITER)
    assert assert_problem(missing_author, 409)["errors"][0]["field"] == "body.authorId"
    assert await table(run.engine, "Page") == pages
    etag_now = other.headers["etag"]
    for method, if_match in (("PUT", None), ("PUT", etag_now), ("PATCH", None), ("PATCH", "*")):
        headers = WRITER if if_match is None else {**WRITER, "If-Match": if_match}
        clash = await run.send(
            method, other_url, raw({"title": "Second", "slug": "taken"}), headers
        )
        assert assert_problem(clash, 409)["errors"][0]["field"] == "body.slug"
        assert await table(run.engine, "Page") == pages

    # A derived slug that is taken is not a conflict: the next free one is used.
    derived = await run.send("POST", PAGES, raw({"title": "Taken"}), WRITER)
    assert derived.status_code == 201, derived.text
    assert derived.json()["slug"] == "taken-2"
    assert await count_rows(run.engine, "Page") == len(pages) + 1

    news = await run.send("POST", TAGS, raw({"name": "news"}), TAGS_WRITE)
    sport = await run.send("POST", TAGS, raw({"name": "sport"}), TAGS_WRITE)
    sport_url, sport_etag = tag_url(sport.json()["id"]), sport.headers["etag"]
    assert news.status_code == 201
    tags = await table(run.engine, "Tag")
    again = await run.send("POST", TAGS, raw({"name": "news"}), TAGS_WRITE)
    assert assert_problem(again, 409)["errors"][0]["field"] == "body.name"
    for method, if_match in (("PUT", None), ("PATCH", None), ("PATCH", sport_etag)):
        headers = TAGS_WRITE if if_match is None else {**TAGS_WRITE, "If-Match": if_match}
        clash = await run.send(method, sport_url, raw({"name": "news"}), headers)
        assert_problem(clash, 409)
    assert await table(run.engine, "Tag") == tags


async def test_conflicts_answer_alike_and_leave_no_row(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(conflicts, client, routed, engine, logs)


# ------------------------------------------------------------------------------ 7. metrics


async def counted(run: Run) -> None:
    created = await run.send("POST", PAGES, raw({"title": "Counted"}), WRITER)
    url = page_url(created.json()["id"])
    await run.send("POST", PAGES, raw({"title": "Counted", "slug": "counted"}), WRITER)  # 409
    await run.send("POST", PAGES, raw({}), WRITER)  # 422, FastAPI's
    await run.send("POST", PAGES, b"{", WRITER)  # 400, FastAPI's
    await run.send("PATCH", url, raw({"title": "x"}), WRITER)
    await run.send("PATCH", url, raw({"title": "x"}), {**WRITER, "If-Match": '"stale"'})
    await run.send("PUT", url, raw({"title": "y"}), WRITER)
    await run.send("PATCH", page_url(UNKNOWN_PAGE), raw({"title": "x"}), WRITER)
    await run.send("DELETE", url, None, WRITER)
    await run.send("POST", TAGS, raw({"name": "counted"}), TAGS_WRITE)


async def refused_early(run: Run) -> None:
    url = page_url(UNKNOWN_PAGE)
    await run.send("POST", PAGES, raw({"title": "x"}), {})  # 401
    await run.send("POST", PAGES, raw({"title": "x"}), READER)  # 403
    await run.send("DELETE", url, None, READER)  # 403
    await run.send("PATCH", url, Streamed(b" " * 1_100_000), WRITER)  # 413 while reading


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
        ("POST", "/api/v1/pages/", "201"): 1,
        ("POST", "/api/v1/pages/", "422"): 1,
        ("POST", "/api/v1/pages/", "400"): 1,
        ("POST", "/api/v1/pages/", "409"): 1,
        ("PATCH", BY_ID, "200"): 1,
        ("PATCH", BY_ID, "412"): 1,
        ("PATCH", BY_ID, "404"): 1,
        ("PUT", BY_ID, "200"): 1,
        ("DELETE", BY_ID, "204"): 1,
        ("POST", "/api/v1/tags/", "201"): 1,
    }
    assert hot == await gained_counts(counted, routed, engine)


async def test_writes_refused_before_the_token_is_checked_are_counted_under_their_route(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    expected = {
        ("POST", "/api/v1/pages/", "401"): 1,
        ("POST", "/api/v1/pages/", "403"): 1,
        ("DELETE", BY_ID, "403"): 1,
        ("PATCH", BY_ID, "413"): 1,
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
    for client in (hot, routed):
        start = len(logs.records)
        response = await send(client, method, url, content, headers)
        answers.append((_comparable(response), _access_lines_since(logs, start)))
    (hot_answer, hot_lines), (routed_answer, routed_lines) = answers
    assert hot_answer == routed_answer, f"{method} {url}"
    assert hot_lines == routed_lines, f"{method} {url}"
    assert len(hot_lines) == 1
    return response


async def around(run: Run) -> None:
    """Writes HotPath hands on (or serves) next to the ones it stands in for."""
    page = await run.send("POST", PAGES, raw({"title": "Around"}), WRITER)
    url = page_url(page.json()["id"])
    before = await tables(run.engine)
    for method, at, content, status in (
        ("POST", PAGES.rstrip("/"), raw({"title": "x"}), 307),  # FastAPI's redirect
        ("PATCH", f"{url}/", raw({"title": "x"}), 307),
        ("DELETE", f"{url}/", None, 307),
        ("PUT", PAGES, raw({"title": "x"}), 405),
        ("PATCH", PAGES, raw({"title": "x"}), 405),
        ("DELETE", PAGES, None, 405),
        ("POST", url, raw({"title": "x"}), 405),
        ("POST", "/api/v1/users/", raw({"email": "a@example.com"}), 405),
        ("PATCH", "/api/v1/users/1", raw({"name": "x"}), 405),
        ("DELETE", "/api/v1/users/1", None, 405),
        ("POST", "/api/v1/published-pages/", raw({"title": "x"}), 405),
        ("DELETE", f"/api/v1/published-pages/{page.json()['id']}", None, 405),
        ("POST", "/api/v1/pagesx/", raw({"title": "x"}), 404),
        ("PATCH", page_url("%C3%A9t%C3%A9"), raw({"title": "x"}), 404),
        ("PATCH", url, raw({"title": "x"}), 415),
    ):
        headers = {**WRITER, "Content-Type": "text/plain"} if status == 415 else WRITER
        response = await run.send(method, at, content, headers)
        assert response.status_code == status, (method, at, response.text)
    assert await tables(run.engine) == before
    # What a write may carry besides its body: a query string, a +json type, an empty If-Match.
    created = await run.send("POST", f"{PAGES}?ignored=1", raw({"title": "Query"}), WRITER)
    assert created.status_code == 201, created.text
    merge = {**WRITER, "Content-Type": "application/merge-patch+json; charset=utf-8"}
    patched = await run.send("PATCH", url, raw({"views": 2}), merge)
    assert patched.status_code == 200, patched.text
    empty = await run.send("PATCH", url, raw({"views": 3}), {**WRITER, "If-Match": ""})
    assert_problem(empty, 412)
    deleted = await run.send("DELETE", url, raw({"ignored": True}), WRITER)
    assert deleted.status_code == 204


async def test_writes_next_to_the_hot_ones_answer_alike(
    client: httpx.AsyncClient, routed: httpx.AsyncClient, engine: AsyncEngine, logs: LogCapture
) -> None:
    await same_in_both(around, client, routed, engine, logs)


async def test_writes_under_a_root_path_answer_alike(
    app: FastAPI, routed_app: FastAPI, engine: AsyncEngine, logs: LogCapture
) -> None:
    def under_svc(application: FastAPI) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(
            app=application, root_path="/svc", raise_app_exceptions=False
        )
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def scenario(run: Run) -> None:
        created = await run.send("POST", f"/svc{PAGES}", raw({"title": "Mounted"}), WRITER)
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert location == f"/svc{page_url(created.json()['id'])}"
        patched = await run.send("PATCH", location, raw({"views": 1}), WRITER)
        assert patched.status_code == 200, patched.text
        assert_problem(await run.send("PATCH", f"/svc{TAGS}1", raw({}), TAGS_WRITE), 404)
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
        created = await run.send("POST", PAGES, raw({"title": "Cors"}), {**WRITER, **cors})
        assert created.status_code == 201, created.text
        url = created.headers["location"]
        answers = [
            created,
            await run.send("PATCH", url, raw({"views": 1}), {**WRITER, **cors}),
            await run.send("PATCH", url, raw({}), {**WRITER, **cors, "If-Match": '"old"'}),
            await run.send("POST", PAGES, raw({}), {**WRITER, **cors}),
            await run.send("POST", PAGES, raw({"title": "x"}), cors),
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
                ("POST", PAGES, raw({"title": "Lost"}), WRITER, 503),
                ("PATCH", page_url(UNKNOWN_PAGE), raw({"title": "Lost"}), WRITER, 503),
                ("PUT", tag_url(1), raw({"name": "lost"}), TAGS_WRITE, 503),
                ("DELETE", page_url(UNKNOWN_PAGE), None, WRITER, 503),
                # FastAPI begins the request's transaction before it checks the body's fields
                # (HotPath hands it such a body) or the key.
                ("POST", PAGES, raw({}), WRITER, 503),
                ("DELETE", page_url("bad!id"), None, WRITER, 503),
                # Refused before the transaction is begun.
                ("POST", PAGES, b"{", WRITER, 400),
                ("POST", PAGES, raw({"title": "x"}), READER, 403),
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
    hot = HotPath(behind, prefix="/api/v1", resources=V1)

    async def call(method: str, path: str, messages: Received) -> tuple[int, dict[str, Any]]:
        headers = [AUTHORIZATION, JSON_HEADER] if messages else [AUTHORIZATION]
        return await asgi(hot, method, path, messages, headers, app=app, router=app.router)

    status, page = await call("POST", PAGES, whole(raw({"title": "Served"})))
    assert status == 201
    assert (await call("PATCH", page_url(page["id"]), whole(raw({"views": 2}))))[0] == 200
    assert (await call("PUT", page_url(page["id"]), whole(raw({"title": "Again"}))))[0] == 200
    assert (await call("DELETE", page_url(page["id"]), []))[0] == 204
    assert behind.requests == []
    assert await count_rows(engine, "Page") == 0

    # A body the model refuses reaches FastAPI whole, however it arrived.
    chunked: Received = [
        {"type": "http.request", "body": b'{"title":', "more_body": True},
        {"type": "http.request", "body": b" 5}", "more_body": False},
    ]
    assert (await call("POST", PAGES, chunked))[0] == 418
    assert (await call("PATCH", page_url(page["id"]), whole(b"{")))[0] == 418
    assert behind.requests == [
        ("POST", PAGES, b'{"title": 5}'),
        ("PATCH", page_url(page["id"]), b"{"),
    ]


async def test_a_client_gone_before_its_body_arrived_answers_alike(
    app: FastAPI, routed_app: FastAPI, clean_db: None, engine: AsyncEngine
) -> None:
    headers = [AUTHORIZATION, (b"content-type", b"application/json"), (b"content-length", b"40")]
    partial: Received = [{"type": "http.request", "body": b'{"title": "cut', "more_body": True}]
    with capture_logs() as logs:
        answers = [await asgi(a, "POST", PAGES, partial, headers) for a in (app, routed_app)]
    assert await count_rows(engine, "Page") == 0
    errors = [r["message"] for r in logs.records if r.get("level") == "ERROR"]
    assert (answers[0], errors) == (answers[1], [])


async def test_a_body_announced_by_no_header_answers_alike(
    app: FastAPI, routed_app: FastAPI, clean_db: None, engine: AsyncEngine
) -> None:
    body: Received = [{"type": "http.request", "body": raw({"title": "Plain"}), "more_body": False}]
    headers = [AUTHORIZATION, (b"content-type", b"text/plain")]
    answers = [await asgi(a, "POST", PAGES, body, headers) for a in (app, routed_app)]
    assert answers[0] == answers[1]
    assert await count_rows(engine, "Page") == 0
