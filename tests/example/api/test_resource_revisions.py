"""`/pages/{pageId}/revisions/…`: `PageRevision`, keyed by (pageId, revision) under its page."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import db_now, page_url
from tests.example.api.resources_support import (
    BASE_TIME,
    PAGES_READ,
    PAGES_WRITE,
    REVISION_KEYS,
    UNKNOWN_PAGE,
    UUID_CANONICAL,
    assert_iso,
    assert_ok,
    assert_operation_ids,
    assert_problem,
    assert_written,
    conditional_write,
    count_rows,
    create_revision,
    etag_of,
    expected_order,
    insert_revision,
    keys_listed,
    new_page,
    revision_numbers,
    revision_row,
    revision_url,
    revisions_url,
    walk,
)


async def revision_etag(client: httpx.AsyncClient, page_id: str, revision: int) -> str:
    return await etag_of(client, revision_url(page_id, revision), PAGES_READ)


async def later() -> None:
    """Let the clock move past the revision's `editedAt` (millisecond precision)."""
    await asyncio.sleep(0.005)


# ---------------------------------------------------------------------------------- create


async def test_create_revision_returns_201_with_location_etag_and_defaults(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)

    response = await client.post(
        revisions_url(page["id"]),
        json={"revision": 1, "effectiveOn": "2026-01-31"},
        headers=PAGES_WRITE,
    )

    revision = assert_ok(response, 201)
    assert response.headers["location"] == f"/api/v1/pages/{page['id']}/revisions/1"
    assert response.headers["etag"].startswith('"')
    assert set(revision) == REVISION_KEYS
    assert revision["pageId"] == page["id"]
    assert revision["revision"] == 1
    assert revision["price"] == "0"
    assert revision["byteSize"] == "0"
    assert revision["effectiveOn"] == "2026-01-31T00:00:00.000Z"
    assert UUID_CANONICAL.match(revision["externalId"])
    assert abs(assert_iso(revision["editedAt"]) - await db_now(engine)) < timedelta(minutes=1)
    row = await revision_row(engine, page["id"], 1)
    assert row is not None
    assert str(row["external_id"]).replace("-", "") == revision["externalId"].replace("-", "")


async def test_location_of_a_created_revision_serves_the_same_revision_and_etag(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client)
    created = await client.post(
        revisions_url(page["id"]),
        json={"revision": 3, "effectiveOn": "2026-01-31", "price": "9.99"},
        headers=PAGES_WRITE,
    )

    fetched = await client.get(created.headers["location"], headers=PAGES_READ)

    assert fetched.status_code == 200
    assert fetched.json() == created.json()
    assert fetched.headers["etag"] == created.headers["etag"]


async def test_each_created_revision_gets_its_own_external_id(client: httpx.AsyncClient) -> None:
    page = await new_page(client)

    first = await create_revision(client, page["id"], 1)
    second = await create_revision(client, page["id"], 2)

    assert first["externalId"] != second["externalId"]


async def test_create_revision_keeps_an_external_id_it_is_given(client: httpx.AsyncClient) -> None:
    page = await new_page(client)
    external_id = "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10"

    revision = await create_revision(client, page["id"], 1, externalId=external_id)

    assert revision["externalId"] == external_id


async def test_create_revision_with_a_duplicate_number_returns_409_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    first = await create_revision(client, page["id"], 1, price="5")

    response = await client.post(
        revisions_url(page["id"]),
        json={"revision": 1, "effectiveOn": "2026-02-01", "price": "7"},
        headers=PAGES_WRITE,
    )

    assert_problem(response, 409, code="conflict")
    assert await count_rows(engine, "page_revisions") == 1
    stored = assert_ok(await client.get(revision_url(page["id"], 1), headers=PAGES_READ))
    assert stored == first


