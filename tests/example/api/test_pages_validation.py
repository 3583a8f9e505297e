"""Input bounds: every limit just inside (accepted) and just outside (422, nothing written)."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import (
    PAGES,
    WRITER,
    count_pages,
    create_page,
    get_page,
    page_url,
)
from tests.support import assert_problem

METADATA_LIMIT = 64 * 1024


def metadata_of_size(size: int) -> dict[str, Any]:
    """A JSON object whose compact serialisation is exactly `size` bytes."""
    value = {"k": ""}
    value["k"] = "x" * (size - len(orjson.dumps(value)))
    assert len(orjson.dumps(value)) == size
    return value


# Fields with a value just inside the limit and a value just outside it.
BOUNDS: list[tuple[str, Any, Any]] = [
    ("title", "t", ""),
    ("title", "t" * 200, "t" * 201),
    ("title", " x ", "   "),
    ("title", "x", "\t\n"),
    ("slug", "a", ""),
    ("slug", "s" * 200, "s" * 201),
    ("slug", "hello-world-2", "Hello-world"),
    ("slug", "a-b-c", "a--b"),
    ("slug", "abc", "-abc"),
    ("slug", "abc", "abc-"),
    ("slug", "abc9", "a_b"),
    ("slug", "abc", "a b"),
    ("slug", "abc", "café"),
    ("summary", "", "s" * 501),
    ("summary", "s" * 500, "s" * 501),
    ("body", "b" * 200_000, "b" * 200_001),
    ("tags", [], "python"),
    ("tags", ["t"] * 32, ["t"] * 33),
    ("tags", ["t" * 64], ["t" * 65]),
    ("tags", ["t"], [""]),
    ("tags", ["t"], [1]),
    ("tags", ["t"], [None]),
    ("metadata", {}, []),
    ("metadata", {"a": 1}, "a string"),
    ("metadata", {"a": 1}, 42),
    ("metadata", {"a": [1, {"b": None}]}, [{"a": 1}]),
    ("metadata", metadata_of_size(METADATA_LIMIT), metadata_of_size(METADATA_LIMIT + 1)),
    ("status", "REVIEW", "draft"),
    ("status", "ARCHIVED", "DELETED"),
    ("status", "SCHEDULED", 1),
    ("published", True, "maybe"),
    ("views", 0, -1),
    ("views", 2_147_483_647, 2_147_483_648),
    ("authorId", None, 0),
    ("authorId", None, -1),
    ("authorId", None, 2_147_483_648),
    ("authorId", None, "one"),
    ("publishedAt", "2026-11-20T10:00:00Z", "yesterday"),
    ("publishedAt", "2026-11-20T10:00:00+02:00", "2026-13-01T00:00:00Z"),
]


def _case(field: str, value: Any) -> str:
    return f"{field}={str(value)[:40]!r}"


@pytest.mark.parametrize(("field", "inside", "outside"), BOUNDS)
async def test_create_page_accepts_a_value_just_inside_a_bound_and_rejects_one_just_outside(
    client: httpx.AsyncClient, engine: AsyncEngine, field: str, inside: Any, outside: Any
) -> None:
    accepted = await client.post(PAGES, json={"title": "In", field: inside}, headers=WRITER)
    rejected = await client.post(PAGES, json={"title": "Out", field: outside}, headers=WRITER)

    assert accepted.status_code == 201, accepted.text
    body = assert_problem(rejected, 422, field=field)
    assert body["code"] == "validation_failed"
    assert await count_pages(engine) == 1


async def test_update_page_rejects_every_value_just_outside_a_bound_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Before")

    for field, _inside, outside in BOUNDS:
        response = await client.patch(page_url(page["id"]), json={field: outside}, headers=WRITER)
        assert response.status_code == 422, _case(field, outside)
        assert_problem(response, 422, field=field)

    assert (await get_page(client, page["id"])).json() == page


async def test_update_page_accepts_every_value_just_inside_a_bound(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Before")

    for field, inside, _outside in BOUNDS:
        response = await client.patch(page_url(page["id"]), json={field: inside}, headers=WRITER)
        assert response.status_code == 200, (_case(field, inside), response.text)


async def test_replace_page_rejects_every_value_just_outside_a_bound_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Before")

    for field, _inside, outside in BOUNDS:
        response = await client.put(
            page_url(page["id"]), json={"title": "After", field: outside}, headers=WRITER
        )
        assert response.status_code == 422, _case(field, outside)
        assert_problem(response, 422, field=field)

    assert (await get_page(client, page["id"])).json() == page


async def test_create_page_without_a_title_returns_422_naming_title(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(PAGES, json={"slug": "no-title"}, headers=WRITER)

    assert_problem(response, 422, field="title")
    assert await count_pages(engine) == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_unknown_body_field_returns_422_naming_the_field(
    client: httpx.AsyncClient, method: str
) -> None:
    page = await create_page(client, title="Existing")
    url = PAGES if method == "POST" else page_url(page["id"])

    response = await client.request(
        method, url, json={"title": "x", "createdAt": "2020-01-01T00:00:00Z"}, headers=WRITER
    )

    body = assert_problem(response, 422, field="createdAt")
    assert any(error["field"] == "body.createdAt" for error in body["errors"])
    assert (await get_page(client, page["id"])).json() == page


async def test_server_managed_fields_in_the_body_are_unknown_fields(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(
        PAGES,
        json={
            "title": "x",
            "id": "cnotmine0000000000000000000",
            "updatedAt": "2020-01-01T00:00:00Z",
            "author": {"id": 1},
        },
        headers=WRITER,
    )

    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert {"body.id", "body.updatedAt", "body.author"} <= fields
    assert await count_pages(engine) == 0


async def test_several_invalid_fields_are_all_reported(client: httpx.AsyncClient) -> None:
    response = await client.post(
        PAGES, json={"title": "", "slug": "Bad Slug", "views": -5}, headers=WRITER
    )

    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert {"body.title", "body.slug", "body.views"} <= fields


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"not json", 400),
        (b'{"title": "x",}', 400),
        (b"[]", 422),
        (b'"title"', 422),
        (b"null", 422),
        (b"", 422),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, payload: bytes, status: int
) -> None:
    """Unparseable JSON is a 400 (invalid_json); JSON that is not an object is a 422."""
    response = await client.post(
        PAGES, content=payload, headers={**WRITER, "Content-Type": "application/json"}
    )

    assert_problem(response, status)
    assert await count_pages(engine) == 0


async def test_nul_characters_in_text_fields_return_422(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for field in ("title", "summary", "body"):
        response = await client.post(PAGES, json={"title": "ok", field: "a\u0000b"}, headers=WRITER)
        assert_problem(response, 422, field=field)
    response = await client.post(PAGES, json={"title": "ok", "tags": ["a\u0000"]}, headers=WRITER)
    assert_problem(response, 422)
    response = await client.post(
        PAGES, json={"title": "ok", "metadata": {"k": "a\u0000"}}, headers=WRITER
    )
    assert_problem(response, 422, field="metadata")
    assert await count_pages(engine) == 0


async def test_body_over_the_size_limit_returns_413_and_adds_no_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(
        PAGES, json={"title": "Huge", "body": "b" * 1_100_000}, headers=WRITER
    )

    body = assert_problem(response, 413)
    assert body["code"] == "payload_too_large"
    assert await count_pages(engine) == 0


async def test_streamed_body_over_the_size_limit_returns_413(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    chunk = b" " * 65_536

    async def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"title": "Huge", "body": "'
        for _ in range(20):
            yield chunk
        yield b'"}'

    response = await client.post(
        PAGES, content=chunks(), headers={**WRITER, "Content-Type": "application/json"}
    )

    assert_problem(response, 413)
    assert await count_pages(engine) == 0


async def test_update_body_over_the_size_limit_returns_413_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client)

    response = await client.patch(
        page_url(page["id"]), json={"body": "b" * 1_100_000}, headers=WRITER
    )

    assert_problem(response, 413)
    assert (await get_page(client, page["id"])).json() == page


async def test_published_at_with_an_offset_is_stored_in_utc_to_the_millisecond(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, publishedAt="2026-11-20T12:00:00.123987+02:00")

    assert page["publishedAt"] == "2026-11-20T10:00:00.123Z"


async def test_published_at_without_an_offset_is_taken_as_utc(client: httpx.AsyncClient) -> None:
    page = await create_page(client, publishedAt="2026-11-20T10:00:00")

    assert page["publishedAt"] == "2026-11-20T10:00:00.000Z"


async def test_a_body_that_is_not_json_returns_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/pages/",
        content=b'{"title": "x"}',
        headers={**WRITER, "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type"


async def test_a_json_suffix_media_type_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/pages/",
        content=b'{"title": "merge"}',
        headers={**WRITER, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 201


async def test_malformed_json_returns_400_with_the_position(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/pages/",
        content=b'{"title": "x",',
        headers={**WRITER, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_json"
    assert "not valid JSON" in body["detail"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_non_finite_numbers_in_metadata_return_422(
    client: httpx.AsyncClient, value: str
) -> None:
    response = await client.post(
        "/api/v1/pages/",
        content=b'{"title": "x", "metadata": {"n": ' + value.encode() + b"}}",
        headers={**WRITER, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert "NaN or Infinity" in response.text


async def test_problem_titles_use_rfc_9110_names(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/pages/", json={"title": ""}, headers=WRITER)
    assert response.json()["title"] == "Unprocessable Content"
