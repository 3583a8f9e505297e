"""The wire format: JSON keys are Prisma field names, values are what Prisma's client sends.

Each column type of the generated models has one wire type here: how a value is written to
JSON (`to_json`), how it is accepted from JSON (an annotated pydantic type) and how both are
documented in OpenAPI. `app.resource` builds every resource's models from these.

| Prisma type | JSON out | JSON in |
|---|---|---|
| `DateTime` | `"2026-11-22T10:00:00.000Z"` | ISO 8601 (no offset: UTC) |
| `DateTime @db.Date` | `"2026-11-22T00:00:00.000Z"` | the same, or `"2026-11-22"` |
| `Decimal` | `"12.5"` (Prisma's `Decimal.toJSON()`) | a string or a number; never rounded |
| `BigInt` | `"9007199254740993"` | a string of digits or an integer |
| `String @db.Uuid` | canonical lowercase | any standard spelling |
| `Json` | as stored | a JSON object (≤ 64 KiB, ≤ 32 levels) |
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Uuid,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import ARRAY

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_METADATA_BYTES = 64 * 1024
MAX_METADATA_DEPTH = 32
MAX_TEXT_LENGTH = 10_000
MAX_LIST_ITEMS = 100
INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1


def wire_name(column: Column[Any]) -> str:
    """The Prisma field name of a column: the generator records it for `@map("page_id")`
    columns (`info={"prisma": "pageId"}`); otherwise it is the column name."""
    mapped = column.info.get("prisma")
    # str(): SQLAlchemy's names are `quoted_name`, a str subclass orjson refuses as a key.
    return str(mapped) if isinstance(mapped, str) else str(column.name)


# ------------------------------------------------------------------------------ validators


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it up front rather than fail in the driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def text_type(*, min_length: int = 0, max_length: int = MAX_TEXT_LENGTH) -> Any:
    """A `String` input: bounded, without NUL characters."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_no_nul),
    ]


def name_type(*, max_length: int) -> Any:
    """A `String` that must say something: 1 to `max_length` characters, not blank."""
    return Annotated[
        str,
        StringConstraints(min_length=1, max_length=max_length),
        AfterValidator(_not_blank),
        AfterValidator(_no_nul),
    ]


