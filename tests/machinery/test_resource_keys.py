"""Every key shape served by key, with path parameters named after the fields they carry."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.machinery.support import ALL, API, new_account, new_post, ok, problem, sql


async def test_string_key_any_characters(mx: httpx.AsyncClient, mx_engine: AsyncEngine) -> None:
    created = await new_account(mx, "a@example.com")
    response = await mx.post(f"{API}/accounts/", json={"email": "b@example.com"}, headers=ALL)
    assert response.headers["location"] == f"{API}/accounts/{response.json()['id']}"
    assert (
        ok(await mx.get(f"{API}/accounts/{created['id']}", headers=ALL))["email"] == "a@example.com"
    )
    # Any string is a Prisma key: dots, spaces, unicode.
    for key in ("site.ban-wfa", "with space", "été"):
        await sql(
            mx_engine,
            'INSERT INTO mx_account(id, email, "updatedAt") VALUES (:id, :id, CURRENT_TIMESTAMP)',
            id=key,
        )
        url = f"{API}/accounts/{key}"
        assert ok(await mx.get(url, headers=ALL))["id"] == key
        assert ok(await mx.patch(url, json={"name": "n"}, headers=ALL))["name"] == "n"
        assert (await mx.delete(url, headers=ALL)).status_code == 204
        problem(await mx.get(url, headers=ALL), 404)


async def test_bigint_key(mx: httpx.AsyncClient, mx_engine: AsyncEngine) -> None:
    author = await new_account(mx, "a@example.com")
    post = await new_post(mx, author["id"])
    assert isinstance(post["id"], str)
    url = f"{API}/posts/{post['id']}"
    assert ok(await mx.get(url, headers=ALL))["id"] == post["id"]
    assert ok(await mx.patch(url, json={"title": "u"}, headers=ALL))["title"] == "u"
    big = "9007199254740993"
    await sql(
        mx_engine,
        'INSERT INTO mx_post(id, title, "authorId") VALUES (:id, :t, :a)',
        id=int(big),
        t="big",
        a=author["id"],
    )
    assert ok(await mx.get(f"{API}/posts/{big}", headers=ALL))["id"] == big
    problem(await mx.get(f"{API}/posts/abc", headers=ALL), 422)
    problem(await mx.get(f"{API}/posts/99999999999999999999999", headers=ALL), 422)
    problem(await mx.get(f"{API}/posts/123456789012", headers=ALL), 404)
    assert (await mx.delete(f"{API}/posts/{big}", headers=ALL)).status_code == 204
    assert (await mx.delete(url, headers=ALL)).status_code == 204
    problem(await mx.delete(url, headers=ALL), 404)


async def test_uuid_key(mx: httpx.AsyncClient) -> None:
    label = ok(await mx.post(f"{API}/labels/", json={"name": "red"}, headers=ALL), 201)
    assert uuid.UUID(label["id"])
    assert ok(await mx.get(f"{API}/labels/{label['id']}", headers=ALL))["name"] == "red"
    problem(await mx.get(f"{API}/labels/not-a-uuid", headers=ALL), 422)
    problem(await mx.get(f"{API}/labels/{uuid.uuid4()}", headers=ALL), 404)


async def test_datetime_key(mx: httpx.AsyncClient) -> None:
    at = "2026-01-02T03:04:05.678Z"
    created = await mx.post(f"{API}/snapshots/", json={"takenAt": at, "note": "n"}, headers=ALL)
    assert ok(created, 201)["takenAt"] == at
    url = created.headers["location"]
    assert url == f"{API}/snapshots/2026-01-02T03%3A04%3A05.678Z"
    assert ok(await mx.get(url, headers=ALL))["takenAt"] == at
    assert ok(await mx.get(f"{API}/snapshots/{at}", headers=ALL))["note"] == "n"
    problem(await mx.get(f"{API}/snapshots/yesterday", headers=ALL), 422)
    problem(await mx.get(f"{API}/snapshots/2020-01-01T00:00:00.000Z", headers=ALL), 404)


async def test_three_part_key_without_parent(mx: httpx.AsyncClient) -> None:
    body = {"key": "site.ban-wfa", "action": "login", "bucket": 7}
    created = await mx.post(f"{API}/rate-limits/", json=body, headers=ALL)
    assert ok(created, 201)["hits"] == 0
    url = f"{API}/rate-limits/site.ban-wfa/login/7"
    assert created.headers["location"] == url
    assert ok(await mx.get(url, headers=ALL)) == {**body, "hits": 0}
    assert ok(await mx.patch(url, json={"hits": 3}, headers=ALL))["hits"] == 3
    problem(await mx.get(f"{API}/rate-limits/site.ban-wfa/login/x", headers=ALL), 422)
    problem(await mx.get(f"{API}/rate-limits/site.ban-wfa/login/8", headers=ALL), 404)
    problem(await mx.get(f"{API}/rate-limits/site.ban-wfa/login", headers=ALL), 404)
    problem(await mx.post(f"{API}/rate-limits/", json=body, headers=ALL), 409)
    assert (await mx.delete(url, headers=ALL)).status_code == 204
    problem(await mx.get(url, headers=ALL), 404)


async def test_composite_key_lists_walk_every_row_once(mx: httpx.AsyncClient) -> None:
    rows = [
        {"left": left, "right": right, "note": note}
        for left, right, note in [
            ("a", 1, "x"),
            ("a", 2, None),
            ("b", 1, "x"),
            ("b", 2, "x"),
            ("c", 1, None),
            ("a", 3, "y"),
            ("c", 2, "x"),
        ]
    ]
    for row in rows:
        ok(await mx.post(f"{API}/pairs/", json=row, headers=ALL), 201)
    for order in ("left", "-left", "note", "-note"):
        seen: list[tuple[str, int]] = []
        cursor = None
        for _ in range(10):
            params = {"limit": 2, "orderBy": order, **({"cursor": cursor} if cursor else {})}
            page = ok(await mx.get(f"{API}/pairs/", params=params, headers=ALL))
            seen += [(item["left"], item["right"]) for item in page["data"]]
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted((r["left"], r["right"]) for r in rows), order
        assert len(seen) == len(set(seen))
    ordered = ok(await mx.get(f"{API}/pairs/", params={"orderBy": "-note"}, headers=ALL))["data"]
    notes = [item["note"] for item in ordered]
    assert notes == ["y", "x", "x", "x", "x", None, None]


async def test_nested_composite_key_named_after_the_foreign_key(mx: httpx.AsyncClient) -> None:
    author = await new_account(mx, "a@example.com")
    post, other = await new_post(mx, author["id"]), await new_post(mx, author["id"])
    comments = f"{API}/posts/{post['id']}/comments/"
    created = await mx.post(comments, json={"id": 1, "body": "first"}, headers=ALL)
    assert ok(created, 201) == {"id": 1, "postId": post["id"], "body": "first"}
    assert created.headers["location"] == f"{comments}1"
    assert ok(await mx.get(f"{comments}1", headers=ALL))["body"] == "first"
    assert ok(await mx.patch(f"{comments}1", json={"body": "b"}, headers=ALL))["body"] == "b"
    problem(await mx.get(f"{API}/posts/{other['id']}/comments/1", headers=ALL), 404)
    assert ok(await mx.get(f"{API}/posts/{other['id']}/comments/", headers=ALL))["data"] == []
    problem(await mx.get(f"{API}/posts/777777/comments/", headers=ALL), 404)
    problem(await mx.get(f"{API}/posts/abc/comments/1", headers=ALL), 422)
    # No foreign key in the database for this relation: the create asks for the post first.
    absent = await mx.post(
        f"{API}/posts/777777/comments/", json={"id": 1, "body": "x"}, headers=ALL
    )
    assert "No post with id 777777" in problem(absent, 404)["detail"]
    assert (await mx.delete(f"{comments}1", headers=ALL)).status_code == 204


async def test_unique_only_model_keyed_by_its_unique(mx: httpx.AsyncClient) -> None:
    body = {"name": "theme", "scope": "site", "value": "dark"}
    created = await mx.post(f"{API}/settings/", json=body, headers=ALL)
    assert ok(created, 201) == body
    url = f"{API}/settings/theme/site"
    assert created.headers["location"] == url
    assert ok(await mx.put(url, json={"value": "light"}, headers=ALL))["value"] == "light"
    problem(await mx.post(f"{API}/settings/", json=body, headers=ALL), 409)
    assert (await mx.delete(url, headers=ALL)).status_code == 204


async def test_openapi_path_parameters_are_the_fields(mx: httpx.AsyncClient) -> None:
    paths = ok(await mx.get(f"{API}/openapi.json"))["paths"]
    item = paths["/api/v1/rate-limits/{key}/{action}/{bucket}"]["get"]
    assert item["operationId"] == "getRateLimit"
    kinds = {p["name"]: p["schema"].get("type") for p in item["parameters"] if p["in"] == "path"}
    assert kinds == {"key": "string", "action": "string", "bucket": "integer"}
    nested = paths["/api/v1/posts/{postId}/comments/{id}"]
    assert {m: o["operationId"] for m, o in nested.items()} == {
        "get": "getComment",
        "put": "replaceComment",
        "patch": "updateComment",
        "delete": "deleteComment",
    }
    assert paths["/api/v1/settings/{name}/{scope}"]["get"]["operationId"] == "getSetting"
    assert paths["/api/v1/posts/{postId}/comments/"]["get"]["operationId"] == "listComments"


async def test_a_foreign_key_to_nothing_is_a_409_naming_the_field(mx: httpx.AsyncClient) -> None:
    response = await mx.post(
        f"{API}/posts/", json={"title": "t", "authorId": "nobody"}, headers=ALL
    )
    body = problem(response, 409)
    assert body["detail"] == "No account with id nobody."
    assert [error["field"] for error in body["errors"]] == ["body.authorId"]
    missing = await mx.post(f"{API}/profiles/", json={"accountId": "nobody"}, headers=ALL)
    assert problem(missing, 409)["errors"][0]["field"] == "body.accountId"
