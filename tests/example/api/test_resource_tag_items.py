"""`PUT`/`DELETE /pages/{id}/tag-items/{tagId}`: the implicit Page↔Tag many-to-many."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.pages_support import page_url
from tests.example.api.resources_support import (
    PAGES_WRITE,
    UNKNOWN_INT,
    UNKNOWN_PAGE,
    assert_operation_ids,
    assert_problem,
    count_rows,
    create_tag,
    insert_link,
    links,
    new_page,
    tag_item_url,
)


async def page_and_tag(client: httpx.AsyncClient) -> tuple[str, int]:
    page = await new_page(client, title="Tagged")
    tag = await create_tag(client, "news")
    return page["id"], tag["id"]


def assert_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


async def test_put_tag_item_links_the_tag_with_204_and_an_empty_body(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page_id, tag_id = await page_and_tag(client)

    response = await client.put(tag_item_url(page_id, tag_id), headers=PAGES_WRITE)

    assert_no_content(response)
    assert await links(engine) == [(page_id, tag_id)]


async def test_linking_twice_is_idempotent_and_leaves_one_row(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page_id, tag_id = await page_and_tag(client)

    for _ in range(2):
        assert_no_content(await client.put(tag_item_url(page_id, tag_id), headers=PAGES_WRITE))

    assert await links(engine) == [(page_id, tag_id)]


async def test_linking_several_tags_keeps_each_link(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page_id, news = await page_and_tag(client)
    sport = (await create_tag(client, "sport"))["id"]

    for tag_id in (sport, news):
        assert_no_content(await client.put(tag_item_url(page_id, tag_id), headers=PAGES_WRITE))

    assert await links(engine) == sorted([(page_id, news), (page_id, sport)])


async def test_delete_tag_item_unlinks_only_that_pair(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page_id, news = await page_and_tag(client)
    sport = (await create_tag(client, "sport"))["id"]
    other = (await new_page(client, title="Other"))["id"]
    for pair in ((page_id, news), (page_id, sport), (other, news)):
        await insert_link(engine, *pair)

    response = await client.delete(tag_item_url(page_id, news), headers=PAGES_WRITE)

    assert_no_content(response)
    assert await links(engine) == sorted([(page_id, sport), (other, news)])
    assert await count_rows(engine, "Tag") == 2
    assert await count_rows(engine, "Page") == 2


async def test_unlinking_twice_or_a_pair_never_linked_is_204(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page_id, tag_id = await page_and_tag(client)
    await insert_link(engine, page_id, tag_id)

    for _ in range(2):
        assert_no_content(await client.delete(tag_item_url(page_id, tag_id), headers=PAGES_WRITE))

    assert await links(engine) == []


async def test_deleting_the_page_removes_its_links_but_not_the_tags(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page_id, tag_id = await page_and_tag(client)
    await insert_link(engine, page_id, tag_id)

    response = await client.delete(page_url(page_id), headers=PAGES_WRITE)

    assert response.status_code == 204
    assert await links(engine) == []
    assert await count_rows(engine, "Tag") == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("missing", ["page", "tag", "both"])
async def test_tag_item_with_an_unknown_page_or_tag_returns_404_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, missing: str
) -> None:
    page_id, tag_id = await page_and_tag(client)
    url = tag_item_url(
        UNKNOWN_PAGE if missing in {"page", "both"} else page_id,
        UNKNOWN_INT if missing in {"tag", "both"} else tag_id,
    )

    response = await client.request(method, url, headers=PAGES_WRITE)

    assert_problem(response, 404, code="not_found")
    assert await links(engine) == []


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_tag_id_that_is_not_an_integer_returns_422(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str
) -> None:
    page_id, _ = await page_and_tag(client)

    response = await client.request(method, tag_item_url(page_id, "abc"), headers=PAGES_WRITE)

    assert_problem(response, 422, field="path.tagId")
    assert await links(engine) == []


async def test_tag_item_operations_have_stable_ids(client: httpx.AsyncClient) -> None:
    path = "/api/v1/pages/{id}/tag-items/{tagId}"
    await assert_operation_ids(
        client, {("PUT", path): "linkPageTagItem", ("DELETE", path): "unlinkPageTagItem"}
    )
