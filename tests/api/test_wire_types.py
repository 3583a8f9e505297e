"""Every Prisma scalar through the API, on SQLite and PostgreSQL, on a fixture model the tests own.

What goes in is stored as that value (or refused with a 422 naming the field, nothing
written), what comes out is what Prisma Client's JSON gives, through both the HotPath and
FastAPI's routes.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.wire_support import (
    READ,
    URL,
    WRITE,
    Served,
    item_url,
    postgres_wire_database,
    serving,
)
from tests.conftest import TEST_DATABASE_URL
from tests.support import PROBLEM

DEC_65_30 = "991.555555555555555555555555555555"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def wire_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('wire') / 'wire.sqlite3'}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_wire_database(TEST_DATABASE_URL, "app_api_wire") as url:
        yield url


@pytest.fixture(scope="module")
async def served(wire_url: str) -> AsyncIterator[Served]:
    async with serving(wire_url) as app:
        yield app


@pytest.fixture
async def api(served: Served) -> Served:
    await served.clear()
    return served


async def create(api: Served, **fields: Any) -> dict[str, Any]:
    fields.setdefault("label", "a sample")
    response = await api.client.post(URL, json=fields, headers=WRITE)
    assert response.status_code == 201, response.text
    return response.json()


async def read_back(api: Served, sample_id: int) -> dict[str, Any]:
    """The row by key (HotPath) and in the list (both must agree)."""
    one = await api.client.get(item_url(sample_id), headers=READ)
    assert one.status_code == 200, one.text
    listed = await api.client.get(URL, headers=READ)
    assert listed.status_code == 200, listed.text
    row = next(r for r in listed.json()["data"] if r["id"] == sample_id)
    assert row == one.json()
    return one.json()


def assert_refused(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    fields = [error["field"] for error in response.json()["errors"]]
    assert f"body.{field}" in fields or field in response.json()["detail"], response.json()
    return response.json()["detail"]


# ------------------------------------------------------------------------------ round trips

# (field, sent, returned): returned None means "the same as sent".
ROUND_TRIPS: list[tuple[str, Any, Any]] = [
    ("vc", "exactly10!", None),
    ("ch", "abc", None),
    ("small", -32768, None),
    ("small", 32767, None),
    ("i", 2147483647, None),
    ("bi", "9007199254740993", None),
    ("bi", 9007199254740993, "9007199254740993"),
    ("bi", "-9223372036854775808", None),
    ("f", 3.25, None),
    ("f", 1e300, None),
    ("f", 7, 7.0),
    ("f", -0.1, None),
    ("real", 1.5, None),
    ("d2", "12.5", None),
    ("d2", 1.5, "1.5"),
    ("d2", "0.01", None),
    ("d2", "12.50", "12.5"),
    ("dec", "12.5", None),
    ("dec", 1.5, "1.5"),
    ("dec", "0.01", None),
    ("b", False, None),
    ("ts", "2026-11-22T10:00:00.123Z", None),
    ("ts", "2026-11-22T10:00:00.123456Z", "2026-11-22T10:00:00.123Z"),
    ("ts", "2026-11-22T12:00:00+02:00", "2026-11-22T10:00:00.000Z"),
    ("tstz", "2026-11-22T10:00:00.123Z", None),
    ("tstz", "2026-11-22T12:00:00.5+02:00", "2026-11-22T10:00:00.500Z"),
    ("day", "2026-01-31", "2026-01-31T00:00:00.000Z"),
    ("t", "1970-01-01T10:30:00.250Z", None),
    ("t", "10:30:00", "1970-01-01T10:30:00.000Z"),
    ("t", "2026-05-05T23:59:59.999+01:00", "1970-01-01T22:59:59.999Z"),
    ("ttz", "1970-01-01T10:30:00.000Z", None),
    ("j", {"a": [1, 2, {"b": None}]}, None),
    ("j", ["a", 1], None),
    ("j", "a string", None),
    ("j", 42, None),
    ("j", 1.5, None),
    ("j", True, None),
    ("j", False, None),
    ("j", [], None),
    ("j", {}, None),
    ("jd", ["patched", 1], None),
    ("blob", base64.b64encode(b"\x00\x01\xfe").decode(), None),
    ("blob", "AAH+", None),
    ("blob", "AAE", "AAE="),
    ("blob", "", None),
    ("mood", "HAPPY", None),
    ("mood", "SAD", None),
    ("moods", ["HAPPY", "SAD", "HAPPY"], None),
    ("ints", [1, -2, 2147483647], None),
    ("floats", [1.5, -2.25], None),
    ("decs", ["12.5", 1.25, "0.01"], ["12.5", "1.25", "0.01"]),
    ("jsons", [{"a": 1}, "s", [1]], None),
    ("blobs", ["AAH+", "/w=="], None),
    ("stamps", ["2026-11-22T10:00:00.123Z"], None),
    ("bigs", ["9007199254740993", 1], ["9007199254740993", "1"]),
    ("u", "5B0C8A0E-2F4D-4C1A-9A51-6A3E1F2D7C10", "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10"),
    ("mappedName", "kept", None),
    ("created_at", 1700000000, None),
    ("label", "x" * 10_000, None),
]


def _case(field: str, sent: Any, *_: Any) -> str:
    return f"{field}={str(sent)[:30]!r}"


@pytest.mark.parametrize(
    ("field", "sent", "returned"), ROUND_TRIPS, ids=[_case(*c) for c in ROUND_TRIPS]
)
async def test_a_value_sent_comes_back_as_prisma_returns_it(
    api: Served, field: str, sent: Any, returned: Any
) -> None:
    expected = sent if returned is None else returned
    if api.dialect == "sqlite" and field == "dec" and sent == "0.01":
        pytest.skip("SQLite keeps DECIMAL(65,30) as a double: 0.01 reads back with its noise")

    created = await create(api, **{field: sent})

    assert created[field] == expected
    assert (await read_back(api, created["id"]))[field] == expected


async def test_decimal_of_prisma_default_precision_is_exact_both_ways(api: Served) -> None:
    if api.dialect == "sqlite":
        pytest.skip("SQLite keeps numerics as doubles: exact decimals need PostgreSQL")
    created = await create(api, dec=DEC_65_30)
    assert created["dec"] == DEC_65_30
    assert (await read_back(api, created["id"]))["dec"] == DEC_65_30
    [row] = await api.sql('SELECT "dec"::text AS dec FROM "WireSample"')
    assert row["dec"] == DEC_65_30  # 30 digits after the point, as stored


async def test_a_decimal_written_by_sql_reads_back_with_every_digit(api: Served) -> None:
    if api.dialect == "sqlite":
        pytest.skip("SQLite keeps numerics as doubles: exact decimals need PostgreSQL")
    async with api.engine.begin() as connection:
        await connection.execute(
            text(
                'INSERT INTO "WireSample" (label, dec, d2) VALUES '
                "('plain', 12345678901234567890.123456789012345678901234567891, 99999999.99),"
                "('huge', 12345678901234567890123456789012345.123456789012345678901234567891, 0)"
            )
        )
    listed = (await api.client.get(URL, params={"orderBy": "id"}, headers=READ)).json()["data"]
    assert listed[0]["dec"] == "12345678901234567890.123456789012345678901234567891"
    assert listed[0]["d2"] == "99999999.99"
    # decimal.js writes an exponent from 1e21 on: Prisma Client's JSON has the same digits.
    assert listed[1]["dec"] == (
        "1.2345678901234567890123456789012345123456789012345678901234567891e+34"
    )


async def test_json_is_stored_as_the_value_sent_never_as_a_string(api: Served) -> None:
    created = await create(api, j="a string", jsons=["x"])
    if api.dialect == "postgresql":
        [row] = await api.sql(
            'SELECT jsonb_typeof(j) AS kind, jsonb_typeof(jd) AS default_kind FROM "WireSample"'
        )
        assert row == {"kind": "string", "default_kind": "object"}
    assert created["jd"] == {}


async def test_json_null_on_an_optional_field_is_sql_null(api: Served) -> None:
    created = await create(api, j={"a": 1})

    response = await api.client.patch(item_url(created["id"]), json={"j": None}, headers=WRITE)

    assert response.status_code == 200, response.text
    assert response.json()["j"] is None
    [row] = await api.sql('SELECT j IS NULL AS unset FROM "WireSample"')
    assert row["unset"] in (True, 1)


async def test_put_resets_an_omitted_json_default_to_the_json_value(api: Served) -> None:
    created = await create(api, jd={"set": True})

    response = await api.client.put(
        item_url(created["id"]), json={"label": "replaced"}, headers=WRITE
    )

    assert response.status_code == 200, response.text
    assert response.json()["jd"] == {}
    assert (await read_back(api, created["id"]))["jd"] == {}
    if api.dialect == "postgresql":
        [row] = await api.sql('SELECT jsonb_typeof(jd) AS kind FROM "WireSample"')
        assert row["kind"] == "object"


async def test_unset_fields_come_back_as_prisma_returns_them(api: Served) -> None:
    created = await create(api)

    for name in ("vc", "bi", "f", "dec", "ts", "t", "j", "blob", "mood", "u", "inet", "created_at"):
        assert created[name] is None, name
    for name in ("moods", "ints", "decs", "jsons", "blobs", "stamps", "bigs"):
        assert created[name] == [], name
    assert created["jd"] == {}
    assert created["createdAt"].endswith("Z")


async def test_an_unknown_column_type_is_served_as_text(api: Served) -> None:
    created = await create(api, inet="10.0.0.1/8")

    assert created["inet"] == "10.0.0.1/8"
    assert (await read_back(api, created["id"]))["inet"] == "10.0.0.1/8"


async def test_created_at_and_createdAt_are_two_fields_with_their_own_types(api: Served) -> None:  # noqa: N802
    response = await api.client.post(
        URL, json={"label": "x", "created_at": "2026-01-01T00:00:00Z"}, headers=WRITE
    )
    assert_refused(response, "created_at")

    unknown = await api.client.post(URL, json={"label": "x", "createdAt": 5}, headers=WRITE)
    assert unknown.status_code == 422  # not writable: an unknown field

    created = await create(api, created_at=7)
    assert created["created_at"] == 7
    assert created["createdAt"].endswith("Z")


# ------------------------------------------------------------------------------ refusals

REFUSED: list[tuple[str, Any]] = [
    ("vc", "x" * 11),
    ("ch", "abcd"),
    ("label", "x" * 10_001),
    ("label", "nul\x00"),
    ("small", 32768),
    ("small", -32769),
    ("i", 2147483648),
    ("bi", "9223372036854775808"),
    ("bi", "1.5"),
    ("f", "NaN"),
    ("f", "abc"),
    ("f", "Infinity"),
    ("f", True),
    ("real", 1e39),
    ("d2", "1.234"),
    ("d2", "123456789"),
    ("d2", "NaN"),
    ("dec", "0.0000000000000000000000000000001"),
    ("dec", "1e40"),
    ("ts", "garbage"),
    ("ts", 1700000000),
    ("day", "2026-02-30"),
    ("t", "25:00:00"),
    ("t", 36000),
    ("blob", "not base64!"),
    ("blob", "AA-_"),
    ("blob", "A"),
    ("mood", "happy"),
    ("mood", "ANGRY"),
    ("moods", ["HAPPY", "happy"]),
    ("ints", [1, 2147483648]),
    ("decs", ["1.234"]),
    ("blobs", ["%%%"]),
    ("u", "not-a-uuid"),
    ("j", {"deep": "\x00"}),
    ("created_at", "soon"),
]


@pytest.mark.parametrize(("field", "sent"), REFUSED, ids=[_case(*c) for c in REFUSED])
async def test_a_value_the_column_cannot_hold_is_a_422_naming_the_field_and_nothing_is_written(
    api: Served, field: str, sent: Any
) -> None:
    response = await api.client.post(URL, json={"label": "x", field: sent}, headers=WRITE)

    assert_refused(response, field)
    assert await api.sql('SELECT id FROM "WireSample"') == []


async def test_decimal_refusals_say_why_and_never_round(api: Served) -> None:
    response = await api.client.post(URL, json={"label": "x", "d2": "0.001"}, headers=WRITE)
    assert "at most 2 digits after the decimal point" in assert_refused(response, "d2")

    response = await api.client.post(URL, json={"label": "x", "d2": "100000000"}, headers=WRITE)
    assert "at most 8 digits before the point" in assert_refused(response, "d2")


async def test_a_check_constraint_violation_is_a_422_naming_the_constraint(api: Served) -> None:
    response = await api.client.post(URL, json={"label": "x", "small": 13}, headers=WRITE)

    assert response.status_code == 422, response.text
    assert "WireSample_small_check" in response.json()["detail"]
    assert await api.sql('SELECT id FROM "WireSample"') == []

    created = await create(api, small=12)
    patched = await api.client.patch(item_url(created["id"]), json={"small": 13}, headers=WRITE)
    assert patched.status_code == 422, patched.text
    assert "WireSample_small_check" in patched.json()["detail"]
    [row] = await api.sql('SELECT small FROM "WireSample"')
    assert row["small"] == 12


# ------------------------------------------------------------------------------ filters, orders


async def test_enum_filters_take_prisma_names_and_refuse_others_with_422(api: Served) -> None:
    happy = await create(api, mood="HAPPY", moods=["HAPPY"])
    await create(api, mood="SAD", moods=["SAD"])

    by_mood = await api.client.get(URL, params={"mood": "HAPPY"}, headers=READ)
    by_list = await api.client.get(URL, params={"moods": "HAPPY"}, headers=READ)

    assert [r["id"] for r in by_mood.json()["data"]] == [happy["id"]]
    assert [r["id"] for r in by_list.json()["data"]] == [happy["id"]]
    for params in ({"mood": "happy"}, {"mood": "ANGRY"}, {"moods": "happy"}, {"moods": "X"}):
        response = await api.client.get(URL, params=params, headers=READ)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_float_and_bytes_filters(api: Served) -> None:
    match = await create(api, f=2.5, blob="AAH+")
    await create(api, f=3.5, blob="AAE=")

    by_float = await api.client.get(URL, params={"f": "2.5"}, headers=READ)
    by_bytes = await api.client.get(URL, params={"blob": "AAH+"}, headers=READ)

    assert [r["id"] for r in by_float.json()["data"]] == [match["id"]]
    assert [r["id"] for r in by_bytes.json()["data"]] == [match["id"]]
    bad = await api.client.get(URL, params={"blob": "%%"}, headers=READ)
    assert bad.status_code == 422


@pytest.mark.parametrize("order", ["f", "-f", "dec", "tstz", "-tstz", "t", "created_at"])
async def test_cursor_pages_follow_new_types_in_order(api: Served, order: str) -> None:
    for n in range(5):
        await create(
            api,
            f=n / 2,
            dec=str(n),
            tstz=f"2026-01-0{n + 1}T00:00:00Z",
            t=f"1{n}:00:00",
            created_at=n,
        )
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"orderBy": order, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await api.client.get(URL, params=params, headers=READ)
        assert response.status_code == 200, response.text
        seen += [r["id"] for r in response.json()["data"]]
        cursor = response.json()["nextCursor"]
        if cursor is None:
            break
    everything = (await api.client.get(URL, params={"orderBy": order}, headers=READ)).json()
    assert seen == [r["id"] for r in everything["data"]]
    assert len(seen) == 5


# ------------------------------------------------------------------------------ fast path

EVERY_TYPE: dict[str, Any] = {
    "label": "every type",
    "vc": "v",
    "small": 5,
    "bi": "9007199254740993",
    "f": 0.5,
    "d2": "1.5",
    "ts": "2026-11-22T10:00:00.123Z",
    "tstz": "2026-11-22T10:00:00.123Z",
    "day": "2026-01-31",
    "t": "10:30:00",
    "ttz": "10:30:00",
    "j": ["a", 1],
    "blob": "AAH+",
    "mood": "HAPPY",
    "moods": ["SAD"],
    "decs": ["0.5"],
    "jsons": [{"a": 1}],
    "blobs": ["AAH+"],
    "stamps": ["2026-11-22T10:00:00.123Z"],
    "bigs": ["1"],
    "u": "5b0c8a0e-2f4d-4c1a-9a51-6a3e1f2d7c10",
    "inet": "10.0.0.1",
    "created_at": 3,
}


async def test_the_hot_path_and_the_routes_answer_every_type_alike(
    api: Served, wire_url: str
) -> None:
    async with serving(wire_url, hot=False) as routed:
        hot_made = await create(api, **EVERY_TYPE)
        routed_made = await create(routed, **EVERY_TYPE)
        for made in (hot_made, routed_made):
            assert {k: v for k, v in made.items() if k not in ("id", "createdAt")} == {
                k: v for k, v in hot_made.items() if k not in ("id", "createdAt")
            }
        for url in (item_url(hot_made["id"]), URL, f"{URL}?mood=HAPPY&moods=SAD&orderBy=-f"):
            hot = await api.client.get(url, headers=READ)
            slow = await routed.client.get(url, headers=READ)
            assert hot.status_code == slow.status_code == 200, (hot.text, slow.text)
            assert hot.content == slow.content
        for body in ({"mood": "happy"}, {"small": 13}, {"d2": "0.001"}):
            hot = await api.client.patch(item_url(hot_made["id"]), json=body, headers=WRITE)
            slow = await routed.client.patch(item_url(hot_made["id"]), json=body, headers=WRITE)
            assert hot.status_code == slow.status_code == 422
            assert hot.json()["detail"] == slow.json()["detail"]


async def test_a_value_the_database_refuses_for_an_unknown_type_is_a_422_not_a_500(
    api: Served,
) -> None:
    response = await api.client.post(URL, json={"label": "x", "inet": "not an ip"}, headers=WRITE)

    if api.dialect == "sqlite":  # text there: anything goes
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "does not fit its column" in response.json()["detail"]
    assert await api.sql('SELECT id FROM "WireSample"') == []
