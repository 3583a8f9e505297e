"""ETags: conditional reads (`If-None-Match` → 304) and conditional writes (`If-Match` → 412)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import (
    READER,
    WRITER,
    count_pages,
    create_page,
    get_page,
    page_row,
    page_url,
)
from tests.support import assert_problem

WRITES: list[tuple[str, dict[str, Any] | None]] = [
    ("PUT", {"title": "Replaced"}),
    ("PATCH", {"title": "Patched"}),
    ("DELETE", None),
]


async def write(
    client: httpx.AsyncClient, method: str, page_id: str, body: Any, if_match: str
) -> httpx.Response:
    return await client.request(
        method, page_url(page_id), json=body, headers={**WRITER, "If-Match": if_match}
    )


async def read(client: httpx.AsyncClient, page_id: str) -> tuple[dict[str, Any], str]:
    response = await get_page(client, page_id)
    assert response.status_code == 200
    return response.json(), response.headers["etag"]


# --------------------------------------------------------------------------- If-None-Match


async def test_etag_is_stable_while_the_page_is_unchanged(client: httpx.AsyncClient) -> None:
    page = await create_page(client)

    _, first = await read(client, page["id"])
    _, second = await read(client, page["id"])

    assert first == second
    assert first.startswith('"')
    assert first.endswith('"')


async def test_etag_changes_when_the_page_changes(client: httpx.AsyncClient) -> None:
    page = await create_page(client)
    _, before = await read(client, page["id"])

    patched = await client.patch(page_url(page["id"]), json={"views": 1}, headers=WRITER)
    _, after = await read(client, page["id"])

    assert after != before
    assert patched.headers["etag"] == after


async def test_get_with_matching_if_none_match_returns_304_without_a_body(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client)
    _, etag = await read(client, page["id"])

    response = await client.get(page_url(page["id"]), headers={**READER, "If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


async def test_get_with_the_weak_form_of_the_etag_returns_304(client: httpx.AsyncClient) -> None:
    page = await create_page(client)
    _, etag = await read(client, page["id"])

    response = await client.get(
        page_url(page["id"]), headers={**READER, "If-None-Match": f"W/{etag}"}
    )

    assert response.status_code == 304
    assert response.headers["etag"] == etag


async def test_get_with_if_none_match_star_returns_304(client: httpx.AsyncClient) -> None:
    page = await create_page(client)

    response = await client.get(page_url(page["id"]), headers={**READER, "If-None-Match": "*"})

    assert response.status_code == 304


async def test_get_with_the_etag_among_several_returns_304(client: httpx.AsyncClient) -> None:
    page = await create_page(client)
    _, etag = await read(client, page["id"])

    response = await client.get(
        page_url(page["id"]),
        headers={**READER, "If-None-Match": f'"nope", {etag} , W/"other"'},
    )

    assert response.status_code == 304


async def test_get_with_stale_if_none_match_returns_200_and_the_page(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client)
    _, stale = await read(client, page["id"])
    await client.patch(page_url(page["id"]), json={"title": "New"}, headers=WRITER)

    response = await client.get(page_url(page["id"]), headers={**READER, "If-None-Match": stale})

    assert response.status_code == 200
    assert response.json()["title"] == "New"
    assert response.headers["etag"] != stale


async def test_get_unknown_page_with_if_none_match_star_returns_404(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        page_url("cnotthere000000000000000000"), headers={**READER, "If-None-Match": "*"}
    )

    assert_problem(response, 404)


# -------------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize(("method", "body"), WRITES)
async def test_write_with_matching_if_match_succeeds(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, body: Any
) -> None:
    page = await create_page(client)
    _, etag = await read(client, page["id"])

    response = await write(client, method, page["id"], body, etag)

    assert response.status_code == (204 if method == "DELETE" else 200), response.text
    if method == "DELETE":
        assert await count_pages(engine) == 0
    else:
        assert response.json()["title"] == body["title"]
        assert response.headers["etag"] != etag


@pytest.mark.parametrize(("method", "body"), WRITES)
async def test_write_with_stale_if_match_returns_412_and_leaves_the_row_unchanged(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, body: Any
) -> None:
    page = await create_page(client, title="Original", tags=["a"])
    _, stale = await read(client, page["id"])
    await client.patch(page_url(page["id"]), json={"views": 5}, headers=WRITER)
    current, current_etag = await read(client, page["id"])
    row_before = await page_row(engine, page["id"])

    response = await write(client, method, page["id"], body, stale)

    problem = assert_problem(response, 412)
    assert problem["code"] == "precondition_failed"
    after, after_etag = await read(client, page["id"])
    assert after == current
    assert after_etag == current_etag
    assert await page_row(engine, page["id"]) == row_before


@pytest.mark.parametrize(("method", "body"), WRITES)
async def test_write_with_if_match_star_succeeds_on_an_existing_page(
    client: httpx.AsyncClient, method: str, body: Any
) -> None:
    page = await create_page(client)

    response = await write(client, method, page["id"], body, "*")

    assert response.status_code == (204 if method == "DELETE" else 200), response.text


@pytest.mark.parametrize(("method", "body"), WRITES)
async def test_write_with_the_weak_form_of_the_etag_returns_412(
    client: httpx.AsyncClient, method: str, body: Any
) -> None:
    # If-Match uses the strong comparison: a weak validator never matches.
    page = await create_page(client)
    current, etag = await read(client, page["id"])

    response = await write(client, method, page["id"], body, f"W/{etag}")

    assert_problem(response, 412)
    assert (await read(client, page["id"]))[0] == current


@pytest.mark.parametrize(("method", "body"), WRITES)
async def test_write_with_the_etag_among_several_in_if_match_succeeds(
    client: httpx.AsyncClient, method: str, body: Any
) -> None:
    page = await create_page(client)
    _, etag = await read(client, page["id"])

    response = await write(client, method, page["id"], body, f'"stale", {etag}')

    assert response.status_code == (204 if method == "DELETE" else 200), response.text


@pytest.mark.parametrize("if_match", ['"garbage"', "garbage", '""', ","])
async def test_patch_with_a_made_up_if_match_returns_412(
    client: httpx.AsyncClient, if_match: str
) -> None:
    page = await create_page(client)

    response = await write(client, "PATCH", page["id"], {"title": "x"}, if_match)

    assert_problem(response, 412)
    assert (await read(client, page["id"]))[0] == page


async def test_an_etag_from_a_write_response_is_good_for_the_next_write(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(page_url(""), json={"title": "Chain"}, headers=WRITER)
    page_id = created.json()["id"]

    first = await write(client, "PATCH", page_id, {"views": 1}, created.headers["etag"])
    second = await write(client, "PUT", page_id, {"title": "Chain 2"}, first.headers["etag"])
    stale = await write(client, "PATCH", page_id, {"views": 3}, first.headers["etag"])
    third = await write(client, "DELETE", page_id, None, second.headers["etag"])

    assert first.status_code == 200
    assert second.status_code == 200
    assert stale.status_code == 412
    assert third.status_code == 204


async def test_writes_without_if_match_are_unconditional(client: httpx.AsyncClient) -> None:
    page = await create_page(client)

    response = await client.patch(page_url(page["id"]), json={"title": "x"}, headers=WRITER)

    assert response.status_code == 200


async def test_if_match_on_a_missing_page_is_412(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        "/api/v1/pages/cnotthere000000000000000000",
        json={"views": 1},
        headers={**WRITER, "If-Match": "*"},
    )
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"


async def test_snake_case_field_names_are_unknown_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/pages/", json={"title": "t", "author_id": 1}, headers=WRITER
    )
    assert response.status_code == 422
    assert any(error["field"] == "body.author_id" for error in response.json()["errors"])
