"""Concurrent writers on PostgreSQL: unique slugs and If-Match hold under contention, and
nothing deadlocks (every gather is bounded by a timeout)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable

import httpx
import pytest

from tests.reliability.support import ARTICLES, WRITER, PgDatabase, assert_problem

BOUND = 60  # seconds for any one burst


async def burst(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    async with asyncio.timeout(BOUND):
        return list(await asyncio.gather(*requests))


@pytest.mark.slow
async def test_50_parallel_creates_with_one_slug(
    pg: PgDatabase, pg_client: httpx.AsyncClient
) -> None:
    responses = await burst(
        *(
            pg_client.post(
                ARTICLES, json={"title": f"Racer {n}", "slug": "one-slug"}, headers=WRITER
            )
            for n in range(50)
        )
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    for response in responses:
        if response.status_code == 409:
            assert assert_problem(response, 409)["errors"][0]["field"] == "body.slug"
    assert await pg.fetchval('SELECT count(*) FROM "mx_article" WHERE slug = $1', "one-slug") == 1
    assert await pg.count_articles() == 1


@pytest.mark.slow
async def test_50_parallel_creates_with_one_title_get_distinct_slugs(
    pg: PgDatabase, pg_client: httpx.AsyncClient
) -> None:
    """Derived slugs race too: every create is a 201 or a clean 409, never a 5xx or a duplicate.

    The fixture's retry_conflict hook takes no lock, so some creators may run out of attempts
    (a 409 "try again"); the example's pages take turns and all succeed (tests/example).
    """
    responses = await burst(
        *(pg_client.post(ARTICLES, json={"title": "Same Title"}, headers=WRITER) for _ in range(50))
    )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    for response in responses:
        if response.status_code == 409:
            assert assert_problem(response, 409)["code"] == "conflict"
    slugs = [r.json()["slug"] for r in responses if r.status_code == 201]
    assert len(slugs) == len(set(slugs))
    # The hook's retries got past the first conflict: the base slug and at least one suffix.
    assert "same-title" in slugs
    assert len(slugs) >= 2, statuses
    assert await pg.count_articles() == statuses[201]
    print(f"\nderived-slug race: {dict(statuses)}")


async def _article(client: httpx.AsyncClient, title: str = "Contended") -> tuple[str, str]:
    created = await client.post(ARTICLES, json={"title": title}, headers=WRITER)
    assert created.status_code == 201, created.text
    return created.json()["id"], created.headers["etag"]


@pytest.mark.slow
async def test_20_parallel_patches_with_one_if_match(
    pg: PgDatabase, pg_client: httpx.AsyncClient
) -> None:
    article_id, etag = await _article(pg_client)
    responses = await burst(
        *(
            pg_client.patch(
                f"{ARTICLES}{article_id}",
                json={"title": f"Writer {n}", "views": n},
                headers={**WRITER, "If-Match": etag},
            )
            for n in range(20)
        )
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 412: 19}, statuses
    winner = next(r for r in responses if r.status_code == 200).json()
    for response in responses:
        if response.status_code == 412:
            assert_problem(response, 412)
    row = await pg.fetch('SELECT title, views FROM "mx_article" WHERE id = $1', article_id)
    assert (row[0]["title"], row[0]["views"]) == (winner["title"], winner["views"])


@pytest.mark.slow
async def test_20_parallel_puts_with_one_if_match(
    pg: PgDatabase, pg_client: httpx.AsyncClient
) -> None:
    article_id, etag = await _article(pg_client)
    responses = await burst(
        *(
            pg_client.put(
                f"{ARTICLES}{article_id}",
                json={"title": f"Replacer {n}"},
                headers={**WRITER, "If-Match": etag},
            )
            for n in range(20)
        )
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 412: 19}


@pytest.mark.slow
async def test_patch_and_delete_with_one_if_match_have_one_winner(
    pg: PgDatabase, pg_client: httpx.AsyncClient
) -> None:
    outcomes: Counter[str] = Counter()
    for round_number in range(12):
        article_id, etag = await _article(pg_client, f"Round {round_number}")
        url = f"{ARTICLES}{article_id}"
        headers = {**WRITER, "If-Match": etag}
        patch = pg_client.patch(url, json={"title": "patched"}, headers=headers)
        delete = pg_client.delete(url, headers=headers)
        # Alternate who is sent first so both orders happen.
        first, second = (patch, delete) if round_number % 2 else (delete, patch)
        answers = await burst(first, second)
        by_method = {r.request.method: r.status_code for r in answers}
        exists = await pg.fetchval('SELECT count(*) FROM "mx_article" WHERE id = $1', article_id)
        if by_method["PATCH"] == 200:
            assert by_method["DELETE"] == 412, by_method
            assert exists == 1
            outcomes["patch won"] += 1
        else:
            assert by_method == {"DELETE": 204, "PATCH": 404} or by_method == {
                "DELETE": 204,
                "PATCH": 412,
            }, by_method
            assert exists == 0
            outcomes["delete won"] += 1
    print(f"\npatch/delete race: {dict(outcomes)}")


@pytest.mark.slow
async def test_cross_updates_on_few_rows_do_not_deadlock(
    pg: PgDatabase, pg_client: httpx.AsyncClient
) -> None:
    ids = [(await _article(pg_client, f"Row {n}"))[0] for n in range(4)]
    rng = random.Random(7)
    requests = []
    for n in range(80):
        target = rng.choice(ids)
        if n % 5 == 0:
            requests.append(
                pg_client.put(f"{ARTICLES}{target}", json={"title": f"Put {n}"}, headers=WRITER)
            )
        else:
            requests.append(
                pg_client.patch(
                    f"{ARTICLES}{target}", json={"views": n, "tags": [f"t{n}"]}, headers=WRITER
                )
            )
    responses = await burst(*requests)
    assert Counter(r.status_code for r in responses) == {200: 80}
    waiting = await pg.app_backends(state="active")
    assert waiting == [], waiting
