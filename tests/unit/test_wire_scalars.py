"""`wire_type` for every column type the generator writes: JSON out as Prisma Client gives it,
JSON in as Prisma Client sends it (refused, never rounded), OpenAPI as a TypeScript client
reads it. Columns live on a table of the test's own metadata."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from asyncpg import BitString
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    CHAR,
    JSON,
    REAL,
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    Enum,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import (
    ARRAY,
    BIT,
    INET,
    JSONB,
    MONEY,
    OID,
    TIME,
    TIMESTAMP,
    TSVECTOR,
)
from sqlalchemy.sql.sqltypes import NullType

from app.prisma_defaults import enum_values
from app.schemas import (
    WireType,
    decimal_input,
    decimal_json,
    money_json,
    row_encoder,
    time_json,
    wire_type,
)
from tests.conftest import capture_logs


class Level(enum.StrEnum):
    LOW = "low-level"
    HIGH = "HIGH"


_LEVEL = Enum(Level, name="level", values_callable=enum_values)
TABLE = Table(
    "Everything",
    MetaData(),
    Column("text", Text),
    Column("varchar", String(10)),
    Column("char", CHAR(2)),
    Column("small", SmallInteger),
    Column("int", Integer),
    Column("big", BigInteger),
    Column("double", Double(53)),
    Column("real", REAL),
    Column("decimal", Numeric(65, 30)),
    Column("cents", Numeric(10, 2)),
    Column("numeric", Numeric()),
    Column("money", MONEY),
    Column("oid", OID),
    Column("bool", Boolean),
    Column("stamp", TIMESTAMP(precision=3)),
    Column("stamptz", TIMESTAMP(True, 6)),
    Column("day", Date),
    Column("clock", TIME(precision=3)),
    Column("clocktz", TIME(True, 3)),
    Column("jsonb", JSONB(none_as_null=True).with_variant(JSON(none_as_null=True), "sqlite")),
    Column("json", JSON(none_as_null=True)),
    Column("bytes", LargeBinary),
    Column("level", _LEVEL),
    Column("levels", ARRAY(_LEVEL).with_variant(JSON(), "sqlite")),
    Column("decimals", ARRAY(Numeric(10, 2)).with_variant(JSON(), "sqlite")),
    Column("blobs", ARRAY(LargeBinary()).with_variant(JSON(), "sqlite")),
    Column("stamps", ARRAY(TIMESTAMP(precision=3)).with_variant(JSON(), "sqlite")),
    Column("jsons", ARRAY(JSONB()).with_variant(JSON(), "sqlite")),
    Column("uuid", Uuid),
    Column("inet", INET),
    Column("bits", BIT(4)),
    Column("search", TSVECTOR),
    Column("xml", NullType),
)


def wire(name: str) -> WireType:
    return wire_type(TABLE.c[name])


def accepts(name: str, value: Any) -> Any:
    return TypeAdapter(wire(name).input).validate_python(value)


def accepts_json(name: str, raw: str) -> Any:
    return TypeAdapter(wire(name).input).validate_json(raw)


def refuses(name: str, value: Any) -> str:
    with pytest.raises(ValidationError) as error:
        accepts(name, value)
    return str(error.value)


def out(name: str, value: Any) -> Any:
    encode = wire(name).to_json
    return value if encode is None else encode(value)


# ------------------------------------------------------------------------------ every type


def test_no_column_type_fails_and_unknown_ones_warn_once_naming_the_column() -> None:
    table = Table("Warned", MetaData(), *(column._copy() for column in TABLE.columns))
    with capture_logs() as logs:
        for column in table.columns:
            wire_type(column)
            wire_type(column)
    warnings = [r for r in logs.records if r.get("level") == "WARNING"]
    named = sorted(r["message"].split()[1] for r in warnings)
    assert named == ["Warned.bits", "Warned.inet", "Warned.search", "Warned.xml"]


@pytest.mark.parametrize(
    ("name", "stored", "json"),
    [
        ("inet", "10.0.0.1/8", "10.0.0.1/8"),
        ("bits", BitString.from_int(5, 4), "0101"),
        ("search", "'a' 'cat'", "'a' 'cat'"),
        ("xml", "<a/>", "<a/>"),
        ("inet", None, None),
    ],
)
def test_an_unknown_type_goes_out_as_its_text(name: str, stored: Any, json: Any) -> None:
    assert out(name, stored) == json
    assert accepts(name, "any text") == "any text"


# ------------------------------------------------------------------------------ strings, numbers


def test_varchar_and_char_lengths_bound_the_input() -> None:
    assert accepts("varchar", "x" * 10) == "x" * 10
    assert "at most 10 characters" in refuses("varchar", "x" * 11)
    assert "at most 2 characters" in refuses("char", "abc")
    assert "NUL" in refuses("text", "a\x00")
    schema = TypeAdapter(wire("varchar").input).json_schema()
    assert schema["maxLength"] == 10


@pytest.mark.parametrize(
    ("name", "inside", "outside"),
    [
        ("small", [-32768, 32767], [-32769, 32768]),
        ("int", [-(2**31), 2**31 - 1], [-(2**31) - 1, 2**31]),
        ("oid", [0, 2**32 - 1], [-1, 2**32]),
        ("big", ["-9223372036854775808", 2**63 - 1], [str(2**63), -(2**63) - 1, "1.0", True]),
    ],
)
def test_integers_take_exactly_their_column_range(
    name: str, inside: list[Any], outside: list[Any]
) -> None:
    for value in inside:
        assert accepts(name, value) == int(value)
    for value in outside:
        refuses(name, value)


def test_bigint_goes_out_as_a_string_of_digits() -> None:
    assert out("big", 9007199254740993) == "9007199254740993"
    assert out("big", None) is None


def test_float_is_a_json_number_in_and_out_and_never_nan_or_infinity() -> None:
    assert accepts_json("double", "1.5") == 1.5
    assert accepts_json("double", "7") == 7.0
    assert accepts_json("double", "1e308") == 1e308
    assert out("double", 3.25) == 3.25
    for raw in ('"NaN"', '"Infinity"', "1e400", "true", '"x"', "[1]"):
        with pytest.raises(ValidationError):
            accepts_json("double", raw)
    assert accepts("real", 3.0e38) == 3.0e38
    assert "4-byte float" in refuses("real", 1e39)
    assert TypeAdapter(wire("double").input).json_schema() == {"type": "number"}


def test_boolean_is_as_is() -> None:
    assert accepts("bool", True) is True
    assert out("bool", False) is False


# ------------------------------------------------------------------------------ decimals

DIGITS_65_30 = "12345678901234567890.123456789012345678901234567891"


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("12.5", "12.5"),
        (1.5, "1.5"),
        ("0.01", "0.01"),
        (0.1, "0.1"),
        (DIGITS_65_30, DIGITS_65_30),
        ("991.555555555555555555555555555555", "991.555555555555555555555555555555"),
        ("-0.000000000000000000000000000001", "-1e-30"),
        ("1e20", "1e+20"),
    ],
)
def test_decimal_of_prisma_default_precision_takes_every_digit(raw: Any, stored: str) -> None:
    assert accepts("decimal", raw) == Decimal(stored)


def test_decimal_refuses_more_digits_than_the_column_holds_saying_which() -> None:
    assert "at most 30 digits after the decimal point" in refuses(
        "decimal", "0.0000000000000000000000000000001"
    )
    assert "at most 35 digits before the point" in refuses("decimal", "1e35")
    assert "at most 2 digits after the decimal point" in refuses("cents", "0.001")
    assert "at most 8 digits before the point" in refuses("cents", "100000000")
    for raw in ("NaN", "Infinity", "1,5", "", "0x10", True, None, [1]):
        refuses("decimal", raw)


@pytest.mark.parametrize("raw", ["1e1000000", "-1e999999999999", "1e-999999999999"])
def test_decimal_with_an_exponent_past_pythons_context_is_refused_not_a_crash(raw: str) -> None:
    # abs() rounds in the default context and raised decimal.Overflow past 1e999999 (a 500).
    message = refuses("cents", raw)
    assert "digits before the point" in message or "digits after the decimal point" in message


def test_unbounded_numeric_takes_what_postgresql_takes() -> None:
    long = "1" * 200 + "." + "2" * 200
    assert accepts("numeric", long) == Decimal(long)
    assert "16383 digits after" in refuses("numeric", "1e-16384")


@pytest.mark.parametrize(
    ("value", "json"),
    [
        (Decimal("991.555555555555555555555555555555"), "991.555555555555555555555555555555"),
        (Decimal(DIGITS_65_30 + "000000000"), DIGITS_65_30),
        (
            Decimal("12345678901234567890123456789012345.5"),
            "1.23456789012345678901234567890123455e+34",
        ),
        (Decimal("0.000000000000000000000000000001"), "1e-30"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("-0E-30"), "0"),
        ("12.50", "12.5"),
    ],
)
def test_decimal_goes_out_with_every_digit_as_decimal_js_writes_it(value: Any, json: str) -> None:
    assert decimal_json(value) == json


def test_decimal_input_of_any_precision_in_the_default_context() -> None:
    # Python's default context keeps 28 digits: the wire layer must not depend on it.
    parse = TypeAdapter(decimal_input(65, 30))
    assert str(parse.validate_python("0.01")) == "0.01"
    assert parse.validate_python(DIGITS_65_30) == Decimal(DIGITS_65_30)


@pytest.mark.parametrize(
    ("text", "json"),
    [("$1,234.50", "1234.5"), ("-$3.00", "-3"), ("($3.25)", "-3.25"), ("$0.00", "0"), (None, None)],
)
def test_money_goes_out_as_a_decimal_string(text: str | None, json: str | None) -> None:
    assert money_json(text) == json


def test_money_input_is_a_decimal_string_for_the_driver() -> None:
    assert accepts("money", "12.5") == "12.5"
    assert accepts("money", 3) == "3"
    refuses("money", "1.234")


# ------------------------------------------------------------------------------ dates and times


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-11-22T10:00:00.123Z", datetime(2026, 11, 22, 10, 0, 0, 123000)),
        ("2026-11-22T10:00:00.123999Z", datetime(2026, 11, 22, 10, 0, 0, 123000)),
        ("2026-11-22T12:00:00+02:00", datetime(2026, 11, 22, 10)),
        ("2026-11-22T10:00:00", datetime(2026, 11, 22, 10)),
    ],
)
def test_timestamps_of_every_precision_are_naive_utc_to_the_millisecond(
    raw: str, stored: datetime
) -> None:
    assert accepts("stamp", raw) == stored
    assert accepts("stamptz", raw) == stored


def test_timestamps_go_out_as_to_iso_string_whether_stored_with_a_zone_or_not() -> None:
    aware = datetime(2026, 11, 22, 12, 0, 0, 5000, tzinfo=timezone(timedelta(hours=2)))
    assert out("stamptz", aware) == "2026-11-22T10:00:00.005Z"
    assert out("stamp", datetime(2026, 11, 22, 10)) == "2026-11-22T10:00:00.000Z"
    assert out("day", date(2026, 1, 31)) == "2026-01-31T00:00:00.000Z"
    refuses("stamp", 1700000000)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("1970-01-01T10:30:00.250Z", time(10, 30, 0, 250000)),
        ("2026-05-05T23:59:59.999+01:00", time(22, 59, 59, 999000)),
        ("10:30", time(10, 30)),
        ("10:30:15.123456", time(10, 30, 15, 123000)),
        ("10:30:00+02:00", time(8, 30)),
    ],
)
def test_time_of_day_takes_a_date_time_or_a_time(raw: str, stored: time) -> None:
    assert accepts("clock", raw) == stored
    assert accepts("clocktz", raw) == stored.replace(tzinfo=UTC)


def test_time_of_day_goes_out_on_1970_01_01_utc_as_prisma_returns_it() -> None:
    assert time_json(time(10, 30, 0, 250000)) == "1970-01-01T10:30:00.250Z"
    assert time_json(time(1, 0, tzinfo=timezone(timedelta(hours=2)))) == "1970-01-01T23:00:00.000Z"
    assert time_json(None) is None
    for raw in ("25:00", "10h30", 36000, "", "1970-13-01T00:00:00Z"):
        refuses("clock", raw)


# ------------------------------------------------------------------------------ json, bytes


@pytest.mark.parametrize(
    "value", [{"a": [1, {"b": None}]}, ["a", 1], "a string", 42, 1.5, True, False, [], {}]
)
def test_json_takes_any_json_value_and_returns_it_as_is(value: Any) -> None:
    for name in ("jsonb", "json"):
        assert accepts(name, value) == value
        assert out(name, value) == value


def test_json_keeps_its_limits() -> None:
    assert "not null" in refuses("jsonb", None)
    assert "NUL" in refuses("jsonb", "a\x00")
    assert "NaN" in refuses("jsonb", [float("nan")])
    deep: Any = "leaf"
    for _ in range(40):
        deep = [deep]
    assert "32 levels" in refuses("jsonb", deep)
    assert "bytes" in refuses("jsonb", "x" * 70_000)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("AAH+", b"\x00\x01\xfe"),
        ("AAE=", b"\x00\x01"),
        ("AAE", b"\x00\x01"),
        ("", b""),
        ("/w==", b"\xff"),
    ],
)
def test_bytes_take_base64_and_go_out_as_buffer_to_string_base64(raw: str, stored: bytes) -> None:
    assert accepts("bytes", raw) == stored
    assert out("bytes", stored) == raw + "=" * (-len(raw) % 4)


@pytest.mark.parametrize("raw", ["not base64!", "AA-_", "A", "AA=E", "AAE===", 42, None])
def test_bytes_refuse_what_is_not_standard_base64(raw: Any) -> None:
    assert "base64" in refuses("bytes", raw)


# ------------------------------------------------------------------------------ enums, lists


def test_enums_travel_by_prisma_name_whatever_the_database_value() -> None:
    assert accepts("level", "LOW") is Level.LOW
    assert "'LOW' or 'HIGH'" in refuses("level", "low-level")
    refuses("level", "MEDIUM")
    assert out("level", Level.LOW) == "LOW"  # SQLAlchemy's member
    assert out("level", "low-level") == "LOW"  # asyncpg's database value
    assert out("level", None) is None
    assert out("level", "added-since-make-orm") == "added-since-make-orm"
    schema = TypeAdapter(wire("level").output).json_schema()
    assert schema["enum"] == ["LOW", "HIGH"]
    assert schema["title"] == "Level"


def test_lists_of_each_type_in_and_out() -> None:
    assert accepts("levels", ["LOW", "HIGH"]) == [Level.LOW, Level.HIGH]
    assert out("levels", ["low-level", "HIGH"]) == ["LOW", "HIGH"]
    assert out("levels", None) == []
    assert accepts("decimals", ["12.5", 1.25]) == [Decimal("12.5"), Decimal("1.25")]
    assert out("decimals", [Decimal("12.50")]) == ["12.5"]
    assert out("blobs", [b"\x00\x01\xfe"]) == ["AAH+"]
    assert out("stamps", [datetime(2026, 1, 1)]) == ["2026-01-01T00:00:00.000Z"]
    assert out("jsons", [{"a": 1}, "s"]) == [{"a": 1}, "s"]
    refuses("decimals", ["1.234"])
    refuses("levels", ["low-level"])
    assert "at most 100 items" in refuses("decimals", ["1"] * 101)


def test_lists_sqlite_keeps_as_json_text_read_back_as_their_type() -> None:
    # SQLite stores list columns as JSON: Decimals and bytes as text, dates as ISO strings.
    assert out("decimals", ["12.50", "0.01"]) == ["12.5", "0.01"]
    assert out("blobs", ["AAH+"]) == ["AAH+"]
    assert out("stamps", ["2026-01-01T10:00:00.123000"]) == ["2026-01-01T10:00:00.123Z"]


def test_the_has_filter_item_is_the_list_item_type() -> None:
    item = wire("levels").item
    assert item is not None
    assert TypeAdapter(item.input).validate_python("HIGH") is Level.HIGH


# ------------------------------------------------------------------------------ rows


def test_a_row_encoder_runs_every_new_encoder_in_order() -> None:
    names = ["level", "bytes", "clock", "decimal", "inet", "levels", "double", "jsonb"]
    encode = row_encoder([(name, name, wire(name).to_json) for name in names])
    row = {
        "level": "low-level",
        "bytes": b"\x00\x01\xfe",
        "clock": time(10, 30),
        "decimal": Decimal("991.555555555555555555555555555555"),
        "inet": "10.0.0.1",
        "levels": ["HIGH"],
        "double": 1.5,
        "jsonb": "a string",
    }
    assert encode(row) == {
        "level": "LOW",
        "bytes": "AAH+",
        "clock": "1970-01-01T10:30:00.000Z",
        "decimal": "991.555555555555555555555555555555",
        "inet": "10.0.0.1",
        "levels": ["HIGH"],
        "double": 1.5,
        "jsonb": "a string",
    }
    assert encode(dict.fromkeys(names)) == {**dict.fromkeys(names), "levels": []}
