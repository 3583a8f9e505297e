"""HotPath serves every top-level key shape exactly as the FastAPI routes do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.api.hot import HotPath
from app.main import create_app
from tests.conftest import app_client, make_settings, running
from tests.machinery.fixture.resources import LINKS, RESOURCES
from tests.machinery.support import ALL, API, new_account, new_post, ok


@pytest.fixture
async def routed(machinery_url: str, mx: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The fixture app without HotPath, on the same (emptied) database."""
    application: FastAPI = create_app(
        make_settings(DATABASE_URL=machinery_url), resources=RESOURCES, links=LINKS
    )
    application.user_middleware = [m for m in application.user_middleware if m.cls is not HotPath]
    async with running(application), await app_client(application) as client:
        yield client


async def test_hot_path_and_routes_answer_alike(
    mx: httpx.AsyncClient, routed: httpx.AsyncClient
) -> None:
    author = await new_account(mx, "a@example.com")
    post = await new_post(mx, author["id"])
    ok(
        await mx.post(
            f"{API}/rate-limits/", json={"key": "k.1", "action": "a", "bucket": 1}, headers=ALL
        ),
        201,
    )
    ok(
        await mx.post(
            f"{API}/snapshots/",
            json={"takenAt": "2026-01-02T03:04:05.678Z", "note": "n"},
            headers=ALL,
        ),
        201,
    )
    urls = [
        f"{API}/rate-limits/k.1/a/1",
        f"{API}/rate-limits/k.1/a/x",
        f"{API}/rate-limits/k.1/a/2",
        f"{API}/rate-limits/k.1/a",
        f"{API}/posts/{post['id']}",
        f"{API}/posts/9007199254740993",
        f"{API}/posts/abc",
        f"{API}/snapshots/2026-01-02T03:04:05.678Z",
        f"{API}/snapshots/nope",
        f"{API}/accounts/{author['id']}?include=profile,posts",
    ]
    for url in urls:
        hot, plain = await mx.get(url, headers=ALL), await routed.get(url, headers=ALL)
        assert (hot.status_code, hot.headers.get("etag")) == (
            plain.status_code,
            plain.headers.get("etag"),
        ), url
        if hot.status_code == 200:
            assert hot.json() == plain.json(), url
    for client, hits in ((mx, 2), (routed, 3)):
        changed = await client.patch(f"{API}/rate-limits/k.1/a/1", json={"hits": hits}, headers=ALL)
        assert ok(changed)["hits"] == hits
    assert (await mx.delete(f"{API}/posts/{post['id']}", headers=ALL)).status_code == 204
    assert (await routed.delete(f"{API}/posts/{post['id']}", headers=ALL)).status_code == 404