Title = name_type(max_length=200)
Slug = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SLUG_PATTERN)]
Summary = text_type(max_length=500)
Body = text_type(max_length=200_000)
TagName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_no_nul)]
Tags = Annotated[list[TagName], Field(max_length=32)]
Views = Annotated[int, Field(ge=0, le=INT4_MAX)]
ForeignId = Annotated[int, Field(ge=1, le=INT4_MAX)]
Int4 = Annotated[int, Field(ge=INT4_MIN, le=INT4_MAX)]


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth, stopping early past the limit; refuses numbers JSON cannot carry."""
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON parser accepts NaN/Infinity; PostgreSQL's jsonb does not.
        raise ValueError("must not contain NaN or Infinity")
    if isinstance(value, dict):
        children: list[Any] = list(value.values())  # pyright: ignore[reportUnknownArgumentType]
    elif isinstance(value, list):
        children = list(value)  # pyright: ignore[reportUnknownArgumentType]
    else:
        return level
    deepest = level
    for child in children:
        deepest = max(deepest, _depth(child, level + 1))
        if deepest > MAX_METADATA_DEPTH:
            break
    return deepest


def _check_json(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if _depth(value) > MAX_METADATA_DEPTH:
        raise ValueError(f"must not nest deeper than {MAX_METADATA_DEPTH} levels")
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:
        if "64-bit" in str(exc):
            raise ValueError("must not contain integers beyond 64 bits") from None
        # orjson refuses lone surrogates ("\ud800"): PostgreSQL could not store them either.
        raise ValueError("must contain valid Unicode text only") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(
            f"must serialise to at most {MAX_METADATA_BYTES} bytes (got {len(encoded)})"
        )
    if b"\\u0000" in encoded:
        raise ValueError("must not contain NUL characters")
    return value


JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_check_json)]


def _iso_only(value: Any) -> Any:
    # Pydantic would take a number as a Unix timestamp; the contract says ISO 8601 strings.
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def to_naive_utc(value: datetime) -> datetime:
    """Prisma stores `TIMESTAMP(3)` without time zone, in UTC, to the millisecond."""
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("is out of range once converted to UTC") from None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(to_naive_utc)]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_input(value: Any) -> date:
    """`2026-01-31` or an ISO date-time (its UTC calendar day, as `@db.Date` stores it)."""
    if not isinstance(value, str):
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO 8601 date-time string")
    try:
        if _DATE_ONLY.match(value):
            return date.fromisoformat(value)
        return to_naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00"))).date()
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD) or an ISO 8601 date-time string") from None


IsoDate = Annotated[
    date,
    BeforeValidator(_date_input),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-31"]}),
]

_BIGINT = re.compile(r"^-?\d{1,20}$")


def _bigint_input(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be an integer or a string of digits")
    if isinstance(value, str):
        if not _BIGINT.match(value):
            raise ValueError("must be an integer or a string of digits")
        value = int(value)
    if not INT8_MIN <= value <= INT8_MAX:
        raise ValueError("must fit in 64 bits (BigInt)")
    return value


BigIntInput = Annotated[
    int,
    BeforeValidator(_bigint_input),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^-?\d+$"}, {"type": "integer"}],
            "description": "BigInt: a string of digits (JavaScript-safe) or an integer",
        }
    ),
]
_DECIMAL = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def decimal_input(precision: int, scale: int) -> Any:
    """A `Decimal @db.Decimal(p, s)` input: a string or a number, refused rather than rounded."""
    quantum = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (precision - scale)

    def parse(value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("must be a decimal number or a string holding one")
        text = value if isinstance(value, str) else repr(value)
        if not _DECIMAL.match(text.strip()):
            raise ValueError("must be a decimal number or a string holding one")
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise ValueError("must be a decimal number or a string holding one") from None
        if not number.is_finite():
            raise ValueError("must be a finite decimal number")
        # The magnitude first: quantizing 1e30 to cents overflows the decimal context.
        if abs(number) >= limit:
            raise ValueError(f"must have at most {precision - scale} digits before the point")
        try:
            exact = number.quantize(quantum)
        except InvalidOperation:
            exact = None
        if exact is None or exact != number:
            raise ValueError(f"must have at most {scale} digits after the decimal point")
        return exact

    return Annotated[
        Decimal,
        BeforeValidator(parse),
        WithJsonSchema(
            {
                "anyOf": [{"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}, {"type": "number"}],
                "description": f"Decimal({precision}, {scale}): a string (exact) or a number",
            }
        ),
    ]


# ------------------------------------------------------------------------------ JSON out


_TWO_DIGITS = tuple(f"{n:02}" for n in range(60))
_MILLIS = tuple(f".{n:03}Z" for n in range(1000))
_DAYS_KEPT = 65_536
_days: dict[int, str] = {}  # date ordinal -> "YYYY-MM-DDT"


def iso_utc(value: datetime | None) -> str | None:
    """`2026-11-22T10:00:00.000Z`, as JavaScript's `Date.toISOString()` writes it.

    Assembled from tables (the day's text is kept per date) rather than by `isoformat`, which
    took ~1 µs a call here: a 20-row list formats 40 to 60 of them.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    day = _days.get(ordinal := value.toordinal())
    if day is None:
        if len(_days) >= _DAYS_KEPT:
            _days.clear()
        day = _days[ordinal] = value.date().isoformat() + "T"
    two = _TWO_DIGITS
    return f"{day}{two[value.hour]}:{two[value.minute]}:{two[value.second]}{_MILLIS[value.microsecond // 1000]}"


def iso_date(value: date | None) -> str | None:
    """A `@db.Date` as Prisma returns it: midnight UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.isoformat()}T00:00:00.000Z"


def decimal_json(value: Decimal | float | int | None) -> str | None:
    """What decimal.js's `toJSON()` gives: no trailing zeros, exponent only when extreme."""
    if value is None:
        return None
    number = Decimal(value) if not isinstance(value, Decimal) else value
    if number.is_zero():
        return "0"
    number = number.normalize()
    exponent = number.adjusted()
    if exponent >= 21 or exponent <= -7:
        return f"{number:e}".replace("e+", "e+").replace("E", "e")
    return format(number, "f")


def _string_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def row_encoder(
    fields: Sequence[tuple[str, str, Callable[[Any], Any] | None]],
) -> Callable[[Any], dict[str, Any]]:
    """`row -> {key: encode(row[column]), ...}` for (key, column, encoder or None) in order.

    Built from source as one dict display (as `dataclasses` builds `__init__`): a loop over the
    fields with a call per encoder was 8% of a 20-row list's CPU. Enums and plain lists are
    encoded inline, dates (`iso_utc`) only when not null; keys and columns enter the source only
    as `repr()` literals.
    """
    namespace: dict[str, Any] = {"iso_utc": iso_utc, "Enum": Enum}
    items: list[str] = []
    for n, (key, column, encode) in enumerate(fields):
        value = f"row[{column!r}]"
        if encode is None:
            items.append(f"{key!r}: {value}")
        elif encode is iso_utc:
            items.append(f"{key!r}: None if (v{n} := {value}) is None else iso_utc(v{n})")
        elif encode is plain_list:
            items.append(f"{key!r}: list(v{n}) if (v{n} := {value}) else []")
        elif encode is _enum_value:
            items.append(f"{key!r}: v{n}.value if isinstance(v{n} := {value}, Enum) else v{n}")
        else:
            namespace[f"encode{n}"] = encode
            items.append(f"{key!r}: encode{n}({value})")
    source = "def to_json(row):\n    return {" + ", ".join(items) + "}\n"
    exec(source, namespace)
    return namespace["to_json"]


# ------------------------------------------------------------------------------ wire types


@dataclass(frozen=True, slots=True)
class WireType:
    """How one column travels: its JSON encoder (None: as is) and its pydantic types."""

    to_json: Callable[[Any], Any] | None
    output: Any
    input: Any
    # A value that sorts in a cursor (see app.pagination): the JSON kind of the encoded value.
    cursor_kind: str | None


def plain_list(values: Any) -> list[Any]:
    """A list column whose items go out as they are (inlined by `row_encoder`)."""
    return list(values) if values else []


def _array(item: WireType) -> WireType:
    to_json = plain_list
    if (convert := item.to_json) is not None:

        def to_json(values: Any) -> list[Any]:
            return [convert(v) for v in values] if values else []

    return WireType(
        to_json=to_json,
        output=list[item.output],
        input=Annotated[list[item.input], Field(max_length=MAX_LIST_ITEMS)],
        cursor_kind=None,
    )


def wire_type(column: Column[Any]) -> WireType:
    """The wire type of a column of the generated models."""
    kind = column.type
    if isinstance(kind, ARRAY):
        item_type: Any = kind.item_type  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        item_column: Column[Any] = Column(column.name, item_type)
        return _array(wire_type(item_column))
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        enum_class: Any = kind.enum_class
        return WireType(_enum_value, enum_class, enum_class, "str")
    if isinstance(kind, DateTime):
        return WireType(
            iso_utc,
            Annotated[datetime, Field(description="ISO 8601 UTC (`Z`)")],
            IsoDatetime,
            "datetime",
        )
    if isinstance(kind, Date):
        output = Annotated[datetime, Field(description="ISO 8601, midnight UTC (`@db.Date`)")]
        return WireType(iso_date, output, IsoDate, "date")
    if isinstance(kind, Numeric) and kind.asdecimal:
        precision, scale = kind.precision or 65, kind.scale or 0
        output = Annotated[
            str,
            Field(
                pattern=r"^-?\d+(\.\d+)?(e[-+]\d+)?$",
                description="Decimal as a string with the exact value (Prisma `Decimal`)",
                examples=["12.5"],
            ),
        ]
        return WireType(decimal_json, output, decimal_input(precision, scale), "decimal")
    if isinstance(kind, BigInteger):
        output = Annotated[
            str,
            Field(pattern=r"^-?\d+$", description="BigInt as a string of digits (JS-safe)"),
        ]
        return WireType(_string_or_none, output, BigIntInput, "bigint")
    if isinstance(kind, Integer):
        return WireType(None, int, Int4, "int")
    if isinstance(kind, Boolean):
        return WireType(None, bool, bool, "bool")
    if isinstance(kind, Uuid):
        return WireType(_string_or_none, UUID, UUID, "uuid")
    if isinstance(kind, JSON):
        output = Annotated[
            JsonValue, Field(description="Any JSON value Prisma stored; null when unset")
        ]
        return WireType(None, output, JsonObject, None)
    if isinstance(kind, String):
        return WireType(None, str, text_type(), "str")
    raise TypeError(f"no wire type for column {column.name!r} of type {kind!r}")


# ------------------------------------------------------------------------------ base models


def strip_defaults(schema: dict[str, Any]) -> None:
    # openapi-typescript makes a property with a `default` required; inputs must stay optional.
    for prop in schema.get("properties", {}).values():
        if isinstance(prop, dict):
            prop.pop("default", None)  # pyright: ignore[reportUnknownMemberType]


def _title(name: str, _info: object) -> str:
    # Schema titles are the JSON names (`publishedAt`), not pydantic's `Publishedat`.
    return to_camel(name)


class InputModel(BaseModel):
    """Request bodies: camelCase keys (Prisma's field names), unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        field_title_generator=_title,
        # Only the Prisma names (`authorId`): `author_id` is an unknown field, not a synonym.
        validate_by_alias=True,
        validate_by_name=False,
        extra="forbid",
        json_schema_extra=strip_defaults,
    )


class OutputModel(BaseModel):
    """Response bodies (resources: documentation only, rows are encoded without validation)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, field_title_generator=_title
    )


class ListOf(OutputModel):
    """Fields of every list response; `data` is added per resource."""

    nextCursor: str | None = Field(  # noqa: N815
        description="Pass as `cursor` for the next page; null on the last page"
    )
    count: int | None = Field(description="Total matching rows, with `count=true`; else null")
