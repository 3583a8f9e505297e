"""Database faults: 503 problem+json within a bounded time, recovery without a restart, and no
partial write when a backend dies mid-transaction. PostgreSQL only (TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.faults import TcpProxy
from tests.reliability.support import (
    ARTICLES,
    READY,
    WRITER,
    PgDatabase,
    assert_problem,
    client_for,
    rel_settings,
    running_app,
)

BOUND_SECONDS = 5.0


async def timed(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    async with asyncio.timeout(30):
        response = await client.request(method, url, **kwargs)
    return response, time.perf_counter() - started


def assert_unavailable(response: httpx.Response, elapsed: float) -> None:
    where = f"{response.request.method} {response.request.url.path}"
    assert elapsed < BOUND_SECONDS, f"{where} took {elapsed:.2f}s"
    body = assert_problem(response, 503)
    assert body["code"] == "service_unavailable", body
    assert response.headers.get("retry-after") == "1"


def staging(pg: PgDatabase, *, port: int | None = None, **overrides: Any) -> Any:
    return rel_settings(ENVIRONMENT="staging", DATABASE_URL=pg.app_url(port=port), **overrides)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["refuse", "reset", "silent"])
async def test_database_down_is_503_within_bound_then_recovers(
    pg: PgDatabase, proxy: TcpProxy, fault: str
) -> None:
    await pg.truncate()
    async with (
        running_app(staging(pg, port=proxy.port)) as application,
        client_for(application) as client,
    ):
        assert (await client.get(READY)).status_code == 200
        created = await client.post(ARTICLES, json={"title": f"before {fault}"}, headers=WRITER)
        assert created.status_code == 201, created.text
        article_id = created.json()["id"]
        assert (await client.get(ARTICLES, headers=WRITER)).status_code == 200
        rows_before = await pg.count_articles()

        if fault == "refuse":
            await proxy.refuse()
        else:
            proxy.mode = fault  # type: ignore[assignment]
            proxy.drop()

        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("GET", READY, {}),
            ("GET", ARTICLES, {"headers": WRITER}),
            ("POST", ARTICLES, {"headers": WRITER, "json": {"title": "during outage"}}),
        ]
        if fault != "silent":  # each silent call waits out the connect timeout: keep it short
            calls += [
                ("GET", f"{ARTICLES}{article_id}", {"headers": WRITER}),
                (
                    "PATCH",
                    f"{ARTICLES}{article_id}",
                    {"headers": WRITER, "json": {"title": "lost"}},
                ),
                ("DELETE", f"{ARTICLES}{article_id}", {"headers": WRITER}),
                ("GET", READY, {}),
                ("GET", ARTICLES, {"headers": WRITER}),
            ]
        for method, url, kwargs in calls:
            response, elapsed = await timed(client, method, url, **kwargs)
            assert_unavailable(response, elapsed)

        # Health (liveness) does no I/O: still fine.
        assert (await client.get("/api/v1/utils/health-check")).status_code == 200

        await proxy.restore()
        # Recovery without a restart: the very next requests succeed (pool_pre_ping).
        ready, elapsed = await timed(client, "GET", READY)
        assert ready.status_code == 200, ready.text
        assert elapsed < BOUND_SECONDS
        listed = await client.get(ARTICLES, headers=WRITER)
        assert listed.status_code == 200, listed.text
        assert [article["id"] for article in listed.json()["data"]] == [article_id]
        assert await pg.count_articles() == rows_before
        patched = await client.patch(
            f"{ARTICLES}{article_id}", json={"title": "after"}, headers=WRITER
        )
        assert patched.status_code == 200, patched.text
        again = await client.post(ARTICLES, json={"title": f"after {fault}"}, headers=WRITER)
        assert again.status_code == 201, again.text


@pytest.mark.slow
async def test_stalled_connection_gives_ready_503_then_recovers(
    pg: PgDatabase, proxy: TcpProxy
) -> None:
    """A partition on open connections: readiness still answers in bounded time."""
    async with (
        running_app(staging(pg, port=proxy.port)) as application,
        client_for(application) as client,
    ):
        assert (await client.get(READY)).status_code == 200
        proxy.stall()
        response, elapsed = await timed(client, "GET", READY)
        assert_unavailable(response, elapsed)
        await proxy.restore()
        proxy.drop()  # what a healed partition looks like to the stalled sockets: a reset
        recovered, elapsed = await timed(client, "GET", READY)
        assert recovered.status_code == 200, recovered.text
        assert elapsed < BOUND_SECONDS
        listed = await client.get(ARTICLES, headers=WRITER)
        assert listed.status_code == 200, listed.text


async def _lock_waiters(pg: PgDatabase, *, at_least: int = 1, seconds: float = 5.0) -> list[int]:
    """Pids of the app's backends waiting on a lock, once there are `at_least` (bounded)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                rows = await pg.fetch(
                    "SELECT pid FROM pg_stat_activity WHERE datname = $1 "
                    "AND application_name = 'app-api' AND wait_event_type = 'Lock'",
                    pg.name,
                )
                if len(rows) >= at_least:
                    return [row["pid"] for row in rows]
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{at_least} request(s) never waited on the lock") from None


