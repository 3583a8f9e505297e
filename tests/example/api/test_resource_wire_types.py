"""Prisma's wire types on `PageRevision`: Decimal, BigInt, `@db.Date`, `@db.Uuid`.

What goes in is stored exactly (or refused with 422, never rounded), what comes out is what
Prisma Client's JSON gives, and rows written by either side read back identically.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.example.api.resources_support import (
    BASE_TIME,
    PAGES_READ,
    PAGES_WRITE,
    assert_ok,
    assert_problem,
    count_rows,
    create_revision,
    insert_revision,
    new_page,
    revision_row,
    revision_url,
    revisions_url,
    sql_rows,
)

INT8_MAX = 2**63 - 1
INT8_MIN = -(2**63)
BEYOND_2_53 = 9_007_199_254_740_993

PRICES: list[tuple[Any, str]] = [
    ("12.50", "12.5"),
    (12.5, "12.5"),
    ("12.5", "12.5"),
    ("0", "0"),
    (0, "0"),
    ("0.00", "0"),
    ("100", "100"),
    (100, "100"),
    ("100.00", "100"),
    ("-3.25", "-3.25"),
    (-3.25, "-3.25"),
    ("0.1", "0.1"),
    (0.1, "0.1"),
    ("0.01", "0.01"),
    ("99999999.99", "99999999.99"),
    ("-99999999.99", "-99999999.99"),
]
BAD_PRICES: list[Any] = [
    "1.234",
    1.234,
    "0.001",
    "123456789",
    123456789,
    "100000000.00",
    1e300,
    "1e300",
    "abc",
    "NaN",
    "Infinity",
    "-Infinity",
    "",
    "1,5",
    True,
    [1],
]
BYTE_SIZES: list[tuple[Any, str]] = [
    (str(INT8_MAX), str(INT8_MAX)),
    (INT8_MAX, str(INT8_MAX)),
    (str(INT8_MIN), str(INT8_MIN)),
    (INT8_MIN, str(INT8_MIN)),
    (str(BEYOND_2_53), str(BEYOND_2_53)),
    (BEYOND_2_53, str(BEYOND_2_53)),
    ("0", "0"),
    (0, "0"),
    (42, "42"),
]
BAD_BYTE_SIZES: list[Any] = [
    str(INT8_MAX + 1),
    INT8_MAX + 1,
    str(INT8_MIN - 1),
    INT8_MIN - 1,
    "1.5",
    1.5,
    "12a",
    "",
    True,
]
EFFECTIVE_ON: list[tuple[str, str]] = [
    ("2026-01-31", "2026-01-31T00:00:00.000Z"),
    ("2026-01-31T00:00:00.000Z", "2026-01-31T00:00:00.000Z"),
    ("2024-02-29", "2024-02-29T00:00:00.000Z"),
]
BAD_EFFECTIVE_ON: list[Any] = ["garbage", "2026-02-30", "2026-13-01", "31/01/2026", "", 20260131]
EXTERNAL_IDS: list[tuple[str, str]] = [
    ("5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10", "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10"),
    ("5B0C8A0E-2F4D-4C1A-9A51-6A3E1F2D7C10", "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10"),
]
BAD_EXTERNAL_IDS: list[Any] = [
    "garbage",
    "1234",
    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c1",
    "",
    42,
]

GOOD = [
    *(("price", given, shown) for given, shown in PRICES),
    *(("byteSize", given, shown) for given, shown in BYTE_SIZES),
    *(("effectiveOn", given, shown) for given, shown in EFFECTIVE_ON),
    *(("externalId", given, shown) for given, shown in EXTERNAL_IDS),
]
BAD = [
    *(("price", value) for value in BAD_PRICES),
    *(("byteSize", value) for value in BAD_BYTE_SIZES),
    *(("effectiveOn", value) for value in BAD_EFFECTIVE_ON),
    *(("externalId", value) for value in BAD_EXTERNAL_IDS),
]


def case_id(field: str, value: Any, *_rest: Any) -> str:
    return f"{field}={value!r}"


# ------------------------------------------------------------------------------ through the API


@pytest.mark.parametrize(("field", "given", "shown"), GOOD, ids=[case_id(*c) for c in GOOD])
async def test_a_value_written_is_returned_in_prisma_json_and_reads_back_the_same(
    client: httpx.AsyncClient, field: str, given: Any, shown: str
) -> None:
    page = await new_page(client)

    created = await create_revision(client, page["id"], 1, **{field: given})

    assert created[field] == shown
    fetched = assert_ok(await client.get(revision_url(page["id"], 1), headers=PAGES_READ))
    assert fetched[field] == shown
    listed = assert_ok(await client.get(revisions_url(page["id"]), headers=PAGES_READ))
    assert listed["data"][0][field] == shown


@pytest.mark.parametrize(("field", "given", "shown"), GOOD, ids=[case_id(*c) for c in GOOD])
async def test_a_value_patched_is_returned_in_prisma_json(
    client: httpx.AsyncClient, field: str, given: Any, shown: str
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1)

    response = await client.patch(
        revision_url(page["id"], 1), json={field: given}, headers=PAGES_WRITE
    )

    assert assert_ok(response)[field] == shown


@pytest.mark.parametrize(("field", "value"), BAD, ids=[case_id(*c) for c in BAD])
async def test_an_invalid_value_on_create_returns_422_and_writes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, field: str, value: Any
) -> None:
    page = await new_page(client)
    body = {"revision": 1, "effectiveOn": "2026-01-31", field: value}

    response = await client.post(revisions_url(page["id"]), json=body, headers=PAGES_WRITE)

    assert_problem(response, 422, field=f"body.{field}")
    assert await count_rows(engine, "page_revisions") == 0


@pytest.mark.parametrize(("field", "value"), BAD, ids=[case_id(*c) for c in BAD])
async def test_an_invalid_value_on_update_returns_422_and_changes_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, field: str, value: Any
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1, price="5", byteSize="7")
    before = await revision_row(engine, page["id"], 1)

    response = await client.patch(
        revision_url(page["id"], 1), json={field: value}, headers=PAGES_WRITE
    )

    assert_problem(response, 422, field=f"body.{field}")
    assert await revision_row(engine, page["id"], 1) == before


# ------------------------------------------------------------------------------ storage


async def test_a_row_written_through_the_api_is_what_sql_reads(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    external_id = "5B0C8A0E-2F4D-4C1A-9A51-6A3E1F2D7C10"

    await create_revision(
        client,
        page["id"],
        1,
        price="12.50",
        byteSize=str(BEYOND_2_53),
        effectiveOn="2026-01-31",
        externalId=external_id,
    )

    row = await revision_row(engine, page["id"], 1)
    assert row is not None
    assert Decimal(str(row["price"])) == Decimal("12.50")
    assert row["byte_size"] == BEYOND_2_53
    assert str(row["effective_on"])[:10] == "2026-01-31"
    assert uuid.UUID(str(row["external_id"])) == uuid.UUID(external_id)


async def test_a_row_written_through_the_api_has_postgresql_types(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no numeric(10,2), date or uuid column types")
    page = await new_page(client)

    created = await create_revision(
        client,
        page["id"],
        1,
        price="12.50",
        byteSize=str(BEYOND_2_53),
        effectiveOn="2026-01-31T00:00:00.000Z",
    )

    rows = await sql_rows(
        engine,
        "SELECT price::text AS price, byte_size, effective_on, external_id::text AS external_id "
        "FROM page_revisions WHERE page_id = :page_id",
        page_id=page["id"],
    )
    assert rows == [
        {
            "price": "12.50",
            "byte_size": BEYOND_2_53,
            "effective_on": date(2026, 1, 31),
            "external_id": created["externalId"],
        }
    ]


async def test_a_row_written_as_prisma_client_writes_it_reads_back_identically(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    external_id = uuid.UUID("0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6")
    await insert_revision(
        engine,
        page["id"],
        7,
        price=Decimal("12.50"),
        byte_size=BEYOND_2_53,
        effective_on=date(2026, 1, 31),
        external_id=external_id,
        edited_at=BASE_TIME,
    )

    fetched = assert_ok(await client.get(revision_url(page["id"], 7), headers=PAGES_READ))

    assert fetched == {
        "pageId": page["id"],
        "revision": 7,
        "externalId": "0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6",
        "price": "12.5",
        "byteSize": "9007199254740993",
        "effectiveOn": "2026-01-31T00:00:00.000Z",
        "editedAt": "2026-11-01T12:00:00.123Z",
    }


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        ("12.50", "12.5"),
        ("0.00", "0"),
        ("100.00", "100"),
        ("-3.25", "-3.25"),
        ("99999999.99", "99999999.99"),
    ],
)
async def test_a_row_inserted_with_plain_postgresql_sql_reads_back_exactly(
    client: httpx.AsyncClient, engine: AsyncEngine, price: str, shown: str
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the literal SQL is PostgreSQL's (numeric, date and uuid casts)")
    page = await new_page(client)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO page_revisions "
                "(page_id, revision, external_id, price, byte_size, effective_on, edited_at) "
                f"VALUES (:page_id, 1, 'A1B2C3D4-0000-4000-8000-00000000000F', {price}, "
                "9223372036854775807, DATE '2026-01-31', TIMESTAMP '2026-11-01 12:00:00.123')"
            ),
            {"page_id": page["id"]},
        )

    fetched = assert_ok(await client.get(revision_url(page["id"], 1), headers=PAGES_READ))

    assert fetched["price"] == shown
    assert fetched["byteSize"] == "9223372036854775807"
    assert fetched["effectiveOn"] == "2026-01-31T00:00:00.000Z"
    assert fetched["externalId"] == "a1b2c3d4-0000-4000-8000-00000000000f"
    assert fetched["editedAt"] == "2026-11-01T12:00:00.123Z"


async def test_a_bigint_beyond_2_53_survives_a_round_trip_through_put(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    page = await new_page(client)
    await create_revision(client, page["id"], 1)

    response = await client.put(
        revision_url(page["id"], 1),
        json={"effectiveOn": "2026-01-31", "byteSize": BEYOND_2_53 + 2},
        headers=PAGES_WRITE,
    )

    assert assert_ok(response)["byteSize"] == str(BEYOND_2_53 + 2)
    row = await revision_row(engine, page["id"], 1)
    assert row is not None
    assert row["byte_size"] == BEYOND_2_53 + 2
