"""Create, read, replace, update and delete pages: the happy paths and their conflicts."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import (
    CUID,
    PAGES,
    READER,
    WRITER,
    count_pages,
    create_page,
    get_page,
    insert_user,
    page_row,
    page_url,
)
from tests.support import assert_problem

FULL_PAGE: dict[str, Any] = {
    "title": "Full page",
    "slug": "full-page",
    "summary": "A summary",
    "body": "The body",
    "published": True,
    "status": "PUBLISHED",
    "tags": ["python", "prisma"],
    "views": 7,
    "metadata": {"seo": {"index": True}, "order": [1, 2]},
    "publishedAt": "2026-11-20T10:00:00.123Z",
}


# ---------------------------------------------------------------------------------- create


async def test_create_page_returns_201_with_location_etag_and_the_page(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(PAGES, json={"title": "Hello"}, headers=WRITER)

    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert response.headers["location"] == f"/api/v1/pages/{page['id']}"
    assert response.headers["etag"].startswith('"')
    assert response.headers["etag"].endswith('"')
    assert CUID.match(page["id"])
    assert page == {
        "id": page["id"],
        "title": "Hello",
        "slug": "hello",
        "summary": None,
        "body": None,
        "published": False,
        "status": "DRAFT",
        "tags": [],
        "views": 0,
        "metadata": None,
        "createdAt": page["createdAt"],
        "updatedAt": page["updatedAt"],
        "publishedAt": None,
        "authorId": None,
    }
    assert await count_pages(engine) == 1


async def test_location_of_a_created_page_serves_the_same_page_and_etag(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(PAGES, json=FULL_PAGE, headers=WRITER)

    fetched = await client.get(created.headers["location"], headers=READER)

    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert fetched.headers["etag"] == created.headers["etag"]


async def test_create_page_with_every_field_stores_every_field(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author_id = await insert_user(engine, "author@example.com")

    page = await create_page(client, **FULL_PAGE, authorId=author_id)

    assert {key: page[key] for key in FULL_PAGE} == FULL_PAGE
    assert page["authorId"] == author_id
    row = await page_row(engine, page["id"])
    assert row is not None
    assert row["title"] == "Full page"
    assert row["authorId"] == author_id


async def test_metadata_is_stored_whole_on_create_and_update(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    # Unicode, nesting, the largest 64-bit integers, a float and an empty object: what is read
    # back is what was sent (larger integers are refused by validation).
    metadata = {"naïve": "é ✓ 𝄞", "deep": {"list": [1, 2.5, None, True, {}]}, "n": 2**63 - 1}
    page = await create_page(client, title="Meta", metadata=metadata)
    assert page["metadata"] == metadata
    row = await page_row(engine, page["id"])
    assert row is not None
    stored = row["metadata"]
    assert (json.loads(stored) if isinstance(stored, str) else stored) == metadata
    changed = {"n": -(2**63), "text": 'quote " and \\ backslash'}
    response = await client.patch(page_url(page["id"]), json={"metadata": changed}, headers=WRITER)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == changed
    assert (await get_page(client, page["id"])).json()["metadata"] == changed


async def test_create_page_with_duplicate_slug_returns_409_and_adds_no_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await create_page(client, title="First", slug="taken")

    response = await client.post(PAGES, json={"title": "Second", "slug": "taken"}, headers=WRITER)

    body = assert_problem(response, 409, field="slug")
    assert body["code"] == "conflict"
    assert "taken" in body["detail"]
    assert await count_pages(engine) == 1


async def test_create_page_without_slug_derives_it_from_the_title(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Hello, World!")

    assert page["slug"] == "hello-world"


async def test_derived_slug_is_made_unique_with_a_numeric_suffix(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    first = await create_page(client, title="Hello, World!")
    second = await create_page(client, title="Hello World")
    third = await create_page(client, title="hello -- world")

    assert [first["slug"], second["slug"], third["slug"]] == [
        "hello-world",
        "hello-world-2",
        "hello-world-3",
    ]
    assert await count_pages(engine) == 3


async def test_derived_slug_skips_a_suffix_taken_explicitly(client: httpx.AsyncClient) -> None:
    await create_page(client, title="x", slug="news")
    await create_page(client, title="y", slug="news-2")

    page = await create_page(client, title="News")

    assert page["slug"] == "news-3"


async def test_derived_slug_of_a_title_without_letters_or_digits_is_page(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="!!! ???")

    assert page["slug"] == "page"


async def test_derived_slug_transliterates_accents(client: httpx.AsyncClient) -> None:
    page = await create_page(client, title="Crème Brûlée à la carte")

    assert page["slug"] == "creme-brulee-a-la-carte"


async def test_create_page_with_unknown_author_returns_409_naming_author_id(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(PAGES, json={"title": "Orphan", "authorId": 999}, headers=WRITER)

    body = assert_problem(response, 409, field="authorId")
    assert body["code"] == "conflict"
    assert await count_pages(engine) == 0


async def test_create_page_with_existing_author_links_it(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author_id = await insert_user(engine, "writer@example.com")

    page = await create_page(client, title="Owned", authorId=author_id)

    assert page["authorId"] == author_id
    listed = await client.get(PAGES, params={"authorId": author_id}, headers=READER)
    assert [item["id"] for item in listed.json()["data"]] == [page["id"]]


# ------------------------------------------------------------------------------------- get


async def test_get_page_returns_200_with_etag(client: httpx.AsyncClient) -> None:
    page = await create_page(client, title="Readable")

    response = await get_page(client, page["id"])

    assert response.status_code == 200
    assert response.json() == page
    assert response.headers["etag"]


async def test_get_unknown_page_returns_404_problem(client: httpx.AsyncClient) -> None:
    response = await get_page(client, "cnotthere000000000000000000")

    body = assert_problem(response, 404)
    assert body["code"] == "not_found"


@pytest.mark.parametrize(
    "raw_id",
    [
        "%00",
        "a%00b",
        "a%20b",
        "%C3%A9t%C3%A9",
        "a.b",
        "%27%3B%20DROP%20TABLE%20Page%3B--",
        "~",
        "a%2Bb",
    ],
)
async def test_get_page_with_odd_characters_in_id_returns_404(
    client: httpx.AsyncClient, raw_id: str
) -> None:
    response = await client.get(f"{PAGES}{raw_id}", headers=READER)

    assert_problem(response, 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_absurdly_long_page_id_returns_422_on_every_route(
    client: httpx.AsyncClient, method: str
) -> None:
    body = {"title": "x"} if method in {"PUT", "PATCH"} else None

    response = await client.request(method, page_url("a" * 10_000), json=body, headers=WRITER)

    assert_problem(response, 422, field="id")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_writes_to_an_id_with_odd_characters_return_404(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str
) -> None:
    await create_page(client)
    body = {"title": "x"} if method in {"PUT", "PATCH"} else None

    response = await client.request(method, f"{PAGES}a%00b", json=body, headers=WRITER)

    assert_problem(response, 404)
    assert await count_pages(engine) == 1


# ------------------------------------------------------------------------------------- PUT


async def test_replace_page_resets_omitted_fields_to_their_defaults(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author_id = await insert_user(engine, "a@example.com")
    page = await create_page(client, **FULL_PAGE, authorId=author_id)

    response = await client.put(
        page_url(page["id"]), json={"title": "Replaced", "slug": "replaced"}, headers=WRITER
    )

    assert response.status_code == 200
    replaced = response.json()
    assert replaced == {
        **page,
        "title": "Replaced",
        "slug": "replaced",
        "summary": None,
        "body": None,
        "published": False,
        "status": "DRAFT",
        "tags": [],
        "views": 0,
        "metadata": None,
        "publishedAt": None,
        "authorId": None,
        "updatedAt": replaced["updatedAt"],
    }
    assert response.headers["etag"]
    assert (await get_page(client, page["id"])).json() == replaced


async def test_replace_page_without_slug_derives_it_from_the_new_title(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Old name")

    response = await client.put(page_url(page["id"]), json={"title": "New Name!"}, headers=WRITER)

    assert response.status_code == 200
    assert response.json()["slug"] == "new-name"


async def test_replace_page_keeps_its_own_derived_slug_without_a_suffix(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Same title")

    response = await client.put(page_url(page["id"]), json={"title": "Same title"}, headers=WRITER)

    assert response.json()["slug"] == "same-title"


async def test_replace_page_with_another_pages_slug_returns_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await create_page(client, title="Other", slug="other")
    page = await create_page(client, title="Mine", slug="mine")

    response = await client.put(
        page_url(page["id"]), json={"title": "Mine", "slug": "other"}, headers=WRITER
    )

    assert_problem(response, 409, field="slug")
    assert (await get_page(client, page["id"])).json() == page


async def test_replace_page_with_unknown_author_returns_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client, title="Mine")

    response = await client.put(
        page_url(page["id"]), json={"title": "Mine", "authorId": 4242}, headers=WRITER
    )

    assert_problem(response, 409, field="authorId")
    assert (await get_page(client, page["id"])).json() == page


async def test_replace_unknown_page_returns_404_and_creates_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.put(
        page_url("cnotthere000000000000000000"), json={"title": "Ghost"}, headers=WRITER
    )

    assert_problem(response, 404)
    assert await count_pages(engine) == 0


async def test_replace_page_requires_a_title(client: httpx.AsyncClient) -> None:
    page = await create_page(client)

    response = await client.put(page_url(page["id"]), json={"slug": "x"}, headers=WRITER)

    assert_problem(response, 422, field="title")
    assert (await get_page(client, page["id"])).json() == page


# ----------------------------------------------------------------------------------- PATCH


async def test_update_page_changes_only_the_fields_sent(client: httpx.AsyncClient) -> None:
    page = await create_page(client, **FULL_PAGE)

    response = await client.patch(
        page_url(page["id"]), json={"title": "Renamed", "views": 8}, headers=WRITER
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated == {
        **page,
        "title": "Renamed",
        "views": 8,
        "updatedAt": updated["updatedAt"],
    }
    assert updated["slug"] == "full-page"  # a new title does not move the slug
    assert response.headers["etag"]


async def test_update_page_with_null_clears_summary_published_at_and_metadata(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await create_page(client, **FULL_PAGE)

    response = await client.patch(
        page_url(page["id"]),
        json={"summary": None, "publishedAt": None, "metadata": None, "body": None},
        headers=WRITER,
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["summary"] is None
    assert updated["publishedAt"] is None
    assert updated["metadata"] is None
    assert updated["body"] is None
    assert updated["tags"] == FULL_PAGE["tags"]
    row = await page_row(engine, page["id"])
    assert row is not None
    assert row["summary"] is None
    assert row["publishedAt"] is None
    assert row["metadata"] is None


async def test_update_page_with_null_tags_empties_the_list(client: httpx.AsyncClient) -> None:
    page = await create_page(client, title="Tagged", tags=["a", "b"])

    response = await client.patch(page_url(page["id"]), json={"tags": None}, headers=WRITER)

    assert response.status_code == 200
    assert response.json()["tags"] == []


@pytest.mark.parametrize("field", ["title", "slug", "published", "status", "views"])
async def test_update_page_with_null_on_a_required_field_returns_422(
    client: httpx.AsyncClient, field: str
) -> None:
    page = await create_page(client, **FULL_PAGE)

    response = await client.patch(page_url(page["id"]), json={field: None}, headers=WRITER)

    assert_problem(response, 422, field=field)
    assert (await get_page(client, page["id"])).json() == page


async def test_update_page_with_empty_body_changes_nothing(client: httpx.AsyncClient) -> None:
    page = await create_page(client, **FULL_PAGE)
    before = await get_page(client, page["id"])

    response = await client.patch(page_url(page["id"]), json={}, headers=WRITER)

    assert response.status_code == 200
    assert response.json() == page
    assert response.headers["etag"] == before.headers["etag"]
    after = await get_page(client, page["id"])
    assert after.json() == page
    assert after.headers["etag"] == before.headers["etag"]


async def test_update_page_slug_to_another_pages_slug_returns_409_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await create_page(client, title="Other", slug="other")
    page = await create_page(client, title="Mine", slug="mine")

    response = await client.patch(page_url(page["id"]), json={"slug": "other"}, headers=WRITER)

    body = assert_problem(response, 409, field="slug")
    assert "other" in body["detail"]
    assert (await get_page(client, page["id"])).json() == page


async def test_update_page_slug_to_its_own_slug_succeeds(client: httpx.AsyncClient) -> None:
    page = await create_page(client, title="Mine", slug="mine")

    response = await client.patch(page_url(page["id"]), json={"slug": "mine"}, headers=WRITER)

    assert response.status_code == 200
    assert response.json()["slug"] == "mine"


async def test_update_page_with_unknown_author_returns_409_naming_author_id(
    client: httpx.AsyncClient,
) -> None:
    page = await create_page(client)

    response = await client.patch(page_url(page["id"]), json={"authorId": 31337}, headers=WRITER)

    assert_problem(response, 409, field="authorId")
    assert (await get_page(client, page["id"])).json() == page


async def test_update_page_sets_and_clears_an_existing_author(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    author_id = await insert_user(engine, "someone@example.com")
    page = await create_page(client)

    linked = await client.patch(page_url(page["id"]), json={"authorId": author_id}, headers=WRITER)
    unlinked = await client.patch(page_url(page["id"]), json={"authorId": None}, headers=WRITER)

    assert linked.json()["authorId"] == author_id
    assert unlinked.json()["authorId"] is None


async def test_update_unknown_page_returns_404(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        page_url("cnotthere000000000000000000"), json={"title": "x"}, headers=WRITER
    )

    assert_problem(response, 404)


# ---------------------------------------------------------------------------------- DELETE


async def test_delete_page_returns_204_then_get_returns_404(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await create_page(client)
    keep = await create_page(client, title="Keep")

    response = await client.delete(page_url(page["id"]), headers=WRITER)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await get_page(client, page["id"]), 404)
    assert await page_row(engine, page["id"]) is None
    assert (await get_page(client, keep["id"])).status_code == 200
    assert await count_pages(engine) == 1


async def test_delete_page_twice_returns_404_the_second_time(client: httpx.AsyncClient) -> None:
    page = await create_page(client)
    await client.delete(page_url(page["id"]), headers=WRITER)

    response = await client.delete(page_url(page["id"]), headers=WRITER)

    assert_problem(response, 404)


async def test_deleted_slug_can_be_used_again(client: httpx.AsyncClient) -> None:
    page = await create_page(client, title="Reuse", slug="reuse")
    await client.delete(page_url(page["id"]), headers=WRITER)

    again = await create_page(client, title="Reuse")

    assert again["slug"] == "reuse"
    assert again["id"] != page["id"]
