"""`/users/`: read-only (app-web owns users): shapes, filters, orderings, cursors, 405s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.resources_support import (
    BASE_TIME,
    EVERYTHING,
    READ_ONLY_WRITES,
    UNKNOWN_INT,
    USER_KEYS,
    USERS_READ,
    USERS_URL,
    assert_iso,
    assert_method_not_allowed,
    assert_ok,
    assert_operation_ids,
    assert_problem,
    count_rows,
    expected_order,
    insert_user,
    insert_users,
    keys_listed,
    sql_rows,
    user_url,
    walk,
)


async def seed_users(engine: AsyncEngine, count: int) -> list[dict[str, Any]]:
    """`count` users with few distinct roles and creation times (ties everywhere)."""
    rows = [
        {
            "email": f"user{(index * 7) % count:02}@example.com",
            "name": None if index % 3 == 0 else f"User {index}",
            "role": ("USER", "EDITOR", "ADMIN")[index % 3],
            "createdAt": BASE_TIME + timedelta(seconds=index % 4),
        }
        for index in range(count)
    ]
    ids = await insert_users(engine, rows)
    return [{**row, "id": user_id} for row, user_id in zip(rows, ids, strict=True)]


# ------------------------------------------------------------------------------------- get


async def test_get_user_returns_the_user_json_with_etag(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user_id = await insert_user(
        engine, "ada@example.com", name="Ada", role="EDITOR", created_at=BASE_TIME
    )

    response = await client.get(user_url(user_id), headers=USERS_READ)

    assert assert_ok(response) == {
        "id": user_id,
        "email": "ada@example.com",
        "name": "Ada",
        "role": "EDITOR",
        "createdAt": "2026-11-01T12:00:00.123Z",
    }
    assert response.headers["etag"].startswith('"')


async def test_user_created_with_database_defaults_reads_back_with_them(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO \"User\"(email) VALUES ('bare@example.com')"))
    rows = await sql_rows(engine, 'SELECT id FROM "User"')

    user = assert_ok(await client.get(user_url(rows[0]["id"]), headers=USERS_READ))

    assert set(user) == USER_KEYS
    assert user["role"] == "USER"
    assert user["name"] is None
    assert_iso(user["createdAt"])


async def test_get_user_with_matching_if_none_match_returns_304(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user_id = await insert_user(engine, "ada@example.com")
    first = await client.get(user_url(user_id), headers=USERS_READ)

    response = await client.get(
        user_url(user_id), headers={**USERS_READ, "If-None-Match": first.headers["etag"]}
    )

    assert response.status_code == 304
    assert response.content == b""


async def test_get_unknown_user_returns_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(user_url(UNKNOWN_INT), headers=USERS_READ)

    assert_problem(response, 404, code="not_found")


async def test_user_id_that_is_not_an_integer_returns_422_naming_path_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(user_url("abc"), headers=USERS_READ)

    assert_problem(response, 422, field="path.id")


# ------------------------------------------------------------------------------------ list


async def test_list_users_defaults_to_id_order_with_the_user_shape(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    users = await seed_users(engine, 25)

    body = assert_ok(await client.get(USERS_URL, headers=USERS_READ))

    assert [user["id"] for user in body["data"]] == sorted(user["id"] for user in users)[:20]
    assert body["nextCursor"] is not None
    assert body["count"] is None
    for user in body["data"]:
        assert set(user) == USER_KEYS
        assert user["role"] in {"USER", "EDITOR", "ADMIN"}
        assert_iso(user["createdAt"])


async def test_listed_users_have_the_same_shape_as_a_fetched_user(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user_id = await insert_user(engine, "ada@example.com", name="Ada")

    listed = assert_ok(await client.get(USERS_URL, headers=USERS_READ))["data"]
    fetched = assert_ok(await client.get(user_url(user_id), headers=USERS_READ))

    assert listed == [fetched]


@pytest.mark.parametrize("role", ["USER", "EDITOR", "ADMIN"])
async def test_list_users_filters_by_role(
    client: httpx.AsyncClient, engine: AsyncEngine, role: str
) -> None:
    users = await seed_users(engine, 9)

    ids = await keys_listed(client, USERS_URL, USERS_READ, role=role)

    assert ids == sorted(user["id"] for user in users if user["role"] == role)


async def test_list_users_with_an_unknown_role_returns_422(client: httpx.AsyncClient) -> None:
    response = await client.get(USERS_URL, params={"role": "ROOT"}, headers=USERS_READ)

    assert_problem(response, 422, field="query.role")


async def test_list_users_filters_by_exact_email(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    wanted = await insert_user(engine, "ada@example.com")
    await insert_user(engine, "ada@example.org")
    await insert_user(engine, "Ada@example.com")

    ids = await keys_listed(client, USERS_URL, USERS_READ, email="ada@example.com")

    assert ids == [wanted]


ORDERS = ["id", "-id", "email", "-email", "createdAt", "-createdAt"]


@pytest.mark.parametrize("order", ORDERS)
async def test_list_users_sorts_by_each_order_with_ties_broken_by_id(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str
) -> None:
    users = await seed_users(engine, 12)

    ids = await keys_listed(client, USERS_URL, USERS_READ, orderBy=order, limit=100)

    assert ids == expected_order(users, order)


@pytest.mark.parametrize("order", ORDERS)
async def test_cursor_walk_over_users_returns_every_user_once_in_order(
    client: httpx.AsyncClient, engine: AsyncEngine, order: str
) -> None:
    users = await seed_users(engine, 17)

    walked = await walk(client, USERS_URL, USERS_READ, limit=4, orderBy=order)

    assert walked == expected_order(users, order)


async def test_list_users_with_count_true_counts_the_filtered_rows(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await seed_users(engine, 9)

    body = assert_ok(
        await client.get(
            USERS_URL, params={"role": "ADMIN", "count": "true", "limit": 1}, headers=USERS_READ
        )
    )

    assert body["count"] == 3
    assert len(body["data"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"orderBy": "name"}, "query.orderBy"),
        ({"orderBy": "role"}, "query.orderBy"),
        ({"limit": 101}, "query.limit"),
        ({"name": "Ada"}, "query.name"),
    ],
    ids=["order by name", "order by role", "limit 101", "filter not offered"],
)
async def test_list_users_with_a_bad_query_returns_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get(USERS_URL, params=params, headers=USERS_READ)

    assert_problem(response, 422, field=field)


# ---------------------------------------------------------------------------- read-only


@pytest.mark.parametrize(("method", "on_item"), READ_ONLY_WRITES)
async def test_writing_a_user_returns_405_with_allow_get_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, method: str, on_item: bool
) -> None:
    user_id = await insert_user(engine, "ada@example.com", name="Ada")
    before = await sql_rows(engine, 'SELECT id, email, name, role FROM "User"')
    body = None if method == "DELETE" else {"email": "new@example.com", "name": "New"}

    response = await client.request(
        method, user_url(user_id) if on_item else USERS_URL, json=body, headers=EVERYTHING
    )

    assert_method_not_allowed(response, method)
    assert await sql_rows(engine, 'SELECT id, email, name, role FROM "User"') == before
    assert await count_rows(engine, "User") == 1


async def test_user_operations_have_stable_ids_and_no_write_operations(
    client: httpx.AsyncClient,
) -> None:
    await assert_operation_ids(
        client,
        {
            ("GET", "/api/v1/users/"): "listUsers",
            ("GET", "/api/v1/users/{id}"): "getUser",
            ("POST", "/api/v1/users/"): None,
            ("PUT", "/api/v1/users/{id}"): None,
            ("PATCH", "/api/v1/users/{id}"): None,
            ("DELETE", "/api/v1/users/{id}"): None,
        },
    )