async def test_the_same_revision_number_on_another_page_is_fine(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    one = await new_page(client, title="One")
    two = await new_page(client, title="Two")

    await create_revision(client, one["id"], 1)
    await create_revision(client, two["id"], 1)

    assert await revision_numbers(engine, one["id"]) == [1]
    assert await revision_numbers(engine, two["id"]) == [1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"effectiveOn": "2026-01-31"}, "body.revision"),
        ({"revision": 1}, "body.effectiveOn"),
        ({"revision": 1, "effectiveOn": "2026-01-31", "pageId": "x"}, "body.pageId"),
        ({"revision": 1, "effectiveOn": "2026-01-31", "editedAt": "2026-01-31"}, "body.editedAt"),
        ({"revision": 1, "effectiveOn": "2026-01-31", "note": "x"}, "body.note"),
        ({"revision": "one", "effectiveOn": "2026-01-31"}, "body.revision"),
        ({"revision": 2**31, "effectiveOn": "2026-01-31"}, "body.revision"),
        ({"revision": 1, "effectiveOn": None}, "body.effectiveOn"),
    ],
    ids=[
        "no revision",
        "no effectiveOn",
        "pageId in the body",
        "editedAt in the body",
        "unknown field",
        "revision not a number",
        "revision beyond int4",
        "effectiveOn null",
    ],
)
async def test_create_revision_with_a_bad_body_returns_422_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, body: dict[str, Any], field: str
) -> None:
    page = await new_page(client)

    response = await client.post(revisions_url(page["id"]), json=body, headers=PAGES_WRITE)

    assert_problem(response, 422, field=field)
    assert await count_rows(engine, "page_revisions") == 0


async def test_create_revision_of_an_unknown_page_returns_404_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    response = await client.post(
        revisions_url(UNKNOWN_PAGE),
        json={"revision": 1, "effectiveOn": "2026-01-31"},
        headers=PAGES_WRITE,
    )

    assert_problem(response, 404, code="not_found")
    assert await count_rows(engine, "page_revisions") == 0


# ------------------------------------------------------------------------------------- get


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", revisions_url(UNKNOWN_PAGE)),
        ("GET", revision_url(UNKNOWN_PAGE, 1)),
        ("PUT", revision_url(UNKNOWN_PAGE, 1)),
        ("PATCH", revision_url(UNKNOWN_PAGE, 1)),
        ("DELETE", revision_url(UNKNOWN_PAGE, 1)),
    ],
)
async def test_revisions_of_an_unknown_page_return_404(
    client: httpx.AsyncClient, method: str, url: str
) -> None:
    body = {"effectiveOn": "2026-01-31"} if method in {"PUT", "PATCH"} else None

    response = await client.request(method, url, json=body, headers=PAGES_WRITE)

    assert_problem(response, 404, code="not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_unknown_revision_of_a_known_page_returns_404(
    client: httpx.AsyncClient, method: str
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1)
    body = {"effectiveOn": "2026-01-31"} if method in {"PUT", "PATCH"} else None

    response = await client.request(
        method, revision_url(page["id"], 2), json=body, headers=PAGES_WRITE
    )

    assert_problem(response, 404, code="not_found")


async def test_revision_number_that_is_not_an_integer_returns_422(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client)

    response = await client.get(revision_url(page["id"], "abc"), headers=PAGES_READ)

    assert_problem(response, 422, field="path.revision")


async def test_get_revision_with_matching_if_none_match_returns_304(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1)
    etag = await revision_etag(client, page["id"], 1)

    response = await client.get(
        revision_url(page["id"], 1), headers={**PAGES_READ, "If-None-Match": etag}
    )

    assert response.status_code == 304


# ------------------------------------------------------------------------------------ list


async def test_list_revisions_gives_only_that_pages_revisions_by_revision(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client, title="Mine")
    other = await new_page(client, title="Other")
    for number in (3, 1, 2):
        await create_revision(client, page["id"], number)
    await create_revision(client, other["id"], 9)

    body = assert_ok(await client.get(revisions_url(page["id"]), headers=PAGES_READ))

    assert [item["revision"] for item in body["data"]] == [1, 2, 3]
    assert {item["pageId"] for item in body["data"]} == {page["id"]}
    fetched = assert_ok(await client.get(revision_url(page["id"], 1), headers=PAGES_READ))
    assert body["data"][0] == fetched


async def test_list_revisions_of_a_page_without_any_is_empty(client: httpx.AsyncClient) -> None:
    page = await new_page(client)

    response = await client.get(revisions_url(page["id"]), headers=PAGES_READ)

    assert response.json() == {"data": [], "nextCursor": None, "count": None}


async def seed_revisions(engine: AsyncEngine, page_id: str, count: int) -> list[dict[str, Any]]:
    """`count` revisions with few distinct effective dates (ties broken by revision)."""
    rows = []
    for index in range(count):
        number = (index * 7) % count + 1
        effective_on = date(2026, 1, 1) + timedelta(days=index % 3)
        await insert_revision(engine, page_id, number, effective_on=effective_on)
        rows.append({"revision": number, "effectiveOn": effective_on})
    return rows


