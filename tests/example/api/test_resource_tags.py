"""`/tags/`: full CRUD over `Tag`, unique names, ETags, the list contract, links on delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.resources_support import (
    TAG_KEYS,
    TAGS,
    TAGS_READ,
    TAGS_WRITE,
    UNKNOWN_INT,
    assert_ok,
    assert_operation_ids,
    assert_problem,
    assert_written,
    conditional_write,
    count_rows,
    create_tag,
    data,
    etag_of,
    insert_link,
    insert_tag,
    keys_listed,
    links,
    new_page,
    tag_names,
    tag_url,
    walk,
)

BAD_NAMES: dict[str, Any] = {
    "empty": "",
    "blank": "   ",
    "65 characters": "x" * 65,
    "null": None,
    "a number": 123,
    "a list": ["news"],
}


async def tag_etag(client: httpx.AsyncClient, tag_id: int) -> str:
    return await etag_of(client, tag_url(tag_id), TAGS_READ)


# ---------------------------------------------------------------------------------- create


async def test_create_tag_returns_201_with_location_etag_and_the_tag(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(TAGS, json={"name": "news"}, headers=TAGS_WRITE)

    tag = assert_ok(response, 201)
    assert response.headers["content-type"] == "application/json"
    assert set(tag) == TAG_KEYS
    assert isinstance(tag["id"], int)
    assert tag["name"] == "news"
    assert response.headers["location"] == f"/api/v1/tags/{tag['id']}"
    assert response.headers["etag"].startswith('"')
    assert await tag_names(engine) == ["news"]


async def test_location_of_a_created_tag_serves_the_same_tag_and_etag(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(TAGS, json={"name": "news"}, headers=TAGS_WRITE)

    fetched = await client.get(created.headers["location"], headers=TAGS_READ)

    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert fetched.headers["etag"] == created.headers["etag"]


async def test_create_tag_with_a_64_character_name_is_accepted(client: httpx.AsyncClient) -> None:
    tag = await create_tag(client, "x" * 64)

    assert tag["name"] == "x" * 64


async def test_create_tag_with_duplicate_name_returns_409_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await create_tag(client, "news")

    response = await client.post(TAGS, json={"name": "news"}, headers=TAGS_WRITE)

    assert_problem(response, 409, field="body.name", code="conflict")
    assert await tag_names(engine) == ["news"]


@pytest.mark.parametrize("name", list(BAD_NAMES))
async def test_create_tag_with_an_invalid_name_returns_422_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, name: str
) -> None:
    response = await client.post(TAGS, json={"name": BAD_NAMES[name]}, headers=TAGS_WRITE)

    assert_problem(response, 422, field="body.name")
    assert await count_rows(engine, "Tag") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.name"),
        ({"name": "news", "colour": "red"}, "body.colour"),
        ({"name": "news", "id": 7}, "body.id"),
    ],
    ids=["no name", "unknown field", "id in the body"],
)
async def test_create_tag_with_a_bad_body_returns_422_naming_the_field(
    client: httpx.AsyncClient, engine: AsyncEngine, body: dict[str, Any], field: str
) -> None:
    response = await client.post(TAGS, json=body, headers=TAGS_WRITE)

    assert_problem(response, 422, field=field)
    assert await count_rows(engine, "Tag") == 0


# ------------------------------------------------------------------------------------- get


async def test_get_tag_returns_200_with_etag(client: httpx.AsyncClient) -> None:
    tag = await create_tag(client, "news")

    response = await client.get(tag_url(tag["id"]), headers=TAGS_READ)

    assert response.json() == tag
    assert response.headers["etag"]


async def test_get_tag_with_matching_if_none_match_returns_304(client: httpx.AsyncClient) -> None:
    tag = await create_tag(client, "news")
    etag = await tag_etag(client, tag["id"])

    response = await client.get(tag_url(tag["id"]), headers={**TAGS_READ, "If-None-Match": etag})

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


async def test_get_tag_with_a_stale_if_none_match_returns_the_tag(
    client: httpx.AsyncClient,
) -> None:
    tag = await create_tag(client, "news")
    stale = await tag_etag(client, tag["id"])
    await client.patch(tag_url(tag["id"]), json={"name": "sport"}, headers=TAGS_WRITE)

    response = await client.get(tag_url(tag["id"]), headers={**TAGS_READ, "If-None-Match": stale})

    assert response.status_code == 200
    assert response.json()["name"] == "sport"
    assert response.headers["etag"] != stale


async def test_get_unknown_tag_returns_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(tag_url(UNKNOWN_INT), headers=TAGS_READ)

    assert_problem(response, 404, code="not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_tag_id_that_is_not_an_integer_returns_422_naming_path_id(
    client: httpx.AsyncClient, method: str
) -> None:
    body = {"name": "news"} if method in {"PUT", "PATCH"} else None

    response = await client.request(method, tag_url("abc"), json=body, headers=TAGS_WRITE)

    assert_problem(response, 422, field="path.id")


# ------------------------------------------------------------------------------------ list


async def test_list_tags_of_an_empty_table_is_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await client.get(TAGS, headers=TAGS_READ)

    assert response.json() == {"data": [], "nextCursor": None, "count": None}


async def test_list_tags_defaults_to_id_order_and_20_rows(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ids = [await insert_tag(engine, f"tag-{index:02}") for index in range(25)]

    body = assert_ok(await client.get(TAGS, headers=TAGS_READ))

    assert [tag["id"] for tag in body["data"]] == sorted(ids)[:20]
    assert body["nextCursor"] is not None
    assert all(set(tag) == TAG_KEYS for tag in body["data"])


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("id", ["bravo", "alpha", "charlie"]),
        ("-id", ["charlie", "alpha", "bravo"]),
        ("name", ["alpha", "bravo", "charlie"]),
        ("-name", ["charlie", "bravo", "alpha"]),
    ],
)
async def test_list_tags_sorts_by_each_allowed_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str, expected: list[str]
) -> None:
    for name in ("bravo", "alpha", "charlie"):
        await insert_tag(engine, name)

    names = await keys_listed(client, TAGS, TAGS_READ, key="name", orderBy=order)

    assert names == expected


async def test_list_tags_filters_by_exact_name(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for name in ("news", "newsletter", "News"):
        await insert_tag(engine, name)

    names = await keys_listed(client, TAGS, TAGS_READ, key="name", name="news")

    assert names == ["news"]


async def test_list_tags_with_count_true_gives_the_exact_total(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for index in range(7):
        await insert_tag(engine, f"tag-{index}")

    body = assert_ok(
        await client.get(TAGS, params={"limit": 2, "count": "true"}, headers=TAGS_READ)
    )

    assert body["count"] == 7
    assert len(body["data"]) == 2


async def test_list_tags_offset_skips_rows_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ids = [await insert_tag(engine, f"tag-{index}") for index in range(5)]

    listed = await keys_listed(client, TAGS, TAGS_READ, offset=2, limit=2)

    assert listed == ids[2:4]


@pytest.mark.parametrize("order", ["id", "-id", "name", "-name"])
async def test_cursor_walk_over_tags_returns_every_tag_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str
) -> None:
    for index in range(11):
        await insert_tag(engine, f"tag-{(index * 7) % 11:02}")
    everything = await keys_listed(client, TAGS, TAGS_READ, orderBy=order, limit=100)

    walked = await walk(client, TAGS, TAGS_READ, limit=3, orderBy=order)

    assert walked == everything
    assert len(walked) == 11


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "query.limit"),
        ({"limit": 101}, "query.limit"),
        ({"orderBy": "createdAt"}, "query.orderBy"),
        ({"orderBy": "+name"}, "query.orderBy"),
        ({"colour": "red"}, "query.colour"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
    ],
    ids=["limit 0", "limit 101", "order by a field tags lack", "plus prefix", "unknown", "cursor"],
)
async def test_list_tags_with_a_bad_query_returns_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get(TAGS, params=params, headers=TAGS_READ)

    assert_problem(response, 422, field=field)


async def test_list_tags_with_cursor_and_offset_together_returns_422(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    for index in range(3):
        await insert_tag(engine, f"tag-{index}")
    first = assert_ok(await client.get(TAGS, params={"limit": 1}, headers=TAGS_READ))

    response = await client.get(
        TAGS, params={"cursor": first["nextCursor"], "offset": 1}, headers=TAGS_READ
    )

    assert_problem(response, 422)


# ----------------------------------------------------------------------------- replace/update


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_put_and_patch_rename_the_tag_in_the_database(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str
) -> None:
    tag = await create_tag(client, "news")

    response = await client.request(
        method, tag_url(tag["id"]), json={"name": "sport"}, headers=TAGS_WRITE
    )

    assert assert_ok(response) == {"id": tag["id"], "name": "sport"}
    assert response.headers["etag"] == await tag_etag(client, tag["id"])
    assert await tag_names(engine) == ["sport"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_renaming_a_tag_to_a_taken_name_returns_409_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str
) -> None:
    await create_tag(client, "news")
    sport = await create_tag(client, "sport")

    response = await client.request(
        method, tag_url(sport["id"]), json={"name": "news"}, headers=TAGS_WRITE
    )

    assert_problem(response, 409, field="body.name", code="conflict")
    assert await tag_names(engine) == ["news", "sport"]


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("PUT", {}, "body.name"),
        ("PUT", {"name": ""}, "body.name"),
        ("PATCH", {"name": None}, "body.name"),
        ("PATCH", {"name": "   "}, "body.name"),
        ("PATCH", {"id": 5}, "body.id"),
        ("PUT", {"name": "x", "extra": 1}, "body.extra"),
    ],
    ids=["put without name", "put empty", "patch null", "patch blank", "patch id", "put extra"],
)
async def test_invalid_replace_or_update_returns_422_and_changes_nothing(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    method: str,
    body: dict[str, Any],
    field: str,
) -> None:
    tag = await create_tag(client, "news")

    response = await client.request(method, tag_url(tag["id"]), json=body, headers=TAGS_WRITE)

    assert_problem(response, 422, field=field)
    assert await tag_names(engine) == ["news"]


async def test_patch_with_an_empty_body_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tag = await create_tag(client, "news")

    response = await client.patch(tag_url(tag["id"]), json={}, headers=TAGS_WRITE)

    assert assert_ok(response) == tag
    assert await tag_names(engine) == ["news"]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_write_to_an_unknown_tag_returns_404_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str
) -> None:
    body = {"name": "news"} if method != "DELETE" else None

    response = await client.request(method, tag_url(UNKNOWN_INT), json=body, headers=TAGS_WRITE)

    assert_problem(response, 404, code="not_found")
    assert await count_rows(engine, "Tag") == 0


# ------------------------------------------------------------------------------- If-Match

WRITES: list[tuple[str, dict[str, Any] | None]] = [
    ("PUT", {"name": "sport"}),
    ("PATCH", {"name": "sport"}),
    ("DELETE", None),
]


@pytest.mark.parametrize(("method", "body"), WRITES, ids=[w[0] for w in WRITES])
async def test_write_with_a_stale_if_match_returns_412_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, body: dict[str, Any] | None
) -> None:
    tag = await create_tag(client, "news")
    stale = await tag_etag(client, tag["id"])
    await client.patch(tag_url(tag["id"]), json={"name": "weather"}, headers=TAGS_WRITE)

    response = await conditional_write(
        client, method, tag_url(tag["id"]), body, TAGS_WRITE, if_match=stale
    )

    assert_problem(response, 412, code="precondition_failed")
    assert await tag_names(engine) == ["weather"]


@pytest.mark.parametrize("if_match", ["current", "*"])
@pytest.mark.parametrize(("method", "body"), WRITES, ids=[w[0] for w in WRITES])
async def test_write_with_a_matching_if_match_succeeds(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    method: str,
    body: dict[str, Any] | None,
    if_match: str,
) -> None:
    tag = await create_tag(client, "news")
    header = await tag_etag(client, tag["id"]) if if_match == "current" else "*"

    response = await conditional_write(
        client, method, tag_url(tag["id"]), body, TAGS_WRITE, if_match=header
    )

    assert_written(response, method)
    assert await tag_names(engine) == ([] if method == "DELETE" else ["sport"])


# ---------------------------------------------------------------------------------- delete


async def test_delete_tag_returns_204_and_removes_the_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    news = await create_tag(client, "news")
    await create_tag(client, "sport")

    response = await client.delete(tag_url(news["id"]), headers=TAGS_WRITE)

    assert response.status_code == 204
    assert response.content == b""
    assert await tag_names(engine) == ["sport"]
    gone = await client.get(tag_url(news["id"]), headers=TAGS_READ)
    assert_problem(gone, 404, code="not_found")


async def test_delete_tag_removes_its_page_links_but_not_the_pages(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client, title="Linked")
    news = await create_tag(client, "news")
    sport = await create_tag(client, "sport")
    await insert_link(engine, page["id"], news["id"])
    await insert_link(engine, page["id"], sport["id"])

    response = await client.delete(tag_url(news["id"]), headers=TAGS_WRITE)

    assert response.status_code == 204
    assert await links(engine) == [(page["id"], sport["id"])]
    assert await count_rows(engine, "Page") == 1


async def test_listed_tags_have_the_same_shape_as_a_fetched_tag(
    client: httpx.AsyncClient,
) -> None:
    tag = await create_tag(client, "news")

    listed = await data(client, TAGS, TAGS_READ)

    assert listed == [tag]


async def test_tag_operations_have_stable_ids(client: httpx.AsyncClient) -> None:
    await assert_operation_ids(
        client,
        {
            ("GET", "/api/v1/tags/"): "listTags",
            ("GET", "/api/v1/tags/{id}"): "getTag",
            ("POST", "/api/v1/tags/"): "createTag",
            ("PUT", "/api/v1/tags/{id}"): "replaceTag",
            ("PATCH", "/api/v1/tags/{id}"): "updateTag",
            ("DELETE", "/api/v1/tags/{id}"): "deleteTag",
        },
    )