async def _terminate(pg: PgDatabase, pids: list[int]) -> None:
    for pid in pids:
        assert await pg.fetchval("SELECT pg_terminate_backend($1)", pid)


@pytest.mark.slow
async def test_backend_terminated_mid_patch_leaves_row_unchanged(pg: PgDatabase) -> None:
    await pg.truncate()
    async with running_app(staging(pg)) as application, client_for(application) as client:
        created = await client.post(ARTICLES, json={"title": "before kill"}, headers=WRITER)
        assert created.status_code == 201, created.text
        article = created.json()
        before = await pg.fetch('SELECT * FROM "mx_article" WHERE id = $1', article["id"])

        holder = await pg.connect()
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute('SELECT 1 FROM "mx_article" WHERE id = $1 FOR UPDATE', article["id"])
        try:
            in_flight = asyncio.create_task(
                client.patch(
                    f"{ARTICLES}{article['id']}",
                    json={"title": "half written", "tags": ["x"]},
                    headers={**WRITER, "If-Match": created.headers["etag"]},
                )
            )
            await _terminate(pg, await _lock_waiters(pg))
        finally:
            await transaction.rollback()
            await holder.close()
        async with asyncio.timeout(15):
            response = await in_flight
        assert_problem(response, 503)
        assert await pg.fetch('SELECT * FROM "mx_article" WHERE id = $1', article["id"]) == before

        # The next requests succeed on a fresh connection.
        got = await client.get(f"{ARTICLES}{article['id']}", headers=WRITER)
        assert got.status_code == 200, got.text
        assert got.headers["etag"] == created.headers["etag"]
        patched = await client.patch(
            f"{ARTICLES}{article['id']}",
            json={"title": "after kill"},
            headers={**WRITER, "If-Match": got.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["title"] == "after kill"


@pytest.mark.slow
async def test_backend_terminated_mid_create_leaves_no_row(pg: PgDatabase) -> None:
    await pg.truncate()
    async with running_app(staging(pg)) as application, client_for(application) as client:
        rows_before = await pg.count_articles()
        holder = await pg.connect()
        transaction = holder.transaction()
        await transaction.start()
        # An uncommitted row with the slug: the app's INSERT waits on the unique index.
        await holder.execute(
            'INSERT INTO "mx_article" (id, title, slug, "updatedAt") '
            "VALUES ('cholder000000000000000000', 'holder', 'contested', now())"
        )
        try:
            in_flight = asyncio.create_task(
                client.post(
                    ARTICLES, json={"title": "Contested", "slug": "contested"}, headers=WRITER
                )
            )
            await _terminate(pg, await _lock_waiters(pg))
        finally:
            await transaction.rollback()
            await holder.close()
        async with asyncio.timeout(15):
            response = await in_flight
        assert_problem(response, 503)
        assert await pg.count_articles() == rows_before
        assert (
            await pg.fetchval('SELECT count(*) FROM "mx_article" WHERE slug = $1', "contested") == 0
        )

        again = await client.post(
            ARTICLES, json={"title": "Contested", "slug": "contested"}, headers=WRITER
        )
        assert again.status_code == 201, again.text
        assert await pg.count_articles() == rows_before + 1


@pytest.mark.slow
async def test_pool_exhaustion_is_503_within_bound_then_recovers(pg: PgDatabase) -> None:
    """Every pooled connection stuck behind a lock: the next request waits pool_timeout, not
    forever, and answers 503; once the lock goes, everything completes."""
    await pg.truncate()
    settings = staging(pg, DB_POOL_SIZE=2, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=1)
    async with running_app(settings) as application, client_for(application) as client:
        created = await client.post(ARTICLES, json={"title": "hot row"}, headers=WRITER)
        assert created.status_code == 201
        url = f"{ARTICLES}{created.json()['id']}"
        holder = await pg.connect()
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            'SELECT 1 FROM "mx_article" WHERE id = $1 FOR UPDATE', created.json()["id"]
        )
        try:
            stuck = [
                asyncio.create_task(client.patch(url, json={"views": n}, headers=WRITER))
                for n in range(2)
            ]
            await _lock_waiters(pg, at_least=2)
            response, elapsed = await timed(client, "GET", ARTICLES, headers=WRITER)
            assert_unavailable(response, elapsed)
            ready, elapsed = await timed(client, "GET", READY)
            assert_unavailable(ready, elapsed)
        finally:
            await transaction.rollback()
            await holder.close()
        async with asyncio.timeout(15):
            results = await asyncio.gather(*stuck)
        assert [r.status_code for r in results] == [200, 200]
        assert (await client.get(ARTICLES, headers=WRITER)).status_code == 200
        assert (await client.get(READY)).status_code == 200