ORDERS = ["revision", "-revision", "effectiveOn", "-effectiveOn"]


@pytest.mark.parametrize("order", ORDERS)
async def test_list_revisions_sorts_by_each_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str
) -> None:
    page = await new_page(client)
    rows = await seed_revisions(engine, page["id"], 9)

    numbers = await keys_listed(
        client, revisions_url(page["id"]), PAGES_READ, key="revision", orderBy=order
    )

    assert numbers == expected_order(rows, order, key="revision")


@pytest.mark.parametrize("order", [None, *ORDERS])
async def test_cursor_walk_over_revisions_returns_each_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str | None
) -> None:
    page = await new_page(client)
    rows = await seed_revisions(engine, page["id"], 13)
    params = {"orderBy": order} if order else {}

    walked = await walk(
        client, revisions_url(page["id"]), PAGES_READ, limit=3, key="revision", **params
    )

    assert walked == expected_order(rows, order or "revision", key="revision")


async def test_list_revisions_with_count_true(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    await seed_revisions(engine, page["id"], 5)

    body = assert_ok(
        await client.get(
            revisions_url(page["id"]), params={"count": "true", "limit": 2}, headers=PAGES_READ
        )
    )

    assert body["count"] == 5
    assert [item["revision"] for item in body["data"]] == [1, 2]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"orderBy": "price"}, "query.orderBy"), ({"pageId": "x"}, "query.pageId")],
    ids=["order by price", "pageId filter"],
)
async def test_list_revisions_with_a_bad_query_returns_422(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    page = await new_page(client)

    response = await client.get(revisions_url(page["id"]), params=params, headers=PAGES_READ)

    assert_problem(response, 422, field=field)


# ----------------------------------------------------------------------------- replace/update


async def test_put_replaces_every_field_and_resets_omitted_ones_to_defaults(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    created = await create_revision(
        client, page["id"], 1, price="12.5", byteSize="42", effectiveOn="2026-01-31"
    )
    await later()

    response = await client.put(
        revision_url(page["id"], 1), json={"effectiveOn": "2026-03-01"}, headers=PAGES_WRITE
    )

    replaced = assert_ok(response)
    assert replaced["price"] == "0"
    assert replaced["byteSize"] == "0"
    assert replaced["effectiveOn"] == "2026-03-01T00:00:00.000Z"
    assert replaced["revision"] == 1
    assert replaced["pageId"] == page["id"]
    assert assert_iso(replaced["editedAt"]) > assert_iso(created["editedAt"])
    assert response.headers["etag"] == await revision_etag(client, page["id"], 1)
    row = await revision_row(engine, page["id"], 1)
    assert row is not None
    assert row["byte_size"] == 0


async def test_patch_changes_only_the_fields_sent_and_advances_edited_at(
    client: httpx.AsyncClient,
) -> None:
    page = await new_page(client)
    created = await create_revision(client, page["id"], 1, price="12.5", byteSize="42")
    await later()

    response = await client.patch(
        revision_url(page["id"], 1), json={"price": "13"}, headers=PAGES_WRITE
    )

    patched = assert_ok(response)
    assert patched["price"] == "13"
    assert {key: patched[key] for key in ("byteSize", "effectiveOn", "externalId")} == {
        key: created[key] for key in ("byteSize", "effectiveOn", "externalId")
    }
    assert assert_iso(patched["editedAt"]) > assert_iso(created["editedAt"])


async def test_every_update_advances_edited_at(client: httpx.AsyncClient) -> None:
    page = await new_page(client)
    stamps = [(await create_revision(client, page["id"], 1))["editedAt"]]
    for price in ("1", "2", "3"):
        await later()
        response = await client.patch(
            revision_url(page["id"], 1), json={"price": price}, headers=PAGES_WRITE
        )
        stamps.append(assert_ok(response)["editedAt"])

    parsed = [assert_iso(stamp) for stamp in stamps]
    assert parsed == sorted(parsed)
    assert len(set(parsed)) == len(parsed)


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("PUT", {"effectiveOn": "2026-01-31", "revision": 2}, "body.revision"),
        ("PATCH", {"revision": 2}, "body.revision"),
        ("PUT", {"effectiveOn": "2026-01-31", "pageId": "x"}, "body.pageId"),
        ("PATCH", {"pageId": "x"}, "body.pageId"),
        ("PUT", {"price": "1"}, "body.effectiveOn"),
        ("PATCH", {"price": None}, "body.price"),
        ("PATCH", {"effectiveOn": None}, "body.effectiveOn"),
        ("PATCH", {"externalId": None}, "body.externalId"),
    ],
    ids=[
        "put revision",
        "patch revision",
        "put pageId",
        "patch pageId",
        "put without effectiveOn",
        "patch price null",
        "patch effectiveOn null",
        "patch externalId null",
    ],
)
async def test_invalid_replace_or_update_returns_422_and_changes_nothing(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    method: str,
    body: dict[str, Any],
    field: str,
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1, price="5")
    before = await revision_row(engine, page["id"], 1)

    response = await client.request(
        method, revision_url(page["id"], 1), json=body, headers=PAGES_WRITE
    )

    assert_problem(response, 422, field=field)
    assert await revision_row(engine, page["id"], 1) == before
    assert await revision_numbers(engine, page["id"]) == [1]


