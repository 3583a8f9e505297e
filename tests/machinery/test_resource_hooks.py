"""Hooks of a declaration (the fixture's articles): a derived slug, a retried conflict, filters."""

from __future__ import annotations

import httpx

from tests.machinery.support import ALL, API, ok, problem


async def test_derived_slug_is_made_unique_and_a_chosen_one_conflicts(
    mx: httpx.AsyncClient,
) -> None:
    first = ok(await mx.post(f"{API}/articles/", json={"title": "Hello, World"}, headers=ALL), 201)
    second = ok(await mx.post(f"{API}/articles/", json={"title": "hello world"}, headers=ALL), 201)
    assert (first["slug"], second["slug"]) == ("hello-world", "hello-world-2")
    assert (first["status"], first["published"], first["views"]) == ("DRAFT", False, 0)
    body = {"title": "Other", "slug": "hello-world"}
    refused = problem(await mx.post(f"{API}/articles/", json=body, headers=ALL), 409)
    assert "slug" in refused["detail"]
    replaced = ok(await mx.put(f"{API}/articles/{first['id']}", json={"title": "New"}, headers=ALL))
    assert replaced["slug"] == "hello-world"


async def test_filters_of_every_kind(mx: httpx.AsyncClient) -> None:
    for title, tags, status in (
        ("Apple pie", ["food"], "PUBLISHED"),
        ("Pear", ["food", "x"], "DRAFT"),
    ):
        body = {"title": title, "tags": tags, "status": status, "price": "12.50"}
        ok(await mx.post(f"{API}/articles/", json=body, headers=ALL), 201)

    async def titles(query: str) -> list[str]:
        listed = ok(await mx.get(f"{API}/articles/?{query}", headers=ALL))
        return [row["title"] for row in listed["data"]]

    assert await titles("tag=x") == ["Pear"]
    assert await titles("status=PUBLISHED") == ["Apple pie"]
    assert await titles("q=pie") == ["Apple pie"]
    assert await titles("orderBy=title") == ["Apple pie", "Pear"]
    assert await titles("") == ["Pear", "Apple pie"]  # default order: newest first
    rows = ok(await mx.get(f"{API}/articles/", headers=ALL))["data"]
    assert [row["price"] for row in rows] == ["12.5", "12.5"]  # Prisma's Decimal string