# ------------------------------------------------------------------------------- If-Match

WRITES: list[tuple[str, dict[str, Any] | None]] = [
    ("PUT", {"effectiveOn": "2026-05-05"}),
    ("PATCH", {"price": "99"}),
    ("DELETE", None),
]


@pytest.mark.parametrize(("method", "body"), WRITES, ids=[w[0] for w in WRITES])
async def test_revision_write_with_a_stale_if_match_returns_412_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, body: dict[str, Any] | None
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1)
    stale = await revision_etag(client, page["id"], 1)
    await later()
    await client.patch(revision_url(page["id"], 1), json={"price": "1"}, headers=PAGES_WRITE)
    before = await revision_row(engine, page["id"], 1)

    response = await conditional_write(
        client, method, revision_url(page["id"], 1), body, PAGES_WRITE, if_match=stale
    )

    assert_problem(response, 412, code="precondition_failed")
    assert await revision_row(engine, page["id"], 1) == before


@pytest.mark.parametrize("if_match", ["current", "*"])
@pytest.mark.parametrize(("method", "body"), WRITES, ids=[w[0] for w in WRITES])
async def test_revision_write_with_a_matching_if_match_succeeds(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    method: str,
    body: dict[str, Any] | None,
    if_match: str,
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1)
    header = await revision_etag(client, page["id"], 1) if if_match == "current" else "*"

    response = await conditional_write(
        client, method, revision_url(page["id"], 1), body, PAGES_WRITE, if_match=header
    )

    assert_written(response, method)
    assert await revision_numbers(engine, page["id"]) == ([] if method == "DELETE" else [1])


# ---------------------------------------------------------------------------------- delete


async def test_delete_revision_returns_204_and_removes_only_that_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    for number in (1, 2):
        await create_revision(client, page["id"], number)

    response = await client.delete(revision_url(page["id"], 1), headers=PAGES_WRITE)

    assert response.status_code == 204
    assert response.content == b""
    assert await revision_numbers(engine, page["id"]) == [2]


async def test_deleting_the_page_deletes_its_revisions(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client, title="Doomed")
    other = await new_page(client, title="Kept")
    for number in (1, 2, 3):
        await insert_revision(engine, page["id"], number, edited_at=BASE_TIME)
    await insert_revision(engine, other["id"], 1)

    response = await client.delete(page_url(page["id"]), headers=PAGES_WRITE)

    assert response.status_code == 204
    assert await revision_numbers(engine, page["id"]) == []
    assert await revision_numbers(engine, other["id"]) == [1]
    listed = await client.get(revisions_url(page["id"]), headers=PAGES_READ)
    assert_problem(listed, 404, code="not_found")


async def test_revision_operations_have_stable_ids(client: httpx.AsyncClient) -> None:
    # The parent's part of the path is named after the revision's own foreign key field.
    collection = "/api/v1/pages/{pageId}/revisions/"
    item = "/api/v1/pages/{pageId}/revisions/{revision}"
    await assert_operation_ids(
        client,
        {
            ("GET", collection): "listPageRevisions",
            ("POST", collection): "createPageRevision",
            ("GET", item): "getPageRevision",
            ("PUT", item): "replacePageRevision",
            ("PATCH", item): "updatePageRevision",
            ("DELETE", item): "deletePageRevision",
        },
    )
